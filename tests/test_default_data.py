"""The shipped default data, the default scenario, the tiny instance and docs/scenarios.md."""

from __future__ import annotations

import importlib.util
import re
import typing
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

from solver.capacity import capacity_table, inactive_reps
from solver.pipeline import solve_scenario
from solver.scenario import Scenario, load_scenario
from solver.tables import load_accounts, load_reps

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
DEFAULT_SCENARIO = ROOT / "scenarios" / "us_default.yaml"
TINY_SCENARIO = ROOT / "tests" / "data" / "tiny" / "scenario.yaml"
SCENARIO_DOCS = ROOT / "docs" / "scenarios.md"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_default", DATA / "build_default.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build():
    return _build_module()


@pytest.fixture(scope="module")
def accounts() -> pd.DataFrame:
    codes = {"account_id": str, "county_fips": str, "zip": str}
    return pd.read_csv(DATA / "us_accounts.csv", dtype=codes, keep_default_na=False)


@pytest.fixture(scope="module")
def default_scenario() -> Scenario:
    return load_scenario(DEFAULT_SCENARIO)


def _row(accounts: pd.DataFrame, account_id: str) -> pd.Series:
    return accounts.set_index("account_id").loc[account_id]


# -- data/build_default.py ----------------------------------------------------------------


def test_build_matches_shipped_files(build, tmp_path):
    accounts = build.build_accounts(build.FORTUNE500_FILE, build.COUNTIES_FILE)
    build.write_csv(accounts, tmp_path / "us_accounts.csv")
    build.write_csv(build.reps_table(), tmp_path / "us_reps.csv")

    shipped_accounts = (DATA / "us_accounts.csv").read_bytes()
    shipped_reps = (DATA / "us_reps.csv").read_bytes()
    assert (tmp_path / "us_accounts.csv").read_bytes() == shipped_accounts
    assert (tmp_path / "us_reps.csv").read_bytes() == shipped_reps


def test_accounts_row_counts(accounts):
    counts = accounts["segment"].value_counts()
    assert counts["Enterprise"] == 500
    assert counts["Commercial"] == 3142
    assert accounts["account_id"].is_unique


def test_accounts_sorted_by_id(accounts):
    assert accounts["account_id"].tolist() == sorted(accounts["account_id"])


def test_codes_keep_leading_zeros(accounts):
    assert accounts["county_fips"].str.fullmatch(r"\d{5}").all()
    assert _row(accounts, "CNTY-01001")["county_fips"] == "01001"
    assert _row(accounts, "F500-271")["zip"] == "02111"


def test_enterprise_zip_five_digits(accounts):
    enterprise = accounts[accounts["segment"] == "Enterprise"]
    assert enterprise["zip"].str.fullmatch(r"\d{5}").all()


def test_commercial_rows_have_no_point(accounts):
    commercial = accounts[accounts["segment"] == "Commercial"]
    assert (commercial["latitude"] == "").all()
    assert (commercial["longitude"] == "").all()
    assert (commercial["zip"] == "").all()


def test_enterprise_derivations(accounts):
    walmart = _row(accounts, "F500-001")
    assert walmart["name"] == "Walmart"
    assert int(walmart["potential_usd"]) == 485_873 * 1_000_000 * 5 // 10_000
    assert int(walmart["icp"]) == 1


def test_enterprise_icp_threshold(accounts):
    enterprise = accounts[accounts["segment"] == "Enterprise"]
    expected = (enterprise["employees"].astype(int) >= 10_000).astype(int)
    assert (enterprise["icp"].astype(int) == expected).all()
    assert expected.sum() == 400


def test_county_fips_corrections(accounts):
    assert _row(accounts, "F500-002")["county_fips"] == "31055"
    assert _row(accounts, "F500-302")["county_fips"] == "06059"


def test_enterprise_counties_exist(accounts):
    enterprise = accounts[accounts["segment"] == "Enterprise"]
    counties = set(accounts.loc[accounts["segment"] == "Commercial", "county_fips"])
    assert set(enterprise["county_fips"]) <= counties


def test_correction_rejects_other_raw_file(build):
    hq = pd.DataFrame({"RANK": [2], "COUNTYFIPS": ["31055"]})
    with pytest.raises(ValueError, match="RANK 2: expected COUNTYFIPS '55', found '31055'"):
        build.correct_county_fips(hq)


def test_missing_counts_estimated(accounts):
    estimated = accounts[accounts["establishments_estimated"] == 1]
    assert len(estimated) == 12
    assert "CNTY-11001" in set(estimated["account_id"])
    assert (estimated["establishments"].astype(int) >= 1).all()


def test_commercial_derivations(accounts):
    county = _row(accounts, "CNTY-06037")
    establishments = int(county["establishments"])
    assert establishments == 242_668
    assert int(county["potential_usd"]) == establishments * 2_000
    assert int(county["icp"]) == 29_120


