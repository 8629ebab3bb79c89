"""``map.png``: one panel per role with its territories coloured, centres and rep homes.

Each panel shows the contiguous US zoomed to the role's data. When the role has accounts
or shapes in Alaska or Hawaii, the panel adds an inset for each in its lower left corner
(see :mod:`solver.maps.regions`). State outlines are the backdrop. A polygon role draws its
dissolved territory shapes and a point role its accounts, both in the territory's colour.
Centres are black crosses and rep homes stars in the territory's colour. The legend
lists every territory with its rep.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from solver.maps import drawing, regions
from solver.maps.data import RoleMap, layer_names

if TYPE_CHECKING:
    from matplotlib.axes import Axes

logger = logging.getLogger(__name__)

#: Figure width, the height of one role's panel and of the title above them, in inches.
_WIDTH = 11.0
_PANEL_HEIGHT = 5.6
_TITLE_HEIGHT = 0.8
#: Share of the figure width left of the legends.
_PANELS_RIGHT = 0.74

_CENTRE_STYLE: dict[str, Any] = {"marker": "x", "color": "black", "s": 36, "linewidths": 1.4}
_HOME_STYLE: dict[str, Any] = {"marker": "*", "edgecolors": "black", "s": 110, "linewidths": 0.6}


def write_map_png(path: Path, roles: Sequence[RoleMap], *, title: str) -> None:
    """Draw the territories of every role into the PNG file ``path``, one panel per role.

    Raises ValueError when ``roles`` is empty.
    """
    if not roles:
        raise ValueError("write_map_png: no role to draw. Pass at least one RoleMap.")

    height = _TITLE_HEIGHT + _PANEL_HEIGHT * len(roles)
    figure = drawing.new_figure(_WIDTH, height)
    panels = figure.subplots(len(roles), 1, squeeze=False)[:, 0]
    top = 1.0 - _TITLE_HEIGHT / height
    figure.subplots_adjust(left=0.01, right=_PANELS_RIGHT, bottom=0.01, top=top, hspace=0.1)

    for axes, role_map, names in zip(panels, roles, layer_names(roles), strict=True):
        _draw_role(axes, role_map, names)
    figure.suptitle(title, fontsize=13)
    drawing.save_png(figure, path)
    logger.debug("wrote %s", path)


def _draw_role(axes: Axes, role_map: RoleMap, names: list[str]) -> None:
    lon, lat = regions.coordinates(_role_coordinates(role_map))
    layout = regions.layout(lon, lat)

    for panel, region, bounds in drawing.region_axes(axes, layout, lon, lat):
        _draw_region(panel, role_map, region.crs)
        drawing.frame_axes(panel, bounds, inset=panel is not axes)

    points = role_map.points
    drawing.note_outside(
        axes,
        layout,
        points["longitude"].to_numpy(float),
        points["latitude"].to_numpy(float),
        "accounts",
    )
    territories = _count(len(role_map.territories), "territory", "territories")
    accounts = _count(len(points), "account", "accounts")
    axes.set_title(f"{role_map.label}: {territories}, {accounts}", fontsize=11)
    _legend(axes, role_map, names)


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number:,} {singular if number == 1 else plural}"


def _role_coordinates(role_map: RoleMap) -> list[np.ndarray]:
    """Return the latitude-longitude pairs to show: accounts, centres, homes, shape vertices."""
    parts = [
        role_map.points[["latitude", "longitude"]].to_numpy(float),
        np.asarray(role_map.centres, float),
        np.asarray(role_map.homes, float),
    ]
    if role_map.shapes is not None:
        vertices = shapely.get_coordinates([s for s in role_map.shapes if s is not None])
        parts.append(vertices[:, ::-1])
    return parts


def _draw_region(axes: Axes, role_map: RoleMap, crs: str) -> None:
    drawing.draw_states(axes, crs)
    colours = role_map.colours

    if role_map.shapes is not None:
        _draw_shapes(axes, role_map.shapes, colours, crs)
        drawing.draw_states(axes, crs, lines_only=True)
    else:
        points = role_map.points
        lon, lat = points["longitude"].to_numpy(float), points["latitude"].to_numpy(float)
        x, y = regions.project(crs, lon, lat)
        axes.scatter(x, y, c=role_map.point_colours(), s=9, linewidths=0, zorder=3)

    centres = np.asarray(role_map.centres, float)
    known = np.isfinite(centres).all(axis=1)
    x, y = regions.project(crs, centres[known, 1], centres[known, 0])
    axes.scatter(x, y, zorder=6, **_CENTRE_STYLE)

    homes = np.asarray(role_map.homes, float)
    known = np.isfinite(homes).all(axis=1)
    x, y = regions.project(crs, homes[known, 1], homes[known, 0])
    # A home usually lies in its own territory, so on filled shapes it is white to stand out.
    fill = colours if role_map.shapes is None else ["white"] * len(colours)
    home_colours = [colour for colour, keep in zip(fill, known, strict=True) if keep]
    # Drawn under the centre cross, which sits on the home when a territory centres there.
    axes.scatter(x, y, c=home_colours, zorder=5, **_HOME_STYLE)


def _draw_shapes(axes: Axes, shapes: list, colours: list[str], crs: str) -> None:
    drawn = [i for i, shape in enumerate(shapes) if shape is not None and not shape.is_empty]
    if not drawn:
        return
    series = gpd.GeoSeries([shapes[i] for i in drawn], crs="EPSG:4326").to_crs(crs)
    series.plot(
        ax=axes, color=[colours[i] for i in drawn], edgecolor="white", linewidth=0.3, zorder=1
    )


def _legend(axes: Axes, role_map: RoleMap, names: list[str]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    for name, colour in zip(names, role_map.colours, strict=True):
        if role_map.shapes is not None:
            handles.append(Patch(facecolor=colour, edgecolor="none", label=name))
        else:
            handles.append(Line2D([], [], marker="o", linestyle="", color=colour, label=name))
    handles.append(
        Line2D([], [], marker="x", linestyle="", color="black", label="territory centre")
    )
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor="black",
            markersize=10,
            label="rep home",
        )
    )
    axes.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7.5,
        title=role_map.label,
        title_fontsize=8.5,
        frameon=False,
        ncols=1 if len(handles) <= 28 else 2,
    )
