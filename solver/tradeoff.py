"""The disruption trade-off curve: balance and distance against the accounts a plan moves.

``territory tradeoff`` solves a scenario once per *share* of today's books. At share ``s``
each role may move at most ``floor(s * owned)`` accounts, where ``owned`` counts the role's
accounts that have a current owner. Every other disruption setting of the role stays as
the scenario sets it. Each (share, role) point records what the plan moved, its largest
deviation from target per balance metric and its mean distance, all recomputed from the
assignment. A budget too small for the goals gives a row with status ``infeasible`` and
the explanation, not an error.

``out/<scenario>/tradeoff/`` contains ``tradeoff.csv``, ``runtimes.csv`` and
``tradeoff.png``. Solve times vary from run to run, so they are kept out of
``tradeoff.csv``, which then has the same bytes for the same inputs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from solver.books import move_limits
from solver.centres import RoleSolution
from solver.errors import InfeasiblePlanError, InputError
from solver.geo import haversine_km
from solver.outputs import write_csv, write_folder
from solver.pipeline import NoPlanError, Prepared, prepare, solve_roles
from solver.problem import RoleProblem
from solver.result import Status
from solver.scenario import Disruption, Scenario, load_scenario

if TYPE_CHECKING:
    from matplotlib.axes import Axes

logger = logging.getLogger(__name__)

#: Shares of each role's owned accounts that the default sweep allows to move.
DEFAULT_SHARES = (0.0, 0.02, 0.05, 0.10, 0.20, 0.35, 0.50, 1.0)

#: Status of a point as written to the CSV.
STATUS_TEXT = {
    Status.OPTIMAL: "optimal",
    Status.FEASIBLE: "feasible",
    Status.INFEASIBLE: "infeasible",
    Status.NO_PLAN: "no plan",
}


@dataclass(frozen=True)
class TradeoffPoint:
    """One role solved under one account budget. Its measures are None without a plan."""

    share: float
    role: str
    budget: int
    accounts_with_owner: int
    status: str
    accounts_moved: int | None
    share_moved: dict[str, float]
    max_dev_pct: dict[str, float]
    mean_km: float | None
    objective: float | None
    runtime_s: float
    explanation: str


@dataclass(frozen=True)
class Tradeoff:
    """The points of a sweep, in share order and, within a share, in the scenario's role order.

    ``metrics`` are the scenario's metrics and ``balance_metrics`` those that some role
    balances, both in the scenario's column order.
    """

    scenario: Scenario
    metrics: tuple[str, ...]
    balance_metrics: tuple[str, ...]
    points: tuple[TradeoffPoint, ...]


def parse_shares(text: str) -> tuple[float, ...]:
    """Parse the ``--shares`` option, comma-separated numbers within [0, 1]."""
    fix = "give shares between 0 and 1 separated by commas, for example 0,0.05,0.2,1"
    shares = []
    for part in text.split(","):
        try:
            shares.append(float(part))
        except ValueError:
            raise InputError(
                f"--shares: value {part.strip()!r} is not a number. Fix: {fix}."
            ) from None
    return check_shares(shares)


def check_shares(shares: Sequence[float]) -> tuple[float, ...]:
    """Check ``shares`` and return them sorted.

    Raises :class:`InputError` for an empty list, a value outside [0, 1] or a repeated value.
    """
    fix = "give shares between 0 and 1 separated by commas, for example 0,0.05,0.2,1"
    if not shares:
        raise InputError(f"--shares: no share given. Fix: {fix}.")
    for share in shares:
        if not 0.0 <= share <= 1.0:
            raise InputError(f"--shares: share {share:g} is outside [0, 1]. Fix: {fix}.")
    repeated = sorted({s for s in shares if list(shares).count(s) > 1})
    if repeated:
        raise InputError(f"--shares: share {repeated[0]:g} is given twice. Fix: give it once.")
    return tuple(sorted(shares))


def build_tradeoff(path: str | Path, shares: Sequence[float] = DEFAULT_SHARES) -> Tradeoff:
    """Solve the scenario in ``path`` once per share and role, without writing files.

    The inputs are read and checked once. Raises :class:`InputError` when the scenario maps
    no current owner column, and what :func:`solver.pipeline.prepare` raises.
    """
    shares = check_shares(shares)
    scenario = load_scenario(path)
    _require_owners(scenario)
    prepared = prepare(scenario)

    points = []
    for share in shares:
        for role in prepared.problems:
            point = _solve_point(prepared, role, share)
            logger.info("share %g, %s: budget %d, %s", share, role, point.budget, point.status)
            points.append(point)

    metrics = tuple(scenario.metric_names)
    balanced = {goal.metric for role in scenario.roles.values() for goal in role.balance}
    balance_metrics = tuple(m for m in metrics if m in balanced)
    return Tradeoff(scenario, metrics, balance_metrics, tuple(points))


def _require_owners(scenario: Scenario) -> None:
    if scenario.inputs.accounts.columns.current_owner is not None:
        return
    raise InputError(
        f"{scenario.source.name}: the trade-off curve counts moves away from today's owners, "
        "but inputs.accounts.columns.current_owner is not mapped. Fix: map the accounts "
        "column that holds each account's current rep id under "
        "inputs.accounts.columns.current_owner."
    )


def account_budget(share: float, owned: int) -> int:
    """Return ``floor(share * owned)``, the accounts a role may move at ``share``."""
    # The tolerance keeps a product such as 0.29 * 100 = 28.999999999999996 at 29.
    return math.floor(share * owned + 1e-9)


def _solve_point(prepared: Prepared, role: str, share: float) -> TradeoffPoint:
    """Solve ``role`` with its account budget set for ``share``, and measure the plan."""
    problem = prepared.problems[role]
    assert problem.previous is not None
    owned = int(np.count_nonzero(problem.previous >= 0))
    budget = account_budget(share, owned)

    limits = move_limits(
        _with_budget(prepared.scenario, role, budget), role, problem, problem.previous
    )
    problem = problem.replace(move_limits=limits)
    grouping = prepared.groupings.get(role)
    solve_on = problem if grouping is None else grouping.problem.replace(move_limits=limits)

    started = time.perf_counter()
    solution, status, explanation = _solve(prepared.scenario, role, solve_on)
    runtime = time.perf_counter() - started

    measures: dict[str, Any] = {}
    if solution is not None:
        assignment = solution.assignment
        if grouping is not None:
            assignment = grouping.expand(assignment)
        measures = _measure(problem, assignment, solution.centres)
        measures["objective"] = solution.result.objective
    return TradeoffPoint(
        share=share,
        role=role,
        budget=budget,
        accounts_with_owner=owned,
        status=STATUS_TEXT[status],
        accounts_moved=measures.get("accounts_moved"),
        share_moved=measures.get("share_moved", {}),
        max_dev_pct=measures.get("max_dev_pct", {}),
        mean_km=measures.get("mean_km"),
        objective=measures.get("objective"),
        runtime_s=runtime,
        explanation=explanation,
    )


def _solve(
    scenario: Scenario, role: str, problem: RoleProblem
) -> tuple[RoleSolution | None, Status, str]:
    """Solve one role and return its solution, status and, without a plan, the reason.

    The solution is None when there is no plan.
    """
    try:
        solution = solve_roles(scenario, {role: problem})[role]
    except InfeasiblePlanError as exc:
        return None, Status.INFEASIBLE, " ".join(exc.findings) or str(exc)
    except NoPlanError:
        limit = scenario.solver.time_limit_s
        reason = (
            f"role {role}: no plan found within the time limit of {limit:g}s, so feasibility "
            "is unknown. Fix: raise solver.time_limit_s."
        )
        return None, Status.NO_PLAN, reason
    return solution, solution.result.status, ""


def _with_budget(scenario: Scenario, role: str, budget: int) -> Scenario:
    """Return ``scenario`` with ``role``'s max_accounts_moved set to ``budget``."""
    settings = scenario.roles[role]
    disruption = (settings.disruption or Disruption()).model_copy(
        update={"max_accounts_moved": budget}
    )
    roles = {**scenario.roles, role: settings.model_copy(update={"disruption": disruption})}
    return scenario.model_copy(update={"roles": roles})


