"""Reports on a plan against today's books: moves, budgets used, broken locks and budgets.

The verification and the summary of a plan read these, and so does the explanation of a
disruption budget that is too small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.families import Grouping
from solver.formulation import stay_matrix
from solver.precheck import _num
from solver.problem import MoveLimit, RoleProblem
from solver.result import Status
from solver.scenario import ACCOUNT_COUNT, SolverSettings

# -- checks of a final plan ---------------------------------------------------------------


def book_violations(problem: RoleProblem, assignment: np.ndarray) -> list[dict[str, object]]:
    """Recompute the locks and disruption budgets from ``assignment``; return what breaks."""
    violations: list[dict[str, object]] = []
    if problem.locked is not None:
        pinned = problem.locked >= 0
        off = pinned & (assignment != problem.locked)
        for i in np.flatnonzero(off):
            violations.append(
                {
                    "role": problem.role,
                    "kind": "lock",
                    "account_id": str(problem.account_ids[i]),
                    "message": f"account {problem.account_ids[i]} is not on its locked territory "
                    f"{problem.territories[problem.locked[i]].territory_id}",
                }
            )
    if problem.previous is not None:
        for limit in problem.move_limits:
            moved = moved_amount(problem, assignment, limit)
            if moved > limit.limit * (1 + 1e-9) + 1e-9:
                violations.append(
                    {
                        "role": problem.role,
                        "kind": "disruption",
                        "key": limit.key,
                        "message": f"{limit.key}: {_num(moved)} of {limit.metric} moved, above "
                        f"the budget of {_num(limit.limit)}"
                        + (
                            ""
                            if limit.territory is None
                            else f" for {problem.territories[limit.territory].territory_id}"
                        ),
                    }
                )
    return violations


def moved_amount(problem: RoleProblem, assignment: np.ndarray, limit: MoveLimit) -> float:
    """Return how much of ``limit.metric`` left the books in the scope of ``limit``."""
    stay = stay_matrix(problem, limit)
    return float(stay.sum() - stay[np.arange(problem.n_accounts), assignment].sum())


# -- explaining a budget that is too small --------------------------------------------------


def explain_disruption(
    problem: RoleProblem, settings: SolverSettings, compactness: float
) -> list[str] | None:
    """Return per disruption budget a setting that works, or None when budgets are not the cause.

    For each budget metric the role is solved without budgets and with a move cost so
    heavy that the plan moves as little of that metric as the goals allow. For a role-wide
    budget that amount is the smallest that works. For a per-territory budget the largest
    loss of one territory in that plan is a setting that works, though not always the
    smallest.
    """
    from solver.engine import solve_role

    findings = []
    free = problem.replace(move_limits=())
    for key in dict.fromkeys(limit.key for limit in problem.move_limits):
        limits = [limit for limit in problem.move_limits if limit.key == key]
        values = problem.values[:, problem.metric_names.index(limits[0].metric)]
        heavy = (
            1e6 * float(problem.weights.mean() or 1.0) * values / max(float(values.mean()), 1e-12)
        )
        solution = solve_role(free.replace(move_cost=heavy), settings, compactness=compactness)
        if solution.result.status in (Status.INFEASIBLE, Status.NO_PLAN):
            return None
        needed = max(moved_amount(problem, solution.assignment, limit) for limit in limits)
        if all(needed <= limit.limit for limit in limits):
            continue
        budget = min(limit.limit for limit in limits)
        scope = "one territory" if limits[0].territory is not None else "the role"
        findings.append(
            f"role {problem.role}: {key} allows {_num(budget)} of {limits[0].metric} to move "
            f"from {scope}, but keeping every goal moves at least {_num(needed)}"
            + (
                " (in the plan that moves the least overall)"
                if limits[0].territory is not None
                else ""
            )
            + f". Fix: raise the budget so that {_num(needed)} fits, or loosen the goals."
        )
    return findings or None


def family_violations(
    problem: RoleProblem, grouping: Grouping, assignment: np.ndarray
) -> list[dict[str, object]]:
    """Return a violation for every family whose members sit in more than one territory."""
    split = pd.Series(assignment).groupby(grouping.family).nunique()
    violations: list[dict[str, object]] = []
    for family in split.index[split.to_numpy() > 1]:
        root = grouping.problem.account_ids[family]
        violations.append(
            {
                "role": problem.role,
                "kind": "family",
                "account_id": str(root),
                "message": f"the family of {root} is split across territories",
            }
        )
    return violations


def move_summary(problem: RoleProblem, assignment: np.ndarray) -> dict[str, object]:
    """Return what moved against today's books: accounts, share of each metric, cost."""
    assert problem.previous is not None
    owned = problem.previous >= 0
    moved = owned & (assignment != problem.previous)
    shares = {}
    for k, metric in enumerate(problem.metric_names):
        total = float(problem.values[owned, k].sum())
        if metric != ACCOUNT_COUNT and total > 0:
            shares[metric] = round(float(problem.values[moved, k].sum()) / total, 6)
    cost = float(problem.move_cost[moved].sum()) if problem.move_cost is not None else 0.0
    return {
        "accounts_with_owner": int(owned.sum()),
        "accounts_unowned": int((~owned).sum()),
        "accounts_moved": int(moved.sum()),
        "share_moved": shares,
        "continuity_cost": round(cost, 6),
        "budgets": [
            {
                "key": limit.key,
                "territory": None
                if limit.territory is None
                else problem.territories[limit.territory].territory_id,
                "metric": limit.metric,
                "limit": round(limit.limit, 6),
                "moved": round(moved_amount(problem, assignment, limit), 6),
            }
            for limit in problem.move_limits
        ],
    }
