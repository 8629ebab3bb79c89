"""Explain an infeasible role: which goals must be relaxed, by how much, and where.

When the exact model is infeasible, an *elastic* model is solved instead: the same
assignment with one relaxation variable per goal and metric,

* ``e_k >= 0`` widens the balance tolerance of metric ``k`` (``target * (1 +/- (tol + e_k))``),
* ``s_k >= 0`` lowers the viability minimum of metric ``k`` (``minimum - s_k``),
* ``c_k >= 0`` raises the capacity of metric ``k`` (``capacity * (1 + c_k)``),

minimising ``sum e_k / tol_k + sum s_k / minimum_k + sum c_k``, i.e. the smallest relative
change of the plan's settings. Its solution is a setting that works, so the explanation
gives the tightest tolerance, the highest minimum and the lowest capacity that still
allow a plan, with the other goals as set.
"""

from __future__ import annotations

import logging

import highspy
import numpy as np
import scipy.sparse as sp

from solver.backends.highs import highs_problem
from solver.formulation import assignment_rows
from solver.precheck import _num
from solver.problem import RoleProblem
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)


def explain_infeasible(
    problem: RoleProblem, settings: SolverSettings, time_limit_s: float
) -> list[str]:
    """Return findings naming the goals of ``problem`` to relax, and by how much."""
    n_pairs = problem.n_accounts * problem.n_territories
    pair_account = np.repeat(np.arange(problem.n_accounts), problem.n_territories)
    pair_territory = np.tile(np.arange(problem.n_territories), problem.n_accounts)

    blocks, relax = _elastic_rows(problem, pair_account, pair_territory)
    if not relax:
        return [f"role {problem.role}: no plan assigns every account once; check eligibility"]

    assign, ones, _ = assignment_rows(problem, pair_account)
    n_relax = len(relax)
    rows = [sp.hstack([assign, sp.csr_matrix((problem.n_accounts, n_relax))])]
    lo, hi = [ones], [ones]
    for matrix, row_lo, row_hi in blocks:
        rows.append(matrix)
        lo.append(row_lo)
        hi.append(row_hi)

    cost = np.concatenate([np.zeros(n_pairs), [weight for _, _, weight in relax]])
    integer = np.concatenate([np.ones(n_pairs, dtype=bool), np.zeros(n_relax, dtype=bool)])
    col_hi = np.concatenate([np.ones(n_pairs), np.full(n_relax, np.inf)])
    highs = highs_problem(
        cost,
        sp.vstack(rows, format="csr"),
        np.concatenate(lo),
        np.concatenate(hi),
        np.zeros(len(cost)),
        col_hi,
        integer,
        settings,
        time_limit_s,
    )
    highs.run()
    if highs.getInfo().primal_solution_status != 2:
        logger.warning("%s: the elastic model found no solution in time", problem.role)
        return [
            f"role {problem.role}: the goals conflict, and the search for the smallest "
            f"relaxation ran out of time ({time_limit_s:.0f}s); raise solver.time_limit_s"
        ]

    x = np.asarray(highs.getSolution().col_value)
    status = highs.getModelStatus()
    proven = status == highspy.HighsModelStatus.kOptimal
    assignment = np.full(problem.n_accounts, -1)
    chosen = x[:n_pairs] > 0.5
    assignment[pair_account[chosen]] = pair_territory[chosen]
    return _describe(problem, relax, x[n_pairs:], assignment, proven)


