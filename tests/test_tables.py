"""Tests for solver.tables: reading, validating and mapping the accounts and reps tables."""

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from solver import geo
from solver.errors import InputError
from solver.scenario import Scenario
from solver.tables import check_roles_staffed, load_accounts, load_reps, role_members

ACCOUNTS = """\
account_id,name,lat,lon,fips,zip,potential,segment
A2,Beta,,,06001,,10,SMB
A1,Alpha,40.7128,-74.0060,,,5.5,ENT
A3,Gamma,,,,07407,0,SMB
"""

REPS = """\
rep_id,role,start_date,end_date,ramp
R1,ENT,2026-01-01,,fast
,SMB,2027-03-01,,
,SMB,2027-01-01,2028-01-01,
"""

ACCOUNT_COLUMNS = {
    "id": "account_id",
    "name": "name",
    "latitude": "lat",
    "longitude": "lon",
    "county_fips": "fips",
    "zip": "zip",
    "metrics": {"potential": "potential"},
}

ROLES = {
    "ENT": {"ramp": [0.5, 1.0], "accounts": {"column": "segment", "values": ["ENT"]}},
    "SMB": {"ramp": [1.0], "accounts": {"column": "segment", "values": ["SMB"]}},
}


def make_scenario(
    tmp_path: Path,
    accounts: str | None = ACCOUNTS,
    reps: str | None = REPS,
    *,
    account_columns: dict | None = None,
    rep_columns: dict | None = None,
    roles: dict | None = None,
    accounts_path: str = "accounts.csv",
    reps_path: str = "reps.csv",
    sheet: str | None = None,
    ramp_profiles: dict | None = None,
) -> Scenario:
    """Write the tables into ``tmp_path`` and return a scenario that reads them."""
    if accounts is not None:
        (tmp_path / "accounts.csv").write_text(accounts, encoding="utf-8")
    if reps is not None:
        (tmp_path / "reps.csv").write_text(reps, encoding="utf-8")

    accounts_input = {"path": accounts_path, "columns": account_columns or ACCOUNT_COLUMNS}
    if sheet is not None:
        accounts_input["sheet"] = sheet
    rep_input = {"path": reps_path, "columns": rep_columns or {"end_date": "end_date"}}
    if rep_columns is None:
        rep_input["columns"]["ramp_profile"] = "ramp"
    return Scenario.model_validate(
        {
            "name": "test",
            "design_date": "2027-01-01",
            "inputs": {"accounts": accounts_input, "reps": rep_input},
            "ramp_profiles": {"fast": [0.5, 1.0]} if ramp_profiles is None else ramp_profiles,
            "roles": roles or ROLES,
            "source": tmp_path / "scenario.yaml",
        }
    )


