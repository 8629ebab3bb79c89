"""Two ways to plan over a hiring timeline: pre-built and just-in-time territories.

Pre-built
    The territories are designed once, on the target date (``prebuilt.target_date``, the
    horizon's end by default), for every rep active that day at full capacity. In each
    period a design rep who is active owns a share of their patch that follows the phases
    (``prebuilt.phases``, by default the rep's ramp curve) by completed months of tenure,
    counted in potential. The accounts of a patch move in ``prebuilt.move_order`` (lowest
    potential first by default). An interim owner covers what a rep does not own yet, and
    the patch of a rep who has not started or has left. It is the nearest active rep of
    the role with spare capacity (``interim_owner: nearest``) or a named house territory
    that no rep works.
Just-in-time
    Each time the set of active reps of a role changes, the role is solved again for the
    reps on board that day, sized by their ramp-weighted capacity. Moving an account away
    from its previous owner costs ``just_in_time.move_cost_km`` times its weight in the
    objective, and ``just_in_time.move_budget`` caps the moves per re-solve.

Both policies hand a :class:`~solver.timeline.RoleTimeline` per role to the metrics, and
every plan in force is verified against the bands it was designed for.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from solver.capacity import capacity_table, tenure_months
from solver.errors import InfeasiblePlanError, input_error
from solver.geo import distance_matrix_km
from solver.outputs import assignments_table, territories_table
from solver.pipeline import build_problems, capacity_with_homes, solve_roles
from solver.problem import RoleProblem
from solver.scenario import ACCOUNT_COUNT, Scenario
from solver.timeline import SCHEDULE_COLUMNS, HorizonInputs, Period, RoleTimeline, on_date
from solver.verify import verify_plan

logger = logging.getLogger(__name__)

#: Policies a scenario can name.
POLICIES = ("prebuilt", "just_in_time")

#: Owner of accounts that no active rep can cover, when no house territory is named.
HOUSE_NOBODY = "UNCOVERED"

#: A start date far enough back that every rep of the pre-built design is fully ramped.
_LONG_AGO = dt.date(1900, 1, 1)


def plan_policy(inputs: HorizonInputs, policy: str) -> dict[str, RoleTimeline]:
    """Return one timeline per role under ``policy`` (``prebuilt`` or ``just_in_time``)."""
    if policy == "prebuilt":
        return _prebuilt(inputs)
    return {role: _just_in_time(inputs, role) for role in inputs.scenario.roles}


def ramp_by_period(inputs: HorizonInputs, role: str) -> pd.DataFrame:
    """Return each rep's ramp factor on each period's first day (0.0 when not active)."""
    role_reps = inputs.reps.loc[inputs.reps["role"] == role, "rep_id"].astype(str)
    columns = {}
    for p, period in enumerate(inputs.periods):
        table = capacity_table(inputs.reps, inputs.scenario, period.start)
        factors = table.set_index("rep_id")["ramp_factor"]
        columns[p] = role_reps.map(factors).fillna(0.0).to_numpy()
    return pd.DataFrame(columns, index=pd.Index(role_reps.to_numpy(), name="rep_id"))


def _prebuilt(inputs: HorizonInputs) -> dict[str, RoleTimeline]:
    """Design the target territories once and phase them in over the horizon."""
    scenario = inputs.scenario
    assert scenario.horizon is not None
    target = scenario.prebuilt.target_date or scenario.horizon.end
    design = on_date(scenario, target)
    capacity = capacity_with_homes(_full_capacity_reps(inputs.reps, target), design)
    problems = build_problems(design, inputs.accounts, inputs.members, capacity)
    solutions = solve_roles(design, problems)

    timelines = {}
    for role, problem in problems.items():
        solution = solutions[role]
        target_owner = _rep_ids(problem, solution.assignment)
        violations = _verify(design, inputs, role, problem, solution.assignment, solution.centres)
        owners = _phase_in(inputs, role, problem, target_owner)
        timelines[role] = _timeline(
            inputs,
            role,
            "prebuilt",
            problem,
            owners,
            [violations] * len(inputs.periods),
            1,
            target_owner,
        )
    return timelines


def _full_capacity_reps(reps: pd.DataFrame, target: dt.date) -> pd.DataFrame:
    """Return the reps active on ``target``, fully ramped and with no end date."""
    day = pd.Timestamp(target)
    start, end = pd.to_datetime(reps["start_date"]), pd.to_datetime(reps["end_date"])
    active = (start <= day) & (end.isna() | (end >= day))
    design = reps.loc[active].copy()
    design["start_date"] = pd.Timestamp(_LONG_AGO)
    design["end_date"] = pd.NaT
    return design.reset_index(drop=True)


def _phase_in(
    inputs: HorizonInputs, role: str, problem: RoleProblem, target_owner: np.ndarray
) -> np.ndarray:
    """Return ``(P, n)`` owners: design reps take their patches by phase, interims the rest."""
    scenario = inputs.scenario
    ramp = ramp_by_period(inputs, role)
    potential = _potential(scenario, role, problem)
    order = _move_order(inputs, role, problem, potential)
    basis, full = _utilisation_basis(scenario, role, problem)
    starts = _rep_starts(inputs.reps)

    owners = np.empty((len(inputs.periods), problem.n_accounts), dtype=object)
    for p, period in enumerate(inputs.periods):
        owned = np.full(problem.n_accounts, "", dtype=object)
        for rep in pd.unique(target_owner):
            if ramp.loc[rep, p] <= 0:
                continue
            patch = order[target_owner[order] == rep]
            share = _phase_share(scenario, inputs.reps, role, rep, starts[rep], period.start)
            owned[_first_share(patch, potential, share)] = rep

        waiting = np.flatnonzero(owned == "")
        before = owners[p - 1] if p > 0 else None
        owned[waiting] = _interim(
            scenario, problem, target_owner, owned, waiting, ramp[p], basis, full, before
        )
        owners[p] = owned
    return owners


def _phase_share(scenario, reps, role, rep, start, day) -> float:
    """Return the share of a design rep's patch (in potential) that the rep owns on ``day``."""
    phases = scenario.prebuilt.phases
    if phases is None:
        profile = reps.loc[reps["rep_id"] == rep, "ramp_profile"].iloc[0]
        phases = scenario.ramp_curve(role, profile if isinstance(profile, str) else None)
    months = tenure_months(start, day)
    return float(phases[min(months, len(phases) - 1)])


