"""One entry point for solving a role: picks the exact path or the scalable path.

``solve_role`` is what the pipeline and the benchmarks call. The exact path builds one
binary per (account, territory) and hands the model to a MIP backend, which works well
while that model stays small. Larger roles go to the scalable path
(:mod:`solver.scale.path`): candidate territories, a Lagrangian bound, LP rounding and a
CP-SAT finish.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import numpy as np

from solver.backends import get_backend
from solver.centres import RoleSolution, initial_centres, solve_with_centres
from solver.contiguity import repaired_result
from solver.errors import InputError
from solver.formulation import build_model
from solver.problem import RoleProblem
from solver.result import Result, Status
from solver.scale.path import solve_scalable
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Largest number of (account, territory) pairs that ``auto`` tries on the exact path.
EXACT_PAIRS = 50_000

#: Estimated memory of the exact path per (account, territory) pair, in bytes (measured
#: roughly: 4.0 GB peak RSS for HiGHS on 2,000,000 pairs).
EXACT_BYTES_PER_PAIR = 2_000


def solve_role(
    problem: RoleProblem,
    settings: SolverSettings,
    *,
    compactness: float = 1.0,
    deadline: float | None = None,
) -> RoleSolution:
    """Solve one role within ``deadline`` (a ``time.perf_counter()`` value).

    ``auto`` runs the exact path on small roles with half the time, and the scalable path
    when the role is large or the exact path found no plan. Without a deadline the role
    gets ``settings.time_limit_s`` from now.
    """
    started = time.perf_counter()
    if deadline is None:
        deadline = started + settings.time_limit_s
    pairs = problem.n_accounts * problem.n_territories
    backend = settings.backend

    books = _book_rules(problem)
    if books and backend == "scalable":
        raise InputError(
            f"role {problem.role}: the scalable path does not apply {books} yet. Fix: set "
            "solver.backend to auto or highs, or remove those settings."
        )
    # NOTE: the scalable path builds its own models without today's books, so a role with
    # locks, budgets or a continuity cost stays on the exact path whatever its size.
    if backend == "scalable" or (backend == "auto" and pairs > EXACT_PAIRS and not books):
        return _scalable(problem, settings, compactness, deadline, started)

    _check_memory(problem, pairs)
    if backend != "auto":
        return solve_with_centres(problem, settings, get_backend(backend), compactness, deadline)

    if books:
        return solve_with_centres(problem, settings, get_backend("highs"), compactness, deadline)
    # The scalable path cannot model contiguity, so a contiguous role gives the exact
    # path most of the time and keeps the scalable path as a last resort.
    share = 0.8 if problem.adjacency is not None else 0.5
    halfway = time.perf_counter() + share * (deadline - time.perf_counter())
    solution = solve_with_centres(problem, settings, get_backend("highs"), compactness, halfway)
    if solution.result.status != Status.NO_PLAN:
        return solution
    logger.info("%s: the exact path found no plan in time; trying the scalable path", problem.role)
    return _scalable(problem, settings, compactness, deadline, started)


def _scalable(
    problem: RoleProblem,
    settings: SolverSettings,
    compactness: float,
    deadline: float,
    started: float,
) -> RoleSolution:
    # NOTE: free centres are placed once (weighted k-means++), without location-allocation
    # rounds, so a role with free centres is less compact here than on the exact path.
    centres = initial_centres(problem, settings.seed)
    offset = time.perf_counter() - started
    result = solve_scalable(problem, centres, settings, compactness, deadline)
    if problem.adjacency is not None and result.assignment is not None:
        result = _contiguous(problem, result, centres, compactness)
    # The history counts from the start of solve_role, including any exact attempt before.
    history = tuple((seconds + offset, value) for seconds, value in result.history)
    return RoleSolution(dataclasses.replace(result, history=history), centres, 1)


def _contiguous(
    problem: RoleProblem, result: Result, centres: np.ndarray, compactness: float
) -> Result:
    """Repair the scalable plan so that every territory is one piece of the unit graph.

    The Lagrangian bound stays valid, because contiguity only removes plans.
    """
    model = build_model(problem, centres, compactness)
    repaired = repaired_result(problem, model, result)
    logger.info(
        "%s: contiguity repair took the objective from %.1f to %.1f",
        problem.role,
        result.objective,
        repaired.objective,
    )
    return repaired


def _book_rules(problem: RoleProblem) -> str:
    """Name the rules from today's books that ``problem`` carries, or return ''."""
    rules = []
    if problem.locked is not None:
        rules.append("locks")
    if problem.move_limits or problem.move_budget is not None:
        rules.append("disruption budgets")
    if problem.move_cost is not None and np.any(problem.move_cost > 0):
        rules.append("a continuity cost")
    return " and ".join(rules)


def _check_memory(problem: RoleProblem, pairs: int) -> None:
    """Reject an exact solve that would not fit in memory, with the estimate and the fix."""
    needed = pairs * EXACT_BYTES_PER_PAIR
    available = _available_memory()
    if available is None or needed <= 0.8 * available:
        return
    raise InputError(
        f"role {problem.role}: the exact model has {pairs:,} (account, territory) pairs and "
        f"needs about {needed / 2**30:.1f} GiB, but {available / 2**30:.1f} GiB is available. "
        "Fix: set solver.backend to auto or scalable."
    )


def _available_memory() -> int | None:
    """Return the memory available to this process in bytes, or None where unknown."""
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return int(pages * size)
