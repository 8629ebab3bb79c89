"""The scalable path: its bound is a true lower bound and its plans meet every bound."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_backends import random_problem, within_bounds

from solver.backends import get_backend
from solver.engine import solve_role
from solver.errors import InputError
from solver.formulation import build_model
from solver.geo import unit_vectors
from solver.result import Status
from solver.scale.candidates import chord_to_km, nearest_candidates
from solver.scale.path import _scaled_bound, scaled_bounds, solve_scalable
from solver.scenario import SolverSettings


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_bound_below_exact_optimum(seed: int) -> None:
    problem = random_problem(seed, n=60, t=4)
    settings = SolverSettings(time_limit_s=20, mip_gap=0.0, seed=seed)
    optimum = get_backend("highs")(build_model(problem, problem.home_coords), settings, 20.0, None)

    result = solve_scalable(problem, problem.home_coords, settings, 1.0, time.perf_counter() + 20)

    assert optimum.status == Status.OPTIMAL
    assert result.bound <= optimum.objective * (1 + 1e-9)
    assert result.status.has_plan
    assert result.objective >= optimum.objective * (1 - 1e-9)
    assert within_bounds(problem, result.assignment)


def test_gap_matches_objective_and_bound() -> None:
    problem = random_problem(14, n=80, t=5)
    settings = SolverSettings(time_limit_s=20, mip_gap=1e-4)

    result = solve_scalable(problem, problem.home_coords, settings, 1.0, time.perf_counter() + 20)

    assert result.gap == pytest.approx((result.objective - result.bound) / result.objective)
    assert np.all(result.assignment >= 0)


def test_auto_sends_large_roles_to_scalable() -> None:
    problem = random_problem(15, n=2600, t=25)
    settings = SolverSettings(backend="auto", time_limit_s=10)

    solution = solve_role(problem, settings)

    assert solution.result.solver == "scalable"
    assert solution.result.status.has_plan
    assert within_bounds(problem, solution.result.assignment)


def test_history_counts_from_role_start() -> None:
    problem = random_problem(16, n=2600, t=25)
    settings = SolverSettings(backend="auto", time_limit_s=10)
    started = time.perf_counter()

    solution = solve_role(problem, settings)

    elapsed = time.perf_counter() - started
    assert solution.history
    assert all(0 <= seconds <= elapsed for seconds, _ in solution.history)
    assert solution.history[-1][1] == pytest.approx(solution.result.objective, rel=1e-6)


def test_exact_model_too_large_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = random_problem(17, n=60, t=4)
    monkeypatch.setattr("solver.engine._available_memory", lambda: 100_000)
    settings = SolverSettings(backend="highs", time_limit_s=5)

    with pytest.raises(InputError) as caught:
        solve_role(problem, settings)

    message = str(caught.value)
    assert "the exact model has 240 (account, territory) pairs" in message
    assert "Fix: set solver.backend to auto or scalable." in message


@pytest.mark.parametrize("seed", [21, 22])
def test_scaled_multipliers_give_a_true_bound(seed: int) -> None:
    # Any multipliers give a valid bound, so even wild ones scaled down must stay below
    # the exact optimum.
    problem = random_problem(seed, n=60, t=4)
    settings = SolverSettings(time_limit_s=20, mip_gap=0.0, seed=seed)
    optimum = get_backend("highs")(build_model(problem, problem.home_coords), settings, 20.0, None)
    centres = problem.home_coords
    candidates = nearest_candidates(problem.coords, problem.weights, centres, 2)
    rows = scaled_bounds(problem, tightened=False)
    points, centre_points = unit_vectors(problem.coords), unit_vectors(centres)

    def every_territory(accounts: np.ndarray) -> np.ndarray:
        chord = np.linalg.norm(points[accounts, None, :] - centre_points[None], axis=2)
        return problem.weights[accounts, None] * chord_to_km(chord)

    nu = np.random.default_rng(seed).normal(scale=500.0, size=rows.lower.shape)

    bound = _scaled_bound(nu, candidates, rows, every_territory)

    assert bound <= optimum.objective * (1 + 1e-9)
