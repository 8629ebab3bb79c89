"""The three backends agree on small instances, and every bound is a true lower bound."""

from __future__ import annotations

import numpy as np
import pytest

from solver.backends import get_backend
from solver.backends.highs import lp_bound
from solver.formulation import build_model
from solver.problem import RoleProblem, Territory
from solver.result import Status
from solver.scenario import SolverSettings

BACKENDS = ["highs", "cbc", "ortools"]


def random_problem(seed: int, n: int = 24, t: int = 3, money: float = 1.0) -> RoleProblem:
    """Return a seeded problem: ``n`` accounts around Kansas, ``t`` reps with fixed homes."""
    rng = np.random.default_rng(seed)
    coords = np.column_stack([rng.uniform(35, 42, n), rng.uniform(-100, -90, n)])
    potential = np.round(rng.lognormal(0, 0.6, n) * money, 2)
    values = np.column_stack([np.ones(n), potential])
    share = np.full(t, 1 / t)
    target = np.outer(share, values.sum(axis=0))
    tolerance = np.array([0.25, 0.08])
    territories = tuple(
        Territory(f"T{j}", f"R{j}", None, np.datetime64("2020-01-01").item(), 1.0, 1 / t, None)
        for j in range(t)
    )
    return RoleProblem(
        role="FIELD",
        account_ids=np.array([f"A{i:02d}" for i in range(n)], dtype=object),
        coords=coords,
        weights=np.ones(n),
        metric_names=("accounts", "potential"),
        values=values,
        territories=territories,
        tolerance=tolerance,
        target=target,
        balance_lo=target * (1 - tolerance),
        balance_hi=target * (1 + tolerance),
        minimum=np.full((t, 2), -np.inf),
        capacity=np.full((t, 2), np.inf),
        fixed_centre=np.ones(t, dtype=bool),
        home_coords=coords[:t].copy(),
    )


def within_bounds(problem: RoleProblem, assignment: np.ndarray) -> bool:
    totals = problem.totals(assignment)
    return bool(np.all(totals >= problem.lower) and np.all(totals <= problem.upper))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_backends_agree_within_gap(seed: int) -> None:
    problem = random_problem(seed)
    model = build_model(problem, problem.home_coords)
    settings = SolverSettings(time_limit_s=30, mip_gap=0.0, seed=seed)

    results = {name: get_backend(name)(model, settings, 30.0, None) for name in BACKENDS}

    best = min(r.objective for r in results.values())
    for name, result in results.items():
        assert result.status == Status.OPTIMAL, name
        assert result.objective == pytest.approx(best, rel=1e-6), name
        assert result.bound <= best * (1 + 1e-9), name
        assert within_bounds(problem, result.assignment), name


@pytest.mark.parametrize("seed", [4, 5])
def test_lp_bound_below_optimum(seed: int) -> None:
    problem = random_problem(seed)
    model = build_model(problem, problem.home_coords)
    settings = SolverSettings(time_limit_s=30, mip_gap=0.0)

    optimum = get_backend("highs")(model, settings, 30.0, None).objective

    assert lp_bound(model, settings, 30.0) <= optimum * (1 + 1e-9)


def test_cpsat_scales_large_money_safely() -> None:
    # Potentials in the hundreds of billions with cents: integer scaling must neither
    # overflow nor round a plan across a band.
    problem = random_problem(7, money=3e11)
    model = build_model(problem, problem.home_coords)
    settings = SolverSettings(time_limit_s=30, mip_gap=0.0)

    result = get_backend("ortools")(model, settings, 30.0, None)
    reference = get_backend("highs")(model, settings, 30.0, None)

    assert result.status == Status.OPTIMAL
    assert within_bounds(problem, result.assignment)
    assert result.objective == pytest.approx(reference.objective, rel=1e-6)


def test_infeasible_model_reported_as_infeasible() -> None:
    # 24 accounts in 3 territories: each must hold 8.2 to 8.4 accounts, which no plan can.
    problem = random_problem(8)
    balance_lo, balance_hi = problem.balance_lo.copy(), problem.balance_hi.copy()
    balance_lo[:, 0], balance_hi[:, 0] = 8.2, 8.4
    tight = problem.replace(balance_lo=balance_lo, balance_hi=balance_hi)
    model = build_model(tight, tight.home_coords)
    settings = SolverSettings(time_limit_s=30)

    for name in BACKENDS:
        result = get_backend(name)(model, settings, 30.0, None)
        assert result.status == Status.INFEASIBLE, name
        assert result.assignment is None, name


def test_start_solution_is_accepted() -> None:
    problem = random_problem(9)
    model = build_model(problem, problem.home_coords)
    settings = SolverSettings(time_limit_s=30, mip_gap=0.0)
    first = get_backend("highs")(model, settings, 30.0, None)

    for name in BACKENDS:
        again = get_backend(name)(model, settings, 30.0, first.assignment)
        assert again.objective == pytest.approx(first.objective, rel=1e-6), name


def test_unknown_backend_message() -> None:
    with pytest.raises(
        ValueError, match="unknown backend 'gurobi': use auto, highs, cbc or ortools"
    ):
        get_backend("gurobi")