def _measure(problem: RoleProblem, assignment: np.ndarray, centres: np.ndarray) -> dict[str, Any]:
    """Recompute a plan's moves, deviations and mean distance from its assignment."""
    assert problem.previous is not None
    owned = problem.previous >= 0
    moved = owned & (assignment != problem.previous)

    share_moved = {}
    for k, metric in enumerate(problem.metric_names):
        total = float(problem.values[owned, k].sum())
        share_moved[metric] = (
            float(problem.values[moved, k].sum()) / total if total > 0 else math.nan
        )

    totals = np.zeros((problem.n_territories, len(problem.metric_names)))
    np.add.at(totals, assignment, problem.values)
    max_dev_pct = {}
    for column in np.flatnonzero(problem.balanced):
        target = problem.target[:, column]
        # A territory with a zero target (a rep at ramp 0) has no relative deviation.
        has_target = target > 0
        deviation = (totals[has_target, column] - target[has_target]) / target[has_target] * 100
        max_dev_pct[problem.metric_names[column]] = (
            float(np.abs(deviation).max()) if len(deviation) else math.nan
        )

    # The weights average 1 within the role, so this is the objective's distance term over
    # compactness times the number of accounts, with no continuity cost. Distances are to
    # each account's own point, also where the solve used one point per family.
    chosen = centres[assignment]
    distance = haversine_km(problem.coords[:, 0], problem.coords[:, 1], chosen[:, 0], chosen[:, 1])
    return {
        "accounts_moved": int(moved.sum()),
        "share_moved": share_moved,
        "max_dev_pct": max_dev_pct,
        "mean_km": float(np.average(distance, weights=problem.weights)),
    }


