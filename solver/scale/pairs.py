"""Improve a plan by re-splitting pairs of neighbouring territories.

For two territories whose centres are near each other, the accounts of both are split
again between them (:func:`solver.scale.split.split`) with each territory's own rows and
its true costs. The current split is one of the choices, so a re-split never breaks a row,
and it is kept only when it costs less. Rounds go over every pair whose territories
changed since the last round, until a round saves almost nothing or time runs out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from scipy.spatial import cKDTree

from solver.geo import unit_vectors
from solver.problem import RoleProblem
from solver.scale.candidates import chord_to_km
from solver.scale.lagrange import Bounds
from solver.scale.split import group_interval, split
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Each territory is paired with this many of its nearest neighbours.
NEIGHBOURS = 6

#: A round that saves less than this share of the plan's cost ends the search.
STOP_SAVING = 1e-4


class PairSearch:
    """The plan being improved, with each territory's accounts kept as its own array."""

    def __init__(
        self,
        problem: RoleProblem,
        centres: np.ndarray,
        rows: Bounds,
        compactness: float,
        assignment: np.ndarray,
    ) -> None:
        self.rows = rows
        self.points = unit_vectors(problem.coords)
        self.centre_points = unit_vectors(centres)
        self.weights = compactness * problem.weights
        self.assignment = assignment.copy()
        order = np.argsort(assignment, kind="stable")
        ends = np.cumsum(np.bincount(assignment, minlength=problem.n_territories))
        self.members = np.split(order, ends[:-1])

    def cost(self, accounts: np.ndarray, territory: int) -> np.ndarray:
        """Return the cost of each of ``accounts`` in ``territory``."""
        chord = np.linalg.norm(self.points[accounts] - self.centre_points[territory], axis=1)
        return self.weights[accounts] * chord_to_km(chord)

    def total_cost(self) -> float:
        return float(sum(self.cost(m, t).sum() for t, m in enumerate(self.members)))

    def resplit(self, s: int, t: int, settings: SolverSettings, deadline: float) -> float:
        """Re-split the accounts of ``s`` and ``t``; return the saving (0 when unchanged)."""
        accounts = np.concatenate([self.members[s], self.members[t]])
        cost_s, cost_t = self.cost(accounts, s), self.cost(accounts, t)
        in_s = np.arange(len(accounts)) < len(self.members[s])
        current = float(np.where(in_s, cost_s, cost_t).sum())

        values = self.rows.values[accounts]
        interval = group_interval(
            values.sum(axis=0),
            (self.rows.lower[s], self.rows.upper[s]),
            (self.rows.lower[t], self.rows.upper[t]),
        )
        y = split(cost_s - cost_t, values, interval, settings, deadline)
        if y is None:
            return 0.0
        saving = current - float(np.where(y, cost_s, cost_t).sum())
        if saving <= 1e-9 * max(current, 1.0):
            return 0.0

        self.members[s], self.members[t] = accounts[y], accounts[~y]
        self.assignment[accounts[y]] = s
        self.assignment[accounts[~y]] = t
        return saving


def improve_pairs(
    search: PairSearch,
    settings: SolverSettings,
    deadline: float,
    on_plan: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Run pair re-splits on ``search`` until they stop paying or ``deadline``; return the plan."""
    pairs = neighbour_pairs(search.centre_points)
    n_territories = len(search.members)
    changed = np.ones(n_territories, dtype=bool)
    cost = search.total_cost()
    rounds = 0

    while changed.any() and time.perf_counter() < deadline:
        rounds += 1
        due = pairs[changed[pairs[:, 0]] | changed[pairs[:, 1]]]
        changed[:] = False
        saved = 0.0
        for s, t in due:
            if time.perf_counter() >= deadline:
                break
            saving = search.resplit(int(s), int(t), settings, deadline)
            if saving > 0.0:
                changed[[s, t]] = True
                saved += saving
        cost -= saved
        logger.info("pair round %d: %d pairs, saved %.1f, cost %.1f", rounds, len(due), saved, cost)
        if on_plan is not None and saved > 0.0:
            on_plan(cost)
        if saved < STOP_SAVING * cost:
            break
    return search.assignment


def neighbour_pairs(centre_points: np.ndarray) -> np.ndarray:
    """Return ``(P, 2)`` pairs ``s < t`` where ``t`` is among the nearest centres of ``s``."""
    t = len(centre_points)
    k = min(NEIGHBOURS + 1, t)
    if k < 2:
        return np.empty((0, 2), dtype=np.int64)
    _, nearest = cKDTree(centre_points).query(centre_points, k=k)
    nearest = np.asarray(nearest).reshape(t, k)
    first = np.repeat(np.arange(t), k - 1)
    second = nearest[:, 1:].ravel()
    pairs = np.column_stack([np.minimum(first, second), np.maximum(first, second)])
    return np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
