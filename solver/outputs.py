"""Output tables of a plan and their atomic writing.

``out/<scenario>/`` contains ``assignments.csv``, ``territories.csv`` and ``summary.json``.
The three files are written into a staging folder next to the final one, which then
replaces the old folder in two renames. So a failed run never leaves a half-written or
mixed set, and an earlier plan stays in place until the new one is complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.problem import RoleProblem
from solver.scenario import ACCOUNT_COUNT, Scenario

#: Decimals kept for floats in the CSV files, so outputs are stable and readable.
DECIMALS = 6


def assignments_table(
    scenario: Scenario,
    problems: dict[str, RoleProblem],
    assignments: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Return one row per (account, role): ids, then the metric columns the roles use."""
    metrics = used_metrics(scenario)
    frames = []
    for role, problem in problems.items():
        territory = assignments[role]
        index = {m: problem.metric_names.index(m) for m in metrics}
        frame = pd.DataFrame(
            {
                "account_id": problem.account_ids,
                "territory_id": [problem.territories[t].territory_id for t in territory],
                "role": role,
                "rep_id": [problem.territories[t].rep_id for t in territory],
            }
        )
        for metric in metrics:
            frame[metric] = problem.values[:, index[metric]]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def territories_table(
    scenario: Scenario,
    problems: dict[str, RoleProblem],
    assignments: dict[str, np.ndarray],
    centres: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Return one row per territory with its totals, targets, bands and viability."""
    balance = _ordered({g.metric for r in scenario.roles.values() for g in r.balance}, scenario)
    viability = _ordered({v.metric for r in scenario.roles.values() for v in r.viability}, scenario)
    rows = []
    for role, problem in problems.items():
        totals = problem.totals(assignments[role])
        distance = _mean_km(problem, assignments[role], centres[role])
        for t, territory in enumerate(problem.territories):
            row: dict[str, Any] = {
                "territory_id": territory.territory_id,
                "role": role,
                "rep_id": territory.rep_id,
                "rep_start_date": territory.rep_start_date.isoformat(),
                "ramp_factor": territory.ramp_factor,
                "capacity_share": territory.capacity_share,
                "n_accounts": int(round(totals[t, problem.metric_names.index(ACCOUNT_COUNT)])),
            }
            row.update(_balance_columns(problem, t, totals[t], balance))
            row.update(_viability_columns(problem, t, totals[t], viability, balance))
            row["rep_name"] = territory.rep_name
            row["centre"] = "rep_home" if problem.fixed_centre[t] else "model"
            row["centre_latitude"] = centres[role][t, 0]
            row["centre_longitude"] = centres[role][t, 1]
            row["mean_km"] = distance[t]
            rows.append(row)
    return pd.DataFrame(rows)


def used_metrics(scenario: Scenario) -> list[str]:
    """Return the mapped metrics that some role uses, in the scenario's column order."""
    used: set[str] = set()
    for role in scenario.roles.values():
        used |= {g.metric for g in role.balance} | {v.metric for v in role.viability}
        used |= set(role.capacity.metrics) | {role.account_weight}
    return [m for m in scenario.metric_names if m in used and m != ACCOUNT_COUNT]


def write_plan(
    folder: Path,
    assignments: pd.DataFrame,
    territories: pd.DataFrame,
    summary: dict[str, Any],
    extra: Callable[[Path], None] | None = None,
) -> None:
    """Write the plan's files into ``folder``, replacing an older plan atomically.

    ``extra`` writes more files, such as the maps, into the same staging folder.
    """

    def write(staging: Path) -> None:
        write_csv(assignments, staging / "assignments.csv")
        write_csv(territories, staging / "territories.csv")
        write_json(summary, staging / "summary.json")
        if extra is not None:
            extra(staging)

    write_folder(folder, write)


def write_folder(folder: Path, write: Callable[[Path], None]) -> None:
    """Fill ``folder`` by calling ``write`` on a staging folder, then swap it in atomically.

    If ``write`` fails, the staging folder is removed and an older ``folder`` is untouched.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        write(staging)
        _swap(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json(value: Any, path: Path) -> None:
    """Write ``value`` as indented JSON, with NaN and numpy scalars made JSON-safe."""
    text = json.dumps(_json_safe(value), indent=2, allow_nan=False) + "\n"
    path.write_text(text, encoding="utf-8")


def _swap(staging: Path, folder: Path) -> None:
    """Move ``staging`` to ``folder``; the old folder is removed only after the move."""
    old = None
    if folder.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        os.rmdir(old)
        os.replace(folder, old)
    os.replace(staging, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV with floats rounded to a fixed number of decimals."""
    rounded = frame.copy()
    for column in rounded.columns:
        if pd.api.types.is_float_dtype(rounded[column]):
            rounded[column] = rounded[column].round(DECIMALS)
    rounded.to_csv(path, index=False, lineterminator="\n")


def _balance_columns(
    problem: RoleProblem, t: int, totals: np.ndarray, metrics: list[str]
) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for metric in metrics:
        k = problem.metric_names.index(metric)
        on = bool(np.isfinite(problem.tolerance[k]))
        target = problem.target[t, k]
        columns[metric] = totals[k]
        columns[f"{metric}_target"] = target if on else math.nan
        columns[f"{metric}_min_allowed"] = problem.balance_lo[t, k] if on else math.nan
        columns[f"{metric}_max_allowed"] = problem.balance_hi[t, k] if on else math.nan
        columns[f"{metric}_dev_pct"] = deviation_pct(totals[k], target) if on else math.nan
    return columns


def _viability_columns(
    problem: RoleProblem, t: int, totals: np.ndarray, metrics: list[str], balance: list[str]
) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    viable = True
    for metric in metrics:
        k = problem.metric_names.index(metric)
        minimum = problem.minimum[t, k]
        if metric not in balance:
            columns[metric] = totals[k]
        columns[f"{metric}_minimum"] = minimum if np.isfinite(minimum) else math.nan
        if np.isfinite(minimum) and totals[k] < minimum * (1 - 1e-9):
            viable = False
    columns["viable"] = viable
    return columns


def deviation_pct(total: float, target: float) -> float:
    """Return the deviation of ``total`` from ``target`` in percent (NaN for a zero target)."""
    return (total - target) / target * 100.0 if target else math.nan


def _mean_km(problem: RoleProblem, assignment: np.ndarray, centres: np.ndarray) -> np.ndarray:
    from solver.geo import haversine_km

    chosen = centres[assignment]
    distance = haversine_km(problem.coords[:, 0], problem.coords[:, 1], chosen[:, 0], chosen[:, 1])
    weighted = np.bincount(assignment, problem.weights * distance, problem.n_territories)
    weight = np.bincount(assignment, problem.weights, problem.n_territories)
    return np.divide(weighted, weight, out=np.zeros_like(weighted), where=weight > 0)


def _ordered(metrics: set[str], scenario: Scenario) -> list[str]:
    return [m for m in scenario.metric_names if m in metrics]


def _json_safe(value: Any) -> Any:
    """Return ``value`` with numpy scalars converted and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