def replace_cell(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


# -- happy path ---------------------------------------------------------------------------


def test_accounts_columns_and_order(tmp_path):
    accounts = load_accounts(make_scenario(tmp_path))
    expected = ["account_id", "source_row", "name", "latitude", "longitude", "location_source"]
    # The mapped FIPS and ZIP codes stay as text, for roles that join accounts to units.
    assert list(accounts.columns) == [*expected, "potential", "segment", "county_code", "zip_code"]
    # Sorted by id: A1 is on row 3 of the file, A2 on row 2 and A3 on row 4.
    assert accounts["source_row"].tolist() == [3, 2, 4]
    assert accounts["account_id"].tolist() == ["A1", "A2", "A3"]
    assert accounts["potential"].tolist() == [5.5, 10.0, 0.0]


def test_accounts_location_sources(tmp_path):
    accounts = load_accounts(make_scenario(tmp_path))
    assert accounts["location_source"].tolist() == ["latlon", "county_fips", "zip"]


def test_accounts_location_from_fips_and_zip(tmp_path):
    accounts = load_accounts(make_scenario(tmp_path)).set_index("account_id")
    alameda_lat, alameda_lon = geo.locate_counties(pd.Series(["06001"]), "x", "fips")
    zip_lat, _ = geo.locate_zips(pd.Series(["07407"]), "x", "zip")
    assert accounts.loc["A2", "latitude"] == alameda_lat[0]
    assert accounts.loc["A2", "longitude"] == alameda_lon[0]
    assert accounts.loc["A3", "latitude"] == zip_lat[0]
    assert accounts.loc["A1", "latitude"] == 40.7128


def test_accounts_latlon_wins_over_fips(tmp_path):
    table = replace_cell(
        ACCOUNTS, "A1,Alpha,40.7128,-74.0060,,", "A1,Alpha,40.7128,-74.0060,06001,"
    )
    accounts = load_accounts(make_scenario(tmp_path, table)).set_index("account_id")
    assert accounts.loc["A1", "location_source"] == "latlon"


def test_accounts_keep_leading_zeros(tmp_path):
    columns = {**ACCOUNT_COLUMNS, "keep": ["fips", "zip"]}
    accounts = load_accounts(make_scenario(tmp_path, account_columns=columns))
    assert accounts["fips"].tolist() == [None, "06001", None]
    assert accounts["zip"].tolist() == [None, None, "07407"]


def test_accounts_blank_lines_keep_rows(tmp_path):
    table = ACCOUNTS.replace("A1,", "\nA1,", 1) + "\n\n"
    table = replace_cell(table, "A3,Gamma,,,,07407,0", "A3,Gamma,,,,07407,-1")
    with pytest.raises(InputError, match=r"accounts\.csv, row 5, column 'potential'"):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_excel_bom_is_dropped(tmp_path):
    scenario = make_scenario(tmp_path)
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8-sig")
    assert load_accounts(scenario)["account_id"].tolist() == ["A1", "A2", "A3"]


def test_accounts_na_text_is_a_value(tmp_path):
    table = replace_cell(ACCOUNTS, ",0,SMB", ",0,NA")
    roles = {"NA": {"ramp": [1.0], "accounts": {"column": "segment", "values": ["NA"]}}}
    scenario = make_scenario(tmp_path, table, roles=roles)
    masks = role_members(load_accounts(scenario), scenario)
    assert masks["NA"].tolist() == [False, False, True]


def test_accounts_csv_parquet_excel_equal(tmp_path):
    expected = load_accounts(make_scenario(tmp_path))
    source = pd.read_csv(tmp_path / "accounts.csv", dtype={"fips": str, "zip": str})
    source.to_parquet(tmp_path / "accounts.parquet", index=False)
    source.to_excel(tmp_path / "accounts.xlsx", index=False, sheet_name="Accounts")

    from_parquet = load_accounts(make_scenario(tmp_path, accounts_path="accounts.parquet"))
    scenario = make_scenario(tmp_path, accounts_path="accounts.xlsx", sheet="Accounts")
    from_excel = load_accounts(scenario)
    pd.testing.assert_frame_equal(from_parquet, expected)
    pd.testing.assert_frame_equal(from_excel, expected)


def test_accounts_csv_gz(tmp_path):
    expected = load_accounts(make_scenario(tmp_path))
    pd.read_csv(tmp_path / "accounts.csv", dtype=str).to_csv(
        tmp_path / "accounts.csv.gz", index=False
    )
    scenario = make_scenario(tmp_path, accounts_path="accounts.csv.gz")
    pd.testing.assert_frame_equal(load_accounts(scenario), expected)


def test_accounts_flag_metric_true_false(tmp_path):
    table = ACCOUNTS.replace("segment\n", "segment,icp\n")
    table = table.replace("SMB\n", "SMB,TRUE\n").replace("ENT\n", "ENT,false\n")
    columns = {**ACCOUNT_COLUMNS, "metrics": {"icp": "icp"}}
    accounts = load_accounts(make_scenario(tmp_path, table, account_columns=columns))
    assert accounts["icp"].tolist() == [0.0, 1.0, 1.0]


def test_accounts_null_island_warning(tmp_path, caplog):
    table = replace_cell(ACCOUNTS, "40.7128,-74.0060", "0,0")
    with caplog.at_level(logging.WARNING, logger="solver.tables"):
        load_accounts(make_scenario(tmp_path, table))
    assert "1 accounts are at latitude 0, longitude 0" in caplog.text


def test_reps_columns_and_types(tmp_path):
    reps = load_reps(make_scenario(tmp_path))
    expected = ["rep_id", "role", "name", "start_date", "end_date"]
    assert list(reps.columns) == [*expected, "home_latitude", "home_longitude", "ramp_profile"]
    assert reps["start_date"].iloc[0] == pd.Timestamp("2026-01-01")
    assert pd.isna(reps["end_date"].iloc[0])
    assert reps["ramp_profile"].tolist() == ["fast", None, None]
    assert reps["name"].tolist() == [None, None, None]
    assert np.isnan(reps["home_latitude"]).all()


def test_reps_tbh_ids_by_start_date(tmp_path):
    reps = load_reps(make_scenario(tmp_path))
    assert reps["rep_id"].tolist() == ["R1", "TBH-SMB-02", "TBH-SMB-01"]


def test_reps_tbh_ids_skip_used_ids(tmp_path):
    table = REPS + "TBH-SMB-01,SMB,2026-05-01,,\n,ENT,2027-01-01,,\n"
    reps = load_reps(make_scenario(tmp_path, reps=table))
    assert reps["rep_id"].tolist() == ["R1", "TBH-SMB-03", "TBH-SMB-02", "TBH-SMB-01", "TBH-ENT-01"]


def test_reps_home_from_zip(tmp_path):
    table = "rep_id,role,start_date,home\nR1,ENT,2026-01-01,10001\nR2,SMB,2026-01-01,\n"
    columns = {"home_zip": "home"}
    reps = load_reps(make_scenario(tmp_path, reps=table, rep_columns=columns))
    assert reps["home_latitude"].iloc[0] == pytest.approx(40.75, abs=0.05)
    assert np.isnan(reps["home_latitude"].iloc[1])


def test_reps_excel_dates(tmp_path):
    frame = pd.DataFrame(
        {"rep_id": ["R1"], "role": ["ENT"], "start_date": [pd.Timestamp("2026-02-03")]}
    )
    frame.to_excel(tmp_path / "reps.xlsx", index=False)
    scenario = make_scenario(tmp_path, reps_path="reps.xlsx", rep_columns={"id": "rep_id"})
    reps = load_reps(scenario)
    assert reps["start_date"].iloc[0] == pd.Timestamp("2026-02-03")


def test_role_members_masks(tmp_path):
    scenario = make_scenario(tmp_path)
    masks = role_members(load_accounts(scenario), scenario)
    assert list(masks) == ["ENT", "SMB"]
    assert masks["ENT"].tolist() == [True, False, False]
    assert masks["SMB"].tolist() == [False, True, True]


def test_role_members_without_filter_covers_all(tmp_path):
    scenario = make_scenario(tmp_path, roles={"ALL": {"ramp": [1.0]}})
    masks = role_members(load_accounts(scenario), scenario)
    assert masks["ALL"].all()


def test_role_members_integer_values(tmp_path):
    table = ACCOUNTS.replace(",ENT\n", ",1\n")
    roles = {"TIER1": {"ramp": [1.0], "accounts": {"column": "segment", "values": [1]}}}
    scenario = make_scenario(tmp_path, table, roles=roles)
    masks = role_members(load_accounts(scenario), scenario)
    assert masks["TIER1"].tolist() == [True, False, False]


# -- bad input: files ---------------------------------------------------------------------


def test_accounts_file_missing(tmp_path):
    scenario = make_scenario(tmp_path, accounts_path="missing.csv")
    message = (
        "scenario.yaml, key 'inputs.accounts.path': value 'missing.csv' is not an existing file"
    )
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(scenario)


def test_accounts_unsupported_suffix(tmp_path):
    (tmp_path / "accounts.txt").write_text(ACCOUNTS)
    scenario = make_scenario(tmp_path, accounts_path="accounts.txt")
    with pytest.raises(InputError, match=r"unsupported file type '\.txt'\. Fix: save the table as"):
        load_accounts(scenario)


def test_accounts_sheet_on_csv(tmp_path):
    scenario = make_scenario(tmp_path, sheet="Accounts")
    with pytest.raises(InputError, match=r"key 'inputs\.accounts\.sheet': value 'Accounts' is set"):
        load_accounts(scenario)


def test_accounts_excel_sheet_missing(tmp_path):
    pd.DataFrame({"account_id": ["A1"]}).to_excel(tmp_path / "accounts.xlsx", sheet_name="Data")
    scenario = make_scenario(tmp_path, accounts_path="accounts.xlsx", sheet="Accounts")
    with pytest.raises(
        InputError, match=r"is not a sheet of accounts\.xlsx\. Fix: use one of 'Data'"
    ):
        load_accounts(scenario)


def test_accounts_not_utf8(tmp_path):
    scenario = make_scenario(tmp_path)
    (tmp_path / "accounts.csv").write_bytes(ACCOUNTS.replace("Beta", "Bèta").encode("latin-1"))
    with pytest.raises(InputError, match=r"accounts\.csv: is not UTF-8 text\. Fix: save it"):
        load_accounts(scenario)


def test_accounts_file_empty(tmp_path):
    scenario = make_scenario(tmp_path, accounts="")
    with pytest.raises(InputError, match=r"accounts\.csv: is empty\. Fix: write a header row"):
        load_accounts(scenario)


def test_accounts_no_data_rows(tmp_path):
    scenario = make_scenario(tmp_path, accounts=ACCOUNTS.splitlines()[0] + "\n\n")
    with pytest.raises(InputError, match=r"accounts\.csv: has no data rows\. Fix: add at least"):
        load_accounts(scenario)


# -- bad input: accounts ------------------------------------------------------------------


def test_accounts_misspelled_metric_column(tmp_path):
    columns = {**ACCOUNT_COLUMNS, "metrics": {"potential": "potentail"}}
    message = (
        "accounts.csv, column 'potentail': not found in the header row "
        "(key 'inputs.accounts.columns.metrics.potential' of scenario.yaml maps it). "
        "Fix: did you mean 'potential'?"
    )
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, account_columns=columns))


