"""``map.html``: an interactive Leaflet map that works offline, with one layer per territory.

The page has no base tiles and loads nothing: Leaflet 1.9.4 (BSD-2-Clause, vendored in
``assets/`` from the npm package) is inlined with its CSS, whose images become data URIs.
The state outlines are a backdrop that ignores the mouse. Every territory of every role
is one folium ``FeatureGroup``, listed in the layer control as ``<territory id> — <rep
name>``. It contains the dissolved shape (a polygon role) or the account points (a point
role), the centre (×) and the rep's home (★). Its tooltip lists the territory's metrics
against their targets.

Elements get counter ids in place of folium's random ones, so the same input writes the
same bytes. To keep the file small, shapes are simplified, their islands under a few km²
dropped and their coordinates rounded (see :data:`TERRITORY` and :data:`STATES`).
"""

from __future__ import annotations

import base64
import functools
import html
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import Element, Figure

from solver.maps import backdrop, regions
from solver.maps.data import RoleMap, layer_names
from solver.maps.tooltips import territory_tooltip, tooltip_html

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class Simplification:
    """How much a shape is simplified for the page: tolerance and smallest part in degrees."""

    tolerance: float
    min_area: float
    decimals: int


#: Territories: about 1 km of tolerance, islands under about 5 km² dropped, 1 m precision.
TERRITORY = Simplification(tolerance=0.01, min_area=0.0005, decimals=5)
#: The backdrop is coarser: 2 km of tolerance makes digits below 100 m noise.
STATES = Simplification(tolerance=0.02, min_area=0.002, decimals=3)

# Replaced by the inlined Leaflet after rendering, because folium renders every element as a
# Jinja template and Leaflet's code must not be read as one.
_ASSET_PLACEHOLDER = "<!-- territory-map: leaflet -->"

_PAGE_STYLE = """<style>
.leaflet-container {background: #e8eef3;}
.territory-map-title {position: absolute; top: 10px; left: 54px; z-index: 1000;
  background: rgba(255, 255, 255, 0.9); padding: 4px 8px; font: bold 15px sans-serif;}
.territory-swatch {display: inline-block; width: 10px; height: 10px; margin-right: 4px;
  border: 1px solid #555;}
.territory-centre {font: bold 18px/16px sans-serif; text-align: center; color: #000;
  text-shadow: 0 0 2px #fff;}
.rep-home {font: 16px/16px sans-serif; text-align: center; text-shadow: 0 0 2px #000;}
.territory-tooltip table {border-collapse: collapse; margin-top: 2px;}
.territory-tooltip th {text-align: left; font-weight: normal; color: #555; padding-right: 8px;}
.territory-metrics td {text-align: right; padding-left: 8px;}
.territory-metrics tr:first-child th {color: #000;}
.territory-metrics tr:first-child th + th {text-align: right; padding-left: 8px;}
</style>"""

_EXTERNAL = re.compile(r"<script[^>]*\ssrc=|<link[^>]*\shref=")


def write_map_html(path: Path, roles: Sequence[RoleMap], *, title: str) -> None:
    """Write an interactive map of every role's territories to the HTML file ``path``.

    Raises ValueError when ``roles`` is empty.
    """
    if not roles:
        raise ValueError("write_map_html: no role to draw. Pass at least one RoleMap.")

    web_map = _new_map(roles, title)
    _add_states(web_map)
    for role_map, names in zip(roles, layer_names(roles), strict=True):
        for row, name in enumerate(names):
            _territory_layer(role_map, row, name).add_to(web_map)
    folium.LayerControl(collapsed=False).add_to(web_map)

    figure = web_map.get_root()
    assert isinstance(figure, Figure)
    _number_elements(figure)
    text = figure.render()
    if _EXTERNAL.search(text):
        logger.warning("%s links a script or style sheet, so it needs network access", path)
    path.write_text(text.replace(_ASSET_PLACEHOLDER, _leaflet_assets(), 1), encoding="utf-8")
    logger.debug("wrote %s", path)


def _new_map(roles: Sequence[RoleMap], title: str) -> folium.Map:
    south, west, north, east = _bounds(roles)
    web_map = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=4,
        tiles=None,
        control_scale=True,
    )
    # Folium 0.20 would link Leaflet, jQuery, Bootstrap and icon fonts from CDNs. The page needs
    # only Leaflet, which is inlined in place of the placeholder.
    web_map.default_js = []
    web_map.default_css = []
    web_map.fit_bounds([[south, west], [north, east]])

    figure = web_map.get_root()
    assert isinstance(figure, Figure)
    figure.title = html.escape(title)
    figure.header.add_child(Element(_ASSET_PLACEHOLDER), name="leaflet")
    figure.header.add_child(Element(_PAGE_STYLE), name="territory_style")
    # Folium renders the element as a Jinja template, so braces become HTML entities.
    text = html.escape(title).replace("{", "&#123;").replace("}", "&#125;")
    title_div = f'<div class="territory-map-title">{text}</div>'
    figure.html.add_child(Element(title_div), name="territory_title")
    return web_map


def _bounds(roles: Sequence[RoleMap]) -> tuple[float, float, float, float]:
    """Return south, west, north, east of the data in the main region of the roles."""
    parts = []
    for role_map in roles:
        parts += [role_map.points[["latitude", "longitude"]].to_numpy(float), role_map.centres]
        if role_map.shapes is not None:
            shapes = [shape for shape in role_map.shapes if shape is not None]
            parts.append(shapely.get_coordinates(shapes)[:, ::-1])
    lon, lat = regions.coordinates(parts)
    main = regions.layout(lon, lat).main
    inside = main.contains(lon, lat)
    if not inside.any():
        west, south, east, north = main.boxes[0]
        return south, west, north, east
    lon, lat = lon[inside], lat[inside]
    return float(lat.min()), float(lon.min()), float(lat.max()), float(lon.max())


