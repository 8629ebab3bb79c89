"""Territory shapes: the union of each territory's units and its Polsby-Popper compactness.

The average km from a territory's accounts to its centre is computed with the plan's other
outputs (see :mod:`solver.outputs`), so it is not repeated here.
"""

from __future__ import annotations

import math

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from solver.units import UnitLayer

_GEOD = pyproj.Geod(ellps="WGS84")


def dissolve_territories(
    layer: UnitLayer, unit_territory: np.ndarray, n_territories: int
) -> list[BaseGeometry | None]:
    """Return the union of the units of each territory, in EPSG:4326.

    Parameters
    ----------
    layer
        Polygon units.
    unit_territory
        Territory index of each unit in ``layer.ids`` order, or -1 for a unit that is in
        no territory.
    n_territories
        Number of territories. A territory without units gets None.
    """
    if layer.geometry is None:
        raise ValueError(f"dissolve_territories needs polygon units, but {layer.name} has points")
    owner = np.asarray(unit_territory, dtype=np.int64)
    if owner.shape != (len(layer.ids),):
        raise ValueError(f"unit_territory must have {len(layer.ids)} entries, got {owner.shape}")

    polygons = np.asarray(layer.geometry.values, dtype=object)
    shapes: list[BaseGeometry | None] = []
    for territory in range(n_territories):
        members = polygons[owner == territory]
        shapes.append(_union(members) if len(members) else None)
    return shapes


def _union(polygons: np.ndarray) -> BaseGeometry:
    # Coverage union only merges shared edges, so it is much faster, but it needs units
    # that do not overlap and whose shared edges have identical vertices.
    if shapely.coverage_is_valid(polygons):
        return shapely.coverage_union_all(polygons)
    return shapely.union_all(polygons)


def polsby_popper(geometry: BaseGeometry | None) -> float:
    """Return the Polsby-Popper compactness ``4 pi A / P**2`` of a polygon or multipolygon.

    Area ``A`` and perimeter ``P`` are geodesic, on the WGS84 ellipsoid, of a geometry in
    degrees (EPSG:4326). A multipolygon uses its total area and total perimeter, and the
    perimeter includes the edges of holes. The value is 1 for a disc and near pi/4 for a
    square. NaN for None, an empty geometry or one without area.
    """
    if geometry is None or geometry.is_empty:
        return math.nan

    # pyproj subtracts a hole only when it runs against its exterior ring, and its
    # perimeter leaves holes out, so the rings are oriented and measured here.
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)
    area, _ = _GEOD.geometry_area_perimeter(oriented)
    perimeter = _GEOD.geometry_length(oriented.boundary)
    if perimeter <= 0.0 or area == 0.0:
        return math.nan
    return 4.0 * math.pi * abs(area) / perimeter**2