def test_accounts_missing_filter_column(tmp_path):
    roles = {"ENT": {"ramp": [1.0], "accounts": {"column": "region", "values": ["West"]}}}
    with pytest.raises(InputError, match=r"column 'region'.*key 'roles\.ENT\.accounts\.column'"):
        load_accounts(make_scenario(tmp_path, roles=roles))


def test_accounts_empty_id(tmp_path):
    table = replace_cell(ACCOUNTS, "A3,Gamma", ",Gamma")
    message = "accounts.csv, row 4, column 'account_id': value '' is empty"
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_duplicate_id(tmp_path):
    table = replace_cell(ACCOUNTS, "A3,Gamma", "A2,Gamma")
    message = "accounts.csv, row 4, column 'account_id': value 'A2' repeats the account id of row 2"
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_metric_not_a_number(tmp_path):
    table = replace_cell(ACCOUNTS, ",10,SMB", ",$1,000,SMB").replace("$1,000", '"$1,000"')
    message = "accounts.csv, row 2, column 'potential': value '$1,000' is not a number. Fix: write"
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_metric_negative(tmp_path):
    table = replace_cell(ACCOUNTS, ",10,SMB", ",-5,SMB")
    message = "row 2, column 'potential': value '-5' is negative. Fix: metrics must be >= 0."
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_metric_empty(tmp_path):
    table = replace_cell(ACCOUNTS, ",10,SMB", ",,SMB")
    with pytest.raises(InputError, match=r"row 2, column 'potential'.*Fix: fill it with 0"):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_metric_problem_counts_rows(tmp_path):
    table = replace_cell(ACCOUNTS, ",10,SMB", ",-5,SMB").replace(",0,SMB", ",-1,SMB")
    with pytest.raises(InputError, match=r"row 2, .*\(2 rows in total have this problem\)"):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_latitude_out_of_range(tmp_path):
    table = replace_cell(ACCOUNTS, "40.7128", "140.7128")
    message = "row 3, column 'lat': value '140.7128' is outside [-90, 90] degrees"
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_longitude_out_of_range(tmp_path):
    table = replace_cell(ACCOUNTS, "-74.0060", "-274.0060")
    message = "row 3, column 'lon': value '-274.0060' is outside [-180, 180] degrees"
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_latitude_not_a_number(tmp_path):
    table = replace_cell(ACCOUNTS, "40.7128", "40.7N")
    with pytest.raises(InputError, match=r"row 3, column 'lat': value '40\.7N' is not a number"):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_fips_lost_leading_zero_is_padded(tmp_path, caplog):
    table = replace_cell(ACCOUNTS, "06001", "6001")
    with caplog.at_level(logging.WARNING):
        accounts = load_accounts(make_scenario(tmp_path, table)).set_index("account_id")
    alameda_lat, alameda_lon = geo.locate_counties(pd.Series(["06001"]), "x", "fips")
    assert accounts.loc["A2", "latitude"] == alameda_lat[0]
    assert accounts.loc["A2", "longitude"] == alameda_lon[0]
    assert "row 2 '6001' -> '06001'" in caplog.text


