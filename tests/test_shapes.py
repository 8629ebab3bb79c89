"""Tests for solver.shapes: Polsby-Popper compactness and territory dissolve."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from solver.shapes import dissolve_territories, polsby_popper
from solver.units import UnitLayer, load_units

# UTM zone 14N is conformal, so shapes drawn in its metres keep their angles on the
# ellipsoid. (500 km, 4,400 km) lies on its central meridian -99, near latitude 39.7.
UTM = "EPSG:32614"
X0, Y0 = 500_000.0, 4_400_000.0
KM = 1000.0


def to_degrees(geometry):
    """Return a geometry drawn in UTM metres, in EPSG:4326."""
    return gpd.GeoSeries([geometry], crs=UTM).to_crs("EPSG:4326").iloc[0]


def metric_box(x: float, y: float, width: float, height: float) -> Polygon:
    return box(X0 + x, Y0 + y, X0 + x + width, Y0 + y + height)


def test_square_near_quarter_pi():
    # 4 pi a^2 / (4 a)^2 = pi / 4 = 0.7854 for any square.
    square = to_degrees(metric_box(0, 0, 10 * KM, 10 * KM))
    assert polsby_popper(square) == pytest.approx(math.pi / 4, abs=1e-3)


def test_thin_rectangle():
    # A 1 km x 20 km rectangle: 4 pi * 20 / (2 * (1 + 20))^2 = 80 pi / 1764 = 0.14248.
    rectangle = to_degrees(metric_box(0, 0, 1 * KM, 20 * KM))
    assert 80 * math.pi / 1764 == pytest.approx(0.14248, abs=1e-5)
    assert polsby_popper(rectangle) == pytest.approx(0.14248, abs=1e-3)


def test_circle_near_one():
    # A regular polygon of n = 256 sides has 4 pi A / P^2 = pi / (n tan(pi / n)), which is
    # 1 - pi^2 / (3 n^2) = 0.99995 to second order.
    circle = to_degrees(Point(X0, Y0).buffer(10 * KM, quad_segs=64))
    assert polsby_popper(circle) == pytest.approx(1.0, abs=1e-3)


def test_two_squares_use_total_area_and_perimeter():
    # Total area 2 a^2 and total perimeter 8 a: 4 pi 2 a^2 / (8 a)^2 = pi / 8 = 0.3927.
    left = metric_box(0, 0, 10 * KM, 10 * KM)
    right = metric_box(30 * KM, 0, 10 * KM, 10 * KM)
    pair = to_degrees(MultiPolygon([left, right]))
    assert polsby_popper(pair) == pytest.approx(math.pi / 8, abs=1e-3)


def test_hole_counts_in_area_and_perimeter():
    # A 10 km square with a 5 km hole: area 100 - 25 = 75 km2, perimeter 40 + 20 = 60 km,
    # so 4 pi 75 / 3600 = 0.2618. The hole runs the same way as the exterior, which pyproj
    # alone would add to the area.
    outer = metric_box(0, 0, 10 * KM, 10 * KM).exterior.coords
    hole = metric_box(2.5 * KM, 2.5 * KM, 5 * KM, 5 * KM).exterior.coords
    holed = to_degrees(Polygon(outer, [hole]))
    assert polsby_popper(holed) == pytest.approx(4 * math.pi * 75 / 3600, abs=1e-3)


def test_polsby_popper_nan_without_shape():
    assert math.isnan(polsby_popper(None))
    assert math.isnan(polsby_popper(Polygon()))


def grid_layer(tmp_path: Path) -> UnitLayer:
    """A 2 x 2 grid of 10 km squares: ids in row order, 'a' and 'b' in the south row.

    ```
    c d
    a b
    ```
    """
    cells = {
        "a": metric_box(0, 0, 10 * KM, 10 * KM),
        "b": metric_box(10 * KM, 0, 10 * KM, 10 * KM),
        "c": metric_box(0, 10 * KM, 10 * KM, 10 * KM),
        "d": metric_box(10 * KM, 10 * KM, 10 * KM, 10 * KM),
    }
    frame = gpd.GeoDataFrame({"unit_id": list(cells)}, geometry=list(cells.values()), crs=UTM)
    frame.to_file(tmp_path / "grid.gpkg")
    return load_units("grid.gpkg", base_dir=tmp_path, id_column="unit_id")


def test_dissolve_grid_into_columns(tmp_path):
    layer = grid_layer(tmp_path)
    # West column (a, c) is territory 0, east column (b, d) territory 1, and territory 2
    # has no unit.
    shapes = dissolve_territories(layer, np.array([0, 1, 0, 1]), 3)

    assert len(shapes) == 3
    assert shapes[2] is None
    for territory, west in ((0, X0), (1, X0 + 10 * KM)):
        shape = gpd.GeoSeries([shapes[territory]], crs="EPSG:4326").to_crs(UTM).iloc[0]
        assert shape.geom_type == "Polygon"
        # Each column is 10 km x 20 km = 2e8 m2.
        assert shape.area == pytest.approx(2e8, rel=1e-6)
        assert shape.bounds == pytest.approx((west, Y0, west + 10 * KM, Y0 + 20 * KM), abs=0.01)


def test_dissolve_skips_units_without_territory(tmp_path):
    layer = grid_layer(tmp_path)
    shapes = dissolve_territories(layer, np.array([0, -1, 0, -1]), 1)
    shape = gpd.GeoSeries([shapes[0]], crs="EPSG:4326").to_crs(UTM).iloc[0]
    assert shape.area == pytest.approx(2e8, rel=1e-6)


def test_dissolve_counties_by_state():
    counties = load_units("counties")
    state = np.array([int(code[:2]) for code in counties.ids])
    # Territory 0 is Colorado (08), territory 1 Wyoming (56), every other county none.
    owner = np.where(state == 8, 0, np.where(state == 56, 1, -1))

    shapes = dissolve_territories(counties, owner, 2)

    assert [shape.geom_type for shape in shapes] == ["Polygon", "Polygon"]
    # Colorado spans 7 degrees of longitude at latitude 37 to 41: 7 * 111.195 km * cos 39 deg
    # = 605 km by 4 * 111.195 = 445 km, so r = 1.36. Wyoming spans the same at latitude 41
    # to 45: 7 * 111.195 * cos 43 deg = 569 km by 445 km, so r = 1.28. A rectangle of
    # aspect r has pi r / (1 + r)^2: 0.767 and 0.773. Both borders are nearly straight.
    assert polsby_popper(shapes[0]) == pytest.approx(0.767, abs=0.01)
    assert polsby_popper(shapes[1]) == pytest.approx(0.773, abs=0.01)
