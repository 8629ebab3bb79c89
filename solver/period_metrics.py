"""Per-period metrics that score one role's plan over the horizon, and their horizon totals.

The metrics read only a :class:`~solver.timeline.RoleTimeline`, so pre-built and
just-in-time plans are scored by the same rules. For an account ``i``, ``owner_i`` is its
owner in period ``p``, ``ramp(r, p)`` is the ramp factor of rep ``r`` in column ``p`` of
``timeline.ramp`` (columns are read by position, in period order), and ``potential_i`` is
``timeline.values[timeline.potential]``.

Rules
-----
Active rep
    A rep with ``ramp(r, p) > 0``. An owner that is not an active rep (a house territory id
    that is not in ``ramp.index``, or a rep with ramp 0) covers nothing and carries no load.
coverage
    ``sum_i potential_i * ramp(owner_i, p) / sum_i potential_i``, with ramp 0 for owners
    that are not active reps. It is 1.0 when the total potential is 0.
load, utilisation
    The load of an active rep in a metric is the sum of that metric over its accounts. The
    utilisation metric is the first key of ``full_capacity``, and
    ``utilisation_r = load_r / (full_capacity[metric] * ramp(r, p))``. When
    ``full_capacity`` is empty, the metric is ``potential``. One full rep's capacity is then
    the total potential divided by the number of reps at ramp 1.0 in the last period (at
    least 1), because the staffing the horizon ends with is what must carry it.
    ``utilisation_mean`` and ``utilisation_max`` are taken over active reps (NaN if there
    are none). ``reps_over`` counts active reps with utilisation above
    ``1 + OVER_TOLERANCE`` and ``reps_under`` those below :data:`UNDER_LOADED`.
balance spread
    For each metric ``k`` of ``timeline.balance``, ``total_k`` is the sum over accounts
    owned by active reps only, so a patch held by a house territory does not count as
    imbalance. Each active rep's fair share is ``total_k * ramp_r / sum of active ramps``
    and its deviation is ``(load_r - share_r) / share_r``. ``max_dev_k`` is the largest
    ``|deviation|`` as a fraction (0.05 is 5 %), and 0 when ``total_k`` is 0.
    ``cv_k`` is the population standard deviation over the mean of ``load_r / ramp_r``
    (0 for a single rep or a zero mean). Both are NaN when no rep is active.
viability_failures
    The number of (active rep, metric) pairs whose load is below ``minimum[metric]`` by
    more than a relative ``OVER_TOLERANCE``.
moves
    From :func:`~solver.timeline.owner_changes`: ``accounts_moved`` counts the accounts
    whose owner differs from the period before (0 in period 1), ``potential_moved`` is their
    potential, and the ``_cum`` columns are running sums.
potential-months
    ``uncovered_potential_months`` is ``months_p`` times the potential of accounts whose
    owner is not an active rep. ``overloaded_potential_months`` is ``months_p`` times the
    potential of accounts whose owner is an active rep with utilisation above
    ``1 + OVER_TOLERANCE``.

Totals weight coverage and mean utilisation by the months of each period, skipping
periods without a value. Maxima skip NaN, and counts, moves and potential-months are sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from solver.timeline import RoleTimeline, owner_changes

#: Utilisation below which an active rep counts as under-loaded.
UNDER_LOADED = 0.8

#: Relative slack before a utilisation counts as over 1 or a load as under a minimum.
OVER_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Arrays:
    """The timeline as arrays, built once for all periods."""

    codes: np.ndarray  # (P, n) row of the owner in ``ramp``, -1 for an owner that is not a rep
    ramp: np.ndarray  # (R, P)
    metrics: dict[str, np.ndarray]  # metric -> (n,) values
    potential: np.ndarray  # (n,)
    changed: np.ndarray  # (P, n)
    utilisation_metric: str
    capacity: float


def period_columns(timeline: RoleTimeline) -> list[str]:
    """Return the columns of :func:`period_table` for ``timeline``, in order."""
    spread = [f"{kind}_{metric}" for metric in timeline.balance for kind in ("max_dev", "cv")]
    return [
        "role",
        "policy",
        "period",
        "start",
        "end",
        "months",
        "active_reps",
        "coverage",
        "utilisation_mean",
        "utilisation_max",
        "reps_over",
        "reps_under",
        *spread,
        "viability_failures",
        "accounts_moved",
        "potential_moved",
        "accounts_moved_cum",
        "potential_moved_cum",
        "uncovered_potential_months",
        "overloaded_potential_months",
    ]


def period_table(timeline: RoleTimeline) -> pd.DataFrame:
    """Compute one row of metrics per period of ``timeline`` (rules in the module docstring).

    Raises
    ------
    ValueError
        If the timeline's arrays disagree in shape, a metric it names has no column in
        ``values``, a full capacity is not positive, or a rep id is duplicated in ``ramp``.
    """
    _check_timeline(timeline)
    arrays = _to_arrays(timeline)

    rows = [_period_row(timeline, arrays, p) for p in range(len(timeline.periods))]
    table = pd.DataFrame(rows, columns=period_columns(timeline))

    table["accounts_moved_cum"] = table["accounts_moved"].cumsum()
    table["potential_moved_cum"] = table["potential_moved"].cumsum()
    return table


def totals_row(timeline: RoleTimeline, periods: pd.DataFrame) -> dict[str, object]:
    """Total ``periods`` (from :func:`period_table`) over the horizon of ``timeline``.

    ``owner_changes_mean`` and ``owner_changes_max`` count, per account, the periods in which
    its owner changed. ``invalid_periods`` counts periods with a non-empty
    ``timeline.violations`` entry.
    """
    months = periods["months"].to_numpy(dtype=float)
    changes_per_account = owner_changes(timeline).sum(axis=0)

    row: dict[str, object] = {
        "role": timeline.role,
        "policy": timeline.policy,
        "periods": len(periods),
        "solves": timeline.solves,
        "mean_coverage": _weighted_mean(periods["coverage"], months),
        "mean_utilisation": _weighted_mean(periods["utilisation_mean"], months),
        "max_utilisation": float(periods["utilisation_max"].max()),
        "rep_periods_over": int(periods["reps_over"].sum()),
        "rep_periods_under": int(periods["reps_under"].sum()),
    }
    for metric in timeline.balance:
        row[f"max_dev_{metric}"] = float(periods[f"max_dev_{metric}"].max())

    has_accounts = changes_per_account.size > 0
    row |= {
        "viability_failures": int(periods["viability_failures"].sum()),
        "accounts_moved": int(periods["accounts_moved"].sum()),
        "potential_moved": float(periods["potential_moved"].sum()),
        "owner_changes_mean": float(changes_per_account.mean()) if has_accounts else 0.0,
        "owner_changes_max": int(changes_per_account.max()) if has_accounts else 0,
        "uncovered_potential_months": float(periods["uncovered_potential_months"].sum()),
        "overloaded_potential_months": float(periods["overloaded_potential_months"].sum()),
        "invalid_periods": sum(1 for broken in timeline.violations if broken),
    }
    return row


def _check_timeline(timeline: RoleTimeline) -> None:
    n_periods, n_accounts = len(timeline.periods), len(timeline.account_ids)
    name = f"role '{timeline.role}' ({timeline.policy})"

    if timeline.owners.shape != (n_periods, n_accounts):
        raise ValueError(
            f"{name}: owners must have shape (periods, accounts) = "
            f"({n_periods}, {n_accounts}), got {timeline.owners.shape}"
        )
    if timeline.ramp.shape[1] != n_periods:
        raise ValueError(
            f"{name}: ramp must have one column per period ({n_periods}), "
            f"got {timeline.ramp.shape[1]}"
        )
    if len(timeline.values) != n_accounts:
        raise ValueError(
            f"{name}: values must have one row per account ({n_accounts}), "
            f"got {len(timeline.values)}"
        )

    duplicated = timeline.ramp.index[timeline.ramp.index.duplicated()].unique()
    if len(duplicated):
        raise ValueError(f"{name}: duplicate rep ids in ramp: {sorted(map(str, duplicated))}")

    named = {timeline.potential, *timeline.full_capacity, *timeline.balance, *timeline.minimum}
    missing = sorted(named - set(timeline.values.columns))
    if missing:
        raise ValueError(f"{name}: values has no column for metrics {missing}")

    bad = {metric: cap for metric, cap in timeline.full_capacity.items() if not cap > 0}
    if bad:
        raise ValueError(f"{name}: full capacity must be > 0, got {bad}")


def _to_arrays(timeline: RoleTimeline) -> _Arrays:
    owners = np.asarray(timeline.owners)
    codes = timeline.ramp.index.get_indexer(pd.Index(owners.ravel())).reshape(owners.shape)
    ramp = timeline.ramp.to_numpy(dtype=float)

    named = [timeline.potential, *timeline.full_capacity, *timeline.balance, *timeline.minimum]
    metrics = {metric: timeline.values[metric].to_numpy(dtype=float) for metric in named}
    potential = metrics[timeline.potential]

    if timeline.full_capacity:
        metric, capacity = next(iter(timeline.full_capacity.items()))
    else:
        metric, capacity = timeline.potential, _fallback_capacity(potential, ramp)

    return _Arrays(
        codes=codes,
        ramp=ramp,
        metrics=metrics,
        potential=potential,
        changed=owner_changes(timeline),
        utilisation_metric=metric,
        capacity=float(capacity),
    )


def _fallback_capacity(potential: np.ndarray, ramp: np.ndarray) -> float:
    # The reps fully ramped when the horizon ends are the staffing the potential must fit.
    full_reps = int(np.isclose(ramp[:, -1], 1.0).sum()) if ramp.size else 0
    return float(potential.sum()) / max(1, full_reps)


def _period_row(timeline: RoleTimeline, arrays: _Arrays, p: int) -> dict[str, object]:
    period = timeline.periods[p]
    codes = arrays.codes[p]
    ramp = arrays.ramp[:, p]
    active = ramp > 0

    # Code -1 (an owner that is not a rep) picks the appended 0.0.
    account_ramp = np.append(ramp, 0.0)[codes]
    covered = account_ramp > 0
    loads = {
        metric: np.bincount(codes[covered], weights=values[covered], minlength=ramp.size)
        for metric, values in arrays.metrics.items()
    }

    utilisation = _utilisation(loads[arrays.utilisation_metric], ramp, arrays.capacity)
    over = active & (utilisation > 1 + OVER_TOLERANCE)
    overloaded = np.append(over, False)[codes]

    total_potential = arrays.potential.sum()
    row: dict[str, object] = {
        "role": timeline.role,
        "policy": timeline.policy,
        "period": p + 1,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "months": period.months,
        "active_reps": int(active.sum()),
        "coverage": (
            float(arrays.potential @ account_ramp / total_potential) if total_potential else 1.0
        ),
        **_utilisation_stats(utilisation[active]),
        "reps_over": int(over.sum()),
        "reps_under": int((utilisation[active] < UNDER_LOADED).sum()),
    }
    for metric in timeline.balance:
        max_dev, cv = _spread(loads[metric][active], ramp[active])
        row[f"max_dev_{metric}"] = max_dev
        row[f"cv_{metric}"] = cv

    changed = arrays.changed[p]
    row |= {
        "viability_failures": _viability_failures(timeline.minimum, loads, active),
        "accounts_moved": int(changed.sum()),
        "potential_moved": float(arrays.potential[changed].sum()),
        "uncovered_potential_months": period.months * float(arrays.potential[~covered].sum()),
        "overloaded_potential_months": period.months * float(arrays.potential[overloaded].sum()),
    }
    return row


def _utilisation(load: np.ndarray, ramp: np.ndarray, capacity: float) -> np.ndarray:
    # Inactive reps get 0 here; callers mask them out with ``active``.
    denominator = capacity * ramp
    return np.divide(load, denominator, out=np.zeros(load.shape), where=denominator > 0)


def _utilisation_stats(utilisation: np.ndarray) -> dict[str, float]:
    if utilisation.size == 0:
        return {"utilisation_mean": float("nan"), "utilisation_max": float("nan")}
    return {
        "utilisation_mean": float(utilisation.mean()),
        "utilisation_max": float(utilisation.max()),
    }


def _spread(loads: np.ndarray, ramp: np.ndarray) -> tuple[float, float]:
    """Return ``(max_dev, cv)`` of active reps' loads against ramp-proportional shares."""
    if loads.size == 0:
        return float("nan"), float("nan")

    total = loads.sum()
    max_dev = 0.0
    if total != 0:
        share = total * ramp / ramp.sum()
        max_dev = float(np.max(np.abs(loads - share) / share))

    per_full_rep = loads / ramp
    mean = per_full_rep.mean()
    cv = 0.0 if loads.size == 1 or mean == 0 else float(per_full_rep.std() / mean)
    return max_dev, cv


def _viability_failures(
    minimum: dict[str, float], loads: dict[str, np.ndarray], active: np.ndarray
) -> int:
    failures = 0
    for metric, floor in minimum.items():
        failures += int((loads[metric][active] < floor - OVER_TOLERANCE * abs(floor)).sum())
    return failures


def _weighted_mean(values: pd.Series, weights: np.ndarray) -> float:
    known = values.notna().to_numpy()
    if weights[known].sum() == 0:
        return float("nan")
    return float(np.average(values.to_numpy(dtype=float)[known], weights=weights[known]))