def test_accounts_zip_lost_leading_zero_is_padded(tmp_path, caplog):
    table = replace_cell(ACCOUNTS, "07407", "7407")
    with caplog.at_level(logging.WARNING):
        accounts = load_accounts(make_scenario(tmp_path, table)).set_index("account_id")
    zip_lat, _ = geo.locate_zips(pd.Series(["07407"]), "x", "zip")
    assert accounts.loc["A3", "latitude"] == zip_lat[0]
    assert "row 4 '7407' -> '07407'" in caplog.text


def test_accounts_padded_fips_that_is_unknown(tmp_path):
    # '6999' padded is '06999', which is no county, so the row is rejected.
    table = replace_cell(ACCOUNTS, "06001", "6999")
    with pytest.raises(InputError, match=r"row 2, column 'fips': value '6999'"):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_unknown_fips(tmp_path):
    table = replace_cell(ACCOUNTS, "06001", "06999")
    message = "row 2, column 'fips': value '06999' is an unknown county FIPS code"
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_parquet_fips_as_integer(tmp_path):
    frame = pd.DataFrame({"account_id": ["A1"], "fips": [6001]})
    frame.to_parquet(tmp_path / "accounts.parquet")
    columns = {"id": "account_id", "county_fips": "fips"}
    roles = {"ALL": {"ramp": [1.0]}}
    scenario = make_scenario(
        tmp_path, accounts_path="accounts.parquet", account_columns=columns, roles=roles
    )
    # Parquet stores the code as the integer 6001, which is padded to Alameda's 06001.
    accounts = load_accounts(scenario)
    alameda_lat, _ = geo.locate_counties(pd.Series(["06001"]), "x", "fips")
    assert accounts["latitude"].tolist() == [alameda_lat[0]]


