"""Capacity: turn a hiring plan into headcount, tenure, ramp factors and capacity on a date.

The reps table (see :func:`solver.tables.load_reps`) has one row per current rep or planned
hire. This module applies the following rules to it.

Active reps
    ``end_date`` is the rep's last working day, inclusive. A rep is active on a date ``d``
    when ``start_date <= d <= end_date``, or when ``end_date`` is empty (NaT).

Tenure
    Tenure is the number of completed calendar months since the start date. A rep starting
    on 15 January has 0 completed months up to 14 February and 1 from 15 February. When the
    start day does not exist in a month (a start on 31 January), that month completes on
    its last day (28 or 29 February).

Ramp factor
    The ramp factor on ``d`` is ``curve[tenure_months]``, so the first month of tenure uses
    ``curve[0]``. After the curve ends, its last value applies. The factor is 0.0 before the
    start date and after the end date. A rep's curve is its named ramp profile if it has
    one, otherwise its role's ``ramp`` (:meth:`Scenario.ramp_curve`).

Ramp-weighted capacity
    A rep carries ``ramp_factor * role.capacity.metrics[metric]`` of each metric, and at most
    ``floor(ramp_factor * role.capacity.max_accounts)`` accounts. A tolerance of 1e-9 is
    added before the floor, so 0.57 * 100 gives 57 and not 56.

Capacity share
    A rep's share of its role is its ramp factor divided by the sum of the ramp factors of
    the role's active reps. All reps of a role have the same full capacity, so this equals
    the rep's ramp-weighted capacity over the role's total. When that sum is 0, every
    share of the role is 0.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from solver.errors import input_error
from solver.scenario import Scenario

logger = logging.getLogger(__name__)

#: Columns the reps table must have, as :func:`solver.tables.load_reps` builds them.
REP_COLUMNS = ["rep_id", "role", "name", "start_date", "end_date", "ramp_profile"]

#: Columns of :func:`capacity_table` before the ``capacity_<metric>`` columns.
CAPACITY_COLUMNS = [
    "rep_id",
    "role",
    "name",
    "start_date",
    "end_date",
    "tenure_months",
    "ramp_factor",
    "capacity_share",
    "max_accounts",
]

#: Columns of :func:`inactive_reps`.
INACTIVE_COLUMNS = ["rep_id", "role", "start_date", "end_date", "reason"]

# Added before rounding so that float noise (0.57 * 100 = 56.99999999999999) does not
# lose or add a whole account or territory.
_TOLERANCE = 1e-9


def tenure_months(start: dt.date, on: dt.date) -> int:
    """Count the calendar months a rep starting on ``start`` has completed on ``on``.

    Parameters
    ----------
    start
        First working day. A ``datetime`` or ``pandas.Timestamp`` counts by its date.
    on
        Date at which tenure is measured. It must not be before ``start``.

    Returns
    -------
    int
        Completed months: 0 from ``start`` until the day before the first monthly
        anniversary. An anniversary on a day the month lacks falls on its last day.

    Raises
    ------
    ValueError
        If ``on`` is before ``start``.
    """
    start, on = _to_date(start), _to_date(on)
    if on < start:
        raise ValueError(
            f"tenure is undefined on {on} because it is before the start date {start}. "
            "Check is_active() before measuring tenure"
        )

    months = (on.year - start.year) * 12 + (on.month - start.month)
    last_day = calendar.monthrange(on.year, on.month)[1]
    anniversary_day = min(start.day, last_day)
    if on.day < anniversary_day:
        months -= 1
    return months


def is_active(start: dt.date, end: dt.date | None, on: dt.date) -> bool:
    """Tell whether a rep working from ``start`` to ``end`` (inclusive) works on ``on``.

    ``end`` may be None, NaT or NaN for a rep with no end date.
    """
    start, on = _to_date(start), _to_date(on)
    end = _to_optional_date(end)
    if on < start:
        return False
    return end is None or on <= end


def ramp_factor(
    curve: Sequence[float], start: dt.date, on: dt.date, end: dt.date | None = None
) -> float:
    """Compute the share of full productivity a rep reaches on ``on``.

    Parameters
    ----------
    curve
        Ramp values by month of tenure: ``curve[0]`` applies in the first month. The last
        value applies after the curve ends.
    start
        First working day.
    on
        Date of the factor.
    end
        Last working day, inclusive. None (the default), NaT or NaN means no end date.

    Returns
    -------
    float
        ``curve[min(tenure_months, len(curve) - 1)]``, or 0.0 when the rep is not active.

    Raises
    ------
    ValueError
        If ``curve`` is empty.
    """
    if len(curve) == 0:
        raise ValueError("ramp curve is empty, but it needs at least one value")
    if not is_active(start, end, on):
        return 0.0

    month = tenure_months(start, on)
    return float(curve[min(month, len(curve) - 1)])


def capacity_table(reps: pd.DataFrame, scenario: Scenario, on: dt.date) -> pd.DataFrame:
    """Build the capacity of every rep active on ``on``.

    Parameters
    ----------
    reps
        Reps table as :func:`solver.tables.load_reps` returns it.
    scenario
        Scenario that defines the roles, their ramp curves and capacities, and the ramp
        profiles.
    on
        Date of the plan, as a ``date`` or ``pandas.Timestamp``.

    Returns
    -------
    pandas.DataFrame
        One row per active rep, sorted by role (in the order of ``scenario.roles``), then
        ``start_date``, then ``rep_id``. The columns are ``rep_id, role, name, start_date,
        end_date, tenure_months, ramp_factor, capacity_share, max_accounts``, then
        ``capacity_<metric>`` for every metric named in any role's ``capacity.metrics``.
        ``max_accounts`` contains whole numbers stored as floats. It and ``capacity_<metric>`` are
        NaN for a role that does not set them.

    Raises
    ------
    InputError
        If a rep's role is not in the scenario or its ramp profile is not defined.
    """
    _check_columns(reps, REP_COLUMNS)
    on = _to_date(on)
    metrics = _capacity_metrics(scenario)
    role_order = {role: position for position, role in enumerate(scenario.roles)}

    rows = []
    for rep in _rep_rows(reps):
        _check_role(rep, scenario)
        if not is_active(rep.start_date, rep.end_date, on):
            continue
        curve = _rep_curve(rep, scenario)
        rows.append(_capacity_row(rep, curve, scenario, on, metrics))

    metric_columns = [f"capacity_{metric}" for metric in metrics]
    table = pd.DataFrame(rows, columns=[*CAPACITY_COLUMNS, *metric_columns])
    # Fixed dtypes, so an empty table has the same schema as a full one.
    numeric = ["ramp_factor", "capacity_share", "max_accounts", *metric_columns]
    table = table.astype({"tenure_months": "int64", **dict.fromkeys(numeric, "float64")})
    table["capacity_share"] = _shares(table)
    table["_role_order"] = table["role"].map(role_order)
    table = table.sort_values(["_role_order", "start_date", "rep_id"], kind="stable")
    table = table.drop(columns="_role_order").reset_index(drop=True)

    logger.debug("capacity on %s: %d of %d reps active", on, len(table), len(reps))
    return table


def inactive_reps(reps: pd.DataFrame, on: dt.date) -> pd.DataFrame:
    """List the reps not active on ``on``, each with the reason.

    Returns
    -------
    pandas.DataFrame
        Columns ``rep_id, role, start_date, end_date, reason`` in the order of ``reps``.
        ``reason`` reads ``"starts 2027-05-01, after 2027-02-01"`` for a later hire and
        ``"left on 2026-11-30, before 2027-02-01"`` for a rep who has left.
    """
    _check_columns(reps, REP_COLUMNS)
    on = _to_date(on)

    rows = []
    for rep in _rep_rows(reps):
        start = _to_date(rep.start_date)
        end = _to_optional_date(rep.end_date)
        if start > on:
            reason = f"starts {start.isoformat()}, after {on.isoformat()}"
        elif end is not None and end < on:
            reason = f"left on {end.isoformat()}, before {on.isoformat()}"
        else:
            continue
        rows.append([rep.rep_id, rep.role, rep.start_date, rep.end_date, reason])

    return pd.DataFrame(rows, columns=INACTIVE_COLUMNS)


def headcount(reps: pd.DataFrame, on: dt.date) -> dict[str, int]:
    """Count the active reps of each role on ``on``.

    Every role in ``reps`` is a key, in order of first appearance, with 0 when none of its
    reps is active.
    """
    _check_columns(reps, REP_COLUMNS)
    counts = dict.fromkeys(pd.unique(reps["role"]), 0)
    for rep in _rep_rows(reps):
        if is_active(rep.start_date, rep.end_date, on):
            counts[rep.role] += 1
    return {str(role): count for role, count in counts.items()}


def headcount_by_period(reps: pd.DataFrame, dates: Sequence[dt.date]) -> pd.DataFrame:
    """Count the active reps of each role on each of ``dates``.

    Returns
    -------
    pandas.DataFrame
        One row per date, indexed by a ``DatetimeIndex`` named ``date`` in the order given,
        and one integer column per role in ``reps``, in order of first appearance.
    """
    _check_columns(reps, REP_COLUMNS)
    roles = [str(role) for role in pd.unique(reps["role"])]
    rows = [headcount(reps, on) for on in dates]

    index = pd.DatetimeIndex([pd.Timestamp(_to_date(on)) for on in dates], name="date")
    return pd.DataFrame(rows, columns=roles, index=index, dtype="int64")


def territories_needed(total: float, capacity_per_rep: float) -> int:
    """Compute how many fully ramped reps carry ``total`` at ``capacity_per_rep`` each.

    The count is ``ceil(total / capacity_per_rep)``, with a relative tolerance of 1e-9 so
    that float noise (10.0000000001) does not add a territory.

    Raises
    ------
    ValueError
        If ``capacity_per_rep`` is not > 0 or ``total`` is negative or not finite.
    """
    if not capacity_per_rep > 0 or not math.isfinite(capacity_per_rep):
        raise ValueError(f"capacity per rep must be a finite number > 0, got {capacity_per_rep}")
    if not total >= 0 or not math.isfinite(total):
        raise ValueError(f"total must be a finite number >= 0, got {total}")

    ratio = total / capacity_per_rep
    return math.ceil(ratio - _TOLERANCE * max(1.0, ratio))


def _capacity_row(
    rep: Any, curve: Sequence[float], scenario: Scenario, on: dt.date, metrics: list[str]
) -> list[Any]:
    """Return one row of :func:`capacity_table`, with the share left to :func:`_shares`."""
    capacity = scenario.roles[rep.role].capacity
    factor = ramp_factor(curve, rep.start_date, on, rep.end_date)

    max_accounts = math.nan
    if capacity.max_accounts is not None:
        max_accounts = float(math.floor(factor * capacity.max_accounts + _TOLERANCE))

    carried = [factor * capacity.metrics.get(metric, math.nan) for metric in metrics]
    return [
        rep.rep_id,
        rep.role,
        rep.name,
        rep.start_date,
        rep.end_date,
        tenure_months(rep.start_date, on),
        factor,
        math.nan,
        max_accounts,
        *carried,
    ]


def _shares(table: pd.DataFrame) -> pd.Series:
    """Divide each ramp factor by its role's sum, giving 0 where that sum is 0."""
    role_sum = table.groupby("role", sort=False)["ramp_factor"].transform("sum")
    shares = table["ramp_factor"] / role_sum.where(role_sum > 0)
    return shares.fillna(0.0).astype("float64")


