"""Contiguity at scale: the scalable path plus the repair on square grids of units.

Each size is a grid of square units 0.05 degree apart in Kansas, with potential drawn
from a seeded generator, free centres and a +/-5 % band on potential. The engine solves
it on the scalable path (which does not model contiguity) and repairs the plan. The
check afterwards uses only the plan and the grid: pieces per territory by breadth-first
search over the four neighbours of each cell, and the bands recomputed with numpy.

Run ``python -m benchmarks.contiguity`` (``make bench-contiguity``); it writes
``benchmarks/results/contiguity.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import resource
import time
from collections import deque
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from solver.engine import solve_role
from solver.problem import RoleProblem, Territory, balance_bands
from solver.scenario import SolverSettings

RESULTS = Path(__file__).resolve().parent / "results" / "contiguity.json"

#: (rows, columns, territories) of each size.
SIZES = {"G1": (60, 60, 20), "G2": (100, 100, 50)}

TOLERANCE = 0.05


def grid_problem(rows: int, cols: int, territories: int, seed: int) -> RoleProblem:
    """Return a grid role with rook adjacency, potential 1-99 per cell and a 5 % band."""
    rng = np.random.default_rng(seed)
    n = rows * cols
    cells = np.arange(n).reshape(rows, cols)
    right = np.column_stack([cells[:, :-1].ravel(), cells[:, 1:].ravel()])
    down = np.column_stack([cells[:-1, :].ravel(), cells[1:, :].ravel()])
    edges = np.vstack([right, down])
    ends = np.concatenate([edges[:, 0], edges[:, 1]])
    starts = np.concatenate([edges[:, 1], edges[:, 0]])
    adjacency = sp.csr_matrix((np.ones(len(ends)), (ends, starts)), shape=(n, n))

    values = np.column_stack([np.ones(n), rng.integers(1, 100, n).astype(float)])
    target = np.outer(np.full(territories, 1 / territories), values.sum(axis=0))
    tolerance = np.array([np.inf, TOLERANCE])
    low, high = balance_bands(target, tolerance)
    rr, cc = np.divmod(np.arange(n), cols)
    return RoleProblem(
        role="GRID",
        account_ids=np.array([f"C{i}" for i in range(n)], dtype=object),
        coords=np.column_stack([38.0 + 0.05 * rr, -100.0 + 0.05 * cc]),
        weights=np.ones(n),
        metric_names=("accounts", "potential"),
        values=values,
        territories=tuple(
            Territory(f"GRID-T{t + 1:02d}", f"R{t + 1}", None, dt.date(2020, 1, 1), 1.0, 0, None)
            for t in range(territories)
        ),
        tolerance=tolerance,
        target=target,
        balance_lo=low,
        balance_hi=high,
        minimum=np.full((territories, 2), -np.inf),
        capacity=np.full((territories, 2), np.inf),
        fixed_centre=np.zeros(territories, dtype=bool),
        home_coords=np.full((territories, 2), np.nan),
        adjacency=adjacency,
    )


def pieces(plan: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Count each territory's pieces by breadth-first search over the grid's 4-neighbours."""
    seen = np.zeros(rows * cols, dtype=bool)
    count = np.zeros(int(plan.max()) + 1, dtype=int)
    for start in range(rows * cols):
        if seen[start]:
            continue
        count[plan[start]] += 1
        seen[start] = True
        queue = deque([start])
        while queue:
            cell = queue.popleft()
            r, c = divmod(cell, cols)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                other = rr * cols + cc
                inside = 0 <= rr < rows and 0 <= cc < cols
                if inside and not seen[other] and plan[other] == plan[cell]:
                    seen[other] = True
                    queue.append(other)
    return count


def run(size: str, time_limit: float, seed: int) -> dict[str, object]:
    rows, cols, territories = SIZES[size]
    problem = grid_problem(rows, cols, territories, seed)
    settings = SolverSettings(backend="scalable", time_limit_s=time_limit, seed=seed, threads=2)
    started = time.perf_counter()
    solution = solve_role(problem, settings)
    wall = time.perf_counter() - started

    plan = solution.assignment
    potential = np.bincount(plan, weights=problem.values[:, 1], minlength=territories)
    deviation = 100 * (potential / problem.target[:, 1] - 1)
    result = solution.result
    return {
        "size": size,
        "units": rows * cols,
        "territories": territories,
        "time_limit_s": time_limit,
        "wall_s": round(wall, 1),
        "objective_km": round(result.objective, 1),
        "bound_km": round(result.bound, 1),
        "gap_pct": round(100 * result.gap, 2),
        "max_pieces": int(pieces(plan, rows, cols).max()),
        "max_abs_dev_pct": round(float(np.abs(deviation).max()), 3),
        "territories_outside_band": int((np.abs(deviation) > 100 * TOLERANCE + 1e-9).sum()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    records = [run(size, args.time_limit, args.seed) for size in args.sizes]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    staging = RESULTS.with_suffix(".json.new")
    staging.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    staging.replace(RESULTS)
    for record in records:
        print(" | ".join(f"{key} {value}" for key, value in record.items()))


if __name__ == "__main__":
    main()
