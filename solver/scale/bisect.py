"""A first plan by recursive bisection: halve the territories, split the accounts, repeat.

The territories of a role are halved along the main axis of their centres: east and west,
then north and south, and so on. The accounts are split between the two halves so that
each half's totals stay within the sum of its territories' bounds
(:func:`solver.scale.split.split`). Each half is then split again, down to single
territories. Every split keeps the rows of both halves, so the leaves keep every
territory's bounds: the plan is within bounds by construction, with no repair.

An account's cost for a half is its cost at the nearest centre in that half, so accounts
stay near their side's centres while the split moves the cheapest ones across the line.
Halves that hold several territories aim inside their summed band by a margin, which
leaves room for the splits below them to round whole accounts.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.spatial import cKDTree

from solver.geo import unit_vectors
from solver.problem import RoleProblem
from solver.scale.candidates import Candidates, chord_to_km
from solver.scale.lagrange import Bounds
from solver.scale.split import group_interval, split
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Exponents ``e`` tried in turn for the band of a group of ``g`` territories: the band's
#: half-width is that of one territory times ``g ** (1 - e)`` (``e = 0``: the summed band).
#: Deviations of ``g`` independent territories add up like ``sqrt(g)``, so ``e = 0.5``
#: keeps a group near its share and leaves room for the splits below it.
NARROWING = (0.5, 0.25, 0.0)

#: How far a group's narrowed band moves from the middle of its band towards the totals
#: its territories reach at the Lagrangian prices (0: stays, 1: all the way).
AIM_PULL = 0.5


class NearestCost:
    """An account's cost for a group: weight times km to the group's nearest centre."""

    def __init__(self, problem: RoleProblem, centres: np.ndarray, compactness: float) -> None:
        self.points = unit_vectors(problem.coords)
        self.centre_points = unit_vectors(centres)
        self.weights = compactness * problem.weights
        self.aim: np.ndarray | None = None

    def __call__(self, accounts: np.ndarray, group: np.ndarray) -> np.ndarray:
        chord, _ = cKDTree(self.centre_points[group]).query(self.points[accounts])
        return self.weights[accounts] * chord_to_km(np.asarray(chord))


class PricedCost:
    """An account's cost for a group: its lowest reduced cost over its candidates there.

    Reduced costs add the Lagrangian multipliers of the bound rows to the distance cost,
    so a split follows the prices at which the accounts nearly balance every territory.
    An account with no candidate in the group gets its nearest-centre cost plus the
    group's mean multiplier terms.
    """

    def __init__(
        self, nearest: NearestCost, candidates: Candidates, rows: Bounds, nu: np.ndarray
    ) -> None:
        self.nearest = nearest
        self.territory = candidates.territory
        self.values = rows.values
        self.nu = nu
        self.reduced = candidates.cost.copy()
        for k in range(rows.values.shape[1]):
            self.reduced += rows.values[:, k, None] * nu[candidates.territory, k]
        self.aim = self._aim(rows)

    def _aim(self, rows: Bounds) -> np.ndarray:
        """Return ``(T, m)`` totals for the territories to aim at, from these prices.

        Each account takes its cheapest candidate. Each territory's totals are clipped to
        its bounds, taken :data:`AIM_PULL` of the way from the band's middle, and scaled to
        add up to the accounts' totals.
        """
        cheapest = self.territory[np.arange(len(self.reduced)), self.reduced.argmin(axis=1)]
        t, m = rows.lower.shape
        load = np.column_stack(
            [np.bincount(cheapest, rows.values[:, k], minlength=t) for k in range(m)]
        )
        both = np.isfinite(rows.lower) & np.isfinite(rows.upper)
        middle = np.where(both, (rows.lower + rows.upper) / 2.0, load)
        aim = middle + AIM_PULL * (np.clip(load, rows.lower, rows.upper) - middle)
        total = rows.values.sum(axis=0)
        return aim * np.where(aim.sum(axis=0) > 0, total / aim.sum(axis=0), 1.0)

    def __call__(self, accounts: np.ndarray, group: np.ndarray) -> np.ndarray:
        in_group = np.zeros(len(self.nu), dtype=bool)
        in_group[group] = True
        mask = in_group[self.territory[accounts]]
        cost = np.where(mask, self.reduced[accounts], np.inf).min(axis=1)
        missing = np.flatnonzero(~mask.any(axis=1))
        if len(missing):
            outside = accounts[missing]
            prices = self.values[outside] @ self.nu[group].mean(axis=0)
            cost[missing] = self.nearest(outside, group) + prices
        return cost


def bisect_plan(
    problem: RoleProblem,
    centres: np.ndarray,
    rows: Bounds,
    group_cost: NearestCost | PricedCost,
    settings: SolverSettings,
    deadline: float,
) -> np.ndarray | None:
    """Return a plan within every row of ``rows``, or None when a split found none."""
    started = time.perf_counter()
    centre_points = unit_vectors(centres)
    assignment = np.full(problem.n_accounts, -1, dtype=np.int64)
    stack = [(np.arange(problem.n_accounts), np.arange(problem.n_territories))]

    while stack:
        accounts, group = stack.pop()
        if len(group) == 1:
            assignment[accounts] = group[0]
            continue

        first, second = halves(group, centre_points)
        gain = group_cost(accounts, first) - group_cost(accounts, second)
        bands = [_band(rows, group_cost.aim, part) for part in (first, second)]
        y = _split_group(gain, rows.values[accounts], bands, settings, deadline)
        if y is None:
            logger.info(
                "%s: bisection found no split of %d accounts between %d and %d territories",
                problem.role,
                len(accounts),
                len(first),
                len(second),
            )
            return None
        stack.append((accounts[~y], second))
        stack.append((accounts[y], first))

    logger.info("%s: bisection plan in %.1fs", problem.role, time.perf_counter() - started)
    return assignment


def halves(group: np.ndarray, centre_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``group`` cut in two equal halves along the main axis of its centres."""
    points = centre_points[group]
    centred = points - points.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    order = np.argsort(centred @ axis, kind="stable")
    half = len(group) // 2
    return group[order[:half]], group[order[half:]]


