"""One entry point for solving a role: picks the exact path or the scalable path.

``solve_role`` is what the pipeline and the benchmarks call. The exact path builds one
binary per (account, territory) and hands the model to a MIP backend; it is the right tool
while that model stays small. Larger roles go to the scalable path.
"""

from __future__ import annotations

import time

from solver.backends import get_backend
from solver.centres import RoleSolution, solve_with_centres
from solver.problem import RoleProblem
from solver.scenario import SolverSettings

#: Largest number of (account, territory) pairs that ``auto`` sends to the exact path.
EXACT_PAIRS = 200_000


def solve_role(
    problem: RoleProblem,
    settings: SolverSettings,
    *,
    compactness: float = 1.0,
    deadline: float | None = None,
) -> RoleSolution:
    """Solve one role within ``deadline`` (a ``time.perf_counter()`` value).

    Without a deadline the role gets ``settings.time_limit_s`` from now.
    """
    if deadline is None:
        deadline = time.perf_counter() + settings.time_limit_s
    backend = get_backend(settings.backend)
    return solve_with_centres(problem, settings, backend, compactness, deadline)
