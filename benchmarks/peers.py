"""Peer solvers: the straightforward full MIP of an instance, given to CBC and to CP-SAT.

Both peers solve the same model as the engine's exact path: one binary per (account,
territory) pair for all pairs, built by :func:`solver.formulation.build_model` for the
fixed homes. Each returns a dict with the plan's objective recomputed from its assignment,
the independent verification, and the timeline of improving plans as ``[seconds,
objective]`` pairs. Seconds count from before the model is built, so model building is part
of ``wall_s`` and of every timeline point.

The solver gets what remains of ``time_limit_s`` after its model is built (at least 1 s).
Work a peer does after that point (PuLP writing the MPS file and reading the solution back)
is not limited, but it is counted in ``wall_s``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pulp
from ortools.sat.python import cp_model

from benchmarks.verify_instance import max_deviation_pct, plan_cost_km, verify_assignment
from solver.formulation import LinearModel, build_model
from solver.problem import RoleProblem

logger = logging.getLogger(__name__)

#: Largest model, in (account, territory) pairs, that a peer is asked to build.
MAX_PAIRS = 20_000_000

#: Estimated peak memory of a peer per (account, territory) pair, in bytes. Measured at
#: size M (2M pairs, seed 1): about 6.4 GB for CBC with PuLP and 4.3 GB for CP-SAT.
BYTES_PER_PAIR = 3_500

# CBC prints each improving plan as, for example,
# "Cbc0012I Integer solution of 488751.05 found by DiveCoefficient after 547 iterations
# and 6 nodes (1.35 seconds)". Cbc0004I lines are the same without the heuristic's name.
_CBC_SOLUTION = re.compile(
    r"Cbc00(?:04|12)I Integer solution of (?P<objective>\S+) found.*\((?P<seconds>[\d.]+) seconds\)"
)
_CBC_BOUND = re.compile(r"best possible (?P<bound>[-+\d.eE]+)")
_CBC_COMPLETED = "Cbc0001I Search completed"

# CP-SAT needs integer coefficients: the objective is scaled so its largest coefficient is
# about this many units, and metric rows so their totals stay below 2**50.
_COST_UNITS = 1e7
_MAX_TOTAL = 2.0**50


def cbc_peer(problem: RoleProblem, time_limit_s: float, threads: int) -> dict[str, Any]:
    """Solve the full MIP with CBC through PuLP and read the timeline from CBC's log.

    PuLP reports "Optimal" when CBC stops at the time limit with a plan, so the status here
    comes from ``sol_status`` and the plan is verified from its assignment. CBC checks its
    time limit only between phases and can run for minutes past it on a large model, so a
    watchdog kills it :func:`overrun_grace_s` after the limit (status ``timed_out``).
    """
    started = time.perf_counter()
    model = build_model(problem, problem.home_coords)
    lp, variables = _pulp_model(model)
    solve_limit = _remaining(time_limit_s, started)
    logger.info("cbc: model of %d binaries built, solving for %d s", model.n_vars, solve_limit)

    with tempfile.TemporaryDirectory(prefix="bench-cbc-") as folder:
        log_path = Path(folder) / "cbc.log"
        watch = _CbcWatch(log_path, started + time_limit_s + overrun_grace_s(time_limit_s))
        error = None
        # PuLP warns that logPath replaces msg=True, and its 3.x API warns of deprecations.
        # NOTE: PULP_CBC_CMD goes away in PuLP 4.0; the pin pulp<4 in pyproject.toml keeps it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            command = pulp.PULP_CBC_CMD(
                msg=True, logPath=str(log_path), timeLimit=solve_limit, threads=threads
            )
            # PuLP leaves its MPS file behind when CBC fails, so it goes in this folder too.
            command.tmpDir = folder
            solve_started = time.perf_counter()
            watch.start()
            try:
                lp.solve(command)
            except pulp.PulpSolverError as exc:
                error = exc
            finally:
                watch.stop()
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
    wall_s = time.perf_counter() - started

    # CBC's seconds count from its own start (timeMode elapsed, PuLP's default). A run too
    # short for the watchdog to see the log file counts from the start of lp.solve.
    cbc_start = (watch.seen_at or solve_started) - started
    timeline = [[cbc_start + seconds, value] for seconds, value in parse_cbc_log(log_text)]
    status = {
        pulp.LpSolutionOptimal: "optimal",
        pulp.LpSolutionIntegerFeasible: "feasible",
        pulp.LpSolutionInfeasible: "infeasible",
    }.get(lp.sol_status, "no_plan")
    if error is not None:
        status = "timed_out" if watch.killed else "solver_error"
        if not watch.killed:
            # CBC exited with an error of its own, for example when it ran out of memory.
            logger.error("cbc: the solver failed: %s", error)
    assignment = None
    if status in ("optimal", "feasible"):
        values = np.array([v.varValue if v.varValue is not None else 0.0 for v in variables])
        assignment = model.assignment(values)
    bound = cbc_bound(log_text)
    return plan_record("cbc", problem, assignment, status, wall_s, timeline, bound)


def overrun_grace_s(time_limit_s: float) -> float:
    """Return how long CBC may run past its time limit before it is killed: 10 %, >= 10 s."""
    return max(10.0, 0.1 * time_limit_s)


def cpsat_peer(
    problem: RoleProblem, time_limit_s: float, threads: int, seed: int = 0
) -> dict[str, Any]:
    """Solve the full MIP with OR-Tools CP-SAT, recording the timeline with a callback.

    Timeline objectives are CP-SAT's scaled integer objective divided by the scale, so each
    is within ``0.5 * n_accounts`` cost units of the plan's km. The final objective is
    recomputed exactly from the assignment.
    """
    started = time.perf_counter()
    model = build_model(problem, problem.home_coords)
    cp, variables, cost_scale = _cpsat_model(model)
    solve_limit = _remaining(time_limit_s, started)
    logger.info("cpsat: model of %d binaries built, solving for %d s", model.n_vars, solve_limit)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(solve_limit)
    solver.parameters.num_workers = int(threads)
    solver.parameters.random_seed = int(seed)
    recorder = _Incumbents(time.perf_counter() - started, cost_scale)
    code = solver.solve(cp, recorder)
    wall_s = time.perf_counter() - started

    status = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
    }.get(code, "no_plan")
    assignment = None
    if status in ("optimal", "feasible"):
        values = np.asarray(solver.response_proto.solution, dtype=float)[: len(variables)]
        assignment = model.assignment(values)
    # A plan chooses one cost per account, each rounded by at most half a unit.
    cp_bound = (solver.best_objective_bound - 0.5 * model.n_accounts) / cost_scale
    bound = cp_bound if status != "infeasible" and math.isfinite(cp_bound) else None
    return plan_record("cpsat", problem, assignment, status, wall_s, recorder.points, bound)


def parse_cbc_log(text: str) -> list[tuple[float, float]]:
    """Return ``(seconds, objective)`` of each strictly improving plan in a CBC log."""
    points: list[tuple[float, float]] = []
    for match in _CBC_SOLUTION.finditer(text):
        objective = float(match["objective"])
        if points and objective >= points[-1][1]:
            continue
        points.append((float(match["seconds"]), objective))
    return points


def cbc_bound(text: str) -> float | None:
    """Return the last lower bound ("best possible") in a CBC log, or None if there is none.

    After "Search completed" CBC has proved its last plan optimal, so that plan's objective
    is the bound.
    """
    if _CBC_COMPLETED in text:
        points = parse_cbc_log(text)
        if points:
            return points[-1][1]
    bounds = _CBC_BOUND.findall(text)
    return float(bounds[-1]) if bounds else None


def plan_record(
    name: str,
    problem: RoleProblem,
    assignment: np.ndarray | None,
    status: str,
    wall_s: float,
    timeline: list[list[float]],
    bound: float | None,
) -> dict[str, Any]:
    """Return a run's result dict with the plan verified and its objective recomputed.

    An assignment that leaves an account without a territory counts as no plan.
    """
    plan = assignment if assignment is not None and bool((assignment >= 0).all()) else None
    violations = verify_assignment(problem, plan)
    objective = plan_cost_km(problem, plan) if plan is not None else None
    if objective is not None and bound is not None:
        bound = min(bound, objective)
    gap = None
    if objective is not None and bound is not None and objective > 0:
        gap = max(0.0, (objective - bound) / objective)
    if plan is None and status in ("optimal", "feasible"):
        status = "no_plan"
    return {
        "name": name,
        "status": status,
        "wall_s": wall_s,
        "objective": objective,
        "bound": bound,
        "gap": gap,
        "verified": plan is not None and not violations,
        "violations": violations[:5],
        "max_dev_pct": max_deviation_pct(problem, plan) if plan is not None else None,
        "time_to_within_0_5pct_s": None,
        "timeline": [[float(s), float(v)] for s, v in timeline],
    }


def _remaining(time_limit_s: float, started: float) -> int:
    return max(1, math.ceil(time_limit_s - (time.perf_counter() - started)))


def _pulp_model(model: LinearModel) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """Translate ``model`` row by row into a PuLP problem with one binary per pair."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lp = pulp.LpProblem("benchmark", pulp.LpMinimize)
        variables = [pulp.LpVariable(f"x{j}", cat=pulp.LpBinary) for j in range(model.n_vars)]
        lp += pulp.LpAffineExpression(zip(variables, model.cost.tolist(), strict=True))

        matrix = model.matrix
        for r in range(matrix.shape[0]):
            columns, coefficients = _row(matrix, r)
            terms = zip([variables[c] for c in columns], coefficients.tolist(), strict=True)
            expression = pulp.LpAffineExpression(terms)
            lo, hi = float(model.row_lo[r]), float(model.row_hi[r])
            if lo == hi:
                lp += expression == lo, f"r{r}"
                continue
            if math.isfinite(lo):
                lp += expression >= lo, f"r{r}_lo"
            if math.isfinite(hi):
                lp += expression <= hi, f"r{r}_hi"
    return lp, variables


