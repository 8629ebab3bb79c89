"""Tests for solver.spatial_join: boundary ties, snapping, far and swapped points."""

from __future__ import annotations

import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from solver.errors import InputError
from solver.spatial_join import join_points
from solver.units import UnitLayer, load_units

# Degrees of longitude and latitude of the hand-made squares: 0.1 degree cells in Kansas.
LON0, LAT0, CELL = -100.0, 40.0, 0.1


def write_layer(tmp_path: Path, cells: dict[str, tuple[int, int]]) -> UnitLayer:
    """Write square units, keyed by id, at (column, row) cells of the grid, and load them."""
    boxes = [
        box(LON0 + c * CELL, LAT0 + r * CELL, LON0 + (c + 1) * CELL, LAT0 + (r + 1) * CELL)
        for c, r in cells.values()
    ]
    frame = gpd.GeoDataFrame({"unit_id": list(cells)}, geometry=boxes, crs="EPSG:4326")
    frame.to_file(tmp_path / "units.geojson")
    return load_units("units.geojson", base_dir=tmp_path, id_column="unit_id")


def join(layer: UnitLayer, points: list[tuple[float, float]], snap_km: float = 5.0) -> list[str]:
    """Join (latitude, longitude) points and return the unit ids they land in."""
    latitude = np.array([lat for lat, _ in points])
    longitude = np.array([lon for _, lon in points])
    unit = join_points(
        layer,
        latitude,
        longitude,
        snap_km=snap_km,
        file="accounts.csv",
        account_ids=np.array([f"A{i + 1}" for i in range(len(points))], dtype=object),
        rows=np.arange(len(points)) + 2,
    )
    assert unit.dtype == np.int64
    return [str(layer.ids[u]) for u in unit]


def test_point_inside_unit(tmp_path):
    layer = write_layer(tmp_path, {"W": (0, 0), "E": (1, 0)})
    assert join(layer, [(LAT0 + 0.05, LON0 + 0.05), (LAT0 + 0.05, LON0 + 0.15)]) == ["W", "E"]


@pytest.mark.parametrize("cells", [{"B": (0, 0), "A": (1, 0)}, {"A": (0, 0), "B": (1, 0)}])
def test_shared_border_goes_to_smallest_id(tmp_path, cells):
    # The point lies on the meridian LON0 + 0.1 that both squares share. Whichever square
    # comes first in the file, the unit with the smaller id ('A') gets it.
    layer = write_layer(tmp_path, cells)
    assert join(layer, [(LAT0 + 0.05, LON0 + CELL)]) == ["A"]


def test_shared_corner_goes_to_smallest_id(tmp_path):
    # Four squares meet at (LON0 + 0.1, LAT0 + 0.1), and 'K3' is the smallest of their ids.
    layer = write_layer(tmp_path, {"K7": (0, 0), "K5": (1, 0), "K3": (1, 1), "K4": (0, 1)})
    assert join(layer, [(LAT0 + CELL, LON0 + CELL)]) == ["K3"]


def test_point_outside_snaps_with_distance(tmp_path, caplog):
    layer = write_layer(tmp_path, {"W": (0, 0), "E": (1, 0)})
    # 0.01 degree east of E's east edge, at latitude 40.05. The nearest point of E is on
    # the same parallel, so the great-circle distance is about
    # 0.01 * 111.195 km * cos(40.05 deg) = 1.11195 * 0.765483 = 0.8512 km.
    latitude = LAT0 + 0.05
    with caplog.at_level("WARNING", logger="solver.spatial_join"):
        found = join(layer, [(latitude, LON0 + 2 * CELL + 0.01)], snap_km=1.0)

    assert found == ["E"]
    expected = 0.01 * (math.pi * 6371.0088 / 180.0) * math.cos(math.radians(latitude))
    assert expected == pytest.approx(0.8512, abs=1e-4)
    assert f"A1 -> E ({expected:.2f} km)" in caplog.text
    assert "accounts.csv: joined 1 account outside every units.geojson unit" in caplog.text
    assert "The largest distance is 0.85 km" in caplog.text