def test_county_names_unique(accounts):
    commercial = accounts[accounts["segment"] == "Commercial"]
    assert commercial["name"].is_unique
    assert _row(accounts, "CNTY-24510")["name"] == "Baltimore city, MD"
    assert _row(accounts, "CNTY-35013")["name"] == "Doña Ana County, NM"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DICK'S SPORTING GOODS", "Dick's Sporting Goods"),
        ("J.B. HUNT TRANSPORT SERVICES", "J.B. Hunt Transport Services"),
        ("GUARDIAN LIFE INS. CO. OF AMERICA", "Guardian Life Ins. Co. of America"),
        ("AMAZON.COM", "Amazon.com"),
        ("MARSH & MCLENNAN", "Marsh & McLennan"),
        ("IBM", "IBM"),
        ("COCA-COLA", "Coca-Cola"),
    ],
)
def test_title_case_names(build, raw, expected):
    assert build.title_case(raw) == expected


def test_estimate_from_population(build):
    counts = pd.Series([10.0, None, 30.0])
    population = pd.Series([100, 50, 300])

    filled, estimated = build.estimate_from_population(counts, population)

    assert filled.tolist() == [10, 5, 30]
    assert estimated.tolist() == [False, True, False]


# -- scenarios/us_default.yaml ------------------------------------------------------------


def test_default_scenario_roles(default_scenario):
    assert list(default_scenario.roles) == ["ENT", "COM"]
    assert default_scenario.solver.seed == 7


def test_default_accounts_located(default_scenario):
    accounts = load_accounts(default_scenario)
    sources = accounts["location_source"].value_counts()
    assert len(accounts) == 3642
    assert sources["latlon"] == 500
    assert sources["county_fips"] == 3142


def test_default_capacity_on_design_date(default_scenario):
    reps = load_reps(default_scenario)
    table = capacity_table(reps, default_scenario, default_scenario.design_date)
    ramp = table.set_index("rep_id")["ramp_factor"]
    sums = table.groupby("role")["ramp_factor"].sum()

    assert ramp["TBH-ENT-01"] == pytest.approx(0.3)
    assert ramp["E07"] == pytest.approx(0.5)
    assert ramp["C11"] == pytest.approx(0.75)
    assert sums["ENT"] == pytest.approx(6.8)
    assert sums["COM"] == pytest.approx(10.75)


def test_default_inactive_reps(default_scenario):
    reps = load_reps(default_scenario)
    inactive = inactive_reps(reps, default_scenario.design_date)
    assert inactive["rep_id"].tolist() == ["E08", "TBH-COM-01"]


def test_default_largest_accounts_fit(default_scenario):
    """The largest account of each role fills well under a full territory's target."""
    accounts = load_accounts(default_scenario)
    cases = [("ENT", "potential", 1 / 6.8), ("COM", "establishments", 1 / 10.75)]
    for role, metric, full_share in cases:
        segments = default_scenario.roles[role].accounts.values
        values = accounts.loc[accounts["segment"].isin(segments), metric]
        assert values.max() < 0.5 * full_share * values.sum(), role


# -- tests/data/tiny ----------------------------------------------------------------------


def test_tiny_plan_matches_comment(tmp_path):
    plan = solve_scenario(TINY_SCENARIO, tmp_path)
    reps = plan.assignments.set_index("account_id")["rep_id"].to_dict()

    assert reps == {"A1": "R1", "A2": "R1", "A3": "R1", "A4": "R2", "A5": "R2", "A6": "R2"}
    assert plan.summary["objective"] == pytest.approx(66.7, abs=0.05)


# -- docs/scenarios.md --------------------------------------------------------------------


def test_docs_example_loads(tmp_path):
    text = SCENARIO_DOCS.read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert example is not None
    path = tmp_path / "example.yaml"
    path.write_text(example.group(1), encoding="utf-8")

    scenario = load_scenario(path)

    assert scenario.name == "emea_fy28"
    assert scenario.metric_names == ["accounts", "potential", "icp"]


def _schema_keys(model: type[BaseModel]) -> set[str]:
    """Return every field name of ``model`` and of the models inside its fields."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if name == "source":
            continue
        keys.add(name)
        for inner in _models_in(field.annotation):
            keys |= _schema_keys(inner)
    return keys


def _models_in(annotation: typing.Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def test_docs_name_every_key():
    text = SCENARIO_DOCS.read_text(encoding="utf-8")
    quoted = " ".join(re.findall(r"`([^`\n]+)`", text))
    missing = sorted(key for key in _schema_keys(Scenario) if not re.search(rf"\b{key}\b", quoted))
    assert missing == []