# -- tables, files and the terminal ---------------------------------------------------------


def tradeoff_table(tradeoff: Tradeoff) -> pd.DataFrame:
    """Return ``tradeoff.csv``: one row per point, with no solve time, so runs can be diffed.

    NOTE: a solve that stops at its time limit can return another plan on a faster or
    busier machine, so the same inputs give the same bytes only when no solve hits it.
    """
    rows = []
    for point in tradeoff.points:
        row: dict[str, Any] = {
            "share": point.share,
            "role": point.role,
            "budget": point.budget,
            "accounts_with_owner": point.accounts_with_owner,
            "status": point.status,
            "accounts_moved": point.accounts_moved,
        }
        for metric in tradeoff.metrics:
            row[f"share_moved_{metric}"] = point.share_moved.get(metric, math.nan)
        for metric in tradeoff.balance_metrics:
            row[f"max_dev_pct_{metric}"] = point.max_dev_pct.get(metric, math.nan)
        row["mean_km"] = math.nan if point.mean_km is None else point.mean_km
        row["objective"] = math.nan if point.objective is None else point.objective
        row["explanation"] = point.explanation
        rows.append(row)

    table = pd.DataFrame(rows)
    # Nullable integers, so an infeasible point writes an empty cell and not 1.0-style floats.
    table["accounts_moved"] = pd.array(table["accounts_moved"].tolist(), dtype="Int64")
    return table


def runtime_table(tradeoff: Tradeoff) -> pd.DataFrame:
    """Return ``runtimes.csv``: the seconds each point took, explanation solves included."""
    return pd.DataFrame(
        {
            "share": [point.share for point in tradeoff.points],
            "role": [point.role for point in tradeoff.points],
            "runtime_s": [point.runtime_s for point in tradeoff.points],
        }
    )


def write_tradeoff(tradeoff: Tradeoff, out_dir: str | Path = "out") -> Path:
    """Write ``out_dir/<scenario>/tradeoff/`` atomically and return the folder."""
    folder = Path(out_dir) / tradeoff.scenario.name / "tradeoff"
    table = tradeoff_table(tradeoff)

    def write(staging: Path) -> None:
        write_csv(table, staging / "tradeoff.csv")
        write_csv(runtime_table(tradeoff), staging / "runtimes.csv")
        plot_tradeoff(table, balance_tolerances(tradeoff.scenario), staging / "tradeoff.png")

    write_folder(folder, write)
    logger.info("wrote %s", folder)
    return folder


def balance_tolerances(scenario: Scenario) -> dict[str, dict[str, float]]:
    """Return each role's balance tolerances in percent, by metric."""
    return {
        name: {goal.metric: goal.tolerance * 100 for goal in role.balance}
        for name, role in scenario.roles.items()
    }