def test_point_beyond_snap_rejected(tmp_path):
    layer = write_layer(tmp_path, {"W": (0, 0), "E": (1, 0)})
    # 0.1 degree east of E: 0.1 * 111.195 km * cos(40.05 deg) = 8.51 km, more than 5 km.
    points = [(LAT0 + 0.05, LON0 + 0.05), (LAT0 + 0.05, LON0 + 3 * CELL)]
    message = (
        "accounts.csv, row 3: account 'A2' at latitude 40.05, longitude -99.7 lies in no "
        "units.geojson unit and is 8.5 km from the nearest one, 'E', more than snap_km (5 km)"
    )
    with pytest.raises(InputError, match=re.escape(message)) as error:
        join(layer, points, snap_km=5.0)
    assert "Fix: correct the point, raise snap_km, or remove the account." in str(error.value)
    assert "swapped" not in str(error.value)


def test_missing_coordinates_rejected(tmp_path):
    layer = write_layer(tmp_path, {"W": (0, 0)})
    message = "accounts.csv, row 2: account 'A1' has no latitude and longitude"
    with pytest.raises(InputError, match=re.escape(message)):
        join(layer, [(math.nan, LON0)])


def test_empire_state_in_new_york_county():
    assert join(load_units("counties"), [(40.7484, -73.9857)]) == ["36061"]


def test_swapped_axes_hint_cook_county():
    # Chicago (41.88, -87.63) given as latitude -87.63, longitude 41.88: a valid point near
    # the South Pole, far from every county, while the swapped point lies in Cook County.
    counties = load_units("counties")
    with pytest.raises(InputError) as error:
        join(counties, [(-87.63, 41.88)])

    message = str(error.value)
    assert message.startswith("accounts.csv, row 2: account 'A1' at latitude -87.63")
    assert "Latitude and longitude look swapped" in message
    assert "latitude 41.88, longitude -87.63 lies in unit '17031'" in message
    assert "Fix: swap the latitude and longitude of this row" in message


def test_point_layer_nearest_and_tie(tmp_path):
    # P0 and P2 share one location, so a point nearest to it goes to the smaller id P0.
    points = [Point(-100.0, 40.0), Point(-100.0, 41.0), Point(-100.0, 41.0)]
    frame = gpd.GeoDataFrame({"unit_id": ["P1", "P2", "P0"]}, geometry=points, crs="EPSG:4326")
    frame.to_file(tmp_path / "stores.geojson")
    layer = load_units("stores.geojson", base_dir=tmp_path, id_column="unit_id")

    # 0.1 degree of latitude south of P0/P2 is 11.1 km, and 0.9 degree (100 km) from P1.
    assert join(layer, [(40.9, -100.0), (40.05, -100.0)], snap_km=20.0) == ["P0", "P1"]

    with pytest.raises(InputError, match=r"is 11\.1 km from the nearest one, 'P0'"):
        join(layer, [(40.9, -100.0)], snap_km=5.0)


def test_point_outside_projection_rejected(tmp_path):
    # Units in Paris get the UTM zone 31 CRS, which cannot map a point on the equator at
    # longitude 100, 97.5 degrees from the squares. The nearest corner is (48.8, 2.5):
    # cos d = sin 0 sin 48.8 + cos 0 cos 48.8 cos 97.5 = 0.65869 * -0.13053 = -0.08598,
    # so d = 94.93 degrees = 94.93 * 111.195 km = 10,556 km.
    boxes = [box(2.3, 48.8, 2.4, 48.9), box(2.4, 48.8, 2.5, 48.9)]
    frame = gpd.GeoDataFrame({"unit_id": ["P", "Q"]}, geometry=boxes, crs="EPSG:4326")
    frame.to_file(tmp_path / "paris.geojson")
    layer = load_units("paris.geojson", base_dir=tmp_path, id_column="unit_id")

    with pytest.raises(InputError) as error:
        join(layer, [(0.0, 100.0)])

    found = re.search(r"is ([\d,.]+) km from the nearest one, 'Q'", str(error.value))
    assert found is not None, str(error.value)
    assert float(found.group(1).replace(",", "")) == pytest.approx(10_556, abs=5)
