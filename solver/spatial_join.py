"""Joining account points (latitude, longitude) to geographic units.

Rules, in the order they apply:

1. Polygon layers: a point inside a unit or on its boundary belongs to that unit. A point
   on the boundary shared by several units (an edge or a corner) goes to the unit with the
   smallest id. So the result does not depend on the order of the units in their file.
2. A point in no unit (off a coast, or in a gap between two polygons) goes to the nearest
   unit when it lies at most ``snap_km`` from that unit's polygon. One warning lists such
   accounts. The nearest unit and the nearest point of its polygon are found in the
   layer's projected working CRS (see :func:`solver.units.working_crs`). The distance to
   that polygon point is the great-circle distance in km, never degrees.
3. Point layers (ZIP codes): a point goes to the nearest unit point by great-circle distance
   when it lies at most ``snap_km`` from it. Units that share one point (several ZIP codes
   at one post office) resolve to the smallest id.
4. A point farther than ``snap_km`` from every unit is rejected with the distance to the
   nearest unit. When swapping its latitude and longitude would put it in a unit, the
   message adds that the columns look swapped.

For a point far outside the layer, such as one on another continent, the projection is
distorted, so the nearest unit in the message is approximate. The distance in km is
still the true distance to a point of that unit's polygon.
"""

from __future__ import annotations

import logging

import numpy as np
import pyproj
import shapely
from scipy.spatial import cKDTree

from solver.errors import count_noun, input_error
from solver.geo import EARTH_RADIUS_KM, haversine_km, unit_vectors
from solver.units import STORAGE_CRS, UnitLayer, projected_units

logger = logging.getLogger(__name__)


