"""Tests for solver.scenario: loading scenario files and the wording of every input error."""

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from instances import write_instance

from solver.cli import main
from solver.errors import InputError
from solver.scenario import load_scenario

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios" / "us_default.yaml"


def _valid() -> dict[str, Any]:
    """Return a small valid scenario as a fresh dict, for a test to break one key of."""
    return {
        "name": "probe",
        "design_date": "2027-02-01",
        "inputs": {
            "accounts": {
                "path": "accounts.csv",
                "columns": {
                    "id": "account_id",
                    "latitude": "latitude",
                    "longitude": "longitude",
                    "metrics": {"potential": "potential"},
                },
            },
            "reps": {"path": "reps.csv"},
        },
        "ramp_profiles": {"experienced": [0.5, 1.0]},
        "roles": {
            "ENT": {
                "ramp": [0.5, 1.0],
                "balance": [{"metric": "potential", "tolerance": 0.1}],
                "viability": [{"metric": "potential", "minimum": 5}],
            }
        },
    }


def _write(tmp_path: Path, scenario: dict[str, Any]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def _write_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _balance(scenario: dict[str, Any]) -> dict[str, Any]:
    return scenario["roles"]["ENT"]["balance"][0]


# -- reading the file ---------------------------------------------------------------------


def test_valid_scenario_loads(tmp_path):
    scenario = load_scenario(_write(tmp_path, _valid()))
    assert scenario.name == "probe"
    assert scenario.source == tmp_path / "scenario.yaml"


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    expected = f"{path}: scenario file not found. Fix: pass the path of a YAML file"
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(path)


def test_invalid_yaml_names_line(tmp_path):
    path = _write_text(tmp_path, "name: probe\ndesign_date: 2027-02-01\nroles: [\n  ENT: x\n")
    expected = "scenario.yaml, line 5: invalid YAML (expected ',' or ']'"
    with pytest.raises(InputError, match=re.escape(expected)) as caught:
        load_scenario(path)
    assert "Fix: check the indentation and quoting on that line." in str(caught.value)


def test_not_utf8(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    expected = "scenario.yaml: not UTF-8 text. Fix: save the file as UTF-8."
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(path)


@pytest.mark.parametrize(
    ("text", "found"),
    [("- name\n- roles\n", "list"), ("probe\n", "str"), ("", "NoneType")],
)
def test_top_level_not_mapping(tmp_path, text, found):
    path = _write_text(tmp_path, text)
    expected = (
        "scenario.yaml: expected a mapping of keys (name, design_date, inputs, roles, ...), "
        f"got {found}. Fix: see docs/scenarios.md for the layout."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(path)


# -- unknown and missing keys -------------------------------------------------------------


def test_unknown_top_level_key(tmp_path):
    scenario = _valid()
    scenario["solvr"] = {"seed": 1}
    expected = (
        "scenario.yaml, key 'solvr': unknown key 'solvr'. Fix: did you mean 'solver'? "
        "Allowed keys here are name, description, design_date, inputs, ramp_profiles, roles, "
        "objective, solver, horizon, policy, prebuilt, just_in_time, export, locks, maps."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_unknown_key_without_guess(tmp_path):
    scenario = _valid()
    scenario["colour"] = "blue"
    expected = "key 'colour': unknown key 'colour'. Fix: allowed keys here are name, "
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_unknown_key_in_balance_goal(tmp_path):
    scenario = _valid()
    _balance(scenario)["tolerence"] = _balance(scenario).pop("tolerance")
    expected = (
        "scenario.yaml, key 'roles.ENT.balance.0.tolerence': unknown key 'tolerence'. "
        "Fix: did you mean 'tolerance'? Allowed keys here are metric, tolerance."
    )
    with pytest.raises(InputError, match=re.escape(expected)) as caught:
        load_scenario(_write(tmp_path, scenario))
    # The misspelt key leaves the real key unset; that follows from the typo, so it is
    # not reported a second time.
    assert "required key is missing" not in str(caught.value)


def test_missing_design_date(tmp_path):
    scenario = _valid()
    del scenario["design_date"]
    expected = "scenario.yaml, key 'design_date': required key is missing. Fix: add it."
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


# -- values -------------------------------------------------------------------------------


def test_ramp_value_above_one(tmp_path):
    scenario = _valid()
    scenario["roles"]["ENT"]["ramp"] = [0.5, 1.5]
    expected = (
        "scenario.yaml, key 'roles.ENT.ramp': ramp value for month 2 must be within [0, 1] "
        "(share of full productivity), got 1.5."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_ramp_value_negative(tmp_path):
    scenario = _valid()
    scenario["roles"]["ENT"]["ramp"] = [-0.1, 1.0]
    expected = "ramp value for month 1 must be within [0, 1] (share of full productivity), got -0.1"
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


@pytest.mark.parametrize(
    ("tolerance", "problem"),
    [(0, "Input should be greater than 0 (got 0)"), (1.5, "Input should be less than 1 (got 1.5)")],
)
def test_tolerance_out_of_range(tmp_path, tolerance, problem):
    scenario = _valid()
    _balance(scenario)["tolerance"] = tolerance
    expected = f"scenario.yaml, key 'roles.ENT.balance.0.tolerance': {problem}."
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_negative_viability_minimum(tmp_path):
    scenario = _valid()
    scenario["roles"]["ENT"]["viability"][0]["minimum"] = -1
    expected = (
        "scenario.yaml, key 'roles.ENT.viability.0.minimum': Input should be greater than or "
        "equal to 0 (got -1). Fix: correct the value; see docs/scenarios.md."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_design_date_quoted_invalid(tmp_path):
    scenario = _valid()
    scenario["design_date"] = "2027-13-45"
    expected = (
        "scenario.yaml, key 'design_date': Input should be a valid date or datetime, month "
        "value is outside expected range of 1-12 (got '2027-13-45'). Fix: write the date as "
        "YYYY-MM-DD, for example 2027-02-01."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_design_date_unquoted_invalid(tmp_path):
    # Unquoted, 2027-13-45 fails in the YAML parser, which reads it as a date before validation.
    text = _write(tmp_path, _valid()).read_text().replace("'2027-02-01'", "2027-13-45")
    path = _write_text(tmp_path, text)
    expected = (
        "scenario.yaml: invalid date (month must be in 1..12). Fix: write dates as YYYY-MM-DD "
        "with a real month and day, for example design_date: 2027-02-01."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(path)


def test_design_date_day_first(tmp_path):
    scenario = _valid()
    scenario["design_date"] = "03/04/2027"
    expected = "key 'design_date': Input should be a valid date or datetime"
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_ramp_profile_out_of_range(tmp_path):
    scenario = _valid()
    scenario["ramp_profiles"]["experienced"] = [0.5, 2.0]
    expected = (
        "scenario.yaml, key 'ramp_profiles': ramp profile 'experienced': ramp value for month 2 "
        "must be within [0, 1] (share of full productivity), got 2.0."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_ramp_profile_empty(tmp_path):
    scenario = _valid()
    scenario["ramp_profiles"]["experienced"] = []
    expected = "key 'ramp_profiles': ramp profile 'experienced' needs at least one value."
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_accounts_without_location_column(tmp_path):
    scenario = _valid()
    columns = scenario["inputs"]["accounts"]["columns"]
    del columns["latitude"], columns["longitude"]
    expected = (
        "scenario.yaml, key 'inputs.accounts.columns': no location column: set 'latitude' and "
        "'longitude', 'county_fips' or 'zip'."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_accounts_latitude_without_longitude(tmp_path):
    scenario = _valid()
    del scenario["inputs"]["accounts"]["columns"]["longitude"]
    expected = "key 'inputs.accounts.columns': set both 'latitude' and 'longitude', or neither."
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_role_name_with_space(tmp_path):
    scenario = _valid()
    scenario["roles"] = {"Field Sales": scenario["roles"]["ENT"]}
    expected = (
        "scenario.yaml, key 'roles': role name 'Field Sales' must start with a letter and use "
        "only letters, digits, '_', '.' or '-'."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


# -- references between keys --------------------------------------------------------------


def test_balance_unknown_metric(tmp_path):
    scenario = _valid()
    _balance(scenario)["metric"] = "revenue"
    expected = (
        "scenario.yaml, key 'roles.ENT.balance.0.metric': unknown metric 'revenue'. Fix: use "
        "one of accounts, potential, or map a column to it under "
        "inputs.accounts.columns.metrics."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


def test_two_balance_goals_one_metric(tmp_path):
    scenario = _valid()
    scenario["roles"]["ENT"]["balance"].append({"metric": "potential", "tolerance": 0.2})
    expected = (
        "scenario.yaml, key 'roles.ENT.balance': metric 'potential' has two balance goals. "
        "Fix: keep one goal per metric."
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        load_scenario(_write(tmp_path, scenario))


# -- the shipped scenario and paths -------------------------------------------------------


def test_shipped_scenario_values():
    scenario = load_scenario(SHIPPED)
    assert scenario.name == "us_default"
    assert scenario.design_date == dt.date(2027, 2, 1)
    assert list(scenario.roles) == ["ENT", "COM"]
    assert scenario.roles["ENT"].balance[0].metric == "potential"
    assert scenario.roles["ENT"].balance[0].tolerance == 0.15
    assert scenario.ramp_profiles["experienced"] == [0.5, 1.0]


def test_shipped_scenario_paths_resolve():
    scenario = load_scenario(SHIPPED)
    accounts = scenario.resolve(scenario.inputs.accounts.path)
    assert accounts == SHIPPED.parent / "../data/us_accounts.csv"
    assert accounts.is_file()


def test_relative_path_resolves_to_scenario_folder(tmp_path):
    folder = tmp_path / "plans"
    folder.mkdir()
    scenario = load_scenario(_write(folder, _valid()))
    assert scenario.resolve(Path("accounts.csv")) == folder / "accounts.csv"


def test_absolute_path_unchanged(tmp_path):
    scenario = load_scenario(_write(tmp_path, _valid()))
    elsewhere = tmp_path.parent / "elsewhere.csv"
    assert scenario.resolve(elsewhere) == elsewhere


# -- command line -------------------------------------------------------------------------


def test_cli_check_bad_scenario(tmp_path, capsys):
    scenario = _valid()
    scenario["solvr"] = {"seed": 1}
    code = main(["check", str(_write(tmp_path, scenario))])
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr.startswith("error: scenario.yaml, key 'solvr': unknown key 'solvr'.")


def test_cli_check_shipped_scenario(capsys):
    code = main(["check", str(SHIPPED)])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "valid scenario 'us_default', inputs read, pre-checks passed" in stdout
    assert "ENT: 500 accounts, 8 territories" in stdout
    assert "COM: 3142 accounts, 11 territories" in stdout


def test_cli_check_reads_tables(tmp_path, capsys):
    accounts = [{"account_id": "A1", "latitude": 1.0, "longitude": 0.0, "potential": -5.0}]
    reps = [{"rep_id": "R1", "role": "FIELD", "start_date": "2020-01-01"}]
    path = write_instance(tmp_path / "bad", accounts, reps, {"FIELD": {"ramp": [1.0]}})

    code = main(["check", str(path)])

    assert code == 2
    assert "accounts.csv, row 2" in capsys.readouterr().err


def test_cli_solve_bad_scenario(tmp_path, capsys):
    scenario = _valid()
    del scenario["design_date"]
    out = tmp_path / "out"
    code = main(["solve", str(_write(tmp_path, scenario)), "--out", str(out)])
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr.startswith("error: scenario.yaml, key 'design_date': required key is missing.")
    assert not out.exists()