def _split_group(gain, values, bands, settings, deadline):
    """Split accounts between two groups, with their bands narrowed less at each attempt."""
    total = values.sum(axis=0)
    for exponent in NARROWING:
        interval = group_interval(total, bands[0](exponent), bands[1](exponent))
        y = split(gain, values, interval, settings, deadline)
        if y is not None:
            return y
    return None


def _band(rows: Bounds, aim: np.ndarray | None, group: np.ndarray):
    """Return a function of the narrowing exponent giving ``group``'s summed band.

    The narrowed band is centred on the group's summed ``aim`` (the band's middle without
    one), moved inwards where it would leave the summed band.
    """
    low, high = rows.lower[group].sum(axis=0), rows.upper[group].sum(axis=0)
    both = np.isfinite(low) & np.isfinite(high)
    middle = np.where(both, (low + high) / 2.0, 0.0)
    half = np.where(both, (high - low) / 2.0, 0.0)
    shift = np.zeros_like(middle)
    if aim is not None:
        shift = np.where(both, aim[group].sum(axis=0) - middle, 0.0)

    def narrowed(exponent: float) -> tuple[np.ndarray, np.ndarray]:
        if len(group) == 1 or exponent == 0.0:
            return low, high
        # The centre moves towards the aim by at most half the room left, so the band
        # keeps a margin from both edges and the splits below it keep room to round.
        width = half * len(group) ** -exponent
        room = (half - width) / 2.0
        centre = middle + np.clip(shift, -room, room)
        return np.where(both, centre - width, low), np.where(both, centre + width, high)

    return narrowed
