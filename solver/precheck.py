"""Cheap infeasibility checks, run before any solver, with the numbers in planning terms.

Each check proves that no plan can exist (so a finding is never a false alarm) and names
which goal or minimum fails, for which territories, by how much, and the loosest setting
that would pass this check.
"""

from __future__ import annotations

import numpy as np

from solver.problem import RoleProblem

#: Relative slack so float noise in totals never triggers a finding.
_SLACK = 1e-9


def precheck(problem: RoleProblem, inactive: list[str] | None = None) -> list[str]:
    """Return findings that make ``problem`` infeasible; an empty list means none was found.

    ``inactive`` lists the role's reps that are not active on the design date, with why,
    for the message about a role without territories.
    """
    if problem.n_territories == 0:
        why = f" ({'; '.join(inactive)})" if inactive else ""
        return [
            f"role {problem.role}: no rep is active on the design date{why}, so there is no "
            "territory. Fix: move the design date, or add a rep or planned hire to the reps file"
        ]
    if problem.n_accounts == 0:
        return [f"role {problem.role}: no account is eligible for this role"]

    findings: list[str] = []
    for k, metric in enumerate(problem.metric_names):
        findings += _sum_of_lower_bounds(problem, k, metric)
        findings += _sum_of_capacities(problem, k, metric)
        findings += _crossed_bounds(problem, k, metric)
        findings += _oversized_accounts(problem, k, metric)
    return findings


def _sum_of_lower_bounds(problem: RoleProblem, k: int, metric: str) -> list[str]:
    """Check that the territories' minimums add up to no more than the role contains."""
    minimum = problem.minimum[:, k]
    total = problem.values[:, k].sum()
    if not np.isfinite(minimum).any() or minimum.sum() <= total * (1 + _SLACK):
        return []
    per_territory = float(minimum.max())
    highest = total / problem.n_territories
    if np.all(problem.values[:, k] == np.round(problem.values[:, k])):
        highest = np.floor(highest + 1e-9)
    return [
        f"role {problem.role}: viability minimum of {_num(per_territory)} '{metric}' per "
        f"territory needs {_num(minimum.sum())} across {problem.n_territories} territories, "
        f"but the role holds {_num(total)} (short by {_num(minimum.sum() - total)}). "
        f"Fix: lower the minimum to at most {_num(highest)}, or plan fewer territories"
    ]


def _sum_of_capacities(problem: RoleProblem, k: int, metric: str) -> list[str]:
    """Check that the reps' ramp-weighted capacity can carry the role's total."""
    capacity = problem.capacity[:, k]
    total = problem.values[:, k].sum()
    if not np.isfinite(capacity).all() or capacity.sum() >= total * (1 - _SLACK):
        return []
    ramp = np.array([t.ramp_factor for t in problem.territories])
    full = capacity.sum() / ramp.sum() if ramp.sum() > 0 else float("inf")
    missing = (total - capacity.sum()) / full if np.isfinite(full) else float("inf")
    label = "accounts (max_accounts)" if metric == "accounts" else f"'{metric}'"
    return [
        f"role {problem.role}: capacity on {label} is {_num(capacity.sum())} across "
        f"{problem.n_territories} reps (ramp-weighted), but the role holds {_num(total)}. "
        f"It needs about {missing:.1f} more fully ramped reps, or a capacity per rep of at "
        f"least {_num(total / ramp.sum() if ramp.sum() else float('inf'))}"
    ]


def _crossed_bounds(problem: RoleProblem, k: int, metric: str) -> list[str]:
    """Find territories whose lower bound is above their upper bound."""
    lower, upper = problem.lower[:, k], problem.upper[:, k]
    findings = []
    for t in np.flatnonzero(lower > upper * (1 + _SLACK) + _SLACK):
        territory = problem.territories[t]
        minimum, capacity = problem.minimum[t, k], problem.capacity[t, k]
        low_name = (
            "viability minimum" if minimum >= problem.balance_lo[t, k] else "balance band minimum"
        )
        high_name = "capacity" if capacity <= problem.balance_hi[t, k] else "balance band maximum"
        fix = _crossed_fix(problem, int(t), k, low_name, high_name)
        findings.append(
            f"territory {territory.territory_id} (rep {territory.rep_id}, ramp "
            f"{territory.ramp_factor:.0%}): {low_name} on '{metric}' is {_num(lower[t])}, above "
            f"its {high_name} of {_num(upper[t])}. {fix}"
        )
    return findings


def _crossed_fix(problem: RoleProblem, t: int, k: int, low_name: str, high_name: str) -> str:
    target, lower, upper = problem.target[t, k], problem.lower[t, k], problem.upper[t, k]
    if low_name == "viability minimum" and high_name == "balance band maximum" and target > 0:
        return (
            f"Fix: lower the minimum to {_num(upper)} or widen the tolerance to at least "
            f"{lower / target - 1:.1%}"
        )
    if low_name == "viability minimum":
        return f"Fix: lower the minimum to {_num(upper)} or raise the capacity"
    ramp = max(problem.territories[t].ramp_factor, 1e-12)
    return f"Fix: raise the capacity of one rep to at least {_num(lower / ramp)}"


def _oversized_accounts(problem: RoleProblem, k: int, metric: str) -> list[str]:
    """Find accounts larger than every territory's upper bound, which fit nowhere."""
    upper = problem.upper[:, k]
    if not np.isfinite(upper).all():
        return []
    largest = int(np.argmax(upper))
    values = problem.values[:, k]
    too_big = np.flatnonzero(values > upper[largest] * (1 + _SLACK))
    if len(too_big) == 0:
        return []

    worst = too_big[np.argmax(values[too_big])]
    account, value = problem.account_ids[worst], values[worst]
    territory = problem.territories[largest]
    if problem.upper[largest, k] < problem.balance_hi[largest, k]:
        fix = "Fix: raise the capacity per rep, or remove the account from this role"
    else:
        needed = value / problem.target[largest, k] - 1
        fix = f"Fix: widen the '{metric}' tolerance to at least {needed:.1%}"
    return [
        f"role {problem.role}: {len(too_big)} account(s) exceed what any territory may hold on "
        f"'{metric}'; the largest, {account} ({_num(value)}), is above the largest allowed "
        f"total of {_num(upper[largest])} ({territory.territory_id}). {fix}"
    ]


def _num(value: float) -> str:
    """Format a planning number: thousands separators, at most two decimals."""
    if not np.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")
