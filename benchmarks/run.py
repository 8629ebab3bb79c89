"""Benchmark harness: ``python -m benchmarks.run --sizes S M [--seed 1] [--time-limit S]``.

For each size the engine and then each peer solve the same generated instance, each in a
fresh subprocess (``benchmarks.run_one``) so that peak memory is measured per run. The
results go to ``benchmarks/results/<size>.json``; ``summary.md`` and
``time_vs_accounts.png`` are then rebuilt from every result file in the folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.generate import SIZES
from benchmarks.peers import BYTES_PER_PAIR, MAX_PAIRS
from benchmarks.report import (
    add_comparisons,
    load_results,
    plot_time_vs_accounts,
    write_json_atomic,
    write_summary,
)

logger = logging.getLogger("benchmarks.run")

#: Default time limit in seconds per size, the same for the engine and every peer.
TIME_LIMITS_S = {"S": 60.0, "M": 120.0, "L": 60.0, "XL": 600.0}

#: Peer solvers, run after the engine.
PEERS = ("cbc", "cpsat")

#: Folder of the result files.
RESULTS_DIR = Path(__file__).resolve().parent / "results"

_REPO_ROOT = Path(__file__).resolve().parents[1]

# A run still going after twice its time limit plus two minutes is stuck and is killed.
# The engine's exact path overran a 120-s limit by 88 s at size M, in the initial LP.
_HARD_TIMEOUT_FACTOR = 2.0
_HARD_TIMEOUT_EXTRA_S = 120.0

# Peers are skipped when their estimated memory exceeds this share of the machine's memory.
_MEMORY_SHARE = 0.8


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark sizes asked for and rebuild the summary and the plot."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    limits = time_limits(args.time_limit)
    machine = machine_info()
    logger.info("machine: %s", machine)

    for size in args.sizes:
        record = benchmark_size(
            size, args.seed, limits[size], args.threads, args.peers_max_size, machine
        )
        path = args.results_dir / f"{size}.json"
        write_json_atomic(path, record)
        logger.info("%s: wrote %s", size, path)

    records = load_results(args.results_dir)
    write_summary(records, args.results_dir / "summary.md")
    plot_time_vs_accounts(records, args.results_dir / "time_vs_accounts.png")
    logger.info("wrote the summary and the plot of %d sizes to %s", len(records), args.results_dir)
    return 0


def benchmark_size(
    size: str,
    seed: int,
    time_limit_s: float,
    threads: int,
    peers_max_size: str,
    machine: dict[str, Any],
) -> dict[str, Any]:
    """Run the engine and the peers on one size and return the size's result record."""
    n_accounts, n_territories = SIZES[size]
    logger.info("%s: %d accounts, %d territories, seed %d", size, n_accounts, n_territories, seed)
    record = run_child(size, "ours", seed, time_limit_s, threads)

    peers = []
    for name in PEERS:
        reason = peer_skip_reason(size, peers_max_size, machine["memory_total_gb"])
        if reason is not None:
            logger.info("%s %s: skipped, %s", size, name, reason)
            peers.append({"name": name, "skipped": reason})
            continue
        peers.append(run_child(size, name, seed, time_limit_s, threads))

    record.update(
        size=size,
        n_accounts=n_accounts,
        n_territories=n_territories,
        seed=seed,
        time_limit_s=time_limit_s,
        threads=threads,
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        machine=machine,
        peers=peers,
    )
    return add_comparisons(record)


def peer_skip_reason(
    size: str, peers_max_size: str, memory_total_gb: float | None = None
) -> str | None:
    """Return why peers do not run at ``size``, or None when they run.

    Peers run up to ``peers_max_size``, up to :data:`MAX_PAIRS` binaries, and while
    their estimated memory stays below 80 % of ``memory_total_gb`` (when known).
    """
    order = list(SIZES)
    if order.index(size) > order.index(peers_max_size):
        return f"size {size} is above --peers-max-size {peers_max_size}"
    n_accounts, n_territories = SIZES[size]
    pairs = n_accounts * n_territories
    if pairs > MAX_PAIRS:
        return f"{pairs:,} binaries exceed the limit of {MAX_PAIRS:,}"
    estimate_gb = pairs * BYTES_PER_PAIR / 1024**3
    if memory_total_gb is not None and estimate_gb > _MEMORY_SHARE * memory_total_gb:
        return (
            f"{pairs:,} binaries need about {estimate_gb:.0f} GB, more than 80 % of the "
            f"machine's {memory_total_gb:g} GB"
        )
    return None