def join_points(
    layer: UnitLayer,
    latitude: np.ndarray,
    longitude: np.ndarray,
    *,
    snap_km: float,
    file: str,
    account_ids: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """Return the position in ``layer.ids`` of the unit of each point (rules above).

    Parameters
    ----------
    layer
        The units.
    latitude, longitude
        Points in degrees, one per account.
    snap_km
        Largest great-circle distance in km from a point outside every unit to the unit
        it is given to.
    file, account_ids, rows
        Accounts file name, account ids and the row number of each account as a
        spreadsheet shows it (header = row 1), used in messages.

    Returns
    -------
    numpy.ndarray
        Int64 unit positions, one per point.

    Raises
    ------
    InputError
        For a point with no coordinates, or a point farther than ``snap_km`` from every
        unit, naming the file, row, account, the nearest unit and its distance.
    """
    latitude = np.asarray(latitude, dtype=np.float64)
    longitude = np.asarray(longitude, dtype=np.float64)
    account_ids, rows = np.asarray(account_ids, dtype=object), np.asarray(rows)
    missing = np.flatnonzero(np.isnan(latitude) | np.isnan(longitude))
    if len(missing):
        first = int(missing[0])
        raise input_error(
            file,
            f"account '{account_ids[first]}' has no latitude and longitude",
            "fill in the coordinates or a unit code for this account",
            row=int(rows[first]),
        )

    if not layer.polygonal:
        unit, km = _nearest_unit_point(layer, latitude, longitude)
        _check_far(layer, latitude, longitude, unit, km, snap_km, file, account_ids, rows)
        return unit

    unit = covering_unit(layer, latitude, longitude)
    outside = np.flatnonzero(unit < 0)
    if len(outside):
        near, km = _nearest_polygon(layer, latitude[outside], longitude[outside])
        lat, lon = latitude[outside], longitude[outside]
        ids, where = account_ids[outside], rows[outside]
        _check_far(layer, lat, lon, near, km, snap_km, file, ids, where)
        unit[outside] = near
        _warn_snapped(layer, near, km, snap_km, file, ids)
    return unit


def covering_unit(layer: UnitLayer, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Return the smallest-id unit whose polygon covers each point, or -1 for none."""
    assert layer.geometry is not None
    points = shapely.points(longitude, latitude)
    point, unit = layer.geometry.sindex.query(points, predicate="intersects")

    # Unit positions follow the sorted ids, so the smallest position is the smallest id.
    found = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(found, point, unit)
    found[found == np.iinfo(np.int64).max] = -1
    return found


def _nearest_polygon(
    layer: UnitLayer, latitude: np.ndarray, longitude: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the nearest unit of each point and the great-circle km to its polygon."""
    crs, polygons, tree = projected_units(layer)
    to_projected = pyproj.Transformer.from_crs(STORAGE_CRS, crs, always_xy=True)
    x, y = to_projected.transform(longitude, latitude)
    nearest = np.zeros(len(latitude), dtype=np.int64)
    km = np.zeros(len(latitude))

    # For a point the projection cannot map (far from the layer), search in degrees.
    lost = ~(np.isfinite(x) & np.isfinite(y))
    if lost.any():
        nearest[lost], km[lost] = _nearest_in_degrees(layer, latitude[lost], longitude[lost])
    mapped = np.flatnonzero(~lost)
    points = shapely.points(x[mapped], y[mapped])

    # Ties (a point equally near two units) resolve to the smallest id, as on a border.
    point, unit = tree.query_nearest(points, all_matches=True)
    found = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(found, point, unit)

    # The nearest point of the polygon, back in degrees, for a great-circle distance.
    end = shapely.get_point(shapely.shortest_line(points, polygons[found]), 1)
    to_degrees = pyproj.Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)
    end_lon, end_lat = to_degrees.transform(shapely.get_x(end), shapely.get_y(end))
    nearest[mapped] = found
    km[mapped] = haversine_km(latitude[mapped], longitude[mapped], end_lat, end_lon)
    return nearest, km


def _nearest_in_degrees(
    layer: UnitLayer, latitude: np.ndarray, longitude: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    assert layer.geometry is not None
    polygons = np.asarray(layer.geometry.values, dtype=object)
    points = shapely.points(longitude, latitude)
    point, unit = layer.geometry.sindex.nearest(points, return_all=False)
    nearest = np.empty(len(points), dtype=np.int64)
    nearest[point] = unit
    end = shapely.get_point(shapely.shortest_line(points, polygons[nearest]), 1)
    return nearest, haversine_km(latitude, longitude, shapely.get_y(end), shapely.get_x(end))


def _nearest_unit_point(
    layer: UnitLayer, latitude: np.ndarray, longitude: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the nearest unit point of each point and the great-circle km to it."""
    # Units at one location keep only their smallest id, so a tie cannot pick another.
    _, first = np.unique(layer.points, axis=0, return_index=True)
    first = np.sort(first)
    tree = cKDTree(unit_vectors(layer.points[first]))
    chord, index = tree.query(unit_vectors(np.column_stack([latitude, longitude])))
    km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))
    return first[np.asarray(index, dtype=np.int64)], km


def _check_far(
    layer: UnitLayer,
    latitude: np.ndarray,
    longitude: np.ndarray,
    unit: np.ndarray,
    km: np.ndarray,
    snap_km: float,
    file: str,
    account_ids: np.ndarray,
    rows: np.ndarray,
) -> None:
    """Reject the first point farther than ``snap_km`` from every unit."""
    far = np.flatnonzero(km > snap_km)
    if not len(far):
        return

    first = int(far[0])
    nearest, distance = int(unit[first]), float(km[first])
    if layer.polygonal:
        nearest, distance = _nearest_from(layer, float(latitude[first]), float(longitude[first]))
    problem = (
        f"account '{account_ids[first]}' at latitude {latitude[first]:g}, longitude "
        f"{longitude[first]:g} lies in no {layer.name} unit and is {distance:,.1f} km from "
        f"the nearest one, '{layer.ids[nearest]}', more than snap_km ({snap_km:g} km)"
    )
    if len(far) > 1:
        problem += f" ({len(far)} accounts in total are this far)"
    fix = "correct the point, raise snap_km, or remove the account"

    swapped = _swapped_unit(layer, latitude[first], longitude[first], snap_km)
    if swapped is not None:
        problem += (
            f". Latitude and longitude look swapped: latitude {longitude[first]:g}, "
            f"longitude {latitude[first]:g} lies in unit '{swapped}'"
        )
        fix = "swap the latitude and longitude of this row, or map the two columns the other way"
    raise input_error(file, problem, fix, row=int(rows[first]))


def _nearest_from(layer: UnitLayer, latitude: float, longitude: float) -> tuple[int, float]:
    """Return the nearest unit of one point and the great-circle km to its polygon.

    The units are projected to an azimuthal equidistant CRS centred on the point. There,
    planar distances from the centre are true distances, so the result is exact also for
    a point far from the layer. It costs one projection of the layer, so only a rejected
    point gets it.
    """
    assert layer.geometry is not None
    centred = f"+proj=aeqd +lat_0={latitude} +lon_0={longitude} +datum=WGS84 +units=m"
    polygons = np.asarray(layer.geometry.to_crs(centred).values, dtype=object)
    distance = shapely.distance(shapely.points(0.0, 0.0), polygons)
    nearest = int(np.nanargmin(distance))

    end = shapely.get_point(shapely.shortest_line(shapely.points(0.0, 0.0), polygons[nearest]), 1)
    to_degrees = pyproj.Transformer.from_crs(centred, STORAGE_CRS, always_xy=True)
    end_lon, end_lat = to_degrees.transform(shapely.get_x(end), shapely.get_y(end))
    return nearest, float(haversine_km(latitude, longitude, end_lat, end_lon))


def _swapped_unit(
    layer: UnitLayer, latitude: float, longitude: float, snap_km: float
) -> str | None:
    """Return the unit id that the point with swapped coordinates falls in, if any."""
    if abs(longitude) > 90.0:
        return None
    lat, lon = np.array([longitude]), np.array([latitude])
    if layer.polygonal:
        unit = covering_unit(layer, lat, lon)[0]
        return str(layer.ids[unit]) if unit >= 0 else None
    nearest, km = _nearest_unit_point(layer, lat, lon)
    return str(layer.ids[nearest[0]]) if km[0] <= snap_km else None


def _warn_snapped(
    layer: UnitLayer, unit: np.ndarray, km: np.ndarray, snap_km: float, file: str, ids: np.ndarray
) -> None:
    examples = ", ".join(
        f"{account} -> {layer.ids[u]} ({d:.2f} km)"
        for account, u, d in zip(ids[:5], unit[:5], km[:5], strict=True)
    )
    logger.warning(
        "%s: joined %s outside every %s unit to the nearest unit within snap_km (%g km): "
        "%s%s. The largest distance is %.2f km",
        file,
        count_noun(len(unit), "accounts"),
        layer.name,
        snap_km,
        examples,
        ", ..." if len(unit) > 5 else "",
        float(km.max()),
    )
