"""Matplotlib helpers shared by the static map and the moves map.

Figures draw on their own Agg canvas, so no global pyplot backend is touched, and are
saved at a fixed dpi with no ``Software`` tag. The PNG bytes then depend only on the
input and on the versions of matplotlib and its libraries (FreeType, Agg).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from solver.errors import count_noun
from solver.maps import backdrop, regions

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

#: Resolution of every PNG map.
DPI = 110

#: Inset positions in the main panel's axes fraction: left, bottom, width, height.
_INSET_BOUNDS = {"Alaska": (0.0, 0.0, 0.26, 0.30), "Hawaii": (0.27, 0.0, 0.15, 0.18)}

_STATE_FILL = "#f4f4f4"
_STATE_EDGE = "#a8a8a8"


def new_figure(width: float, height: float) -> Figure:
    """Create a figure of ``width`` by ``height`` inches on its own Agg canvas."""
    # Imported here, so that commands which never draw do not pay for importing matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: Path) -> None:
    """Write ``figure`` to ``path`` as a PNG whose bytes depend only on what was drawn."""
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})


def draw_states(axes: Axes, crs: str, *, lines_only: bool = False) -> None:
    """Draw the state outlines under the data, or as thin lines above it with ``lines_only``."""
    frame = _projected_states(crs)
    if frame is None:
        return
    if lines_only:
        frame.boundary.plot(ax=axes, color="white", linewidth=0.35, alpha=0.8, zorder=2)
    else:
        frame.plot(ax=axes, facecolor=_STATE_FILL, edgecolor=_STATE_EDGE, linewidth=0.4, zorder=0)


@functools.cache
def _projected_states(crs: str) -> gpd.GeoDataFrame | None:
    frame = backdrop.states()
    return None if frame is None else frame.to_crs(crs)


def frame_axes(axes: Axes, bounds: tuple[float, float, float, float], *, inset: bool) -> None:
    """Show ``bounds`` (xmin, xmax, ymin, ymax) at equal scale, without ticks or labels."""
    axes.set_xlim(bounds[0], bounds[1])
    axes.set_ylim(bounds[2], bounds[3])
    # The axes box shrinks to the data's shape, so the insets stay in the map's corner.
    axes.set_aspect("equal", adjustable="box")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_xlabel("")
    axes.set_ylabel("")
    for spine in axes.spines.values():
        spine.set_visible(inset)
        spine.set_edgecolor("#888888")


def region_axes(
    axes: Axes, layout: regions.Layout, lon: np.ndarray, lat: np.ndarray
) -> list[tuple[Axes, regions.Region, tuple[float, float, float, float]]]:
    """Add an inset per inset region, and return every axes with its region and bounds."""
    panels = [(axes, layout.main, regions.extent(layout.main, lon, lat))]
    for region in layout.insets:
        inset = axes.inset_axes(_INSET_BOUNDS[region.name])
        inset.set_facecolor("white")
        inset.set_title(region.name, fontsize=7, pad=2)
        panels.append((inset, region, regions.extent(region, lon, lat)))
    return panels


def note_outside(
    axes: Axes, layout: regions.Layout, lon: np.ndarray, lat: np.ndarray, what: str
) -> None:
    """Count the ``what`` points outside every region, and log and print the count on the panel."""
    count = layout.count_outside(lon, lat)
    if count == 0:
        return
    text = f"not shown: {count_noun(count, what)} outside the contiguous US, Alaska and Hawaii"
    logger.warning("map: %s", text)
    axes.text(0.99, 0.01, text, transform=axes.transAxes, ha="right", va="bottom", fontsize=7)
