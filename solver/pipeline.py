"""The end-to-end solve of one scenario: inputs, capacity, model, solve, verify, write.

Every check that can reject the input runs before anything is written, so bad input or an
infeasible plan leaves earlier outputs untouched.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.book_report import (
    book_violations,
    explain_disruption,
    family_violations,
    move_summary,
)
from solver.books import with_books
from solver.capacity import capacity_table, inactive_reps, territories_needed
from solver.centres import RoleSolution
from solver.engine import solve_role
from solver.errors import InfeasiblePlanError, PlanError, input_error
from solver.explain import explain_infeasible
from solver.explain_contiguity import explain_contiguity
from solver.families import Grouping
from solver.geography import RoleGeography, role_geographies, with_geography
from solver.outputs import assignments_table, territories_table, write_plan
from solver.plan_geography import describe_geography, map_writer
from solver.precheck import precheck
from solver.problem import RoleProblem, build_role_problem
from solver.reasons import add_move_columns
from solver.result import Status
from solver.scenario import Scenario, load_scenario
from solver.tables import check_roles_staffed, load_accounts, load_reps, role_members
from solver.verify import verify_plan

logger = logging.getLogger(__name__)


class NoPlanError(PlanError):
    """The time limit ran out before any plan was found; feasibility is unknown."""


@dataclass(frozen=True)
class Plan:
    """A solved, verified plan and where it was written."""

    folder: Path
    summary: dict[str, Any]
    assignments: pd.DataFrame
    territories: pd.DataFrame


def solve_scenario(
    path: str | Path,
    out_dir: str | Path = "out",
    *,
    backend: str | None = None,
    time_limit_s: float | None = None,
) -> Plan:
    """Solve the scenario in ``path`` and write ``out_dir/<name>/``; return the plan.

    ``backend`` and ``time_limit_s`` override the scenario's solver settings.
    """
    started = time.perf_counter()
    scenario = _with_overrides(load_scenario(path), backend, time_limit_s)
    prepared = prepare(scenario)
    accounts, reps, members, problems = (
        prepared.accounts,
        prepared.reps,
        prepared.members,
        prepared.problems,
    )

    groupings = prepared.groupings
    solve_on = {
        role: groupings[role].problem if role in groupings else p for role, p in problems.items()
    }
    solutions = solve_roles(scenario, solve_on)
    assignment = {
        role: groupings[role].expand(s.assignment) if role in groupings else s.assignment
        for role, s in solutions.items()
    }
    centres = {role: s.centres for role, s in solutions.items()}
    assignments = assignments_table(scenario, problems, assignment)
    territories = territories_table(scenario, problems, assignment, centres)
    owners = dict(
        zip(
            accounts["account_id"],
            accounts.get("current_owner", [None] * len(accounts)),
            strict=True,
        )
    )
    rep_roles = dict(zip(reps["rep_id"], reps["role"], strict=True))
    add_move_columns(assignments, territories, problems, assignment, groupings, owners, rep_roles)

    geography = describe_geography(
        problems, assignment, prepared.geographies, territories, assignments
    )
    member_series = {role: pd.Series(mask) for role, mask in members.items()}
    violations = verify_plan(scenario, accounts, member_series, territories, assignments)
    violations += geography.violations
    for role, problem in problems.items():
        violations += book_violations(problem, assignment[role])
        if role in groupings:
            violations += family_violations(problem, groupings[role], assignment[role])
    for violation in violations:
        logger.error("verification: %s", violation["message"])

    summary = _summary(scenario, problems, solutions, territories, reps, violations)
    for role, problem in problems.items():
        if problem.previous is not None:
            moves = move_summary(problem, assignment[role])
            info = summary["roles"][role]
            info["moves"] = moves
            # The objective includes the continuity cost, which is not a distance.
            distance = info["objective"] - moves["continuity_cost"]
            compactness = scenario.objective.compactness
            info["mean_km"] = _mean_km(distance, problem.n_accounts, compactness)
    for role, info in geography.summary.items():
        summary["roles"][role]["geography"] = info
    summary["accounts_without_role"] = prepared.uncovered
    summary["runtime_s"] = round(time.perf_counter() - started, 3)
    folder = Path(out_dir) / scenario.name
    # Relative to the plan folder, so `territory export` finds the scenario on any machine.
    summary["scenario_file"] = Path(
        os.path.relpath(scenario.source.resolve(), folder.resolve())
    ).as_posix()
    maps = None
    if scenario.maps:
        maps = map_writer(
            scenario, problems, assignment, centres, territories, assignments, geography
        )
    write_plan(folder, assignments, territories, summary, extra=maps)
    logger.info("wrote %s", folder)
    return Plan(folder, summary, assignments, territories)


@dataclass(frozen=True)
class Prepared:
    """A scenario's validated inputs and role problems, ready to solve."""

    scenario: Scenario
    accounts: pd.DataFrame
    reps: pd.DataFrame
    members: dict[str, np.ndarray]
    uncovered: dict[str, Any]
    problems: dict[str, RoleProblem]
    groupings: dict[str, Grouping] = field(default_factory=dict)
    geographies: dict[str, RoleGeography] = field(default_factory=dict)