def plot_tradeoff(table: pd.DataFrame, tolerances: dict[str, dict[str, float]], path: Path) -> None:
    """Draw per role the max deviation and the mean km against accounts moved, to a PNG.

    ``tolerances`` maps each role to its balance metrics and their tolerance in percent,
    drawn as dashed lines. Each point with a plan is one marker, labelled with its share.
    Points without a plan have no accounts moved and are left out.
    """
    # Imported here, so that commands which never plot do not pay for importing matplotlib.
    # The figure draws on its own Agg canvas, so no global pyplot backend is touched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    roles = list(dict.fromkeys(table["role"]))
    figure = Figure(figsize=(10, 1.0 + 3.2 * len(roles)), layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(len(roles), 2, squeeze=False)

    for (deviation_axes, distance_axes), role in zip(panels, roles, strict=True):
        # Sorted by accounts moved, because a larger budget can end with fewer moves.
        rows = table[(table["role"] == role) & table["accounts_moved"].notna()]
        rows = rows.sort_values(["accounts_moved", "share"], kind="stable")
        moved = rows["accounts_moved"].to_numpy(dtype=float)
        _draw_deviations(deviation_axes, rows, moved, tolerances.get(role, {}))
        distance_axes.plot(moved, rows["mean_km"].to_numpy(dtype=float), marker="o")
        _label_shares(distance_axes, moved, rows)

        _style(deviation_axes, f"Role {role}: max |deviation| from target", "%")
        _style(distance_axes, f"Role {role}: mean distance", "km")
        if rows.empty:
            distance_axes.text(0.5, 0.5, "no plan at any share", ha="center", va="center")

    figure.suptitle("Disruption trade-off: one marker per share of owned accounts")
    figure.savefig(path, dpi=110)


def _draw_deviations(
    axes: Axes, rows: pd.DataFrame, moved: np.ndarray, tolerances: dict[str, float]
) -> None:
    top = 0.0
    for metric, tolerance in tolerances.items():
        values = rows[f"max_dev_pct_{metric}"].to_numpy(dtype=float)
        (line,) = axes.plot(moved, values, marker="o", label=metric)
        axes.axhline(tolerance, color=line.get_color(), linestyle="--", linewidth=1)
        top = max(top, tolerance, *values[np.isfinite(values)])
    if not tolerances:
        return

    # From 0 and above the widest band, so the deviations read against their tolerance.
    axes.set_ylim(0, 1.15 * top)
    axes.legend(fontsize="small", title="balance metric (dashed: tolerance)", loc="lower right")


def _label_shares(axes: Axes, moved: np.ndarray, rows: pd.DataFrame) -> None:
    for x, y, share in zip(moved, rows["mean_km"], rows["share"], strict=True):
        axes.annotate(
            f"{share * 100:g}%",
            (x, y),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize="x-small",
        )


def _style(axes: Axes, title: str, unit: str) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, fontsize="medium")
    axes.set_xlabel("accounts moved")
    axes.set_ylabel(unit)
    axes.grid(True, alpha=0.3)


def format_tradeoff(tradeoff: Tradeoff, folder: Path) -> str:
    """Return the terminal summary: one line per point, then why points have no plan."""
    table = tradeoff_table(tradeoff).drop(columns=["accounts_with_owner", "explanation"])
    table = table.drop(columns=[c for c in table.columns if c.startswith("share_moved_")])
    table["share"] = table["share"].map(lambda v: f"{v * 100:g}%")
    table["accounts_moved"] = table["accounts_moved"].map(lambda v: "-" if pd.isna(v) else str(v))
    for column in [c for c in table.columns if c.startswith("max_dev_pct_")]:
        table[column] = table[column].map(lambda v: "-" if pd.isna(v) else f"{v:.2f}%")
    for column in ("mean_km", "objective"):
        table[column] = table[column].map(lambda v: "-" if pd.isna(v) else f"{v:,.1f}")
    table["seconds"] = [f"{point.runtime_s:.1f}" for point in tradeoff.points]
    table = table.rename(columns={"accounts_moved": "moved"})
    table.columns = [c.replace("max_dev_pct_", "max dev ") for c in table.columns]

    lines = [f"Trade-off of scenario {tradeoff.scenario.name}", "", table.to_string(index=False)]
    for point in tradeoff.points:
        if point.explanation:
            lines.append(f"  share {point.share * 100:g}%, {point.role}: {point.explanation}")
    lines += ["", f"Written to {folder}/"]
    return "\n".join(lines)