def _first_share(patch: np.ndarray, potential: np.ndarray, share: float) -> np.ndarray:
    """Return the first accounts of ``patch`` whose cumulative potential is within ``share``."""
    if share >= 1.0 - 1e-12:
        return patch
    values = potential[patch]
    total = values.sum()
    if total <= 0:
        return patch[: int(np.floor(share * len(patch) + 1e-9))]
    return patch[np.cumsum(values) <= share * total * (1 + 1e-12)]


def _interim(
    scenario, problem, target_owner, owned, waiting, ramp, basis, full, before
) -> np.ndarray:
    """Return the interim owner of each waiting account, one owner per patch remainder.

    A remainder stays with its interim owner of the period before while that rep is
    active. Otherwise the owner is the nearest other active rep with room for the whole
    remainder within their ramped capacity, else the one with the most room.
    """
    interim = np.empty(len(waiting), dtype=object)
    if scenario.prebuilt.interim_owner != "nearest":
        interim[:] = scenario.prebuilt.interim_owner
        return interim

    active = [rep for rep in ramp.index if ramp[rep] > 0]
    load = {rep: float(basis[owned == rep].sum()) for rep in active}
    place = {rep: _place(problem, owned == rep, target_owner == rep) for rep in active}
    for rep in pd.unique(target_owner[waiting]):
        rest = waiting[target_owner[waiting] == rep]
        centre = _centroid(problem, rest)
        # The patch's own rep is still phasing in, so someone else covers the rest.
        others = [r for r in active if r != rep]
        if not others:
            interim[np.isin(waiting, rest)] = rep if rep in active else HOUSE_NOBODY
            continue
        kept = _same_owner(before, rest)
        if kept is not None and kept in others:
            interim[np.isin(waiting, rest)] = kept
            load[kept] += float(basis[rest].sum())
            continue

        needed = float(basis[rest].sum())
        spare = {r: full * ramp[r] - load[r] for r in others}
        able = [r for r in others if spare[r] >= needed - 1e-9]
        if able:
            chosen = able[int(np.argmin([_km(centre, place[r]) for r in able]))]
        else:
            # No rep can take the whole remainder: the rep with the most room overloads least.
            chosen = max(others, key=lambda r: (spare[r], -others.index(r)))
        interim[np.isin(waiting, rest)] = chosen
        load[chosen] += float(basis[rest].sum())
    return interim