def _cpsat_model(model: LinearModel) -> tuple[cp_model.CpModel, list, float]:
    """Translate ``model`` into CP-SAT with integer coefficients and return the cost scale."""
    cp = cp_model.CpModel()
    variables = [cp.new_bool_var(f"x{j}") for j in range(model.n_vars)]
    matrix = model.matrix
    for r in range(matrix.shape[0]):
        columns, coefficients = _row(matrix, r)
        lo, hi = float(model.row_lo[r]), float(model.row_hi[r])
        chosen = [variables[c] for c in columns]

        # An assignment row: the account goes to exactly one territory.
        if lo == hi == 1.0 and np.all(coefficients == 1.0):
            cp.add_exactly_one(chosen)
            continue

        scale, slack = _integer_scale(coefficients)
        integer = np.round(coefficients * scale).astype(np.int64)
        lo_int = math.ceil(lo * scale + slack) if math.isfinite(lo) else 0
        hi_int = math.floor(hi * scale - slack) if math.isfinite(hi) else int(integer.sum())
        expression = cp_model.LinearExpr.weighted_sum(chosen, integer.tolist())
        cp.add_linear_constraint(expression, lo_int, hi_int)

    cost_scale = _COST_UNITS / max(float(model.cost.max(initial=0.0)), 1e-12)
    cost = np.round(model.cost * cost_scale).astype(np.int64)
    cp.minimize(cp_model.LinearExpr.weighted_sum(variables, cost.tolist()))
    return cp, variables, cost_scale


