"""End-to-end solves of tiny instances with hand-checked optima."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from instances import write_instance

from solver.cli import main
from solver.errors import InfeasiblePlanError
from solver.pipeline import solve_scenario

#: Great-circle km per degree of latitude on a sphere of the mean Earth radius.
KM_PER_DEGREE = 6371.0088 * math.pi / 180


@pytest.mark.parametrize("backend", ["highs", "cbc", "ortools"])
def test_line_instance_optimum(line_instance: Path, tmp_path: Path, backend: str) -> None:
    plan = solve_scenario(line_instance, tmp_path / "out", backend=backend)

    owner = dict(zip(plan.assignments["account_id"], plan.assignments["rep_id"], strict=True))
    assert owner == {"A1": "R1", "A2": "R1", "A3": "R2", "A4": "R2"}
    assert plan.summary["objective"] == pytest.approx(9 * KM_PER_DEGREE, rel=1e-6)
    assert plan.summary["bound"] <= plan.summary["objective"] + 1e-6
    assert plan.summary["status"] == "optimal"
    assert plan.summary["violations"] == []


def test_outputs_follow_contract(line_instance: Path, tmp_path: Path) -> None:
    plan = solve_scenario(line_instance, tmp_path / "out")

    assignments = pd.read_csv(plan.folder / "assignments.csv")
    territories = pd.read_csv(plan.folder / "territories.csv")
    summary = json.loads((plan.folder / "summary.json").read_text())
    assert list(assignments.columns) == [
        "account_id",
        "territory_id",
        "role",
        "rep_id",
        "potential",
    ]
    assert list(territories.columns[:12]) == [
        "territory_id",
        "role",
        "rep_id",
        "rep_start_date",
        "ramp_factor",
        "capacity_share",
        "n_accounts",
        "potential",
        "potential_target",
        "potential_min_allowed",
        "potential_max_allowed",
        "potential_dev_pct",
    ]
    assert "viable" in territories.columns
    for key in [
        "scenario",
        "status",
        "objective",
        "bound",
        "gap",
        "runtime_s",
        "solver",
        "n_accounts",
        "n_territories",
        "max_abs_dev_pct",
        "violations",
    ]:
        assert key in summary
    assert territories["potential_target"].tolist() == [20.0, 20.0]
    assert territories["potential_min_allowed"].tolist() == [18.0, 18.0]
    assert territories["potential_max_allowed"].tolist() == [22.0, 22.0]


def test_ramp_sets_share_of_target(tmp_path: Path) -> None:
    # R2 started two months before the design date on a 50% first month, 100% after:
    # tenure 1 month -> curve[1] = 1.0. R3 started one week before -> curve[0] = 0.5.
    accounts = [
        {"account_id": f"A{i}", "latitude": float(i), "longitude": 0.0, "potential": 10.0}
        for i in range(10)
    ]
    reps = [
        {"rep_id": "R1", "role": "FIELD", "start_date": "2020-01-01"},
        {"rep_id": "R2", "role": "FIELD", "start_date": "2026-11-01"},
        {"rep_id": "R3", "role": "FIELD", "start_date": "2026-12-25"},
    ]
    roles = {"FIELD": {"ramp": [0.5, 1.0], "balance": [{"metric": "potential", "tolerance": 0.1}]}}
    path = write_instance(tmp_path / "ramp", accounts, reps, roles)

    plan = solve_scenario(path, tmp_path / "out")

    table = plan.territories.set_index("rep_id")
    assert table.loc["R3", "ramp_factor"] == 0.5
    assert table.loc["R3", "capacity_share"] == pytest.approx(0.2)
    assert table.loc["R3", "potential_target"] == pytest.approx(20.0)
    assert table.loc["R1", "potential_target"] == pytest.approx(40.0)
    assert table.loc["R3", "n_accounts"] == 2
    assert plan.summary["violations"] == []


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    accounts = [
        {
            "account_id": f"A{i:02d}",
            "latitude": 30 + (i * 7919 % 97) / 10,
            "longitude": -100 + (i * 104729 % 89) / 10,
            "potential": 5.0 + i % 7,
        }
        for i in range(40)
    ]
    reps = [{"rep_id": f"R{j}", "role": "FIELD", "start_date": "2020-01-01"} for j in range(4)]
    roles = {
        "FIELD": {
            "ramp": [1.0],
            "balance": [{"metric": "potential", "tolerance": 0.05}],
            "centres": "model",
        }
    }
    path = write_instance(tmp_path / "seed", accounts, reps, roles)

    first = solve_scenario(path, tmp_path / "one").folder
    second = solve_scenario(path, tmp_path / "two").folder

    for name in ["assignments.csv", "territories.csv"]:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    first_summary = json.loads((first / "summary.json").read_text())
    second_summary = json.loads((second / "summary.json").read_text())
    first_summary.pop("runtime_s")
    second_summary.pop("runtime_s")
    assert first_summary == second_summary


def test_model_centres_lower_objective(tmp_path: Path) -> None:
    # Two clusters far apart; model-chosen centres must land one in each cluster.
    accounts = [
        {"account_id": f"W{i}", "latitude": 40.0 + i / 100, "longitude": -120.0, "potential": 1.0}
        for i in range(5)
    ] + [
        {"account_id": f"E{i}", "latitude": 40.0 + i / 100, "longitude": -75.0, "potential": 1.0}
        for i in range(5)
    ]
    reps = [{"rep_id": f"R{j}", "role": "FIELD", "start_date": "2020-01-01"} for j in range(2)]
    roles = {"FIELD": {"ramp": [1.0], "balance": [{"metric": "potential", "tolerance": 0.1}]}}
    path = write_instance(tmp_path / "clusters", accounts, reps, roles)

    plan = solve_scenario(path, tmp_path / "out")

    groups = plan.assignments.groupby("territory_id")["account_id"].apply(
        lambda ids: "".join(sorted({i[0] for i in ids}))
    )
    assert sorted(groups) == ["E", "W"]
    assert plan.summary["roles"]["FIELD"]["mean_km"] < 5.0


def test_infeasible_explained_with_tolerance(tmp_path: Path) -> None:
    # Potentials 10, 20, 25, 25 split in two halves of 40 +/-5% (38..42): no subset fits.
    # The closest split is {10, 25} = 35 against {20, 25} = 45, a deviation of 12.5%.
    accounts = [
        {"account_id": f"A{i}", "latitude": float(i), "longitude": 0.0, "potential": p}
        for i, p in enumerate([10.0, 20.0, 25.0, 25.0])
    ]
    reps = [{"rep_id": f"R{j}", "role": "FIELD", "start_date": "2020-01-01"} for j in range(2)]
    roles = {"FIELD": {"ramp": [1.0], "balance": [{"metric": "potential", "tolerance": 0.05}]}}
    path = write_instance(tmp_path / "infeasible", accounts, reps, roles)

    with pytest.raises(
        InfeasiblePlanError, match=r"widen the tolerance from 5\.00% to at least 12\.50%"
    ):
        solve_scenario(path, tmp_path / "out")


def test_viability_shortfall_found_before_solving(tmp_path: Path) -> None:
    accounts = [
        {
            "account_id": f"A{i}",
            "latitude": float(i),
            "longitude": 0.0,
            "potential": 1.0,
            "icp": 1 if i < 4 else 0,
        }
        for i in range(8)
    ]
    reps = [{"rep_id": f"R{j}", "role": "FIELD", "start_date": "2020-01-01"} for j in range(2)]
    roles = {"FIELD": {"ramp": [1.0], "viability": [{"metric": "icp", "minimum": 3}]}}
    path = write_instance(
        tmp_path / "short", accounts, reps, roles, metrics={"potential": "potential", "icp": "icp"}
    )

    with pytest.raises(InfeasiblePlanError) as caught:
        solve_scenario(path, tmp_path / "out")

    message = str(caught.value)
    assert "viability minimum of 3 'icp' per territory needs 6" in message
    assert "the role holds 4 (short by 2)" in message
    assert "Fix: lower the minimum to at most 2, or plan fewer territories" in message


def test_capacity_shortfall_names_missing_reps(tmp_path: Path) -> None:
    accounts = [
        {"account_id": f"A{i}", "latitude": float(i), "longitude": 0.0, "potential": 10.0}
        for i in range(10)
    ]
    reps = [{"rep_id": f"R{j}", "role": "FIELD", "start_date": "2020-01-01"} for j in range(2)]
    roles = {"FIELD": {"ramp": [1.0], "capacity": {"metrics": {"potential": 30.0}}}}
    path = write_instance(tmp_path / "capacity", accounts, reps, roles)

    with pytest.raises(InfeasiblePlanError, match=r"needs about 1\.3 more fully ramped reps"):
        solve_scenario(path, tmp_path / "out")


def test_oversized_account_names_tolerance(tmp_path: Path) -> None:
    potentials = [100.0, 10.0, 10.0, 10.0, 10.0]
    accounts = [
        {"account_id": f"A{i}", "latitude": float(i), "longitude": 0.0, "potential": p}
        for i, p in enumerate(potentials)
    ]
    reps = [{"rep_id": f"R{j}", "role": "FIELD", "start_date": "2020-01-01"} for j in range(2)]
    roles = {"FIELD": {"ramp": [1.0], "balance": [{"metric": "potential", "tolerance": 0.1}]}}
    path = write_instance(tmp_path / "big", accounts, reps, roles)

    # Target 70 per territory, max 77; A0 alone is 100 = 70 * (1 + 42.9%).
    with pytest.raises(InfeasiblePlanError, match=r"A0 \(100\).*at least 42\.9%"):
        solve_scenario(path, tmp_path / "out")


def test_cli_bad_input_keeps_old_plan(line_instance: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["solve", str(line_instance), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in (out / "tiny").iterdir()}

    accounts = line_instance.parent / "accounts.csv"
    accounts.write_text(accounts.read_text().replace("10.0", "-3", 1))
    code = main(["solve", str(line_instance), "--out", str(out)])

    assert code == 2
    assert "accounts.csv, row 2" in capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in (out / "tiny").iterdir()}
    assert after == before


def test_cli_infeasible_exit_code(tmp_path: Path, capsys) -> None:
    accounts = [{"account_id": "A1", "latitude": 0.0, "longitude": 0.0, "potential": 1.0}]
    reps = [{"rep_id": f"R{j}", "role": "FIELD", "start_date": "2020-01-01"} for j in range(2)]
    roles = {"FIELD": {"ramp": [1.0], "balance": [{"metric": "potential", "tolerance": 0.1}]}}
    path = write_instance(tmp_path / "one", accounts, reps, roles)

    assert main(["solve", str(path), "--out", str(tmp_path / "out")]) == 3
    assert "infeasible:" in capsys.readouterr().err
    assert not (tmp_path / "out" / "tiny").exists()
