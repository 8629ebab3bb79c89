"""Tests for solver.geo: great-circle distances and FIPS / ZIP code lookups."""

import re

import numpy as np
import pandas as pd
import pytest

from solver import geo
from solver.errors import InputError


def test_haversine_one_degree_of_latitude():
    # One degree of a great circle is 2 * pi * R / 360 = 111.195 km on the mean-radius sphere.
    assert geo.haversine_km(0.0, 0.0, 1.0, 0.0) == pytest.approx(111.195, abs=0.01)


def test_haversine_new_york_to_los_angeles():
    distance = geo.haversine_km(40.7128, -74.0060, 34.0522, -118.2437)
    assert distance == pytest.approx(3936.0, abs=1.0)


def test_haversine_same_point_is_zero():
    assert geo.haversine_km(51.5, -0.12, 51.5, -0.12) == 0.0


def test_haversine_antipodes_half_circumference():
    distance = geo.haversine_km(0.0, 0.0, 0.0, 180.0)
    assert distance == pytest.approx(np.pi * geo.EARTH_RADIUS_KM)


def test_haversine_broadcasts():
    distances = geo.haversine_km(np.array([0.0, 1.0]), 0.0, 0.0, 0.0)
    assert distances.shape == (2,)
    assert distances[0] == 0.0


def test_distance_matrix_shape_and_entries():
    points = np.array([[40.7128, -74.0060], [34.0522, -118.2437], [0.0, 0.0]])
    centres = np.array([[40.7128, -74.0060], [0.0, 1.0]])
    matrix = geo.distance_matrix_km(points, centres)
    assert matrix.shape == (3, 2)
    assert matrix.dtype == np.float64
    assert matrix[0, 0] == 0.0
    assert matrix[1, 0] == pytest.approx(3936.0, abs=1.0)
    assert matrix[2, 1] == pytest.approx(111.195, abs=0.01)


def test_distance_matrix_rejects_wrong_shape():
    with pytest.raises(
        ValueError, match=r"centres must have shape \(n, 2\) with latitude and longitude"
    ):
        geo.distance_matrix_km(np.zeros((3, 2)), np.zeros(2))


def test_county_points_keep_leading_zeros():
    counties = geo.county_points()
    assert len(counties) == 3142
    assert counties["geoid"].iloc[0] == "01001"


def test_zip_points_keep_leading_zeros():
    zips = geo.zip_points()
    assert zips["zip"].str.len().eq(5).all()
    assert "00501" in set(zips["zip"])


def test_county_points_returns_a_copy():
    counties = geo.county_points()
    counties.loc[0, "name"] = "changed"
    assert geo.county_points().loc[0, "name"] == "Autauga"


def test_locate_alameda_county_interior_point():
    latitude, longitude = geo.locate_counties(pd.Series(["06001"]), "accounts.csv", "fips")
    alameda = geo.county_points().set_index("geoid").loc["06001"]
    assert latitude[0] == alameda["interior_lat"]
    assert longitude[0] == alameda["interior_lon"]
    assert latitude.dtype == np.float64


def test_locate_county_five_digit_float():
    latitude, _ = geo.locate_counties(pd.Series(["36061.0"]), "accounts.csv", "fips")
    expected, _ = geo.locate_counties(pd.Series(["36061"]), "accounts.csv", "fips")
    assert latitude[0] == expected[0]


def test_locate_zip_10001_in_manhattan():
    latitude, longitude = geo.locate_zips(pd.Series(["10001"]), "accounts.csv", "zip")
    assert latitude[0] == pytest.approx(40.75, abs=0.05)
    assert longitude[0] == pytest.approx(-74.00, abs=0.05)


def test_locate_zip_plus_four_uses_five_digits():
    plus_four, _ = geo.locate_zips(pd.Series(["02134-1234"]), "accounts.csv", "zip")
    plain, _ = geo.locate_zips(pd.Series(["02134"]), "accounts.csv", "zip")
    assert plus_four[0] == plain[0]


def test_fips_lost_leading_zero(caplog):
    codes = pd.Series(["06001", "6001"])
    with caplog.at_level("WARNING", logger="solver.geo"):
        latitude, longitude = geo.locate_counties(codes, "accounts.csv", "fips")

    # Both rows are Alameda County once '6001' is padded to '06001'.
    assert latitude[1] == latitude[0]
    assert longitude[1] == longitude[0]
    message = (
        "accounts.csv, column 'fips': leading zeros were lost and are restored in "
        "1 county FIPS code (row 3 '6001' -> '06001')"
    )
    assert message in caplog.text


def test_fips_read_as_float_lost_zero(caplog):
    codes = pd.Series(["6001.0", "6075.0"])
    with caplog.at_level("WARNING", logger="solver.geo"):
        latitude, _ = geo.locate_counties(codes, "accounts.csv", "fips")

    expected, _ = geo.locate_counties(pd.Series(["06001", "06075"]), "accounts.csv", "fips")
    assert latitude.tolist() == expected.tolist()
    assert "2 county FIPS codes (row 2 '6001.0' -> '06001', row 3 '6075.0' -> '06075')" in (
        caplog.text
    )
    # One warning for the whole column, not one per row.
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


def test_zip_lost_leading_zero(caplog):
    with caplog.at_level("WARNING", logger="solver.geo"):
        latitude, _ = geo.locate_zips(pd.Series(["7407"]), "accounts.csv", "zip")

    expected, _ = geo.locate_zips(pd.Series(["07407"]), "accounts.csv", "zip")
    assert latitude[0] == expected[0]
    assert "1 ZIP code (row 2 '7407' -> '07407')" in caplog.text


def test_fips_padded_unknown_rejected():
    # '99' padded is '00099', and no state has FIPS code 00, so it cannot be guessed.
    codes = pd.Series(["06001", "99"])
    message = (
        "accounts.csv, row 3, column 'fips': value '99' is not a 5-digit county FIPS code, "
        "and padded with leading zeros to '00099' it is not a known county FIPS code either"
    )
    with pytest.raises(InputError, match=re.escape(message)):
        geo.locate_counties(codes, "accounts.csv", "fips")


def test_unknown_fips_code():
    codes = pd.Series(["06001", "99999"])
    message = "accounts.csv, row 3, column 'fips': value '99999' is an unknown county FIPS code"
    with pytest.raises(InputError, match=re.escape(message)):
        geo.locate_counties(codes, "accounts.csv", "fips")


def test_unknown_zip_code():
    with pytest.raises(InputError, match=r"value '00000' is an unknown ZIP code"):
        geo.locate_zips(pd.Series(["00000"]), "accounts.csv", "zip")


def test_malformed_fips_code():
    with pytest.raises(InputError, match=r"value 'ABCDE' is not a 5-digit county FIPS code\."):
        geo.locate_counties(pd.Series(["ABCDE"]), "accounts.csv", "fips")


def test_row_numbers_follow_index():
    codes = pd.Series(["06001", "bad"], index=[4, 9])
    with pytest.raises(InputError, match=r"row 11,"):
        geo.locate_counties(codes, "accounts.csv", "fips")