def run_child(
    size: str, solver: str, seed: int, time_limit_s: float, threads: int
) -> dict[str, Any]:
    """Run ``benchmarks.run_one`` in a new process and return its record.

    A run that crashes or passes the hard timeout gets a record with status ``error`` and
    no plan, so the other runs of the size still count.
    """
    timeout_s = _HARD_TIMEOUT_FACTOR * time_limit_s + _HARD_TIMEOUT_EXTRA_S
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        output = Path(folder) / "record.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.run_one",
            f"--size={size}",
            f"--solver={solver}",
            f"--seed={seed}",
            f"--time-limit={time_limit_s}",
            f"--threads={threads}",
            f"--output={output}",
        ]
        logger.info("%s %s: starting, time limit %g s", size, solver, time_limit_s)
        # Temporary files of the child (CBC's MPS file can take a GB) go in this folder, so
        # they are removed even when the child is killed.
        environment = {**os.environ, "TMPDIR": folder}
        started = time.perf_counter()
        # A new session puts the child and CBC in their own process group, so one kill
        # stops both.
        process = subprocess.Popen(command, cwd=_REPO_ROOT, env=environment, start_new_session=True)
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            logger.error("%s %s: killed after %.0f s", size, solver, timeout_s)
            message = f"killed after the hard timeout of {timeout_s:.0f} s"
            return _error_record(solver, message, time.perf_counter() - started)
        except BaseException:
            _kill_group(process)
            raise
        if code != 0 or not output.is_file():
            logger.error("%s %s: the run failed with exit code %d", size, solver, code)
            message = f"the run failed with exit code {code}"
            return _error_record(solver, message, time.perf_counter() - started)
        return json.loads(output.read_text(encoding="utf-8"))


def time_limits(values: list[str] | None) -> dict[str, float]:
    """Return the time limit per size from ``--time-limit`` values over the defaults.

    A plain number sets every size, ``SIZE=SECONDS`` sets one size.
    """
    limits = dict(TIME_LIMITS_S)
    for value in values or []:
        size, _, seconds = value.rpartition("=")
        try:
            number = float(seconds)
        except ValueError:
            number = -1.0
        if number <= 0 or (size and size not in SIZES):
            raise SystemExit(
                f"--time-limit: value '{value}' is invalid. Fix: give seconds > 0, either "
                f"alone (all sizes) or as SIZE=SECONDS with SIZE one of {', '.join(SIZES)}."
            )
        for name in [size] if size else list(SIZES):
            limits[name] = number
    return limits


def machine_info() -> dict[str, Any]:
    """Return the CPU count, processor, total memory and Python version of this machine."""
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or _cpu_model(),
        "memory_total_gb": _memory_total_gb(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _cpu_model() -> str | None:
    """Return the CPU model name from /proc/cpuinfo (``platform.processor()`` is often empty)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def _memory_total_gb() -> float | None:
    try:
        lines = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024**2, 1)
    return None


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait()


def _error_record(solver: str, message: str, wall_s: float) -> dict[str, Any]:
    return {
        "name": solver,
        "status": "error",
        "error": message,
        "wall_s": wall_s,
        "objective": None,
        "bound": None,
        "gap": None,
        "verified": False,
        "max_dev_pct": None,
        "peak_rss_mb": None,
        "timeline": [],
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--sizes", nargs="+", choices=list(SIZES), default=["S", "M"], help="sizes to run"
    )
    parser.add_argument("--seed", type=int, default=1, help="instance and solver seed (default 1)")
    parser.add_argument(
        "--time-limit",
        nargs="+",
        metavar="SECONDS",
        help=(
            "time limit in seconds for every size, or SIZE=SECONDS for one size "
            f"(defaults: {', '.join(f'{k} {v:g}' for k, v in TIME_LIMITS_S.items())})"
        ),
    )
    parser.add_argument(
        "--peers-max-size",
        choices=list(SIZES),
        default="M",
        help="largest size at which the peers run (default M)",
    )
    parser.add_argument("--threads", type=int, default=2, help="threads per solver (default 2)")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_DIR, help="folder of the result files"
    )
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