def test_accounts_row_without_location(tmp_path):
    table = replace_cell(ACCOUNTS, ",,,07407,", ",,,,")
    message = "accounts.csv, row 4: has no location. Fix: fill in latitude and longitude"
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, table))


def test_accounts_reserved_metric_name(tmp_path):
    columns = {**ACCOUNT_COLUMNS, "metrics": {"latitude": "potential"}}
    message = "key 'inputs.accounts.columns.metrics.latitude': value 'latitude' is a metric name"
    with pytest.raises(InputError, match=re.escape(message)):
        load_accounts(make_scenario(tmp_path, account_columns=columns))


def test_accounts_keep_column_clashes(tmp_path):
    lines = ACCOUNTS.splitlines()
    table = "\n".join([lines[0] + ",latitude", *(line + ",x" for line in lines[1:])]) + "\n"
    columns = {**ACCOUNT_COLUMNS, "keep": ["latitude"]}
    with pytest.raises(InputError, match=r"column 'latitude': has the name of the output column"):
        load_accounts(make_scenario(tmp_path, table, account_columns=columns))


# -- bad input: reps ----------------------------------------------------------------------


def test_reps_unknown_role(tmp_path):
    table = replace_cell(REPS, "R1,ENT", "R1,ent")
    message = (
        "reps.csv, row 2, column 'role': value 'ent' is not a role of the scenario. "
        "Fix: did you mean 'ENT'? Use one of the roles of scenario.yaml: 'ENT', 'SMB'."
    )
    with pytest.raises(InputError, match=re.escape(message)):
        load_reps(make_scenario(tmp_path, reps=table))


