"""OR-Tools CP-SAT, which needs integer coefficients.

Money and distances are scaled to integers. Rounding each account's value changes a
territory's total by at most half a unit per account, so every bound is tightened by that
much before rounding: a plan that satisfies the integer model satisfies the real bounds.
The scale keeps every total below 2**50, far from int64 overflow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from solver.backends.highs import lp_bound
from solver.formulation import LinearModel
from solver.result import Result, Status
from solver.scenario import SolverSettings

#: Totals are scaled to stay below this magnitude.
_MAX_TOTAL = 2.0**50

#: Objective coefficients are scaled so the largest is about this many units.
_COST_UNITS = 1e7


def solve_cpsat(
    model: LinearModel,
    settings: SolverSettings,
    time_limit_s: float,
    start: np.ndarray | None = None,
    *,
    lp_bound_too: bool = True,
    on_plan: Callable[[float], None] | None = None,
) -> Result:
    """Solve ``model`` with CP-SAT; the bound is the better of CP-SAT's and the LP's.

    ``lp_bound_too=False`` skips the LP relaxation, for callers with a bound of their own.
    ``on_plan`` is called with the objective (in model units, within the rounding of the
    integer costs) of every improving plan CP-SAT finds.
    """
    started = time.perf_counter()
    cp = cp_model.CpModel()
    x = [cp.new_bool_var(f"x{j}") for j in range(model.n_vars)]
    for r in range(model.matrix.shape[0]):
        _add_row(cp, x, model, r)
    if start is not None:
        for j, value in enumerate(model.start_vector(start)):
            cp.add_hint(x[j], bool(value))

    cost_scale = _COST_UNITS / max(float(model.cost.max(initial=0.0)), 1e-12)
    cost_int = np.round(model.cost * cost_scale).astype(np.int64)
    cp.minimize(sum(int(c) * x[j] for j, c in enumerate(cost_int) if c))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(max(time_limit_s, 0.1))
    solver.parameters.num_workers = int(settings.threads)
    solver.parameters.random_seed = int(settings.seed)
    solver.parameters.relative_gap_limit = float(settings.mip_gap)
    callback = _PlanCallback(on_plan, cost_scale) if on_plan is not None else None
    code = solver.solve(cp, callback)
    runtime = time.perf_counter() - started

    if code == cp_model.INFEASIBLE:
        return Result(Status.INFEASIBLE, None, float("inf"), float("inf"), runtime, "ortools")
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Result(Status.NO_PLAN, None, float("inf"), float("-inf"), runtime, "ortools")

    values = np.array([solver.boolean_value(v) for v in x], dtype=float)
    objective = float(model.cost[values > 0.5].sum())
    # Each chosen coefficient was rounded by at most half a unit, one per account.
    cp_bound = (solver.best_objective_bound - 0.5 * model.n_accounts) / cost_scale
    bound = cp_bound
    if lp_bound_too:
        bound = max(bound, lp_bound(model, settings, max(1.0, time_limit_s - runtime)))
    return Result(
        status=Status.OPTIMAL if code == cp_model.OPTIMAL else Status.FEASIBLE,
        assignment=model.assignment(values),
        objective=objective,
        bound=min(bound, objective),
        runtime_s=time.perf_counter() - started,
        solver="ortools",
    )


def _add_row(cp: cp_model.CpModel, x: list, model: LinearModel, r: int) -> None:
    matrix = model.matrix
    cols = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
    data = matrix.data[matrix.indptr[r] : matrix.indptr[r + 1]]
    lo, hi = model.row_lo[r], model.row_hi[r]

    # The assignment rows: exactly one territory per account.
    if lo == hi == 1.0 and np.all(data == 1.0):
        cp.add_exactly_one(x[c] for c in cols)
        return

    scale, slack = _row_scale(data)
    coefficients = np.round(data * scale).astype(np.int64)
    total = int(coefficients.sum())
    lo_int = math.ceil(lo * scale + slack) if np.isfinite(lo) else 0
    hi_int = math.floor(hi * scale - slack) if np.isfinite(hi) else total
    expr = sum(int(a) * x[c] for c, a in zip(cols, coefficients, strict=True) if a)
    cp.add_linear_constraint(expr, lo_int, hi_int)


def _row_scale(data: np.ndarray) -> tuple[float, float]:
    """Return the scale of a row and the rounding slack to tighten its bounds by."""
    if np.all(data == np.round(data)) and data.sum() < _MAX_TOTAL:
        return 1.0, 0.0
    scale = 2.0 ** math.floor(math.log2(_MAX_TOTAL / max(float(data.sum()), 1e-12)))
    return scale, 0.5 * len(data)


class _PlanCallback(cp_model.CpSolverSolutionCallback):
    """Report the objective of each improving plan, converted back from integer units."""

    def __init__(self, on_plan: Callable[[float], None], cost_scale: float) -> None:
        super().__init__()
        self._on_plan = on_plan
        self._cost_scale = cost_scale

    def on_solution_callback(self) -> None:
        self._on_plan(self.objective_value / self._cost_scale)