def _same_owner(before: np.ndarray | None, accounts: np.ndarray) -> str | None:
    """Return the one owner all ``accounts`` had in the period before, if there was one."""
    if before is None:
        return None
    owners = pd.unique(before[accounts])
    return str(owners[0]) if len(owners) == 1 else None


def _place(problem: RoleProblem, owned: np.ndarray, patch: np.ndarray) -> np.ndarray | None:
    """Return where a rep works: the centroid of what they own, else of their design patch."""
    for mask in (owned, patch):
        if mask.any():
            return _centroid(problem, np.flatnonzero(mask))
    return None


def _centroid(problem: RoleProblem, accounts: np.ndarray) -> np.ndarray:
    weights = problem.weights[accounts]
    if weights.sum() <= 0:
        weights = np.ones(len(accounts))
    return np.average(problem.coords[accounts], axis=0, weights=weights)


def _km(a: np.ndarray, b: np.ndarray | None) -> float:
    # A rep with no accounts and no patch has no place; they are chosen last.
    if b is None:
        return float("inf")
    return float(distance_matrix_km(a[None, :], b[None, :])[0, 0])


def _just_in_time(inputs: HorizonInputs, role: str) -> RoleTimeline:
    """Solve the role again at every change of its active reps, keeping moves low."""
    ramp = ramp_by_period(inputs, role)
    owners = np.empty((len(inputs.periods), int(inputs.members[role].sum())), dtype=object)
    violations: list[tuple[str, ...]] = []
    solves = 0
    previous: np.ndarray | None = None
    problem: RoleProblem | None = None
    for p, period in enumerate(inputs.periods):
        active = tuple(ramp.index[ramp[p] > 0])
        if p > 0 and active == tuple(ramp.index[ramp[p - 1] > 0]):
            # The same reps keep the same plan; it stays verified against its own bands.
            owners[p] = owners[p - 1]
            violations.append(violations[-1])
            continue

        at = on_date(inputs.scenario, period.start)
        capacity = capacity_with_homes(inputs.reps, at)
        problem = build_problems(at, inputs.accounts, inputs.members, capacity)[role]
        if previous is not None:
            problem = _with_continuity(inputs.scenario, problem, previous)
        assignment, centres = _solve_with_budget(at, role, problem, period)
        owners[p] = previous = _rep_ids(problem, assignment)
        violations.append(
            _verify(at, inputs, role, problem, assignment, centres)
            + _over_budget(problem, assignment)
        )
        solves += 1
    assert problem is not None
    return _timeline(inputs, role, "just_in_time", problem, owners, violations, solves, None)


def _over_budget(problem: RoleProblem, assignment: np.ndarray) -> tuple[str, ...]:
    """Return a violation when more accounts moved than the move budget allows.

    A role with a budget or a move cost stays on the exact path, which has the budget row,
    so this check is a recomputation from the final assignment.
    """
    if problem.previous is None or problem.move_budget is None:
        return ()
    moved = int(np.count_nonzero((problem.previous >= 0) & (assignment != problem.previous)))
    if moved <= problem.move_budget:
        return ()
    return (f"{moved} accounts moved, above the move budget of {problem.move_budget}",)