def _rep_curve(rep: Any, scenario: Scenario) -> list[float]:
    """Return the rep's ramp curve, raising InputError for an undefined profile."""
    profile = _to_optional_str(rep.ramp_profile)
    if profile is None or profile in scenario.ramp_profiles:
        return scenario.ramp_curve(rep.role, profile)

    scenario_file = scenario.source.name
    defined = ", ".join(scenario.ramp_profiles) or "none"
    raise input_error(
        scenario.inputs.reps.path.name,
        column=scenario.inputs.reps.columns.ramp_profile or "ramp_profile",
        value=profile,
        problem=(
            f"of rep '{rep.rep_id}' is not a ramp profile of {scenario_file} (defined: {defined})"
        ),
        fix=(
            f"add it under ramp_profiles in {scenario_file}, or leave the cell empty "
            "to use the role's ramp"
        ),
    )


def _check_role(rep: Any, scenario: Scenario) -> None:
    """Raise InputError when the rep's role is not a role of the scenario."""
    if rep.role in scenario.roles:
        return

    scenario_file = scenario.source.name
    raise input_error(
        scenario.inputs.reps.path.name,
        column=scenario.inputs.reps.columns.role,
        value=rep.role,
        problem=f"of rep '{rep.rep_id}' is not a role of {scenario_file}",
        fix=f"use one of {', '.join(scenario.roles)}, or add the role under roles in "
        f"{scenario_file}",
    )