def prepare(scenario: Scenario) -> Prepared:
    """Load and check every input of ``scenario`` and run the pre-checks; write nothing.

    Raises :class:`InputError` for bad input and :class:`InfeasiblePlanError` when a
    pre-check proves that the goals cannot all be met.
    """
    logger.info("scenario %s: design date %s", scenario.name, scenario.design_date)
    accounts = load_accounts(scenario)
    reps = load_reps(scenario)
    check_roles_staffed(reps, scenario)
    members = role_members(accounts, scenario)
    uncovered = _uncovered(accounts, members)
    capacity = capacity_with_homes(reps, scenario)
    problems = build_problems(scenario, accounts, members, capacity)
    problems, groupings = with_books(scenario, accounts, reps, members, problems)
    geographies = role_geographies(scenario, accounts, members)
    groupings = with_geography(problems, groupings, geographies)

    inactive = inactive_reps(reps, scenario.design_date)
    findings = []
    for role, problem in problems.items():
        own = inactive[inactive["role"] == role]
        findings += precheck(problem, [f"{r.rep_id} {r.reason}" for r in own.itertuples()])
    if findings:
        raise InfeasiblePlanError(
            "The plan cannot meet its goals (found before solving):", findings
        )
    return Prepared(scenario, accounts, reps, members, uncovered, problems, groupings, geographies)


def _with_overrides(
    scenario: Scenario, backend: str | None, time_limit_s: float | None
) -> Scenario:
    update: dict[str, Any] = {}
    if backend is not None:
        update["backend"] = backend
    if time_limit_s is not None:
        update["time_limit_s"] = time_limit_s
    if not update:
        return scenario
    settings = scenario.solver.model_validate({**scenario.solver.model_dump(), **update})
    return scenario.model_copy(update={"solver": settings})


def _uncovered(accounts: pd.DataFrame, members: dict[str, np.ndarray]) -> dict[str, Any]:
    """Return the count and first ids of accounts that no role covers, and log a warning."""
    covered = np.zeros(len(accounts), dtype=bool)
    for mask in members.values():
        covered |= mask
    ids = accounts.loc[~covered, "account_id"].astype(str).tolist()
    if ids:
        logger.warning(
            "%d accounts match no role's filter and are left out of the plan: %s%s",
            len(ids),
            ", ".join(ids[:5]),
            " ..." if len(ids) > 5 else "",
        )
    return {"count": len(ids), "first_ids": ids[:10]}