def _with_continuity(scenario: Scenario, problem: RoleProblem, owners: np.ndarray) -> RoleProblem:
    """Return ``problem`` with the previous owners, the move cost and the move budget."""
    index = {territory.rep_id: t for t, territory in enumerate(problem.territories)}
    previous = np.array([index.get(owner, -1) for owner in owners], dtype=np.int64)
    settings = scenario.just_in_time
    cost = settings.move_cost_km * scenario.objective.compactness * problem.weights
    return problem.replace(previous=previous, move_cost=cost, move_budget=settings.move_budget)


def _solve_with_budget(at: Scenario, role: str, problem: RoleProblem, period: Period):
    """Solve one role; explain a move budget that is too small in planning terms."""
    single = at.model_copy(update={"roles": {role: at.roles[role]}})
    try:
        solution = solve_roles(single, {role: problem})[role]
    except InfeasiblePlanError:
        if problem.move_budget is None:
            raise
        needed = _fewest_moves(single, role, problem)
        raise InfeasiblePlanError(
            f"role {role}, period starting {period.start.isoformat()}: the move budget of "
            f"{problem.move_budget} accounts is too small.",
            [
                f"keeping every band needs at least {needed} accounts to move. Fix: set "
                f"just_in_time.move_budget to at least {needed}, or remove it."
            ],
        ) from None
    return solution.assignment, solution.centres


def _fewest_moves(single: Scenario, role: str, problem: RoleProblem) -> int:
    """Return the fewest accounts that must move to keep every band, by solving for it."""
    assert problem.previous is not None
    heavy = np.full(problem.n_accounts, 1e6 * float(problem.weights.mean() or 1.0))
    relaxed = problem.replace(move_cost=heavy, move_budget=None)
    assignment = solve_roles(single, {role: relaxed})[role].assignment
    kept = problem.previous >= 0
    return int(np.count_nonzero(kept & (assignment != problem.previous)))


def _timeline(inputs, role, policy, problem, owners, violations, solves, target_owner):
    """Assemble a :class:`RoleTimeline` with its schedule of owner changes."""
    scenario = inputs.scenario
    basis_metric, full = _utilisation_metric(scenario, role, problem)
    values = pd.DataFrame(problem.values, columns=list(problem.metric_names))
    ramp = ramp_by_period(inputs, role)
    schedule = _schedule(inputs, problem, owners, ramp, target_owner)
    role_settings = scenario.roles[role]
    return RoleTimeline(
        role=role,
        policy=policy,
        periods=inputs.periods,
        account_ids=problem.account_ids,
        values=values,
        owners=owners,
        ramp=ramp,
        full_capacity={basis_metric: full},
        balance={goal.metric: goal.tolerance for goal in role_settings.balance},
        minimum={rule.metric: rule.minimum for rule in role_settings.viability},
        potential=_potential_metric(scenario, role),
        schedule=schedule,
        violations=tuple(tuple(v) for v in violations),
        solves=solves,
    )


def _schedule(inputs, problem, owners, ramp, target_owner) -> pd.DataFrame:
    """Return one row per owner change after the first period, with its reason."""
    starts = _rep_starts(inputs.reps)
    rows = []
    for p in range(1, len(inputs.periods)):
        day = inputs.periods[p].start
        changed = np.flatnonzero(owners[p] != owners[p - 1])
        for i in changed:
            old, new = owners[p - 1][i], owners[p][i]
            reason = _reason(old, new, p, ramp, starts, day, inputs.periods, target_owner, i)
            rows.append([problem.account_ids[i], old, new, day.isoformat(), reason])
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)


def _reason(old, new, p, ramp, starts, day, periods, target_owner, i) -> str:
    """Return why an account changes owner: phase_in, interim_cover, new_hire, attrition..."""
    if target_owner is not None:
        return "phase_in" if new == target_owner[i] else "interim_cover"
    if old in ramp.index and ramp.loc[old, p] <= 0:
        return "attrition"
    if new in starts and periods[p - 1].start < starts[new] <= day:
        return "new_hire"
    return "rebalance"


