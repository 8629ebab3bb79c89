"""Explain a role that contiguity makes infeasible, in planning terms.

When the exact model with separator cuts is proven infeasible, the role is solved again
without contiguity. If that works, contiguity is the cause, and the role is solved with
every balance tolerance widened by a few factors in turn. The first factor with a
contiguous plan is the loosest setting the message recommends. Factors are tried from
the smallest, so the advice is the smallest widening among those tried.
"""

from __future__ import annotations

import logging

import numpy as np

from solver.precheck import _num
from solver.problem import RoleProblem, balance_bands
from solver.result import Status
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Factors by which every balance tolerance is widened, in the order they are tried.
WIDENING = (1.25, 1.5, 2.0, 3.0)


def explain_contiguity(
    problem: RoleProblem, settings: SolverSettings, compactness: float, rule: str
) -> list[str] | None:
    """Return findings when contiguity makes ``problem`` infeasible, else None."""
    from solver.engine import solve_role

    quick = settings.model_copy(update={"time_limit_s": max(10.0, settings.time_limit_s / 4)})
    free = solve_role(problem.replace(adjacency=None), quick, compactness=compactness)
    if not free.result.status.has_plan:
        return None

    head = (
        f"role {problem.role}: no plan keeps every territory in one piece of {rule}-adjacent "
        "units within the balance bands, though a plan without contiguity meets them"
    )
    for factor in WIDENING:
        widened = _widened(problem, factor)
        solution = solve_role(widened, quick, compactness=compactness)
        if solution.result.status.has_plan:
            return [f"{head}. {_tolerances(problem, factor)}"]
        if solution.result.status == Status.NO_PLAN:
            break
    return [
        f"{head}. Widening every tolerance {WIDENING[-1]:g}-fold found no contiguous plan "
        "in time. Fix: set contiguity: none for the role, or check for a unit larger than "
        "a territory's band"
    ]


def _widened(problem: RoleProblem, factor: float) -> RoleProblem:
    tolerance = np.where(problem.balanced, problem.tolerance * factor, np.inf)
    low, high = balance_bands(problem.target, tolerance)
    return problem.replace(tolerance=tolerance, balance_lo=low, balance_hi=high)


def _tolerances(problem: RoleProblem, factor: float) -> str:
    widened = [
        f"{name} +/-{_num(100 * problem.tolerance[k] * factor)} %"
        for k, name in enumerate(problem.metric_names)
        if problem.balanced[k]
    ]
    return (
        f"With every balance tolerance widened {factor:g}-fold ({', '.join(widened)}) a "
        "contiguous plan exists. Fix: widen the tolerances to these, or set contiguity: none "
        "for the role"
    )
