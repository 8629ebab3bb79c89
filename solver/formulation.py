"""The assignment model of one role with fixed centres, as sparse linear rows.

Variables are binaries ``x[i, t]`` = 1 when account ``i`` goes to territory ``t``, one per
(account, territory) pair. The model is built once as a matrix and every backend translates
the same matrix, so the rules are written down in one place:

* assignment: every account goes to exactly one territory of its role;
* balance: every territory's total of a balanced metric stays within its band;
* viability: every territory meets each viability minimum;
* capacity: no territory carries more than its rep's ramp-weighted capacity;
* moves: with a previous plan and a move budget, at most that many accounts change
  territory;
* disruption: with current owners, at most a set number or share of accounts, or of a
  metric, leaves the current books, per role or per territory;
* locks: a locked account goes to its territory;
* objective: minimise ``sum w_i * d(i, centre_t) * x[i, t]`` (km, great-circle), plus a
  move cost for each account that leaves its previous territory.

Bounds are tightened by a tiny relative margin (:data:`BOUND_MARGIN`) so that solver
tolerances cannot round a plan across a bound. The verification uses the exact bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from solver.geo import distance_matrix_km
from solver.problem import MoveLimit, RoleProblem

#: Relative margin by which bands are tightened inside the solver, so a plan accepted within
#: the solver's feasibility tolerance still satisfies the exact bound.
BOUND_MARGIN = 1e-7


@dataclass(frozen=True)
class RowBlock:
    """A family of rows: ``rows[t]`` is the row of territory ``t`` for ``metric``."""

    family: str
    metric: str | None
    start: int
    stop: int


@dataclass(frozen=True)
class LinearModel:
    """``min cost @ x`` subject to ``row_lo <= A @ x <= row_hi``, ``x`` binary."""

    n_accounts: int
    n_territories: int
    pair_account: np.ndarray
    pair_territory: np.ndarray
    cost: np.ndarray
    matrix: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    blocks: tuple[RowBlock, ...]

    @property
    def n_vars(self) -> int:
        return len(self.cost)

    def assignment(self, x: np.ndarray) -> np.ndarray:
        """Return the territory of each account from a 0/1 (or near 0/1) solution vector."""
        chosen = x > 0.5
        territory = np.full(self.n_accounts, -1, dtype=np.int64)
        territory[self.pair_account[chosen]] = self.pair_territory[chosen]
        return territory

    def start_vector(self, assignment: np.ndarray) -> np.ndarray:
        """Return the 0/1 solution vector of an account→territory array."""
        return (assignment[self.pair_account] == self.pair_territory).astype(float)


def cost_matrix(problem: RoleProblem, centres: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """Return the ``(n, T)`` objective coefficients: weight times km to each centre."""
    distance = distance_matrix_km(problem.coords, centres)
    cost = weight * problem.weights[:, None] * distance
    if problem.previous is not None and problem.move_cost is not None:
        moved = np.arange(problem.n_territories)[None, :] != problem.previous[:, None]
        moved &= (problem.previous >= 0)[:, None]
        cost = cost + moved * problem.move_cost[:, None]
    return cost


def build_model(problem: RoleProblem, centres: np.ndarray, weight: float = 1.0) -> LinearModel:
    """Build the linear model of ``problem`` for fixed territory ``centres`` (``(T, 2)``)."""
    n, t = problem.n_accounts, problem.n_territories
    pair_account = np.repeat(np.arange(n), t)
    pair_territory = np.tile(np.arange(t), n)
    cost = cost_matrix(problem, centres, weight).ravel()
    return build_pair_model(problem, pair_account, pair_territory, cost)


def build_pair_model(
    problem: RoleProblem, pair_account: np.ndarray, pair_territory: np.ndarray, cost: np.ndarray
) -> LinearModel:
    """Build the model with one binary per given (account, territory) pair only.

    Pairs left out are forbidden; the scalable path uses this for candidate territories.
    """
    n, t = problem.n_accounts, problem.n_territories
    blocks: list[RowBlock] = []
    parts: list[tuple[sp.csr_matrix, np.ndarray, np.ndarray]] = []
    row = 0
    for family, metric, part in _row_families(problem, pair_account, pair_territory):
        matrix, lo, hi = part
        blocks.append(RowBlock(family, metric, row, row + matrix.shape[0]))
        parts.append(part)
        row += matrix.shape[0]

    return LinearModel(
        n_accounts=n,
        n_territories=t,
        pair_account=pair_account,
        pair_territory=pair_territory,
        cost=cost,
        matrix=sp.vstack([p[0] for p in parts], format="csr"),
        row_lo=np.concatenate([p[1] for p in parts]),
        row_hi=np.concatenate([p[2] for p in parts]),
        blocks=tuple(blocks),
    )


def _row_families(problem: RoleProblem, pair_account: np.ndarray, pair_territory: np.ndarray):
    """Yield ``(family, metric, (matrix, lo, hi))`` for every constraint family."""
    yield "assignment", None, assignment_rows(problem, pair_account)
    for k, metric in enumerate(problem.metric_names):
        lo, hi = problem.balance_lo[:, k], problem.balance_hi[:, k]
        if np.isfinite(lo).any() or np.isfinite(hi).any():
            yield "balance", metric, metric_rows(problem, pair_account, pair_territory, k, lo, hi)
        minimum = problem.minimum[:, k]
        if np.isfinite(minimum).any():
            upper = np.full_like(minimum, np.inf)
            yield (
                "viability",
                metric,
                metric_rows(problem, pair_account, pair_territory, k, minimum, upper),
            )
        capacity = problem.capacity[:, k]
        if np.isfinite(capacity).any():
            lower = np.full_like(capacity, -np.inf)
            yield (
                "capacity",
                metric,
                metric_rows(problem, pair_account, pair_territory, k, lower, capacity),
            )
    if problem.previous is not None and problem.move_budget is not None:
        yield "moves", None, move_budget_row(problem, pair_account, pair_territory)
    if problem.previous is not None:
        for limit in problem.move_limits:
            yield (
                "disruption",
                limit.key,
                move_limit_row(problem, pair_account, pair_territory, limit),
            )
    if problem.locked is not None and (problem.locked >= 0).any():
        yield "locks", None, lock_rows(problem, pair_account, pair_territory)


def assignment_rows(problem: RoleProblem, pair_account: np.ndarray):
    """Require every account in exactly one territory: ``sum_t x[i, t] = 1`` for each ``i``."""
    n = problem.n_accounts
    columns = np.arange(len(pair_account))
    matrix = sp.csr_matrix(
        (np.ones(len(columns)), (pair_account, columns)), shape=(n, len(columns))
    )
    ones = np.ones(n)
    return matrix, ones, ones


def move_budget_row(problem: RoleProblem, pair_account: np.ndarray, pair_territory: np.ndarray):
    """Keep at least all but ``move_budget`` of the accounts in their previous territory."""
    assert problem.previous is not None and problem.move_budget is not None
    stays = (problem.previous[pair_account] == pair_territory).astype(float)
    matrix = sp.csr_matrix(stays[None, :])
    kept = float(np.count_nonzero(problem.previous >= 0) - problem.move_budget)
    return matrix, np.array([kept]), np.array([np.inf])


def move_limit_row(
    problem: RoleProblem,
    pair_account: np.ndarray,
    pair_territory: np.ndarray,
    limit: MoveLimit,
):
    """Keep enough of the current books in place that at most ``limit.limit`` leaves.

    ``sum_i v[i] * x[i, previous_i] >= sum_i v[i] - limit`` over the accounts in scope:
    every account with a current territory, or only those of ``limit.territory``.
    """
    stay = stay_matrix(problem, limit)
    matrix = sp.csr_matrix(stay[pair_account, pair_territory][None, :])
    kept = float(stay.sum()) - limit.limit
    low, _ = tightened_bounds(stay[stay != 0], np.array([kept]), np.array([np.inf]))
    return matrix, low, np.array([np.inf])


def stay_matrix(problem: RoleProblem, limit: MoveLimit) -> np.ndarray:
    """Return the ``(n, T)`` amount in the scope of ``limit`` that stays for each choice."""
    if limit.stay is not None:
        return limit.stay
    assert problem.previous is not None
    values = problem.values[:, problem.metric_names.index(limit.metric)]
    scope = problem.previous >= 0
    if limit.territory is not None:
        scope = problem.previous == limit.territory
    stay = np.zeros((problem.n_accounts, problem.n_territories))
    inside = np.flatnonzero(scope)
    stay[inside, problem.previous[inside]] = values[inside]
    return stay


def lock_rows(problem: RoleProblem, pair_account: np.ndarray, pair_territory: np.ndarray):
    """Pin each locked account to its territory: ``x[i, locked_i] = 1``."""
    assert problem.locked is not None
    locked = np.flatnonzero(problem.locked >= 0)
    row_of = np.full(problem.n_accounts, -1)
    row_of[locked] = np.arange(len(locked))
    chosen = (row_of[pair_account] >= 0) & (problem.locked[pair_account] == pair_territory)
    columns = np.flatnonzero(chosen)
    matrix = sp.csr_matrix(
        (np.ones(len(columns)), (row_of[pair_account[columns]], columns)),
        shape=(len(locked), len(pair_account)),
    )
    ones = np.ones(len(locked))
    return matrix, ones, ones


def metric_rows(
    problem: RoleProblem,
    pair_account: np.ndarray,
    pair_territory: np.ndarray,
    metric: int,
    lower: np.ndarray,
    upper: np.ndarray,
):
    """Keep each territory's total of one metric in ``[lower_t, upper_t]``.

    ``lower_t <= sum_i v[i, metric] * x[i, t] <= upper_t``, tightened inside by
    :data:`BOUND_MARGIN` of the bound's magnitude. Balance bands, viability minimums and
    capacities are all rows of this shape; they differ in where their bounds come from.
    """
    t = problem.n_territories
    coefficients = problem.values[pair_account, metric]
    columns = np.arange(len(pair_account))
    matrix = sp.csr_matrix((coefficients, (pair_territory, columns)), shape=(t, len(pair_account)))
    return matrix, *tightened_bounds(problem.values[:, metric], lower, upper)


def tightened_bounds(values: np.ndarray, lower: np.ndarray, upper: np.ndarray):
    """Return the bounds a solver uses for a metric with account ``values``.

    Sums of whole numbers are whole, so for an integral metric the bounds are rounded
    inwards exactly (a minimum of 4.5 ICP accounts means 5). Other metrics get a margin of
    :data:`BOUND_MARGIN` times the bound's magnitude.
    """
    if np.all(values == np.round(values)):
        return np.ceil(lower - 1e-9), np.floor(upper + 1e-9)
    margin_lo = BOUND_MARGIN * np.abs(np.where(np.isfinite(lower), lower, 0.0))
    margin_hi = BOUND_MARGIN * np.abs(np.where(np.isfinite(upper), upper, 0.0))
    return lower + margin_lo, upper - margin_hi