def _verify(at, inputs, role, problem, assignment, centres) -> tuple[str, ...]:
    """Return the violations of one role's plan, recomputed from its assignment."""
    single = at.model_copy(update={"roles": {role: at.roles[role]}})
    problems = {role: problem}
    assignments = assignments_table(single, problems, {role: assignment})
    territories = territories_table(single, problems, {role: assignment}, {role: centres})
    members = {role: pd.Series(inputs.members[role])}
    found = verify_plan(single, inputs.accounts, members, territories, assignments)
    return tuple(str(v["message"]) for v in found)


def _utilisation_metric(scenario: Scenario, role: str, problem: RoleProblem) -> tuple[str, float]:
    """Return the metric that utilisation is measured in and one full rep's capacity of it.

    The role's first capacity metric, else its max accounts, else the potential metric
    with the role's total divided by the reps of the problem (an even share at full
    capacity).
    """
    capacity = scenario.roles[role].capacity
    if capacity.metrics:
        metric = next(iter(capacity.metrics))
        return metric, float(capacity.metrics[metric])
    if capacity.max_accounts is not None:
        return ACCOUNT_COUNT, float(capacity.max_accounts)
    metric = _potential_metric(scenario, role)
    total = float(problem.values[:, problem.metric_names.index(metric)].sum())
    return metric, total / max(problem.n_territories, 1)


def _utilisation_basis(scenario, role, problem) -> tuple[np.ndarray, float]:
    metric, full = _utilisation_metric(scenario, role, problem)
    return problem.values[:, problem.metric_names.index(metric)], full


def _potential_metric(scenario: Scenario, role: str) -> str:
    """Return ``potential`` when mapped, else the role's first balance metric, else accounts."""
    if "potential" in scenario.metric_names:
        return "potential"
    balance = scenario.roles[role].balance
    return balance[0].metric if balance else ACCOUNT_COUNT


def _potential(scenario: Scenario, role: str, problem: RoleProblem) -> np.ndarray:
    metric = _potential_metric(scenario, role)
    return problem.values[:, problem.metric_names.index(metric)]


def _move_order(inputs, role, problem, potential) -> np.ndarray:
    """Return account positions in the order they move to a new rep (first moves first)."""
    keys = inputs.scenario.prebuilt.move_order
    accounts = inputs.accounts.loc[inputs.members[role]].reset_index(drop=True)
    frame = pd.DataFrame({"_potential": potential, "_id": problem.account_ids.astype(str)})
    columns, ascending = [], []
    for key in keys:
        if key.column not in accounts.columns:
            raise input_error(
                inputs.scenario.source,
                f"prebuilt.move_order names column '{key.column}', which the accounts table "
                "does not have",
                "add the column to inputs.accounts.columns.keep, or use one of "
                + ", ".join(str(c) for c in accounts.columns),
                key="prebuilt.move_order",
            )
        frame[key.column] = _sortable(accounts[key.column])
        columns.append(key.column)
        ascending.append(key.ascending)
    columns += ["_potential", "_id"]
    ascending += [True, True]
    ordered = frame.sort_values(columns, ascending=ascending, kind="stable")
    return ordered.index.to_numpy()


def _sortable(column: pd.Series) -> pd.Series:
    """Return ``column`` as numbers when every filled cell is one, else as text."""
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().sum() == column.notna().sum():
        return numbers.reset_index(drop=True)
    return column.astype(str).reset_index(drop=True)


def _rep_ids(problem: RoleProblem, assignment: np.ndarray) -> np.ndarray:
    ids = np.array([territory.rep_id for territory in problem.territories], dtype=object)
    return ids[assignment]


def _rep_starts(reps: pd.DataFrame) -> dict[str, dt.date]:
    starts = pd.to_datetime(reps["start_date"]).dt.date
    return dict(zip(reps["rep_id"].astype(str), starts, strict=True))
