"""``moves.png``: every account coloured by its owner before and after, moved ones outlined.

The two panels share one layout (the contiguous US zoomed to the accounts, Alaska and
Hawaii insets when needed, see :mod:`solver.maps.regions`) and one colour per role and
owner. An account whose owner changed is drawn larger with a black outline in both
panels, so it can be found in each. The title counts the moved accounts per role.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from solver.maps import drawing, regions
from solver.maps.colours import NO_OWNER, colour_map

if TYPE_CHECKING:
    from matplotlib.axes import Axes

logger = logging.getLogger(__name__)

#: Columns that the ``accounts`` table of :func:`write_moves_png` must have.
MOVE_COLUMNS = ("account_id", "latitude", "longitude", "role", "before", "after")

_WIDTH = 14.0
_HEIGHT = 6.0


def write_moves_png(
    path: Path, accounts: pd.DataFrame, *, title: str, before_label: str, after_label: str
) -> None:
    """Draw the owners of ``accounts`` before and after side by side into the PNG ``path``.

    ``before`` and ``after`` give the owner of each account (a territory or rep id), or NaN
    for none. An account moved when the two differ, and NaN to an owner counts as a move.

    Raises ValueError when a column of :data:`MOVE_COLUMNS` is missing.
    """
    missing = [column for column in MOVE_COLUMNS if column not in accounts.columns]
    if missing:
        raise ValueError(f"write_moves_png: accounts is missing columns {', '.join(missing)}")

    before, after, moved = _owners(accounts)
    roles = accounts["role"].astype(str).tolist()
    colours = colour_map(
        (role, owner) for role, owner in zip(roles * 2, before + after, strict=True) if owner
    )

    figure = drawing.new_figure(_WIDTH, _HEIGHT)
    panels = figure.subplots(1, 2)
    figure.subplots_adjust(left=0.01, right=0.85, bottom=0.02, top=0.86, wspace=0.04)
    lon = accounts["longitude"].to_numpy(float)
    lat = accounts["latitude"].to_numpy(float)
    for axes, owners, label in ((panels[0], before, before_label), (panels[1], after, after_label)):
        shown = [
            colours[(role, owner)] if owner else NO_OWNER
            for role, owner in zip(roles, owners, strict=True)
        ]
        _draw_panel(axes, lon, lat, shown, moved)
        axes.set_title(label, fontsize=11)

    figure.suptitle(f"{title}\n{moved_summary(accounts)}", fontsize=12)
    _legend(panels[1], colours, any(not owner for owner in before + after))
    drawing.save_png(figure, path)
    logger.debug("wrote %s", path)


def moved_summary(accounts: pd.DataFrame) -> str:
    """Return ``'ENT: 3 of 500 accounts changed owner, ...'`` with the roles in sorted order."""
    _, _, moved = _owners(accounts)
    roles = accounts["role"].astype(str).to_numpy()
    parts = []
    for role in sorted(set(roles)):
        mine = roles == role
        parts.append(
            f"{role}: {int(moved[mine].sum()):,} of {int(mine.sum()):,} accounts changed owner"
        )
    return ", ".join(parts) if parts else "no accounts"


def _owners(accounts: pd.DataFrame) -> tuple[list[str], list[str], np.ndarray]:
    """Return the owners before and after as text (empty for none) and whether each moved."""
    before = ["" if pd.isna(value) else str(value) for value in accounts["before"]]
    after = ["" if pd.isna(value) else str(value) for value in accounts["after"]]
    moved = np.array([b != a for b, a in zip(before, after, strict=True)], dtype=bool)
    return before, after, moved


def _draw_panel(
    axes: Axes, lon: np.ndarray, lat: np.ndarray, colours: list[str], moved: np.ndarray
) -> None:
    finite = np.isfinite(lon) & np.isfinite(lat)
    layout = regions.layout(lon[finite], lat[finite])
    for panel, region, bounds in drawing.region_axes(axes, layout, lon[finite], lat[finite]):
        drawing.draw_states(panel, region.crs)
        x, y = regions.project(region.crs, lon, lat)
        for keep, style in ((finite & ~moved, _STAYED), (finite & moved, _MOVED)):
            shown = [colour for colour, k in zip(colours, keep, strict=True) if k]
            panel.scatter(x[keep], y[keep], c=shown, **style)
        drawing.frame_axes(panel, bounds, inset=panel is not axes)
    drawing.note_outside(axes, layout, lon[finite], lat[finite], "accounts")


_STAYED: dict[str, Any] = {"s": 7, "linewidths": 0, "zorder": 3}
_MOVED: dict[str, Any] = {"s": 30, "edgecolors": "black", "linewidths": 0.8, "zorder": 4}


def _legend(axes: Axes, colours: dict[Any, str], has_none: bool) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", linestyle="", color=colour, label=f"{role} {owner}")
        for (role, owner), colour in colours.items()
    ]
    if has_none:
        handles.append(Line2D([], [], marker="o", linestyle="", color=NO_OWNER, label="no owner"))
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor="black",
            markersize=8,
            label="owner changed",
        )
    )
    axes.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
        frameon=False,
        ncols=1 if len(handles) <= 30 else 2,
    )
