"""Pre-checks that prove infeasibility before solving, with numbers and fixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from instances import write_instance

from solver.errors import InfeasiblePlanError
from solver.pipeline import solve_scenario


def test_ramping_rep_minimum_above_band(tmp_path: Path) -> None:
    # R2 is in month 1 of a [0.1, 1.0] ramp: share 0.1 / 1.1 of 10 ICP accounts is a
    # target of 0.909, so +/-10% caps it at 1.0, below the viability minimum of 2.
    accounts = [
        {"account_id": f"A{i}", "latitude": float(i), "longitude": 0.0, "icp": 1} for i in range(10)
    ]
    reps = [
        {"rep_id": "R1", "role": "FIELD", "start_date": "2020-01-01"},
        {"rep_id": "R2", "role": "FIELD", "start_date": "2026-12-20"},
    ]
    roles = {
        "FIELD": {
            "ramp": [0.1, 1.0],
            "balance": [{"metric": "icp", "tolerance": 0.1}],
            "viability": [{"metric": "icp", "minimum": 2}],
        }
    }
    path = write_instance(tmp_path / "ramp", accounts, reps, roles, metrics={"icp": "icp"})

    with pytest.raises(InfeasiblePlanError) as caught:
        solve_scenario(path, tmp_path / "out")

    message = str(caught.value)
    assert "territory FIELD-T02 (rep R2, ramp 10%)" in message
    assert "viability minimum on 'icp' is 2, above its balance band maximum of 1" in message
    assert "widen the tolerance to at least 120.0%" in message


def test_no_active_rep_is_reported(tmp_path: Path) -> None:
    accounts = [{"account_id": "A1", "latitude": 0.0, "longitude": 0.0, "potential": 1.0}]
    reps = [{"rep_id": "R1", "role": "FIELD", "start_date": "2027-06-01"}]
    roles = {"FIELD": {"ramp": [1.0]}}
    path = write_instance(tmp_path / "later", accounts, reps, roles)

    with pytest.raises(InfeasiblePlanError) as caught:
        solve_scenario(path, tmp_path / "out")

    message = str(caught.value)
    assert "role FIELD: no rep is active on the design date" in message
    assert "R1 starts 2027-06-01, after 2027-01-01" in message


def test_uncovered_accounts_counted(tmp_path: Path) -> None:
    accounts = [
        {
            "account_id": f"A{i}",
            "latitude": float(i),
            "longitude": 0.0,
            "potential": 1.0,
            "segment": "Field" if i < 4 else "Inside",
        }
        for i in range(6)
    ]
    reps = [{"rep_id": "R1", "role": "FIELD", "start_date": "2020-01-01"}]
    roles = {"FIELD": {"ramp": [1.0], "accounts": {"column": "segment", "values": ["Field"]}}}
    path = write_instance(tmp_path / "cover", accounts, reps, roles)

    plan = solve_scenario(path, tmp_path / "out")

    assert plan.summary["accounts_without_role"] == {"count": 2, "first_ids": ["A4", "A5"]}
    assert len(plan.assignments) == 4