def _add_states(web_map: folium.Map) -> None:
    frame = backdrop.states()
    if frame is None:
        return
    style = {"color": "#8c8c8c", "weight": 0.8, "fillColor": "#f2f2f2", "fillOpacity": 1.0}
    features = [_feature(_simplify(geometry, STATES), style) for geometry in frame.geometry]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="states",
        control=False,
        interactive=False,
        class_name="state-outline",
    ).add_to(web_map)


def _territory_layer(role_map: RoleMap, row: int, name: str) -> folium.FeatureGroup:
    """Build the layer of one territory: its shape or points, centre, home and tooltip."""
    colour = role_map.colours[row]
    swatch = f'<span class="territory-swatch" style="background:{colour}"></span>'
    group = folium.FeatureGroup(name=swatch + html.escape(name), overlay=True, control=True)

    if role_map.shapes is not None:
        _add_shape(group, role_map.shapes[row], colour)
    else:
        _add_points(group, role_map, role_map.territory_ids[row], colour)
    # The home comes first, so the centre cross stays visible when both are at one place.
    _add_icon(group, role_map.homes[row], "rep-home", f'<span style="color:{colour}">★</span>')
    _add_icon(group, role_map.centres[row], "territory-centre", "×")

    title = f"{role_map.territory_ids[row]} ({role_map.label})"
    tooltip = territory_tooltip(title, role_map.territories.iloc[row], role_map.metrics)
    folium.Tooltip(tooltip_html(tooltip), sticky=True).add_to(group)
    return group


def _add_shape(group: folium.FeatureGroup, shape: Any, colour: str) -> None:
    if shape is None or shape.is_empty:
        return
    style = {"color": colour, "weight": 1, "opacity": 0.9, "fillColor": colour, "fillOpacity": 0.5}
    feature = _feature(_simplify(shape, TERRITORY), style)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [feature]},
        control=False,
        class_name="territory-shape",
    ).add_to(group)


def _add_points(group: folium.FeatureGroup, role_map: RoleMap, territory: str, colour: str) -> None:
    """Add the territory's accounts as one MultiPoint that Leaflet draws as circle markers."""
    points = role_map.points
    mine = points[points["territory_id"].astype(str) == territory]
    coordinates = np.round(mine[["longitude", "latitude"]].to_numpy(float), TERRITORY.decimals)
    coordinates = coordinates[np.isfinite(coordinates).all(axis=1)]
    if len(coordinates) == 0:
        return
    geometry = {"type": "MultiPoint", "coordinates": coordinates.tolist()}
    marker = folium.CircleMarker(
        radius=4,
        weight=1,
        color="#333333",
        fill_color=colour,
        fill_opacity=0.9,
        class_name="territory-point",
    )
    folium.GeoJson(
        {"type": "Feature", "geometry": geometry, "properties": {}},
        control=False,
        marker=marker,
    ).add_to(group)


def _add_icon(group: folium.FeatureGroup, latlon: np.ndarray, css_class: str, text: str) -> None:
    """Add a text marker, which needs no image, at ``latlon`` unless it is NaN."""
    if not np.isfinite(np.asarray(latlon, float)).all():
        return
    icon = folium.DivIcon(html=text, icon_size=(16, 16), icon_anchor=(8, 8), class_name=css_class)
    location = [round(float(value), TERRITORY.decimals) for value in latlon]
    folium.Marker(location=location, icon=icon).add_to(group)


def _simplify(geometry: Any, rule: Simplification) -> Any:
    """Simplify ``geometry``, drop its small parts and round its coordinates.

    The largest part is always kept, so no territory disappears from the page.
    """
    simple = shapely.simplify(geometry, rule.tolerance, preserve_topology=True)
    if isinstance(simple, shapely.MultiPolygon):
        parts = shapely.get_parts(simple)
        areas = shapely.area(parts)
        parts = parts[(areas >= rule.min_area) | (areas == areas.max())]
        simple = shapely.multipolygons(parts) if len(parts) > 1 else parts[0]
    return shapely.transform(simple, lambda xy: np.round(xy, rule.decimals))


def _feature(geometry: Any, style: dict[str, Any]) -> dict[str, Any]:
    # Folium styles each feature from properties.style when no style function is given.
    mapping = shapely.geometry.mapping(geometry)
    return {"type": "Feature", "geometry": mapping, "properties": {"style": style}}


def _number_elements(figure: Figure) -> None:
    """Replace the random ids that folium gives elements by a counter, in tree order.

    Folium names each element ``<kind>_<32 random hex digits>`` and builds the names
    when rendering, so ids set here reach every reference in the page.
    """
    for number, element in enumerate(_walk(figure)):
        element._id = f"{number:04d}"


def _walk(element: Element) -> Iterator[Element]:
    yield element
    if isinstance(element, Figure):
        yield from _walk(element.header)
        yield from _walk(element.html)
        yield from _walk(element.script)
    for child in element._children.values():
        yield from _walk(child)


@functools.cache
def _leaflet_assets() -> str:
    """Return Leaflet's CSS and JS as inline tags, with the CSS images as data URIs."""
    css = (ASSETS / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\(images/([\w.-]+\.png)\)", _data_uri, css)
    script = (ASSETS / "leaflet.js").read_text(encoding="utf-8")
    # The source map is not shipped, and a browser would try to fetch it.
    script = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", script)
    return f"<style>\n{css}\n</style>\n<script>\n{script}\n</script>"


def _data_uri(match: re.Match[str]) -> str:
    data = (ASSETS / "images" / match.group(1)).read_bytes()
    return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"
