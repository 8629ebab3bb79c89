"""Contiguous territories: pieces of a plan, separator cuts for the exact path, and repair.

A role with geographic units and ``contiguity`` gets an adjacency graph over the rows of
its problem (one row per unit, or per group of units that must stay together). A
territory is contiguous when its rows form one connected piece of that graph.

The exact path adds contiguity lazily. It solves the model, finds the territories that
fall apart, and adds for each stray piece ``S`` of territory ``t`` the separator cuts

    x[a, t] + x[b, t] - sum(x[c, t] for c in N(S)) <= 1     for a in S,

where ``b`` is a row of the territory's main piece and ``N(S)`` the neighbours of ``S``.
Any connected territory holding both ``a`` and ``b`` must also hold a neighbour of ``S``,
so the cuts remove the split plan and no contiguous one. The bound of a model with cuts
is therefore still a bound for contiguous plans. The rounds repeat until the plan is
contiguous or the time runs out, and then :func:`repair` makes the last plan contiguous.

:func:`repair` is also the scalable path's contiguity step. It gives every stray piece
to a neighbouring territory, then moves single boundary rows between neighbouring
territories to bring the bands back, never cutting a territory in two.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from solver.backends import Backend
from solver.contiguity_repair import piece_labels, repair
from solver.formulation import LinearModel, RowBlock
from solver.problem import RoleProblem
from solver.result import Result, Status
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Largest role (rows of the solved problem) that gets the exact separator cuts.
CUT_ROWS = 500

#: Most cut rounds the exact path runs before it repairs the last plan instead. Each round
#: adds cuts for the pieces it finds, so a role needs this many only when pieces keep
#: moving around. The time limit usually ends the rounds first.
MAX_CUT_ROUNDS = 200

#: Most rows of one stray piece that get a cut of their own in one round.
CUTS_PER_PIECE = 25


def piece_counts(
    adjacency: sp.csr_matrix, assignment: np.ndarray, n_territories: int
) -> np.ndarray:
    """Return the number of connected pieces of each territory (0 for an empty one)."""
    labels = piece_labels(adjacency, assignment)
    pieces = np.unique(np.column_stack([assignment, labels]), axis=0)
    return np.bincount(pieces[:, 0], minlength=n_territories)


def solve_contiguous(
    problem: RoleProblem,
    model: LinearModel,
    backend: Backend,
    settings: SolverSettings,
    time_limit: float,
    start: np.ndarray | None,
) -> Result:
    """Solve ``model`` so that every territory is one piece of ``problem.adjacency``.

    Up to :data:`CUT_ROWS` rows, separator cut rounds make the plan exact. Larger
    roles are solved without contiguity and repaired. Either way a plan that is still
    split when the time is up is repaired, and a repaired plan that breaks a row of the
    model (a band, a budget) is not returned as a plan.
    """
    if problem.n_accounts <= CUT_ROWS:
        return _solve_with_cuts(problem, model, backend, settings, time_limit, start)
    return _solve_then_repair(problem, model, backend, settings, time_limit, start)


def _solve_with_cuts(
    problem: RoleProblem,
    model: LinearModel,
    backend: Backend,
    settings: SolverSettings,
    time_limit: float,
    start: np.ndarray | None,
) -> Result:
    assert problem.adjacency is not None
    deadline = time.perf_counter() + time_limit
    base = model
    # The best repaired plan that keeps every row, from any round: the fallback when the
    # rounds run out of time, since the last round's repair may break a row.
    fallback: np.ndarray | None = None
    for round_number in range(1, MAX_CUT_ROUNDS + 1):
        remaining = max(deadline - time.perf_counter(), 1.0)
        result = backend(model, settings, remaining, start)
        if not result.status.has_plan:
            return result
        assignment = result.assignment
        assert assignment is not None

        split = _split_territories(problem, assignment, f"cut round {round_number}")
        if split == 0:
            return result
        start = repair(problem, assignment, base)
        if not _broken(base, start).any() and (
            fallback is None or _cost(base, start) < _cost(base, fallback)
        ):
            fallback = start
        if time.perf_counter() >= deadline - 1.0:
            break
        model = with_cuts(model, separator_cuts(problem, assignment))

    if fallback is None:
        return repaired_result(problem, base, result)
    logger.info("%s: time is up; the best repaired plan of the cut rounds is kept", problem.role)
    return dataclasses.replace(
        result, status=Status.FEASIBLE, assignment=fallback, objective=_cost(base, fallback)
    )


def _broken(model: LinearModel, plan: np.ndarray) -> np.ndarray:
    """Return a mask of the model's rows that ``plan`` breaks, with a relative slack."""
    activity = model.matrix @ model.start_vector(plan)
    slack = 1e-6 * np.maximum(1.0, np.abs(np.where(np.isfinite(model.row_hi), model.row_hi, 0)))
    return (activity < model.row_lo - slack) | (activity > model.row_hi + slack)


def _cost(model: LinearModel, plan: np.ndarray) -> float:
    return float(model.start_vector(plan) @ model.cost)


def _solve_then_repair(
    problem: RoleProblem,
    model: LinearModel,
    backend: Backend,
    settings: SolverSettings,
    time_limit: float,
    start: np.ndarray | None,
) -> Result:
    """Solve without contiguity, then repair; the bound stays valid for contiguous plans."""
    result = backend(model, settings, time_limit, start)
    if not result.status.has_plan:
        return result
    assert result.assignment is not None
    if _split_territories(problem, result.assignment, "solve") == 0:
        return result
    return repaired_result(problem, model, result)


