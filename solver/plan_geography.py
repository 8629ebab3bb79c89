"""The geographic part of a solved plan: shape columns, checks, summary and maps.

:func:`describe_geography` adds ``pieces`` and ``polsby_popper`` to the territories
table, returns the unit checks as violations and a summary per role. :func:`map_writer`
returns the function that draws ``map.png``, ``map.html`` and, with today's owners,
``moves.png`` into the plan's staging folder, so the maps are swapped in with the plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.geography import (
    RoleGeography,
    geography_violations,
    shape_columns,
    territory_shapes,
)
from solver.maps import RoleMap, write_map_html, write_map_png, write_moves_png
from solver.outputs import used_metrics
from solver.problem import RoleProblem
from solver.scenario import ACCOUNT_COUNT, Scenario

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanGeography:
    """Per role: the dissolved territory shapes (None for points) and the summary."""

    shapes: dict[str, list | None]
    violations: list[dict[str, Any]]
    summary: dict[str, dict[str, Any]]


def describe_geography(
    problems: dict[str, RoleProblem],
    assignment: dict[str, np.ndarray],
    geographies: dict[str, RoleGeography],
    territories: pd.DataFrame,
    assignments: pd.DataFrame,
) -> PlanGeography:
    """Add the shape columns to ``territories`` in place and check every geographic role.

    ``assignments`` gains a ``unit_id`` column: the unit each account of a geographic role
    was joined to (empty for other roles).
    """
    if geographies:
        assignments["unit_id"] = None
    for role, geography in geographies.items():
        rows = (assignments["role"] == role).to_numpy()
        units = pd.Series(geography.layer.ids[geography.unit], index=problems[role].account_ids)
        assignments.loc[rows, "unit_id"] = units.loc[assignments.loc[rows, "account_id"]].to_numpy()

    shapes: dict[str, list | None] = {}
    violations: list[dict[str, Any]] = []
    summary: dict[str, dict[str, Any]] = {}
    for role, geography in geographies.items():
        problem = problems[role]
        plan = assignment[role]
        shapes[role] = territory_shapes(geography, plan, problem.n_territories)
        rows = (territories["role"] == role).to_numpy()
        for column, values in shape_columns(geography, plan, shapes[role]).items():
            if column not in territories.columns:
                territories[column] = np.nan
            territories.loc[rows, column] = values

        ids = np.array([t.territory_id for t in problem.territories], dtype=object)[plan]
        violations += geography_violations(geography, ids)
        summary[role] = _role_summary(geography, territories.loc[rows])
    return PlanGeography(shapes, violations, summary)


def _role_summary(geography: RoleGeography, rows: pd.DataFrame) -> dict[str, Any]:
    layer = geography.layer
    info: dict[str, Any] = {
        "units": geography.settings.units,
        "units_with_accounts": len(geography.used),
        "contiguity": geography.settings.contiguity,
    }
    if geography.graph is not None:
        info["links"] = [
            {
                "unit": str(layer.ids[geography.used[i]]),
                "linked_to": str(layer.ids[geography.used[j]]),
                "km": round(km, 1),
            }
            for i, j, km in geography.graph.links
        ]
        info["max_pieces"] = int(rows["pieces"].max())
    if "polsby_popper" in rows.columns and rows["polsby_popper"].notna().any():
        info["mean_polsby_popper"] = round(float(rows["polsby_popper"].mean()), 4)
    return info


def map_writer(
    scenario: Scenario,
    problems: dict[str, RoleProblem],
    assignment: dict[str, np.ndarray],
    centres: dict[str, np.ndarray],
    territories: pd.DataFrame,
    assignments: pd.DataFrame,
    geography: PlanGeography,
) -> Callable[[Path], None]:
    """Return a function that writes the plan's maps into a folder."""
    roles = [
        _role_map(scenario, problem, assignment[role], centres[role], territories, geography)
        for role, problem in problems.items()
    ]
    moves = _moves_table(problems, assignments)
    title = f"{scenario.name}: territories on {scenario.design_date.isoformat()}"

    def write(folder: Path) -> None:
        write_map_png(folder / "map.png", roles, title=title)
        write_map_html(folder / "map.html", roles, title=title)
        if moves is not None:
            write_moves_png(
                folder / "moves.png",
                moves,
                title=f"{scenario.name}: accounts that change owner",
                before_label="today's owners",
                after_label="plan",
            )

    return write


def _role_map(
    scenario: Scenario,
    problem: RoleProblem,
    plan: np.ndarray,
    centres: np.ndarray,
    territories: pd.DataFrame,
    geography: PlanGeography,
) -> RoleMap:
    role = scenario.roles[problem.role]
    ids = np.array([t.territory_id for t in problem.territories], dtype=object)
    metrics = [m for m in used_metrics(scenario) if m in problem.metric_names]
    # The account count is no column of the accounts table, but it can have a band.
    if any(goal.metric == ACCOUNT_COUNT for goal in role.balance):
        metrics.insert(0, ACCOUNT_COUNT)
    return RoleMap(
        role=problem.role,
        label=role.label or problem.role,
        territories=territories[territories["role"] == problem.role].reset_index(drop=True),
        metrics=tuple(metrics),
        shapes=geography.shapes.get(problem.role),
        points=pd.DataFrame(
            {
                "account_id": problem.account_ids,
                "latitude": problem.coords[:, 0],
                "longitude": problem.coords[:, 1],
                "territory_id": ids[plan],
            }
        ),
        centres=centres,
        homes=problem.home_coords,
    )


def _moves_table(
    problems: dict[str, RoleProblem], assignments: pd.DataFrame
) -> pd.DataFrame | None:
    """Return before and after owners of every account, or None without today's owners."""
    if "current_rep_id" not in assignments.columns:
        return None
    frames = []
    for role, problem in problems.items():
        own = assignments[assignments["role"] == role].set_index("account_id")
        frames.append(
            pd.DataFrame(
                {
                    "account_id": problem.account_ids,
                    "latitude": problem.coords[:, 0],
                    "longitude": problem.coords[:, 1],
                    "role": role,
                    "before": own.loc[problem.account_ids, "current_rep_id"].to_numpy(),
                    "after": own.loc[problem.account_ids, "rep_id"].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
