"""Independent check of a benchmark plan, recomputed from the assignment with plain numpy.

Nothing here reads a solver's model, bounds or status. Targets are recomputed from the
account values and the territories' capacity shares, so a plan is ``verified`` only when
its own totals satisfy every rule of the instance.
"""

from __future__ import annotations

import numpy as np

from solver.geo import haversine_km
from solver.problem import RoleProblem

#: Relative slack for comparing floating-point totals with bounds.
RELATIVE_TOLERANCE = 1e-9


def verify_assignment(problem: RoleProblem, assignment: np.ndarray | None) -> list[str]:
    """Return one message per violated rule of ``assignment``; an empty list means valid.

    Rules: every account in exactly one known territory, every balance band (target =
    metric total times the territory's capacity share, +/- the metric's tolerance), every
    viability minimum and every capacity.
    """
    if assignment is None:
        return ["no plan"]
    assignment = np.asarray(assignment)
    n_accounts, n_territories = problem.n_accounts, problem.n_territories
    if assignment.shape != (n_accounts,):
        return [f"assignment has shape {assignment.shape}, expected ({n_accounts},)"]
    unknown = (assignment < 0) | (assignment >= n_territories)
    if unknown.any():
        return [f"{int(unknown.sum())} accounts have no territory or an unknown one"]

    totals = territory_totals(problem, assignment)
    lower, upper = _rule_bounds(problem)
    messages = []
    for k, metric in enumerate(problem.metric_names):
        for t in range(n_territories):
            low, high, total = lower[t, k], upper[t, k], totals[t, k]
            slack = RELATIVE_TOLERANCE * max(1.0, _magnitude(low), _magnitude(high))
            if low - slack <= total <= high + slack:
                continue
            messages.append(
                f"{problem.territories[t].territory_id}: '{metric}' total {total:,.6g} "
                f"outside [{low:,.6g}, {high:,.6g}]"
            )
    return messages


def territory_totals(problem: RoleProblem, assignment: np.ndarray) -> np.ndarray:
    """Return the ``(T, m)`` metric totals of each territory, summed with ``numpy.bincount``."""
    columns = [
        np.bincount(assignment, weights=problem.values[:, k], minlength=problem.n_territories)
        for k in range(len(problem.metric_names))
    ]
    return np.column_stack(columns)


def max_deviation_pct(problem: RoleProblem, assignment: np.ndarray) -> dict[str, float]:
    """Return, per balanced metric, the largest ``|total - target| / target`` in percent."""
    totals = territory_totals(problem, assignment)
    target = _targets(problem)
    deviation = {}
    for k, metric in enumerate(problem.metric_names):
        if not np.isfinite(problem.tolerance[k]):
            continue
        relative = np.abs(totals[:, k] - target[:, k]) / np.maximum(target[:, k], 1e-12)
        deviation[metric] = float(100.0 * relative.max())
    return deviation


def plan_cost_km(problem: RoleProblem, assignment: np.ndarray) -> float:
    """Return the objective: weighted great-circle km from each account to its home centre."""
    homes = problem.home_coords[assignment]
    distance = haversine_km(problem.coords[:, 0], problem.coords[:, 1], homes[:, 0], homes[:, 1])
    return float((problem.weights * distance).sum())


def _targets(problem: RoleProblem) -> np.ndarray:
    share = np.array([territory.capacity_share for territory in problem.territories])
    return np.outer(share, problem.values.sum(axis=0))


def _rule_bounds(problem: RoleProblem) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(T, m)`` lower and upper bounds rebuilt from targets, tolerances and limits."""
    target = _targets(problem)
    balanced = np.isfinite(problem.tolerance)
    tolerance = np.where(balanced, problem.tolerance, 0.0)
    band_lo = np.where(balanced, target * (1.0 - tolerance), -np.inf)
    band_hi = np.where(balanced, target * (1.0 + tolerance), np.inf)
    return np.maximum(band_lo, problem.minimum), np.minimum(band_hi, problem.capacity)


def _magnitude(bound: float) -> float:
    return abs(bound) if np.isfinite(bound) else 0.0