def _split_territories(problem: RoleProblem, assignment: np.ndarray, step: str) -> int:
    assert problem.adjacency is not None
    counts = piece_counts(problem.adjacency, assignment, problem.n_territories)
    split = int(np.count_nonzero(counts > 1))
    logger.info(
        "%s %s: %d of %d territories in several pieces",
        problem.role,
        step,
        split,
        problem.n_territories,
    )
    return split


def repaired_result(problem: RoleProblem, model: LinearModel, result: Result) -> Result:
    """Return ``result`` with its plan repaired, or without a plan if the repair breaks a row."""
    assert result.assignment is not None
    repaired = repair(problem, result.assignment, model)
    x = model.start_vector(repaired)
    activity = model.matrix @ x
    broken = _broken(model, repaired)
    if broken.any():
        logger.warning(
            "%s: the plan in one piece per territory breaks %s; no plan from this start",
            problem.role,
            _broken_rows(model, activity, broken),
        )
        return dataclasses.replace(result, status=Status.NO_PLAN, assignment=None)
    logger.info("%s: the plan was repaired to one piece per territory", problem.role)
    return dataclasses.replace(
        result, status=Status.FEASIBLE, assignment=repaired, objective=float(x @ model.cost)
    )


def _broken_rows(model: LinearModel, activity: np.ndarray, broken: np.ndarray) -> str:
    """Describe the broken rows by their family and key, with the first one's numbers."""
    found = []
    for block in model.blocks:
        inside = np.flatnonzero(broken[block.start : block.stop]) + block.start
        if len(inside) == 0:
            continue
        row = int(inside[0])
        label = f"{block.family} {block.metric}" if block.metric else block.family
        found.append(
            f"{label} ({len(inside)} rows; first: {activity[row]:,.6g} against "
            f"[{model.row_lo[row]:,.6g}, {model.row_hi[row]:,.6g}])"
        )
    return "; ".join(found)


Cut = tuple[int, int, int, np.ndarray]


def separator_cuts(problem: RoleProblem, assignment: np.ndarray) -> list[Cut]:
    """Return cuts ``(territory, a, b, separator rows)`` that the split plan violates."""
    assert problem.adjacency is not None
    labels = piece_labels(problem.adjacency, assignment)
    weight = problem.weights + 1e-9
    cuts = []
    for t in range(problem.n_territories):
        rows = np.flatnonzero(assignment == t)
        pieces = np.unique(labels[rows])
        if len(pieces) < 2:
            continue
        # The heaviest piece is the main one; every other piece is cut off from it.
        mass = np.bincount(labels[rows], weights=weight[rows])
        main = int(np.argmax(mass))
        main_rows = rows[labels[rows] == main]
        anchor = int(main_rows[np.argmax(weight[main_rows])])
        for piece in pieces:
            if piece == main:
                continue
            members = np.flatnonzero(labels == piece)
            separator = _separator(problem.adjacency, members, anchor)
            heaviest = members[np.argsort(-weight[members], kind="stable")[:CUTS_PER_PIECE]]
            cuts += [(t, int(a), anchor, separator) for a in heaviest]
    return cuts


def _separator(adjacency: sp.csr_matrix, members: np.ndarray, anchor: int) -> np.ndarray:
    """Return the neighbours of ``members`` from which ``anchor`` is reachable around them.

    Every path from the piece to the anchor leaves the piece through one of these rows,
    and neighbours cut off from the anchor by the piece itself are left out, which makes
    the cut tighter than one over all neighbours.
    """
    touched = np.unique(adjacency[members].indices)
    neighbours = np.setdiff1d(touched, members, assume_unique=True)
    keep = np.ones(adjacency.shape[0], dtype=bool)
    keep[members] = False
    outside = sp.diags(keep.astype(float)) @ adjacency @ sp.diags(keep.astype(float))
    _, component = connected_components(outside, directed=False)
    return neighbours[component[neighbours] == component[anchor]]


def with_cuts(model: LinearModel, cuts: list[Cut]) -> LinearModel:
    """Return ``model`` with one row ``x[a,t] + x[b,t] - sum x[c,t] <= 1`` per cut."""
    column = _columns(model)
    rows, cols, coefficients = [], [], []
    for number, (t, a, b, separator) in enumerate(cuts):
        entries = [(column[a, t], 1.0), (column[b, t], 1.0)]
        entries += [(column[c, t], -1.0) for c in separator]
        for col, coefficient in entries:
            if col >= 0:
                rows.append(number)
                cols.append(col)
                coefficients.append(coefficient)

    added = sp.csr_matrix((coefficients, (rows, cols)), shape=(len(cuts), model.n_vars))
    return _with_rows(model, added, np.full(len(cuts), -np.inf), np.ones(len(cuts)), "cuts")


def _with_rows(
    model: LinearModel, added: sp.csr_matrix, lo: np.ndarray, hi: np.ndarray, family: str
) -> LinearModel:
    first = model.matrix.shape[0]
    block = RowBlock(family, None, first, first + added.shape[0])
    return dataclasses.replace(
        model,
        matrix=sp.vstack([model.matrix, added], format="csr"),
        row_lo=np.concatenate([model.row_lo, lo]),
        row_hi=np.concatenate([model.row_hi, hi]),
        blocks=(*model.blocks, block),
    )


def _columns(model: LinearModel) -> np.ndarray:
    """Return the ``(n, T)`` column of each pair in ``model``, -1 where it has none."""
    column = np.full((model.n_accounts, model.n_territories), -1, dtype=np.int64)
    column[model.pair_account, model.pair_territory] = np.arange(model.n_vars)
    return column
