"""Two-way splits, the bisection plan and the pair search, checked against brute force."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from test_backends import random_problem, within_bounds

from solver.backends import get_backend
from solver.formulation import build_model
from solver.geo import unit_vectors
from solver.scale.bisect import NearestCost, bisect_plan, halves
from solver.scale.pairs import PairSearch, improve_pairs
from solver.scale.path import scaled_bounds
from solver.scale.split import Interval, split
from solver.scenario import SolverSettings

SETTINGS = SolverSettings(time_limit_s=20, seed=1)


def brute_force_split(gain: np.ndarray, values: np.ndarray, interval: Interval) -> float:
    """Return the least ``gain @ y`` over every 0/1 ``y`` within ``interval``."""
    best = np.inf
    for choice in itertools.product((0, 1), repeat=len(gain)):
        y = np.array(choice)
        totals = y @ values
        if np.all(totals >= interval.low) and np.all(totals <= interval.high):
            best = min(best, float(gain @ y))
    return best


def test_split_hand_checked() -> None:
    # Account 0 gains most in the first group, but the count must be exactly 2 and the
    # size at most 5: {0, 1} weighs 6, so the best pair is {0, 2} (gain -4 - 1 = -5).
    gain = np.array([-4.0, -3.0, -1.0, 2.0])
    values = np.array([[1, 4], [1, 2], [1, 1], [1, 1]], dtype=float)
    interval = Interval(np.array([2.0, 0.0]), np.array([2.0, 5.0]))

    y = split(gain, values, interval, SETTINGS, time.perf_counter() + 10)

    assert y is not None
    assert list(y) == [True, False, True, False]


@pytest.mark.parametrize("seed", range(6))
def test_split_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 12
    gain = rng.normal(size=n)
    values = np.column_stack([np.ones(n), rng.lognormal(0, 1, n), rng.uniform(1, 3, n)])
    middle = values.sum(axis=0) / 2
    interval = Interval(middle * 0.85, middle * 1.15)
    best = brute_force_split(gain, values, interval)

    y = split(gain, values, interval, SETTINGS, time.perf_counter() + 10)

    if not np.isfinite(best):
        assert y is None
        return
    assert y is not None
    totals = y @ values
    assert np.all(totals >= interval.low - 1e-9)
    assert np.all(totals <= interval.high + 1e-9)
    assert float(gain @ y) == pytest.approx(best, abs=1e-4 * np.abs(gain).sum())


def test_split_reports_an_empty_interval() -> None:
    gain = np.array([1.0, -1.0])
    values = np.array([[2.0], [2.0]])

    # Totals can only be 0, 2 or 4: nothing lies in [2.5, 3.5].
    interval = Interval(np.array([2.5]), np.array([3.5]))

    y = split(gain, values, interval, SETTINGS, time.perf_counter() + 10)

    assert y is None


def test_halves_cut_along_the_longer_axis() -> None:
    # Four centres on one west-east line: the cut keeps the two western ones together.
    latlon = np.array([[38.0, -100.0], [38.0, -99.0], [38.0, -91.0], [38.0, -90.0]])

    first, second = halves(np.arange(4), unit_vectors(latlon))

    assert sorted(first.tolist() + second.tolist()) == [0, 1, 2, 3]
    assert {frozenset(first.tolist()), frozenset(second.tolist())} == {
        frozenset({0, 1}),
        frozenset({2, 3}),
    }


@pytest.mark.parametrize("seed", [21, 22, 23, 24])
def test_bisection_plan_meets_every_bound(seed: int) -> None:
    problem = random_problem(seed, n=400, t=7)
    rows = scaled_bounds(problem, tightened=True)
    cost = NearestCost(problem, problem.home_coords, 1.0)

    plan = bisect_plan(problem, problem.home_coords, rows, cost, SETTINGS, time.perf_counter() + 20)

    assert plan is not None
    assert np.all((plan >= 0) & (plan < problem.n_territories))
    assert within_bounds(problem, plan)


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_pair_search_reaches_the_optimum_of_two_territories(seed: int) -> None:
    # With two territories one re-split is the whole problem, so the search must end at
    # the exact optimum of the full MIP.
    problem = random_problem(seed, n=40, t=2)
    rows = scaled_bounds(problem, tightened=True)
    exact = SolverSettings(time_limit_s=20, mip_gap=0.0, seed=seed)
    optimum = get_backend("highs")(build_model(problem, problem.home_coords), exact, 20.0, None)
    cost = NearestCost(problem, problem.home_coords, 1.0)
    plan = bisect_plan(problem, problem.home_coords, rows, cost, SETTINGS, time.perf_counter() + 20)
    assert plan is not None

    search = PairSearch(problem, problem.home_coords, rows, 1.0, plan)
    improved = improve_pairs(search, SETTINGS, time.perf_counter() + 20)

    assert within_bounds(problem, improved)
    assert search.total_cost() == pytest.approx(optimum.objective, rel=1e-3)


@pytest.mark.parametrize("seed", [41, 42])
def test_pair_search_keeps_bounds_and_lowers_cost(seed: int) -> None:
    problem = random_problem(seed, n=500, t=9)
    rows = scaled_bounds(problem, tightened=True)
    cost = NearestCost(problem, problem.home_coords, 1.0)
    plan = bisect_plan(problem, problem.home_coords, rows, cost, SETTINGS, time.perf_counter() + 20)
    assert plan is not None
    search = PairSearch(problem, problem.home_coords, rows, 1.0, plan)
    before = search.total_cost()
    seen: list[float] = []

    improved = improve_pairs(search, SETTINGS, time.perf_counter() + 20, seen.append)

    assert within_bounds(problem, improved)
    assert search.total_cost() <= before
    assert seen == sorted(seen, reverse=True)
    assert np.array_equal(np.sort(np.concatenate(search.members)), np.arange(problem.n_accounts))