def _rep_rows(reps: pd.DataFrame) -> Iterator[Any]:
    """Yield the rows of the reps table as named tuples, one field per column."""
    yield from reps.itertuples(index=False)


def _capacity_metrics(scenario: Scenario) -> list[str]:
    """Return every metric named in a role's capacity, in order of first appearance."""
    metrics: list[str] = []
    for role in scenario.roles.values():
        metrics += [metric for metric in role.capacity.metrics if metric not in metrics]
    return metrics


def _check_columns(reps: pd.DataFrame, required: list[str]) -> None:
    """Raise ValueError when the reps table lacks a column this module reads."""
    missing = [column for column in required if column not in reps.columns]
    if missing:
        raise ValueError(
            f"reps table is missing column {', '.join(repr(c) for c in missing)}. "
            "Build it with solver.tables.load_reps"
        )


def _to_date(value: dt.date) -> dt.date:
    """Return ``value`` as a plain date, dropping the time of a datetime or Timestamp."""
    if _is_missing(value):
        raise ValueError(f"expected a date, got {value!r}")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"expected a date or pandas.Timestamp, got {type(value).__name__}")


def _to_optional_date(value: dt.date | None) -> dt.date | None:
    """Return ``value`` as a plain date, or None for a missing end date (None, NaT, NaN)."""
    if _is_missing(value):
        return None
    return _to_date(value)  # type: ignore[arg-type]


def _to_optional_str(value: Any) -> str | None:
    """Return ``value`` as a string, or None when it is missing or empty."""
    if _is_missing(value) or str(value).strip() == "":
        return None
    return str(value).strip()


def _is_missing(value: Any) -> bool:
    """Tell whether ``value`` is None, NaT or NaN, and not a container."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
