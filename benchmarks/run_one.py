"""One benchmark run in its own process: regenerate the instance, solve it, verify the plan.

The harness starts ``python -m benchmarks.run_one`` once per (size, solver), so the peak
resident memory read at the end belongs to that run alone. The instance is regenerated
from ``(size, seed)``, which gives identical arrays, instead of being passed in.
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.generate import SIZES, make_instance
from benchmarks.peers import cbc_peer, cpsat_peer, plan_record
from benchmarks.report import write_json_atomic
from solver.engine import solve_role
from solver.problem import RoleProblem
from solver.scenario import SolverSettings

logger = logging.getLogger("benchmarks.run_one")

#: Solvers a run can use: the engine, then the peers.
SOLVERS = ("ours", "cbc", "cpsat")


def run_ours(problem: RoleProblem, time_limit_s: float, threads: int, seed: int) -> dict[str, Any]:
    """Solve with the engine's ``solve_role`` and return the run's record.

    The timeline is the solution's ``history`` of improving plans when the engine provides
    one, otherwise the final plan at the wall time as the only point.
    """
    settings = SolverSettings(backend="auto", time_limit_s=time_limit_s, seed=seed, threads=threads)
    started = time.perf_counter()
    solution = solve_role(problem, settings, compactness=1.0)
    wall_s = time.perf_counter() - started

    result = solution.result
    assignment = result.assignment
    complete = assignment is not None and bool((np.asarray(assignment) >= 0).all())
    history = getattr(solution, "history", None)
    if history:
        timeline = [[float(seconds), float(value)] for seconds, value in history]
    elif complete:
        timeline = [[wall_s, float(result.objective)]]
    else:
        timeline = []

    bound = float(result.bound) if np.isfinite(result.bound) else None
    record = plan_record("ours", problem, assignment, result.status.value, wall_s, timeline, bound)
    record["engine_solver"] = result.solver
    record["rounds"] = solution.rounds
    return record


def run(size: str, solver: str, seed: int, time_limit_s: float, threads: int) -> dict[str, Any]:
    """Generate the instance of ``size``, solve it with ``solver`` and return the record."""
    problem = make_instance(size, seed)
    logger.info(
        "%s %s: %d accounts, %d territories, limit %g s",
        size,
        solver,
        problem.n_accounts,
        problem.n_territories,
        time_limit_s,
    )
    if solver == "ours":
        record = run_ours(problem, time_limit_s, threads, seed)
    elif solver == "cbc":
        record = cbc_peer(problem, time_limit_s, threads)
    else:
        record = cpsat_peer(problem, time_limit_s, threads, seed)

    record["peak_rss_mb"] = peak_rss_mb()
    record["time_limit_s"] = time_limit_s
    record["threads"] = threads
    logger.info(
        "%s %s: %s, objective %s, verified %s, %.1f s, peak RSS %.0f MB",
        size,
        solver,
        record["status"],
        record["objective"],
        record["verified"],
        record["wall_s"],
        record["peak_rss_mb"],
    )
    return record


def peak_rss_mb() -> float:
    """Return the peak resident memory in MB of this process or of its largest child.

    CBC runs as a child process of PuLP, so its memory appears only under the children.
    On Linux ``ru_maxrss`` is in KiB.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def main(argv: list[str] | None = None) -> int:
    """Run one benchmark from the command line and write its record as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", required=True, choices=list(SIZES), help="instance size")
    parser.add_argument("--solver", required=True, choices=SOLVERS, help="solver to run")
    parser.add_argument("--seed", type=int, default=1, help="instance and solver seed")
    parser.add_argument("--time-limit", type=float, required=True, help="time limit in seconds")
    parser.add_argument("--threads", type=int, default=2, help="solver threads")
    parser.add_argument("--output", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    record = run(args.size, args.solver, args.seed, args.time_limit, args.threads)
    write_json_atomic(args.output, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
