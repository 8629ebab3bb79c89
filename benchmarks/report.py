"""Benchmark results: comparisons between runs, JSON files, the summary table and the plot.

A result file ``results/<size>.json`` contains the engine's run at the top level and the
peers' runs under ``peers``. Only verified plans count towards the best known objective.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.generate import SIZES

#: A plan is "within 0.5 %" when its objective is at most the best known times this factor.
WITHIN_FACTOR = 1.005


def time_to_within(timeline: list[list[float]], best: float | None) -> float | None:
    """Return the first time at which ``timeline`` reaches ``best * 1.005``, or None."""
    if best is None:
        return None
    for seconds, objective in timeline:
        if objective <= best * WITHIN_FACTOR:
            return float(seconds)
    return None


def add_comparisons(record: dict[str, Any]) -> dict[str, Any]:
    """Fill in the best known objective, times to within 0.5 %, speedup and objective ratios.

    ``record`` is the engine's run with its peers' runs under ``peers``. It is changed in
    place and returned. Unverified plans and skipped peers take part in nothing.
    """
    peers = [peer for peer in record["peers"] if "skipped" not in peer]
    runs = [record, *peers]
    verified = [run["objective"] for run in runs if run.get("verified")]
    best = min(verified) if verified else None
    record["best_known_objective"] = best
    for run in runs:
        timeline = run.get("timeline") or []
        run["time_to_within_0_5pct_s"] = time_to_within(timeline, best) if run["verified"] else None

    ours_time = record["time_to_within_0_5pct_s"]
    peer_times = [p["time_to_within_0_5pct_s"] for p in peers if p["time_to_within_0_5pct_s"]]
    record["speedup_vs_fastest_peer"] = None
    if best is None:
        record["speedup_note"] = "no run produced a verified plan"
    elif not peers:
        record["speedup_note"] = "no peer ran at this size"
    elif not peer_times:
        record["speedup_note"] = "no peer reached within 0.5 % of the best known objective"
    elif ours_time is None:
        record["speedup_note"] = "the engine did not reach within 0.5 % of the best known objective"
    else:
        record["speedup_vs_fastest_peer"] = min(peer_times) / max(ours_time, 1e-9)
        record["speedup_note"] = "fastest peer's time to within 0.5 % over the engine's"

    ratios = {}
    for peer in peers:
        both = peer["verified"] and record["verified"] and record["objective"]
        ratios[peer["name"]] = peer["objective"] / record["objective"] if both else None
    record["objective_ratio_at_limit"] = ratios
    return record


def clean_json(value: Any) -> Any:
    """Return ``value`` with every non-finite float (inf, NaN) replaced by None, for JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: clean_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(item) for item in value]
    return value


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and ``os.replace``."""
    write_text_atomic(path, json.dumps(clean_json(data), indent=2, allow_nan=False) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        # mkstemp creates the file readable by its owner only; results are shared files.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_results(folder: Path) -> list[dict[str, Any]]:
    """Return the result records of every size found in ``folder``, smallest size first."""
    records = []
    for size in SIZES:
        path = folder / f"{size}.json"
        if path.is_file():
            records.append(json.loads(path.read_text(encoding="utf-8")))
    return records


def summary_markdown(records: list[dict[str, Any]]) -> str:
    """Return the markdown summary: one row per (size, solver), then the comparisons."""
    lines = [
        "| size | accounts | territories | limit (s) | solver | status | verified | wall (s) "
        "| objective (km) | bound (km) | gap | time to 0.5 % (s) | peak RSS (MB) | max dev (%) |",
        "|---|---:|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for record in records:
        for run in [record, *record["peers"]]:
            lines.append(_run_row(record, run))

    lines += [
        "",
        "| size | best known (km) | speedup vs fastest peer | objective ratio at limit | note |",
        "|---|---:|---:|---|---|",
    ]
    for record in records:
        ratios = ", ".join(
            f"{name} {_number(ratio, '.4f')}"
            for name, ratio in record["objective_ratio_at_limit"].items()
        )
        lines.append(
            f"| {record['size']} | {_number(record['best_known_objective'], ',.0f')} "
            f"| {_number(record['speedup_vs_fastest_peer'], '.2f')} | {ratios or '-'} "
            f"| {record['speedup_note']} |"
        )
    return "\n".join(lines) + "\n"


def write_summary(records: list[dict[str, Any]], path: Path) -> None:
    """Write :func:`summary_markdown` of ``records`` to ``path`` atomically."""
    header = "# Benchmark summary\n\nWritten by `python -m benchmarks.run`; see README.md.\n\n"
    write_text_atomic(path, header + summary_markdown(records))


def plot_time_vs_accounts(records: list[dict[str, Any]], path: Path) -> None:
    """Draw wall time against accounts on log-log axes, one line per solver, to a PNG.

    Filled markers are verified plans, hollow ones runs without a verified plan.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    series: dict[str, list[tuple[int, float, bool]]] = {}
    for record in records:
        for run in [record, *record["peers"]]:
            if run.get("skipped") or run.get("wall_s") is None:
                continue
            name = _solver_label(run)
            series.setdefault(name, []).append(
                (record["n_accounts"], run["wall_s"], run["verified"])
            )

    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    every = [point for points in series.values() for point in points]
    if every:
        # A factor of 2 of margin keeps at least two labelled ticks on each axis.
        axes.set_xlim(min(p[0] for p in every) / 2, max(p[0] for p in every) * 2)
        axes.set_ylim(min(p[1] for p in every) / 2, max(p[1] for p in every) * 2)
    for name, points in series.items():
        accounts = [p[0] for p in points]
        seconds = [p[1] for p in points]
        (line,) = axes.plot(accounts, seconds, "-", label=name)
        for n, s, verified in points:
            face = line.get_color() if verified else "none"
            axes.plot(n, s, "o", color=line.get_color(), markerfacecolor=face)
    axes.set_xscale("log")
    axes.set_yscale("log")
    # Ticks at 1, 2 and 5 times powers of ten, in plain numbers (60, not 6 x 10^1), because
    # a few runs often span less than one decade.
    # Accounts span up to four decades, so that axis gets one tick per decade (1k, 10k, ...)
    # to keep its labels from running into each other.
    axes.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0,)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _short_count(value)))
    axes.yaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,g}"))
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("accounts")
    axes.set_ylabel("wall time (s)")
    axes.set_title("Wall time per run (hollow marker: no verified plan)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=120)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        Path(temporary).unlink(missing_ok=True)


def _solver_label(run: dict[str, Any]) -> str:
    return "engine (ours)" if run["name"] == "ours" else run["name"]


def _run_row(record: dict[str, Any], run: dict[str, Any]) -> str:
    head = (
        f"| {record['size']} | {record['n_accounts']:,} | {record['n_territories']:,} "
        f"| {record['time_limit_s']:g} | {_solver_label(run)} "
    )
    if "skipped" in run:
        return head + f"| skipped: {run['skipped']} | | | | | | | | |"
    deviation = run.get("max_dev_pct") or {}
    worst = max(deviation.values()) if deviation else None
    gap = run.get("gap")
    status = f"{run['status']}: {run['error']}" if run.get("error") else run["status"]
    return head + (
        f"| {status} | {'yes' if run['verified'] else 'no'} "
        f"| {_number(run.get('wall_s'), '.1f')} | {_number(run.get('objective'), ',.0f')} "
        f"| {_number(run.get('bound'), ',.0f')} "
        f"| {_number(None if gap is None else 100 * gap, '.2f')}{' %' if gap is not None else ''} "
        f"| {_number(run.get('time_to_within_0_5pct_s'), '.1f')} "
        f"| {_number(run.get('peak_rss_mb'), ',.0f')} | {_number(worst, '.2f')} |"
    )


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _short_count(value: float) -> str:
    """Format a count as 500, 2k, 100k or 1M."""
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"