def test_reps_empty_role(tmp_path):
    table = replace_cell(REPS, "R1,ENT", "R1,")
    with pytest.raises(InputError, match=r"row 2, column 'role': value '' is not a role"):
        load_reps(make_scenario(tmp_path, reps=table))


def test_reps_ambiguous_date(tmp_path):
    table = replace_cell(REPS, "2027-03-01", "03/04/2027")
    message = (
        "reps.csv, row 3, column 'start_date': value '03/04/2027' is not a valid date in the "
        "format YYYY-MM-DD. Fix: write the date as YYYY-MM-DD"
    )
    with pytest.raises(InputError, match=re.escape(message)):
        load_reps(make_scenario(tmp_path, reps=table))


def test_reps_impossible_date(tmp_path):
    table = replace_cell(REPS, "2028-01-01", "2028-02-30")
    with pytest.raises(InputError, match=r"row 4, column 'end_date': value '2028-02-30' is not a"):
        load_reps(make_scenario(tmp_path, reps=table))


def test_reps_missing_start_date(tmp_path):
    table = replace_cell(REPS, "2027-03-01", "")
    message = "row 3, column 'start_date': value '' is empty, but every rep and planned hire"
    with pytest.raises(InputError, match=re.escape(message)):
        load_reps(make_scenario(tmp_path, reps=table))


def test_reps_end_before_start(tmp_path):
    table = replace_cell(REPS, "2028-01-01", "2026-12-31")
    message = "row 4, column 'end_date': value '2026-12-31' is before the start date 2027-01-01"
    with pytest.raises(InputError, match=re.escape(message)):
        load_reps(make_scenario(tmp_path, reps=table))


def test_reps_unknown_ramp_profile(tmp_path):
    table = replace_cell(REPS, ",fast", ",fats")
    message = (
        "row 2, column 'ramp': value 'fats' is not a ramp profile of the scenario. "
        "Fix: did you mean 'fast'?"
    )
    with pytest.raises(InputError, match=re.escape(message) + r".*: 'fast'\."):
        load_reps(make_scenario(tmp_path, reps=table))


def test_reps_ramp_profile_none_defined(tmp_path):
    scenario = make_scenario(tmp_path, ramp_profiles={})
    with pytest.raises(InputError, match=r"value 'fast'.*define the profile under ramp_profiles"):
        load_reps(scenario)


def test_reps_duplicate_id(tmp_path):
    table = REPS + "R1,SMB,2027-01-01,,\n"
    message = "reps.csv, row 5, column 'rep_id': value 'R1' repeats the rep id of row 2"
    with pytest.raises(InputError, match=re.escape(message)):
        load_reps(make_scenario(tmp_path, reps=table))


def test_reps_missing_id_column(tmp_path):
    table = REPS.replace("rep_id,", "id,", 1)
    with pytest.raises(InputError, match=r"column 'rep_id'.*inputs\.reps\.columns\.id"):
        load_reps(make_scenario(tmp_path, reps=table))


# -- bad input: roles ---------------------------------------------------------------------


def test_role_covers_no_accounts(tmp_path):
    roles = {"ENT": {"ramp": [1.0], "accounts": {"column": "segment", "values": ["Enterprise"]}}}
    scenario = make_scenario(tmp_path, roles=roles)
    message = (
        "role 'ENT' covers no accounts: no row of accounts.csv has column 'segment' in "
        "['Enterprise']"
    )
    with pytest.raises(InputError, match=re.escape(message) + r".*'SMB', 'ENT'\."):
        role_members(load_accounts(scenario), scenario)


def test_role_without_reps(tmp_path):
    scenario = make_scenario(tmp_path)
    reps = load_reps(scenario)
    reps = reps.loc[reps["role"] != "SMB"]
    message = "reps.csv: role 'SMB' has no reps or planned hires. Fix: add a row"
    with pytest.raises(InputError, match=re.escape(message)):
        check_roles_staffed(reps, scenario)


def test_roles_staffed_passes(tmp_path):
    scenario = make_scenario(tmp_path)
    assert check_roles_staffed(load_reps(scenario), scenario) is None