def _integer_scale(coefficients: np.ndarray) -> tuple[float, float]:
    """Return a power-of-two scale for a row and the slack that covers its rounding.

    Whole-number rows keep scale 1 and need no slack. Otherwise each coefficient moves by
    at most half a unit when rounded, so a bound tightened by half a unit per coefficient
    still holds for the real values.
    """
    total = float(np.abs(coefficients).sum())
    if np.all(coefficients == np.round(coefficients)) and total < _MAX_TOTAL:
        return 1.0, 0.0
    scale = 2.0 ** math.floor(math.log2(_MAX_TOTAL / max(total, 1e-12)))
    return scale, 0.5 * len(coefficients)


def _row(matrix, r: int) -> tuple[np.ndarray, np.ndarray]:
    start, stop = matrix.indptr[r], matrix.indptr[r + 1]
    return matrix.indices[start:stop], matrix.data[start:stop]


class _Incumbents(cp_model.CpSolverSolutionCallback):
    """Record ``[seconds since the peer started, objective in km]`` of each CP-SAT plan."""

    def __init__(self, offset_s: float, cost_scale: float) -> None:
        super().__init__()
        self.offset_s = offset_s
        self.cost_scale = cost_scale
        self.points: list[list[float]] = []

    def on_solution_callback(self) -> None:
        self.points.append([self.offset_s + self.wall_time, self.objective_value / self.cost_scale])


class _CbcWatch:
    """Watch a CBC run from a background thread: note when it starts, kill it at a deadline.

    PuLP opens CBC's log file just before it starts CBC, so the moment the file appears is
    CBC's start to within the polling interval. That turns CBC's log seconds into seconds
    since the peer started.
    """

    def __init__(self, log_path: Path, deadline: float, interval_s: float = 0.02) -> None:
        self.log_path = log_path
        self.deadline = deadline
        self.interval_s = interval_s
        self.seen_at: float | None = None
        self.killed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            now = time.perf_counter()
            if self.seen_at is None and self.log_path.exists():
                self.seen_at = now
            # PuLP may still be writing the MPS file at the deadline, so keep watching until
            # CBC has started and is killed.
            if now > self.deadline and _kill_children() > 0:
                self.killed = True
                logger.warning("cbc: killed, still running past the time limit")
                return
            self._stop.wait(self.interval_s)


def _kill_children() -> int:
    """Kill the direct children of this process (the CBC run PuLP started) and count them.

    NOTE: finds children through ``/proc``, so the watchdog works on Linux only.
    """
    me = os.getpid()
    killed = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces, so parse after it.
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(me):
            try:
                os.kill(int(stat.parent.name), signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed += 1
    return killed
