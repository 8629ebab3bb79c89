"""HiGHS MIP through highspy: the default exact backend."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

import highspy
import numpy as np
import scipy.sparse as sp

from solver.formulation import LinearModel
from solver.result import Result, Status
from solver.scenario import SolverSettings


def solve_highs(
    model: LinearModel,
    settings: SolverSettings,
    time_limit_s: float,
    start: np.ndarray | None = None,
) -> Result:
    """Solve ``model`` as a MIP with HiGHS and return the plan with HiGHS's dual bound."""
    started = time.perf_counter()
    highs = _highs(model, settings, time_limit_s, integer=True)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(model.start_vector(start))
        highs.setSolution(solution)
    if highs.run() == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS failed to run the model ({highs.getModelStatus()})")
    status = highs.getModelStatus()
    info = highs.getInfo()
    runtime = time.perf_counter() - started

    has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if not has_plan:
        proven = status == highspy.HighsModelStatus.kInfeasible
        return Result(
            status=Status.INFEASIBLE if proven else Status.NO_PLAN,
            assignment=None,
            objective=float("inf"),
            bound=float(info.mip_dual_bound) if not proven else float("inf"),
            runtime_s=runtime,
            solver="highs",
        )

    x = np.asarray(highs.getSolution().col_value)
    assignment = model.assignment(x)
    objective = float(model.cost[x > 0.5].sum())
    bound = min(float(info.mip_dual_bound), objective)
    optimal = status == highspy.HighsModelStatus.kOptimal
    return Result(
        status=Status.OPTIMAL if optimal else Status.FEASIBLE,
        assignment=assignment,
        objective=objective,
        bound=bound,
        runtime_s=runtime,
        solver="highs",
    )


def lp_bound(model: LinearModel, settings: SolverSettings, time_limit_s: float) -> float:
    """Return the LP relaxation's optimum, a valid lower bound on the MIP (``-inf`` if unknown)."""
    return solve_lp(model, settings, time_limit_s)[0]


def solve_lp(
    model: LinearModel, settings: SolverSettings, time_limit_s: float
) -> tuple[float, np.ndarray | None]:
    """Solve the LP relaxation; return its optimum and solution (``-inf, None`` if unsolved)."""
    highs = _highs(model, settings, time_limit_s, integer=False)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return float("-inf"), None
    x = np.asarray(highs.getSolution().col_value)
    return float(highs.getInfo().objective_function_value), x


def _highs(
    model: LinearModel, settings: SolverSettings, time_limit_s: float, *, integer: bool
) -> highspy.Highs:
    n = model.n_vars
    return highs_problem(
        model.cost,
        model.matrix,
        model.row_lo,
        model.row_hi,
        np.zeros(n),
        np.ones(n),
        np.full(n, integer),
        settings,
        time_limit_s,
    )


def highs_problem(
    cost: np.ndarray,
    matrix: sp.spmatrix,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    integer: np.ndarray,
    settings: SolverSettings,
    time_limit_s: float,
) -> highspy.Highs:
    """Return a HiGHS instance loaded with ``min cost @ x, row_lo <= A x <= row_hi``."""
    _use_threads(int(settings.threads))
    with _stdout_silenced():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(max(time_limit_s, 0.1)))
    highs.setOptionValue("random_seed", int(settings.seed))
    highs.setOptionValue("threads", int(settings.threads))
    highs.setOptionValue("mip_rel_gap", float(settings.mip_gap))

    lp = highspy.HighsLp()
    lp.num_col_ = len(cost)
    lp.num_row_ = len(row_lo)
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = _finite(col_lo)
    lp.col_upper_ = _finite(col_hi)
    lp.row_lower_ = _finite(row_lo)
    lp.row_upper_ = _finite(row_hi)
    csc = sp.csc_matrix(matrix)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    if np.any(integer):
        kinds = (highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous)
        lp.integrality_ = [kinds[0] if flag else kinds[1] for flag in integer]
    highs.passModel(lp)
    return highs


def _finite(bounds: np.ndarray) -> np.ndarray:
    """Return ``bounds`` with infinities replaced by HiGHS's infinity."""
    values = np.asarray(bounds, dtype=np.float64)
    return np.clip(values, -highspy.kHighsInf, highspy.kHighsInf)


_scheduler_threads: list[int] = []


def _use_threads(threads: int) -> None:
    """Reset HiGHS's process-wide thread pool when the thread count changes.

    HiGHS creates one pool per process on the first run and then refuses to run
    (``kError``) a model whose ``threads`` option differs from that pool's size.
    """
    if _scheduler_threads and _scheduler_threads[0] != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _scheduler_threads[:] = [threads]


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Silence file descriptor 1, where highspy prints a banner when an instance is created."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
