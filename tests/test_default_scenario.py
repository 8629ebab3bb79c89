"""The shipped real-data scenario solves to a verified plan (what `make solve` runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from solver.pipeline import solve_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "us_default.yaml"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory):
    return solve_scenario(SCENARIO, tmp_path_factory.mktemp("out"))


def test_default_plan_is_valid(plan) -> None:
    summary = json.loads((plan.folder / "summary.json").read_text())

    assert summary["violations"] == []
    assert summary["status"] in ("optimal", "feasible")
    assert summary["gap"] <= 0.01


def test_default_plan_covers_every_account(plan) -> None:
    accounts = pd.read_csv(SCENARIO.parent / "../data/us_accounts.csv", dtype=str)
    assignments = pd.read_csv(plan.folder / "assignments.csv", dtype=str)

    assert sorted(assignments["account_id"]) == sorted(accounts["account_id"])
    assert assignments["territory_id"].notna().all()


def test_default_plan_includes_ramping_hire(plan) -> None:
    territories = pd.read_csv(plan.folder / "territories.csv").set_index("rep_id")

    assert "TBH-ENT-01" in territories.index
    assert 0 < territories.loc["TBH-ENT-01", "ramp_factor"] < 1
    assert territories["viable"].all()


def test_default_plan_lists_later_hire(plan) -> None:
    inactive = plan.summary["roles"]["COM"]["inactive_reps"]

    assert any(rep["rep_id"].startswith("TBH-COM") for rep in inactive)
