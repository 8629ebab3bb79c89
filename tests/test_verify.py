"""Verification recomputes every rule from the assignment and catches broken plans."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from solver.pipeline import solve_scenario
from solver.scenario import load_scenario
from solver.tables import load_accounts, role_members
from solver.verify import verify_plan


@pytest.fixture
def solved(line_instance: Path, tmp_path: Path):
    plan = solve_scenario(line_instance, tmp_path / "out")
    scenario = load_scenario(line_instance)
    accounts = load_accounts(scenario)
    members = {role: pd.Series(mask) for role, mask in role_members(accounts, scenario).items()}
    return scenario, accounts, members, plan


def rules(violations: list[dict]) -> list[str]:
    return sorted(str(v["rule"]) for v in violations)


def test_valid_plan_has_no_violations(solved) -> None:
    scenario, accounts, members, plan = solved

    assert verify_plan(scenario, accounts, members, plan.territories, plan.assignments) == []


def test_moved_account_breaks_balance(solved) -> None:
    scenario, accounts, members, plan = solved
    broken = plan.assignments.copy()
    broken.loc[broken["account_id"] == "A3", "territory_id"] = "FIELD-T01"

    violations = verify_plan(scenario, accounts, members, plan.territories, broken)

    assert rules(violations) == ["balance", "balance"]
    assert violations[0]["territory_id"] == "FIELD-T01"
    assert violations[0]["value"] == 30.0
    assert violations[0]["max_allowed"] == pytest.approx(22.0)


def test_dropped_account_is_unassigned(solved) -> None:
    scenario, accounts, members, plan = solved
    broken = plan.assignments[plan.assignments["account_id"] != "A4"]

    violations = verify_plan(scenario, accounts, members, plan.territories, broken)

    assert "unassigned" in rules(violations)
    assert any("A4" in str(v["message"]) for v in violations)


def test_doubled_account_is_reported(solved) -> None:
    scenario, accounts, members, plan = solved
    broken = pd.concat([plan.assignments, plan.assignments.iloc[[0]]], ignore_index=True)

    violations = verify_plan(scenario, accounts, members, plan.territories, broken)

    assert "assigned_twice" in rules(violations)


def test_unknown_territory_is_reported(solved) -> None:
    scenario, accounts, members, plan = solved
    broken = plan.assignments.copy()
    broken.loc[0, "territory_id"] = "FIELD-T99"

    violations = verify_plan(scenario, accounts, members, plan.territories, broken)

    assert "unknown_territory" in rules(violations)
