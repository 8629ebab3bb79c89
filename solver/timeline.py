"""Plans over a planning horizon: periods, and who owns each account in each period.

A horizon runs from its start to its end day (inclusive) in months or quarters. Each
period is planned as of its first day: the reps active that day, at the ramp factor of
that day. Both policies (:mod:`solver.policies`) produce a :class:`RoleTimeline` per role,
and the period metrics (:mod:`solver.period_metrics`) read nothing else, so both are
scored the same way. :func:`load_horizon` reads and checks a scenario's inputs for it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from solver.errors import input_error
from solver.scenario import Horizon, Scenario
from solver.tables import check_roles_staffed, load_accounts, load_reps, role_members

logger = logging.getLogger(__name__)

#: Months in one period of each length.
PERIOD_MONTHS = {"month": 1, "quarter": 3}

#: Columns of a phase-in schedule, one row per owner change.
SCHEDULE_COLUMNS = ["account_id", "from_rep", "to_rep", "effective_date", "reason"]


@dataclass(frozen=True)
class Period:
    """One period of the horizon: first and last day (inclusive) and its length in months."""

    start: dt.date
    end: dt.date
    months: int


@dataclass(frozen=True)
class RoleTimeline:
    """Owners of the accounts of one role in each period, under one policy.

    Attributes
    ----------
    role, policy
        The role and the policy (``prebuilt`` or ``just_in_time``).
    periods
        The horizon's periods, in order.
    account_ids
        ``(n,)`` account ids of the role.
    values
        ``n`` rows, one column per metric (``accounts`` is all ones), in account order.
    owners
        ``(P, n)`` owner of each account in each period: a rep id, or the id of a house
        territory that no rep works (a pre-built interim owner).
    ramp
        One row per rep of the role (index ``rep_id``), one column per period: the rep's
        ramp factor on the period's first day, 0.0 when not active.
    full_capacity
        What one fully ramped rep can carry, per metric (``accounts`` for max accounts).
    balance
        Balance tolerance per metric.
    minimum
        Viability minimum per metric.
    potential
        The metric that coverage, moves and potential-months are measured in.
    schedule
        Owner changes: ``account_id, from_rep, to_rep, effective_date, reason``.
    violations
        Per period, the rules the plan in force breaks, recomputed from its assignment
        against the bands it was designed for (empty: valid).
    solves
        Number of periods in which the plan was designed or re-solved.
    """

    role: str
    policy: str
    periods: tuple[Period, ...]
    account_ids: np.ndarray
    values: pd.DataFrame
    owners: np.ndarray
    ramp: pd.DataFrame
    full_capacity: dict[str, float]
    balance: dict[str, float]
    minimum: dict[str, float]
    potential: str
    schedule: pd.DataFrame
    violations: tuple[tuple[str, ...], ...]
    solves: int


def horizon_periods(horizon: Horizon) -> tuple[Period, ...]:
    """Return the periods of ``horizon``: months or quarters from its start to its end.

    The first period starts on the horizon's start day, and each later one on the same day
    of the month one period on (clamped to the month's last day). The last period ends on
    the horizon's end day.
    """
    step = PERIOD_MONTHS[horizon.period]
    starts = []
    k = 0
    while True:
        start = _add_months(horizon.start, k * step)
        if start > horizon.end:
            break
        starts.append(start)
        k += 1
    ends = [next_start - dt.timedelta(days=1) for next_start in starts[1:]] + [horizon.end]
    return tuple(
        Period(start, end, _months_between(start, end, step))
        for start, end in zip(starts, ends, strict=True)
    )


def owner_changes(timeline: RoleTimeline) -> np.ndarray:
    """Return ``(P, n)``: True where an account's owner differs from the period before."""
    changed = np.zeros(timeline.owners.shape, dtype=bool)
    changed[1:] = timeline.owners[1:] != timeline.owners[:-1]
    return changed


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def _months_between(start: dt.date, end: dt.date, step: int) -> int:
    # A shortened last period counts the months it touches, at most one full step.
    touched = (end.year - start.year) * 12 + end.month - start.month + 1
    return max(1, min(step, touched))


@dataclass(frozen=True)
class HorizonInputs:
    """A scenario's validated inputs and the periods of its horizon."""

    scenario: Scenario
    accounts: pd.DataFrame
    reps: pd.DataFrame
    members: dict[str, np.ndarray]
    periods: tuple[Period, ...]


def load_horizon(scenario: Scenario) -> HorizonInputs:
    """Load and check the inputs of ``scenario`` for planning over its horizon."""
    if scenario.horizon is None:
        raise input_error(
            scenario.source,
            "has no planning horizon",
            "add horizon: {start: 2027-01-01, end: 2027-12-31, period: month}",
            key="horizon",
        )
    accounts = load_accounts(scenario)
    reps = load_reps(scenario)
    _check_hires_in_horizon(scenario, reps)
    periods = horizon_periods(scenario.horizon)
    for period in periods:
        check_roles_staffed(reps, on_date(scenario, period.start))
    _warn_short_ramps(scenario)
    _warn_geography(scenario)
    members = role_members(accounts, scenario)
    return HorizonInputs(scenario, accounts, reps, members, periods)


def _warn_geography(scenario: Scenario) -> None:
    # NOTE: the horizon policies plan accounts one by one, so a role's units and contiguity
    # apply to `territory solve` only. The warning keeps a comparison from looking contiguous.
    roles = [name for name, role in scenario.roles.items() if role.geography is not None]
    if roles:
        logger.warning(
            "%s: roles %s have a geography section, which the horizon comparison does not "
            "apply yet: its plans ignore units and contiguity",
            scenario.source.name,
            ", ".join(roles),
        )


def _check_hires_in_horizon(scenario: Scenario, reps: pd.DataFrame) -> None:
    """Reject a hire that starts after the horizon ends: no period could use them."""
    assert scenario.horizon is not None
    start = pd.to_datetime(reps["start_date"])
    late = np.flatnonzero(start > pd.Timestamp(scenario.horizon.end))
    if len(late) == 0:
        return
    row = int(late[0])
    raise input_error(
        scenario.resolve(scenario.inputs.reps.path),
        f"rep {reps['rep_id'].iloc[row]} starts after the horizon ends on "
        f"{scenario.horizon.end.isoformat()}",
        "extend horizon.end past the start date, or remove the hire from the reps table",
        row=row + 2,
        column=scenario.inputs.reps.columns.start_date,
        value=f"{start.iloc[row]:%Y-%m-%d}",
    )


def _warn_short_ramps(scenario: Scenario) -> None:
    """Warn about ramp curves that end below 1.0: the last value holds for good."""
    curves = {f"role {name}": role.ramp for name, role in scenario.roles.items()}
    curves.update({f"ramp profile {name}": curve for name, curve in scenario.ramp_profiles.items()})
    for name, curve in curves.items():
        if curve[-1] < 1.0:
            logger.warning(
                "%s: the ramp curve ends at %.2f; its last value applies to every later month, "
                "so these reps never reach full productivity",
                name,
                curve[-1],
            )


def on_date(scenario: Scenario, day: dt.date) -> Scenario:
    """Return ``scenario`` with its design date moved to ``day``."""
    return scenario.model_copy(update={"design_date": day})
