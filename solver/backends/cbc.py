"""CBC through PuLP.

PuLP reports the CBC status "Optimal" even when a time limit stopped the search with an
incumbent. So the status here comes from ``sol_status``. The bound comes from the LP
relaxation (solved by HiGHS), which is always a valid lower bound.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pulp

from solver.backends.highs import lp_bound
from solver.formulation import LinearModel
from solver.result import Result, Status
from solver.scenario import SolverSettings


def solve_cbc(
    model: LinearModel,
    settings: SolverSettings,
    time_limit_s: float,
    start: np.ndarray | None = None,
) -> Result:
    """Solve ``model`` with CBC and return the plan with the LP relaxation as its bound.

    NOTE: ``start`` is not passed to CBC; each round starts from scratch.
    """
    started = time.perf_counter()
    # NOTE: PuLP 3.x deprecates LpVariable(...) and PULP_CBC_CMD in favour of its 4.0 API;
    # the pin pulp<4 in pyproject.toml keeps these calls valid.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        problem, x = _pulp_problem(model)
        command = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=max(1, int(np.ceil(time_limit_s))),
            gapRel=settings.mip_gap,
            threads=settings.threads,
            options=[f"randomSeed {settings.seed + 1}", f"randomCbcSeed {settings.seed + 1}"],
        )
        problem.solve(command)
    values = np.array([v.varValue if v.varValue is not None else 0.0 for v in x])
    bound = lp_bound(model, settings, max(1.0, time_limit_s - (time.perf_counter() - started)))
    runtime = time.perf_counter() - started

    assignment = model.assignment(values)
    complete = bool((assignment >= 0).all())
    if problem.sol_status == pulp.LpSolutionInfeasible:
        return Result(Status.INFEASIBLE, None, float("inf"), float("inf"), runtime, "cbc")
    if problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible) or (
        not complete
    ):
        return Result(Status.NO_PLAN, None, float("inf"), bound, runtime, "cbc")

    objective = float(model.cost[values > 0.5].sum())
    optimal = problem.sol_status == pulp.LpSolutionOptimal
    if optimal:
        # CBC stops when (objective - its bound) <= mip_gap * objective.
        bound = max(bound, objective * (1.0 - settings.mip_gap) - 1e-9 * abs(objective))
    return Result(
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        assignment=assignment,
        objective=objective,
        bound=min(bound, objective),
        runtime_s=runtime,
        solver="cbc",
    )


def _pulp_problem(model: LinearModel) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    problem = pulp.LpProblem("territories", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{j}", cat=pulp.LpBinary) for j in range(model.n_vars)]
    problem += pulp.LpAffineExpression([(x[j], float(c)) for j, c in enumerate(model.cost)])

    matrix = model.matrix
    for r in range(matrix.shape[0]):
        cols = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
        data = matrix.data[matrix.indptr[r] : matrix.indptr[r + 1]]
        expr = pulp.LpAffineExpression([(x[c], float(a)) for c, a in zip(cols, data, strict=True)])
        lo, hi = model.row_lo[r], model.row_hi[r]
        if lo == hi:
            problem += expr == float(lo), f"r{r}"
            continue
        if np.isfinite(lo):
            problem += expr >= float(lo), f"r{r}lo"
        if np.isfinite(hi):
            problem += expr <= float(hi), f"r{r}hi"
    return problem, x
