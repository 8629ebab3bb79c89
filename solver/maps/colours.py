"""Territory colours shared by the static map, the web map and the moves map."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

#: Matplotlib's qualitative ``tab20`` colours, the ten strong ones first and their ten
#: light partners after, so that up to ten territories get clearly different colours.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)

#: Colour of accounts without an owner or outside every listed territory.
NO_OWNER = "#d9d9d9"


def colour_map(keys: Iterable[Hashable]) -> dict[Hashable, str]:
    """Give each distinct key a palette colour, in sorted key order.

    Sorting makes the colour of a territory depend only on the set of ids, not on the
    row order of the input. NOTE: past 20 keys the palette repeats, so two territories
    can share a colour.
    """
    ordered = sorted(set(keys), key=str)
    return {key: PALETTE[index % len(PALETTE)] for index, key in enumerate(ordered)}
