"""Contiguous territories: pieces, separator cuts on the exact path, and the repair step."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp

from solver.backends import get_backend
from solver.centres import solve_with_centres
from solver.contiguity import piece_counts, separator_cuts, with_cuts
from solver.contiguity_repair import repair
from solver.engine import solve_role
from solver.explain_contiguity import explain_contiguity
from solver.formulation import build_model, cost_matrix
from solver.problem import RoleProblem, Territory, balance_bands
from solver.result import Status
from solver.scenario import SolverSettings

#: km of one degree of latitude, or of longitude on the equator, on the mean-radius sphere.
KM_PER_DEGREE = 2 * np.pi * 6371.0088 / 360

SETTINGS = SolverSettings(time_limit_s=30, mip_gap=0.0, seed=1)


def graph(n: int, edges: list[tuple[int, int]]) -> sp.csr_matrix:
    rows = [a for a, b in edges] + [b for a, b in edges]
    cols = [b for a, b in edges] + [a for a, b in edges]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def grid_edges(rows: int, cols: int) -> list[tuple[int, int]]:
    """Return the rook edges of a ``rows`` x ``cols`` grid numbered row by row."""
    edges = []
    for r, c in itertools.product(range(rows), range(cols)):
        cell = r * cols + c
        if c + 1 < cols:
            edges.append((cell, cell + 1))
        if r + 1 < rows:
            edges.append((cell, cell + cols))
    return edges


def make_problem(
    coords: list[tuple[float, float]],
    potential: list[float],
    centres: list[tuple[float, float]],
    edges: list[tuple[int, int]],
    *,
    tolerance: tuple[float, float] = (0.0, np.inf),
    **fields: object,
) -> RoleProblem:
    """Build a problem with fixed centres, metrics ``accounts`` and ``potential``.

    ``tolerance`` is the balance tolerance of the two metrics (inf for no band), around
    equal shares of the totals.
    """
    n, t = len(coords), len(centres)
    values = np.column_stack([np.ones(n), np.array(potential, dtype=float)])
    target = np.outer(np.full(t, 1 / t), values.sum(axis=0))
    tol = np.array(tolerance, dtype=float)
    low, high = balance_bands(target, tol)
    return RoleProblem(
        role="GEO",
        account_ids=np.array([f"U{i}" for i in range(n)], dtype=object),
        coords=np.array(coords, dtype=float),
        weights=np.ones(n),
        metric_names=("accounts", "potential"),
        values=values,
        territories=tuple(
            Territory(f"GEO-T{j + 1:02d}", f"R{j + 1}", None, dt.date(2020, 1, 1), 1.0, 1 / t, c)
            for j, c in enumerate(centres)
        ),
        tolerance=tol,
        target=target,
        balance_lo=low,
        balance_hi=high,
        minimum=np.full((t, 2), -np.inf),
        capacity=np.full((t, 2), np.inf),
        fixed_centre=np.ones(t, dtype=bool),
        home_coords=np.array(centres, dtype=float),
        adjacency=graph(n, edges),
        **fields,  # type: ignore[arg-type]
    )


def solve(problem: RoleProblem) -> np.ndarray:
    deadline = time.perf_counter() + SETTINGS.time_limit_s
    solution = solve_with_centres(problem, SETTINGS, get_backend("highs"), 1.0, deadline)
    return solution.assignment


def contiguous(problem: RoleProblem, plan: np.ndarray) -> bool:
    assert problem.adjacency is not None
    return bool((piece_counts(problem.adjacency, plan, problem.n_territories) == 1).all())


# -- pieces ---------------------------------------------------------------------------------


def test_piece_counts_on_a_path() -> None:
    # Path 0-1-2-3-4. Territory 0 has 0, 1 and 4 (two pieces: {0, 1} and {4}), territory
    # 1 has 2 and 3 (one piece) and territory 2 has nothing.
    adjacency = graph(5, [(0, 1), (1, 2), (2, 3), (3, 4)])
    counts = piece_counts(adjacency, np.array([0, 0, 1, 1, 0]), 3)
    assert counts.tolist() == [2, 1, 0]


# -- exact path -------------------------------------------------------------------------------


def path_problem() -> RoleProblem:
    # Path graph U0 - U1 - U2 - U3 on the equator, but U3 lies next to U0 (x = 0.1 degree)
    # and U2 next to U1 (x = 3.1). Centres: territory 1 at x = 0, territory 2 at x = 3.
    # Two accounts each (accounts tolerance 0).
    coords = [(0.0, 0.0), (0.0, 3.0), (0.0, 3.1), (0.0, 0.1)]
    return make_problem(coords, [1, 1, 1, 1], [(0.0, 0.0), (0.0, 3.0)], [(0, 1), (1, 2), (2, 3)])


def test_path_without_contiguity_splits_territories() -> None:
    # Without contiguity the cheapest plan is {U0, U3} and {U1, U2}: 0.1 + 0.1 degree.
    problem = path_problem().replace(adjacency=None)
    plan = solve(problem)
    assert plan.tolist() == [0, 1, 1, 0]


def test_path_contiguous_plan_matches_hand_answer() -> None:
    # The only splits of a 4-path into two connected pairs are {U0, U1} | {U2, U3} and its
    # swap. Costs in degrees: territory 1 takes U0, U1 (0 + 3) and territory 2 takes
    # U2, U3 (0.1 + 2.9) = 6.0; the swap costs 3.1 + 0.1 + 3 + 0 = 6.2.
    problem = path_problem()
    plan = solve(problem)
    assert plan.tolist() == [0, 0, 1, 1]
    cost = cost_matrix(problem, problem.home_coords)[np.arange(4), plan].sum()
    assert cost == pytest.approx(6.0 * KM_PER_DEGREE, rel=1e-9)


def grid_problem() -> RoleProblem:
    # A 3 x 3 grid, cells 0.1 degree apart near the equator, numbered row by row:
    #   0 1 2
    #   3 4 5
    #   6 7 8
    # Potential is 4 on the middle column and 1 elsewhere (total 18, 9 per territory with
    # tolerance 0). Centres sit left and right of the grid, so the cheapest split by
    # distance alone wants a column each, which cannot balance potential.
    coords = [(0.2 - 0.1 * r, 0.1 * c) for r in range(3) for c in range(3)]
    potential = [1, 4, 1, 1, 4, 1, 1, 4, 1]
    centres = [(0.1, -0.05), (0.1, 0.25)]
    return make_problem(coords, potential, centres, grid_edges(3, 3), tolerance=(np.inf, 0.0))


def brute_force(problem: RoleProblem) -> tuple[float, set[tuple[int, ...]]]:
    """Return the least cost of a contiguous, balanced plan and every plan reaching it."""
    cost = cost_matrix(problem, problem.home_coords)
    best, plans = np.inf, set()
    for labels in itertools.product(range(problem.n_territories), repeat=problem.n_accounts):
        plan = np.array(labels)
        totals = problem.totals(plan)
        if (totals < problem.lower - 1e-9).any() or (totals > problem.upper + 1e-9).any():
            continue
        if not contiguous(problem, plan):
            continue
        value = float(cost[np.arange(problem.n_accounts), plan].sum())
        if value < best - 1e-9:
            best, plans = value, {labels}
        elif abs(value - best) <= 1e-9:
            plans.add(labels)
    return best, plans


def test_grid_without_contiguity_splits_a_territory() -> None:
    problem = grid_problem()
    plan = solve(problem.replace(adjacency=None))
    assert not contiguous(problem, plan)


def test_grid_contiguous_plan_is_the_enumerated_optimum() -> None:
    # Potential 9 per territory: the middle column has 12, so one territory takes one
    # middle cell (4) and five cells of 1, the other two middle cells (8) and one cell
    # of 1. The enumeration over all 512 plans finds two optima of equal cost: one
    # territory takes the top row with cells 3, 5 and 6 (or 8), and the other takes 4, 7
    # and the remaining bottom corner.
    problem = grid_problem()
    best, plans = brute_force(problem)
    plan = solve(problem)
    cost = cost_matrix(problem, problem.home_coords)[np.arange(9), plan].sum()
    assert contiguous(problem, plan)
    assert tuple(plan.tolist()) in plans
    assert cost == pytest.approx(best, rel=1e-9)


def test_separator_cut_cuts_off_the_split_plan_only() -> None:
    problem = path_problem()
    split = np.array([0, 1, 1, 0])
    cuts = separator_cuts(problem, split)
    model = with_cuts(build_model(problem, problem.home_coords), cuts)
    extra = model.matrix[-len(cuts) :]

    def worst(plan: np.ndarray) -> float:
        return float((extra @ model.start_vector(plan)).max())

    assert worst(split) > 1
    # Every contiguous plan with both territories non-empty satisfies every cut.
    for plan in ([0, 0, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1], [0, 0, 0, 1]):
        assert worst(np.array(plan)) <= 1


# -- repair ------------------------------------------------------------------------------------


def strip_problem(size: int = 12) -> RoleProblem:
    """A 2 x ``size`` strip with three territories and a band of +/-10 % on accounts."""
    coords = [(0.1 * r, 0.1 * c) for r in range(2) for c in range(size)]
    centres = [(0.05, 0.0), (0.05, 0.1 * (size - 1) / 2), (0.05, 0.1 * (size - 1))]
    return make_problem(
        coords, [1] * (2 * size), centres, grid_edges(2, size), tolerance=(0.1, np.inf)
    )


def test_repair_joins_stray_pieces_and_keeps_bands() -> None:
    # 24 cells, 8 per territory within +/-10 % (7.2 to 8.8, so exactly 8). Start from
    # columns dealt round-robin: every territory is in four pieces.
    problem = strip_problem()
    plan = np.array([(c % 3) for r in range(2) for c in range(12)])
    assert piece_counts(problem.adjacency, plan, 3).tolist() == [4, 4, 4]

    repaired = repair(problem, plan, build_model(problem, problem.home_coords))
    assert contiguous(problem, repaired)
    totals = problem.totals(repaired)
    assert totals[:, 0].tolist() == [8, 8, 8]


def test_repair_leaves_a_locked_stray_piece() -> None:
    # Cells 0 (top left) and 11 (top right) are both locked to territory 0: no repair can
    # join them without moving one, so territory 0 stays in two pieces and both stay.
    problem = strip_problem()
    locked = np.full(24, -1)
    locked[[0, 11]] = 0
    problem = problem.replace(locked=locked)
    plan = np.array([c // 4 for r in range(2) for c in range(12)])
    plan[11] = 0
    repaired = repair(problem, plan, build_model(problem, problem.home_coords))
    assert repaired[[0, 11]].tolist() == [0, 0]
    assert piece_counts(problem.adjacency, repaired, 3)[0] == 2


def test_repair_keeps_the_locked_piece_as_main() -> None:
    # Only cell 11 is locked to territory 0. Its piece is the one territory 0 keeps, so the
    # eight cells on the left leave territory 0 and it ends in one piece around cell 11.
    problem = strip_problem()
    locked = np.full(24, -1)
    locked[11] = 0
    problem = problem.replace(locked=locked)
    plan = np.array([c // 4 for r in range(2) for c in range(12)])
    plan[11] = 0
    repaired = repair(problem, plan, build_model(problem, problem.home_coords))
    assert repaired[11] == 0
    assert contiguous(problem, repaired)
    assert (repaired[[0, 1, 2, 3]] != 0).all()


def test_scalable_path_returns_contiguous_plan() -> None:
    # 2 x 30 strip, three territories of 20 cells (+/-10 %, so 18 to 22). The scalable
    # path does not model contiguity; its repair step must return one piece each.
    problem = strip_problem(30)
    settings = SolverSettings(time_limit_s=20, backend="scalable", seed=3)
    solution = solve_role(problem, settings)
    plan = solution.assignment
    assert contiguous(problem, plan)
    counts = problem.totals(plan)[:, 0]
    assert ((counts >= 18) & (counts <= 22)).all()


# -- explanation ---------------------------------------------------------------------------------


def test_explanation_gives_working_tolerance() -> None:
    # Path U0 - U1 - U2 - U3 with potential 2, 1, 3, 2 (total 8, target 4 per territory,
    # +/-10 %: 3.6 to 4.4). Two connected territories on a path are a prefix and a suffix,
    # with potential 2 | 6, 3 | 5 or 6 | 2, so none fits; without contiguity {U0, U3} and
    # {U1, U2} give 4 | 4. The best contiguous split, 3 | 5, is 25 % off target, so of
    # the factors 1.25, 1.5, 2 and 3 (12.5, 15, 20 and 30 %) only 3 works.
    coords = [(0.0, 0.0), (0.0, 1.0), (0.0, 2.0), (0.0, 3.0)]
    problem = make_problem(
        coords,
        [2, 1, 3, 2],
        [(0.0, 0.0), (0.0, 3.0)],
        [(0, 1), (1, 2), (2, 3)],
        tolerance=(np.inf, 0.1),
    )
    status = solve_role(problem, SETTINGS).result.status
    assert status == Status.INFEASIBLE

    findings = explain_contiguity(problem, SETTINGS, 1.0, "rook")
    assert findings is not None and len(findings) == 1
    assert "one piece of rook-adjacent units" in findings[0]
    assert "widened 3-fold (potential +/-30 %)" in findings[0]


def test_explanation_skips_band_failures() -> None:
    # Potential 1, 1, 1, 5: territory targets are 4 +/-10 %, and the account with 5 alone
    # breaks its territory's band, with or without contiguity.
    coords = [(0.0, 0.0), (0.0, 1.0), (0.0, 2.0), (0.0, 3.0)]
    problem = make_problem(
        coords,
        [1, 1, 1, 5],
        [(0.0, 0.0), (0.0, 3.0)],
        [(0, 1), (1, 2), (2, 3)],
        tolerance=(np.inf, 0.1),
    )
    assert explain_contiguity(problem, SETTINGS, 1.0, "rook") is None


def test_large_roles_are_solved_then_repaired(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the cut rounds kept for roles of at most 0 rows, the 3 x 3 grid is solved
    # without contiguity and repaired. The plan is contiguous and balanced, costs no less
    # than the enumerated optimum, and the bound of the model without contiguity is no
    # more than that optimum.
    monkeypatch.setattr("solver.contiguity.CUT_ROWS", 0)
    problem = grid_problem()
    best, _ = brute_force(problem)
    deadline = time.perf_counter() + SETTINGS.time_limit_s
    solution = solve_with_centres(problem, SETTINGS, get_backend("highs"), 1.0, deadline)
    plan = solution.assignment
    assert contiguous(problem, plan)
    assert problem.totals(plan)[:, 1].tolist() == [9, 9]
    assert solution.result.objective >= best - 1e-6
    assert solution.result.bound <= best + 1e-6


def test_repair_keeps_a_disruption_budget() -> None:
    # A 2 x 12 strip with no bands, today's books in blocks of four columns (territory 0
    # on columns 0-3, 1 on 4-7, 2 on 8-11), but centres at columns 6, 2 and 10. Column 3
    # is then 3 columns from its own centre and 1 from territory 1's, and moving it keeps
    # both territories in one piece, so the repair moves cells for distance. A budget of
    # 0 moves must stop every such move.
    coords = [(0.1 * r, 0.1 * c) for r in range(2) for c in range(12)]
    centres = [(0.05, 0.6), (0.05, 0.2), (0.05, 1.0)]
    problem = make_problem(coords, [1] * 24, centres, grid_edges(2, 12), tolerance=(np.inf, np.inf))
    previous = np.array([c // 4 for r in range(2) for c in range(12)])

    free = repair(problem, previous, build_model(problem, problem.home_coords))
    assert (free != previous).sum() > 0

    budgeted = problem.replace(previous=previous, move_budget=0)
    kept = repair(budgeted, previous, build_model(budgeted, budgeted.home_coords))
    assert kept.tolist() == previous.tolist()


def test_cut_rounds_keep_valid_repair(monkeypatch: pytest.MonkeyPatch) -> None:
    # After a single cut round the 3 x 3 grid is still split. The result is then the
    # repaired plan of that round. It is contiguous, balanced (9 and 9) and feasible, and
    # it costs no less than the enumerated optimum.
    monkeypatch.setattr("solver.contiguity.MAX_CUT_ROUNDS", 1)
    problem = grid_problem()
    best, _ = brute_force(problem)
    solution = solve_with_centres(
        problem, SETTINGS, get_backend("highs"), 1.0, time.perf_counter() + 30
    )
    plan = solution.assignment
    assert solution.result.status == Status.FEASIBLE
    assert contiguous(problem, plan)
    assert problem.totals(plan)[:, 1].tolist() == [9, 9]
    assert solution.result.objective >= best - 1e-6