def _elastic_rows(problem: RoleProblem, pair_account: np.ndarray, pair_territory: np.ndarray):
    """Return the metric rows with relaxation columns, and one ``(kind, k, weight)`` per column.

    Each row block is ``(base, column, scale, lo, hi)``: ``base @ x + scale * r[column]`` for
    a lower bound and ``base @ x - scale * r[column]`` for an upper bound.
    """
    relax: list[tuple[str, int, float]] = []
    pending = []
    t_count, n_pairs = problem.n_territories, len(pair_account)
    free = np.full(t_count, np.inf)

    for k in range(len(problem.metric_names)):
        base = sp.csr_matrix(
            (problem.values[pair_account, k], (pair_territory, np.arange(n_pairs))),
            shape=(t_count, n_pairs),
        )
        # Balance: one column widens both sides of the band, in units of the target.
        if np.isfinite(problem.tolerance[k]):
            column, target = len(relax), problem.target[:, k]
            relax.append(("balance", k, 1.0 / problem.tolerance[k]))
            pending.append((base, column, target, problem.balance_lo[:, k], free))
            pending.append((base, column, -target, -free, problem.balance_hi[:, k]))
        # Viability: one column lowers the minimum of every territory, in metric units.
        minimum = problem.minimum[:, k]
        if np.isfinite(minimum).any():
            relax.append(("viability", k, 1.0 / max(float(minimum.max()), 1.0)))
            pending.append((base, len(relax) - 1, np.ones(t_count), minimum, free))
        # Capacity: one column raises every rep's capacity, as a share of it.
        capacity = problem.capacity[:, k]
        if np.isfinite(capacity).all():
            relax.append(("capacity", k, 1.0))
            pending.append((base, len(relax) - 1, -capacity, -free, capacity))

    blocks = []
    for base, column, scale, lo, hi in pending:
        extra = sp.csr_matrix(
            (scale, (np.arange(t_count), np.full(t_count, column))), shape=(t_count, len(relax))
        )
        blocks.append((sp.hstack([base, extra], format="csr"), lo, hi))
    return blocks, relax


def _describe(
    problem: RoleProblem,
    relax: list[tuple[str, int, float]],
    amounts: np.ndarray,
    assignment: np.ndarray,
    proven: bool,
) -> list[str]:
    qualifier = "" if proven else " (best found in the time limit, not proven smallest)"
    totals = problem.totals(assignment)
    findings = []
    for (kind, k, _), amount in zip(relax, amounts, strict=True):
        if amount <= 1e-9:
            continue
        metric = problem.metric_names[k]
        if kind == "balance":
            tolerance = problem.tolerance[k]
            setting = (
                f"widen the tolerance from {_percent(tolerance)} to at least "
                f"{_percent(tolerance + amount, up=True)}"
            )
            low, high = problem.balance_lo[:, k], problem.balance_hi[:, k]
        elif kind == "viability":
            minimum = float(problem.minimum[:, k].max())
            lowered = minimum - amount
            if _whole_numbers(problem.values[:, k]):
                lowered = np.floor(lowered + 1e-9)
            setting = f"lower the minimum from {_num(minimum)} to at most {_num(lowered)}"
            low, high = problem.minimum[:, k], np.full(problem.n_territories, np.inf)
        else:
            setting = f"raise the capacity per rep by {amount:.1%}"
            low, high = np.full(problem.n_territories, -np.inf), problem.capacity[:, k]
        where = _territories_outside(problem, totals[:, k], low, high)
        findings.append(
            f"role {problem.role}: the {kind} goal on '{metric}' cannot be met as set; "
            f"{setting}{qualifier}. Territories outside it in that plan: {where}"
        )
    return findings or [f"role {problem.role}: the goals conflict, but no single goal stands out"]


def _territories_outside(
    problem: RoleProblem, totals: np.ndarray, low: np.ndarray, high: np.ndarray
) -> str:
    shortfall = np.maximum(low - totals, 0.0)
    excess = np.maximum(totals - high, 0.0)
    parts = []
    for t in np.argsort(-(shortfall + excess), kind="stable")[:5]:
        if shortfall[t] > 1e-9:
            parts.append(f"{problem.territories[t].territory_id} short by {_num(shortfall[t])}")
        elif excess[t] > 1e-9:
            parts.append(f"{problem.territories[t].territory_id} over by {_num(excess[t])}")
    return ", ".join(parts) or "none"


def _percent(share: float, up: bool = False) -> str:
    """Format a share as a percent with two decimals, rounded up when ``up`` is set.

    Rounding a needed tolerance up keeps the suggestion a setting that works.
    """
    hundredths = share * 10_000
    value = np.ceil(hundredths - 1e-6) if up else np.round(hundredths)
    return f"{value / 100:.2f}%"


def _whole_numbers(values: np.ndarray) -> bool:
    return bool(np.all(values == np.round(values)))