def capacity_with_homes(reps: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    table = capacity_table(reps, scenario, scenario.design_date)
    homes = reps[["rep_id", "home_latitude", "home_longitude"]]
    return table.merge(homes, on="rep_id", how="left")


def build_problems(
    scenario: Scenario,
    accounts: pd.DataFrame,
    members: dict[str, np.ndarray],
    capacity: pd.DataFrame,
) -> dict[str, RoleProblem]:
    problems = {}
    for role_name, role in scenario.roles.items():
        reps = capacity[capacity["role"] == role_name].reset_index(drop=True)
        if role.centres == "rep_home":
            _require_homes(scenario, role_name, reps)
        role_accounts = accounts.loc[members[role_name]].reset_index(drop=True)
        problems[role_name] = build_role_problem(scenario, role_name, role_accounts, reps)
        logger.info(
            "%s: %d accounts, %d territories",
            role_name,
            len(role_accounts),
            problems[role_name].n_territories,
        )
    return problems


def _require_homes(scenario: Scenario, role: str, reps: pd.DataFrame) -> None:
    missing = reps[reps["home_latitude"].isna() | reps["home_longitude"].isna()]
    if missing.empty:
        return
    raise input_error(
        scenario.inputs.reps.path.name,
        f"has no home location, but role '{role}' sets centres: rep_home",
        "add a home location for this rep, or set centres: auto in the scenario",
        column="rep_id",
        value=str(missing["rep_id"].iloc[0]),
    )


def solve_roles(scenario: Scenario, problems: dict[str, RoleProblem]) -> dict[str, RoleSolution]:
    settings = scenario.solver
    solutions: dict[str, RoleSolution] = {}
    findings: list[str] = []
    for role, problem in problems.items():
        solution = solve_role(problem, settings, compactness=scenario.objective.compactness)
        status = solution.result.status
        if status == Status.INFEASIBLE:
            logger.info("%s: infeasible; looking for the smallest relaxation", role)
            compactness = scenario.objective.compactness
            budgets = None
            if problem.move_limits:
                budgets = explain_disruption(problem, settings, compactness)
            geography = scenario.roles[role].geography
            if not budgets and problem.adjacency is not None and geography is not None:
                rule = geography.contiguity
                budgets = explain_contiguity(problem, settings, compactness, rule)
            findings += budgets or explain_infeasible(
                problem.replace(move_limits=(), adjacency=None), settings, settings.time_limit_s
            )
        elif status == Status.NO_PLAN and problem.adjacency is not None:
            raise NoPlanError(
                f"role {role}: no contiguous plan found within the time limit of "
                f"{settings.time_limit_s:.0f}s; nothing was written. Where a warning above "
                "says which budget or band the plan in one piece per territory breaks, that "
                "setting is too tight for contiguous territories. Fix: raise that budget or "
                "tolerance, raise solver.time_limit_s, or set the role's geography.contiguity "
                "to none."
            )
        elif status == Status.NO_PLAN:
            raise NoPlanError(
                f"role {role}: no plan found within the time limit of "
                f"{settings.time_limit_s:.0f}s (best bound {solution.result.bound:,.1f}); "
                "nothing was written. Fix: raise solver.time_limit_s or loosen the tolerances."
            )
        solutions[role] = solution
    if findings:
        raise InfeasiblePlanError("The plan cannot meet its goals:", findings)
    return solutions


def _summary(
    scenario: Scenario,
    problems: dict[str, RoleProblem],
    solutions: dict[str, RoleSolution],
    territories: pd.DataFrame,
    reps: pd.DataFrame,
    violations: list[dict[str, Any]],
) -> dict[str, Any]:
    results = {role: s.result for role, s in solutions.items()}
    objective = sum(r.objective for r in results.values())
    bound = sum(r.bound for r in results.values())
    statuses = {r.status for r in results.values()}
    status = "optimal" if statuses == {Status.OPTIMAL} else "feasible"
    if violations:
        status = "invalid"

    account_ids = set().union(*(set(p.account_ids) for p in problems.values()))
    inactive = inactive_reps(reps, scenario.design_date)
    return {
        "scenario": scenario.name,
        "status": status,
        "objective": round(objective, 6),
        "bound": round(bound, 6),
        "gap": round(max(0.0, (objective - bound) / objective), 8) if objective > 0 else 0.0,
        "runtime_s": 0.0,
        "solver": "+".join(sorted({r.solver for r in results.values()})),
        "n_accounts": len(account_ids),
        "n_territories": int(sum(p.n_territories for p in problems.values())),
        "max_abs_dev_pct": _max_deviation(territories),
        "violations": violations,
        "design_date": scenario.design_date.isoformat(),
        "seed": scenario.solver.seed,
        "objective_unit": "weighted km (weights average 1 within each role)",
        "roles": {
            role: _role_summary(scenario, problems[role], solutions[role], territories, inactive)
            for role in problems
        },
    }


def _role_summary(
    scenario: Scenario,
    problem: RoleProblem,
    solution: RoleSolution,
    territories: pd.DataFrame,
    inactive: pd.DataFrame,
) -> dict[str, Any]:
    result = solution.result
    role = scenario.roles[problem.role]
    totals = problem.values.sum(axis=0)
    needed = {
        metric: territories_needed(float(totals[problem.metric_names.index(metric)]), amount)
        for metric, amount in role.capacity.metrics.items()
    }
    if role.capacity.max_accounts is not None:
        needed["accounts"] = territories_needed(problem.n_accounts, role.capacity.max_accounts)
    own = inactive[inactive["role"] == problem.role]
    return {
        "status": result.status.value,
        "solver": result.solver,
        "objective": round(result.objective, 6),
        "bound": round(result.bound, 6),
        "gap": round(result.gap, 8),
        "exact_solves": solution.rounds,
        "n_accounts": problem.n_accounts,
        "n_territories": problem.n_territories,
        "mean_km": _mean_km(result.objective, problem.n_accounts, scenario.objective.compactness),
        "max_abs_dev_pct": _max_deviation(territories[territories["role"] == problem.role]),
        "fully_ramped_reps_needed": needed,
        "inactive_reps": [
            {"rep_id": r.rep_id, "reason": r.reason} for r in own.itertuples(index=False)
        ],
    }


def _mean_km(objective: float, n_accounts: int, compactness: float) -> float:
    """Return the weighted mean distance in km: weights average 1, so objective / weight / n."""
    if n_accounts == 0 or compactness <= 0:
        return 0.0
    return round(objective / compactness / n_accounts, 3)


def _max_deviation(territories: pd.DataFrame) -> dict[str, float]:
    columns = [c for c in territories.columns if c.endswith("_dev_pct")]
    deviations = {}
    for column in columns:
        values = territories[column].dropna()
        if len(values):
            deviations[column.removesuffix("_dev_pct")] = round(float(values.abs().max()), 4)
    return deviations
