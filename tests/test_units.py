"""Tests for solver.units: unit layers, CRS checks, geometry repair and unit codes."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from solver.errors import InputError
from solver.units import load_units, unit_index

# A spot in Kansas, in metres of the Albers equal-area CRS EPSG:5070.
X0, Y0 = -100_000.0, 1_700_000.0


def write_units(path: Path, ids: list[str], geometry: list, crs: str | None) -> Path:
    """Write a unit file with a 'unit_id' column, in the format that the suffix names."""
    frame = gpd.GeoDataFrame({"unit_id": ids}, geometry=geometry, crs=crs)
    with warnings.catch_warnings():
        # geopandas warns when a file is written without a CRS, which some tests want.
        warnings.simplefilter("ignore", UserWarning)
        frame.to_file(path)
    return path


def square(x: float, y: float, side: float = 10_000.0) -> Polygon:
    return box(X0 + x, Y0 + y, X0 + x + side, Y0 + y + side)


def area_m2(geometry) -> float:
    """Return the area in square metres of a geometry stored in EPSG:4326."""
    return float(gpd.GeoSeries([geometry], crs="EPSG:4326").to_crs("EPSG:5070").area.iloc[0])


# -- shipped layers -----------------------------------------------------------------------


def test_counties_ids_and_geometry():
    counties = load_units("counties")
    assert counties.name == "counties"
    assert counties.polygonal
    assert len(counties.ids) == 3142
    assert all(re.fullmatch(r"\d{5}", code) for code in counties.ids)
    assert list(counties.ids) == sorted(set(counties.ids))
    assert counties.ids[0] == "01001"
    assert counties.geometry is not None
    assert str(counties.geometry.crs) == "EPSG:4326"
    assert counties.geometry.is_valid.all()
    assert counties.points.shape == (3142, 2)


def test_counties_points_inside_their_unit():
    counties = load_units("counties")
    assert counties.geometry is not None
    longitude, latitude = counties.points[:, 1], counties.points[:, 0]
    points = gpd.GeoSeries(gpd.points_from_xy(longitude, latitude), crs="EPSG:4326")
    assert counties.geometry.contains(points).all()


def test_counties_loaded_once():
    assert load_units("counties") is load_units("counties")


def test_counties_arrays_read_only():
    with pytest.raises(ValueError, match="read-only"):
        load_units("counties").ids[0] = "99999"


def test_zips_point_layer():
    zips = load_units("zips")
    assert not zips.polygonal
    assert zips.geometry is None
    assert len(zips.ids) == 41898
    assert list(zips.ids[:2]) == sorted(zips.ids[:2])


# -- CRS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["regions.gpkg", "regions.shp"])
def test_missing_crs_rejected(tmp_path, name):
    path = write_units(tmp_path / name, ["A"], [box(0, 0, 1, 1)], crs=None)
    with pytest.raises(InputError, match=rf"^{re.escape(name)}: has no CRS") as error:
        load_units(name, base_dir=tmp_path, id_column="unit_id")
    assert "write the CRS into the file" in str(error.value)
    assert path.exists()


def test_missing_crs_taken_from_scenario(tmp_path):
    write_units(tmp_path / "regions.shp", ["A"], [square(0, 0)], crs=None)
    layer = load_units("regions.shp", base_dir=tmp_path, id_column="unit_id", crs="EPSG:5070")
    assert layer.geometry is not None
    # A 10 km square of EPSG:5070 is 1e8 m2 once projected back.
    assert area_m2(layer.geometry.iloc[0]) == pytest.approx(1e8, rel=1e-6)


def test_crs_mismatch_names_both(tmp_path):
    write_units(tmp_path / "regions.gpkg", ["A"], [square(0, 0)], crs="EPSG:5070")
    with pytest.raises(InputError) as error:
        load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id", crs="EPSG:4326")
    message = str(error.value)
    assert message.startswith("regions.gpkg: is in CRS EPSG:5070")
    assert "but the scenario expects EPSG:4326" in message


def test_scenario_crs_invalid(tmp_path):
    write_units(tmp_path / "regions.gpkg", ["A"], [square(0, 0)], crs="EPSG:5070")
    with pytest.raises(InputError, match=r"scenario's crs 'EPSG:999999' is not a known CRS"):
        load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id", crs="EPSG:999999")


def test_projected_file_stored_in_degrees(tmp_path, caplog):
    write_units(tmp_path / "regions.gpkg", ["A"], [square(0, 0)], crs="EPSG:5070")
    with caplog.at_level("WARNING", logger="solver.units"):
        layer = load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id")

    assert layer.geometry is not None
    assert str(layer.geometry.crs) == "EPSG:4326"
    assert area_m2(layer.geometry.iloc[0]) == pytest.approx(1e8, rel=1e-6)
    # EPSG:5070 has its central meridian at -96 and its origin at latitude 23. The square's
    # centre is about 1,705 km / 111 km = 15.4 degrees north of the origin, near latitude
    # 38.4, and 95 km / (111.3 km * cos 38.4 deg = 87.2 km) = 1.09 degrees west of -96.
    assert layer.points[0, 0] == pytest.approx(38.4, abs=0.3)
    assert layer.points[0, 1] == pytest.approx(-97.09, abs=0.1)
    assert "geographic CRS" not in caplog.text


def test_geographic_crs_warning(tmp_path, caplog):
    write_units(tmp_path / "regions.geojson", ["A"], [box(-100, 40, -99.9, 40.1)], "EPSG:4326")
    with caplog.at_level("WARNING", logger="solver.units"):
        load_units("regions.geojson", base_dir=tmp_path, id_column="unit_id")
    message = "regions.geojson: geometry is in EPSG:4326 (WGS 84), a geographic CRS in degrees"
    assert message in caplog.text
    assert "never in degrees" in caplog.text


# -- geometry repair ----------------------------------------------------------------------


def test_bow_tie_repaired(tmp_path, caplog):
    # The ring crosses itself at (1, 1) km: two triangles, each with base 2 km and height
    # 1 km, so 1 km2 each and 2 km2 = 2e6 m2 in all.
    km = 1000.0
    ring = [(0, 0), (2 * km, 2 * km), (2 * km, 0), (0, 2 * km), (0, 0)]
    bow_tie = Polygon([(X0 + x, Y0 + y) for x, y in ring])
    assert not bow_tie.is_valid
    write_units(tmp_path / "regions.gpkg", ["B1", "OK"], [bow_tie, square(5000, 0)], "EPSG:5070")

    with caplog.at_level("WARNING", logger="solver.units"):
        layer = load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id")

    assert "regions.gpkg: repaired 1 invalid polygons with make_valid (ids: B1)" in caplog.text
    assert layer.geometry is not None
    repaired = layer.geometry.iloc[0]
    assert repaired.is_valid
    assert repaired.geom_type == "MultiPolygon"
    assert shapely.get_num_geometries(repaired) == 2
    assert area_m2(repaired) == pytest.approx(2e6, rel=1e-6)


def test_spike_left_as_one_polygon(tmp_path):
    # A 10 km square with a 5 km spike that goes out and back along one line (no area).
    top = Y0 + 10_000
    ring = [(X0, Y0), (X0 + 10_000, Y0), (X0 + 10_000, top), (X0 + 15_000, top + 5_000)]
    ring += [(X0 + 10_000, top), (X0, top), (X0, Y0)]
    write_units(tmp_path / "regions.gpkg", ["S"], [Polygon(ring)], "EPSG:5070")

    layer = load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id")

    assert layer.geometry is not None
    assert layer.geometry.iloc[0].geom_type == "Polygon"
    assert area_m2(layer.geometry.iloc[0]) == pytest.approx(1e8, rel=1e-6)


def test_sliver_piece_dropped(tmp_path, caplog):
    # A 10 km square plus a triangle of 0.5 m2 (1 m by 1 m / 2), below the 1 m2 floor.
    sliver = Polygon(
        [(X0 + 20_000, Y0), (X0 + 20_001, Y0), (X0 + 20_000, Y0 + 1), (X0 + 20_000, Y0)]
    )
    unit = MultiPolygon([square(0, 0), sliver])
    write_units(tmp_path / "regions.gpkg", ["S"], [unit], "EPSG:5070")

    with caplog.at_level("WARNING", logger="solver.units"):
        layer = load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id")

    assert layer.geometry is not None
    assert layer.geometry.iloc[0].geom_type == "Polygon"
    assert "dropped 1 polygon pieces" in caplog.text
    assert "(ids: S)" in caplog.text


def test_unit_without_area_rejected(tmp_path):
    # All three corners on one line: make_valid turns the ring into a line.
    flat = Polygon([(X0, Y0), (X0 + 1000, Y0), (X0 + 2000, Y0), (X0, Y0)])
    write_units(tmp_path / "regions.gpkg", ["OK", "FLAT"], [square(0, 0), flat], "EPSG:5070")
    message = "regions.gpkg, row 3: value 'FLAT' has no area"
    with pytest.raises(InputError, match=re.escape(message)):
        load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id")


# -- ids and geometry types ---------------------------------------------------------------


def test_duplicate_id_rejected(tmp_path):
    geometry = [square(0, 0), square(20_000, 0), square(40_000, 0)]
    write_units(tmp_path / "regions.gpkg", ["A", "B", "A"], geometry, "EPSG:5070")
    message = (
        "regions.gpkg, row 4, column 'unit_id': value 'A' is a duplicate id, also used in row 2"
    )
    with pytest.raises(InputError, match=re.escape(message)):
        load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id")


def test_missing_id_column_lists_columns(tmp_path):
    write_units(tmp_path / "regions.gpkg", ["A"], [square(0, 0)], "EPSG:5070")
    message = "regions.gpkg: has no id column 'code' (columns found: unit_id)"
    with pytest.raises(InputError, match=re.escape(message)):
        load_units("regions.gpkg", base_dir=tmp_path, id_column="code")


def test_missing_file_rejected(tmp_path):
    with pytest.raises(InputError, match=r"^nowhere\.gpkg: was not found"):
        load_units("nowhere.gpkg", base_dir=tmp_path, id_column="unit_id")


def test_points_and_polygons_mixed_rejected(tmp_path):
    geometry = [square(0, 0), Point(X0, Y0)]
    write_units(tmp_path / "regions.gpkg", ["A", "B"], geometry, "EPSG:5070")
    with pytest.raises(InputError, match=r"mixes geometry types \(Point, Polygon\)"):
        load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id")


def test_point_file_sorted_by_id(tmp_path):
    points = [Point(-100.0, 41.0), Point(-99.0, 40.0)]
    write_units(tmp_path / "stores.geojson", ["S2", "S1"], points, "EPSG:4326")
    layer = load_units("stores.geojson", base_dir=tmp_path, id_column="unit_id")
    assert not layer.polygonal
    assert list(layer.ids) == ["S1", "S2"]
    assert layer.points.tolist() == [[40.0, -99.0], [41.0, -100.0]]


# -- unit codes ---------------------------------------------------------------------------


def test_unit_index_pads_lost_zero(caplog):
    counties = load_units("counties")
    codes = pd.Series(["06001", "6001", "36061"])
    with caplog.at_level("WARNING", logger="solver.geo"):
        found = unit_index(counties, codes, file="accounts.csv", column="fips")

    alameda = int(np.searchsorted(counties.ids, "06001"))
    assert counties.ids[alameda] == "06001"
    assert found.tolist() == [alameda, alameda, int(np.searchsorted(counties.ids, "36061"))]
    assert "1 county FIPS code (row 3 '6001' -> '06001')" in caplog.text


def test_unit_index_rejects_unknown_padded():
    counties = load_units("counties")
    codes = pd.Series(["06001", "99"], index=[0, 7])
    message = (
        "accounts.csv, row 9, column 'fips': value '99' is not a 5-digit county FIPS code, "
        "and padded with leading zeros to '00099' it is not a known county FIPS code either"
    )
    with pytest.raises(InputError, match=re.escape(message)):
        unit_index(counties, codes, file="accounts.csv", column="fips")


def test_unit_index_user_ids_exact(tmp_path):
    geometry = [square(0, 0), square(20_000, 0)]
    write_units(tmp_path / "regions.gpkg", ["north", "south"], geometry, "EPSG:5070")
    layer = load_units("regions.gpkg", base_dir=tmp_path, id_column="unit_id")

    found = unit_index(layer, pd.Series(["south", "north"]), file="accounts.csv", column="region")
    assert found.tolist() == [1, 0]

    message = "accounts.csv, row 3, column 'region': value 'North' is not a unit id"
    with pytest.raises(InputError, match=re.escape(message)):
        unit_index(layer, pd.Series(["south", "North"]), file="accounts.csv", column="region")
