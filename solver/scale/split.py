"""Split a set of accounts between two groups of territories, within every bound.

This is the step that both :mod:`solver.scale.bisect` and :mod:`solver.scale.pairs`
repeat. With one binary ``y_i`` per account (1 = the first group), the rows of both groups
become one interval per metric on ``sum_i v_i y_i``:

    max(L1, total - U2) <= sum_i v_i y_i <= min(U1, total - L2)

so the split is a knapsack-like problem with a handful of rows. Its LP relaxation is solved
by HiGHS in seconds even for a million accounts, and a basic optimum splits at most one
account per row. A small MIP over those accounts and the accounts nearest to a tie (by
reduced cost) makes the split whole while keeping every row.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from solver.backends.highs import highs_problem
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Accounts freed in the rounding MIP on the first attempt, per row of the split.
FREED_PER_ROW = 25

#: Attempts of the rounding MIP; each frees four times as many accounts as the one before.
ROUNDING_ATTEMPTS = 3

#: Time limit of one rounding MIP, in seconds.
ROUNDING_SECONDS = 0.3

#: The LP first keeps this many typical (median) accounts inside each end of the interval.
SLACK_ACCOUNTS = 2.0

#: Largest number of split accounts whose roundings are all tried before a MIP is used.
TRIAL_ACCOUNTS = 10

#: Largest loss against the LP, as a share of the summed absolute gains, at which the
#: cheapest trial rounding is kept without a MIP.
TRIAL_LOSS = 1e-3

#: Rounding slack of a recomputed total, in mean-territory units. The rows a split gets
#: are already inside the true bounds by 1e-7 of their size, so this cannot cross them.
SUM_SLACK = 1e-9

#: Relative padding of the interval handed to HiGHS (see :func:`_padded`).
PAD = 1e-5

_FRACTIONAL = 1e-6


@dataclass(frozen=True)
class Interval:
    """Bounds ``low <= sum_i v_i y_i <= high`` per metric (``inf`` = no bound)."""

    low: np.ndarray
    high: np.ndarray


def group_interval(
    total: np.ndarray,
    first: tuple[np.ndarray, np.ndarray],
    second: tuple[np.ndarray, np.ndarray],
) -> Interval:
    """Return the interval on the first group's totals that keeps both groups within bounds.

    ``first`` and ``second`` are each group's summed ``(lower, upper)`` rows and ``total``
    is what the accounts add up to.
    """
    (low1, high1), (low2, high2) = first, second
    return Interval(np.maximum(low1, total - high2), np.minimum(high1, total - low2))


def split(
    gain: np.ndarray,
    values: np.ndarray,
    interval: Interval,
    settings: SolverSettings,
    deadline: float,
) -> np.ndarray | None:
    """Return a whole split ``y`` (True = first group) within ``interval`` with a low ``gain @ y``.

    ``gain`` is each account's cost in the first group minus its cost in the second. The
    split is the LP optimum with its split accounts rounded, by trial or by a small MIP;
    the MIP settles them exactly when it frees every account. Returns None when no whole
    split within the interval was found.
    """
    if np.any(interval.low > interval.high + 1e-12):
        return None
    rows = np.flatnonzero(np.isfinite(interval.low) | np.isfinite(interval.high))
    if len(rows) == 0:
        return gain < 0

    low, high = interval.low[rows], interval.high[rows]
    relaxed = _solve_with_slack(gain, values[:, rows], low, high, settings, deadline)
    if relaxed is None:
        return None
    x, duals = relaxed

    def within(y: np.ndarray | None) -> bool:
        # Solver tolerances can leave a total a hair outside; a plan must not be.
        if y is None:
            return False
        totals = values[y][:, rows].sum(axis=0)
        return bool(np.all(totals >= low - SUM_SLACK) and np.all(totals <= high + SUM_SLACK))

    fractional = np.flatnonzero((x > _FRACTIONAL) & (x < 1.0 - _FRACTIONAL))
    if len(fractional) == 0 and within(x > 0.5):
        return x > 0.5
    # Trying every rounding of the split accounts is fast and usually as good as the LP;
    # only a trial that loses more than a small share of the gains calls for the MIP.
    trial = _round_by_trial(gain, values[:, rows], low, high, x, fractional)
    if not within(trial):
        trial = None
    elif gain @ trial <= gain @ x + TRIAL_LOSS * np.abs(gain).sum():
        return trial

    # A reduced cost measures how much an account resists a change of side, so the smallest
    # are the cheapest to free while the MIP settles the split accounts.
    reduced = np.abs(gain - values[:, rows] @ duals)
    order = np.argsort(reduced, kind="stable")
    freed = FREED_PER_ROW * len(rows)
    for _ in range(ROUNDING_ATTEMPTS):
        free = np.union1d(fractional, order[:freed])
        y = _round(gain, values[:, rows], interval, rows, x, free, settings, deadline)
        if y is not None and not within(y):
            # The MIP's tolerance let a total slip out: solve again inside a padded interval.
            y = _round(gain, values[:, rows], interval, rows, x, free, settings, deadline, True)
        if within(y):
            assert y is not None
            return y if trial is None or gain @ y < gain @ trial else trial
        if freed >= len(x):
            break
        freed *= 4
    return trial


def _solve_with_slack(gain, values, low, high, settings, deadline):
    """Solve the LP inside the interval by a little slack, or in the interval itself.

    With slack, rounding the few split accounts either way rarely leaves the interval.
    """
    slack = SLACK_ACCOUNTS * np.median(np.abs(values), axis=0)
    roomy = np.isfinite(low) & np.isfinite(high) & (high - low > 4.0 * slack)
    if roomy.any():
        relaxed = _solve(
            gain,
            values,
            np.where(roomy, low + slack, low),
            np.where(roomy, high - slack, high),
            None,
            settings,
            deadline,
        )
        if relaxed is not None:
            return relaxed
    return _solve(gain, values, low, high, None, settings, deadline)


def _padded(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the interval narrowed by :data:`PAD` of its size where it is wide enough.

    HiGHS accepts a row up to its feasibility tolerance (1e-6 in a MIP) outside its
    bounds, more than the bounds' own margin, so the solver gets a slightly narrower
    interval and the caller checks the true one.
    """
    size = np.maximum(1.0, np.maximum(np.abs(_finite(low)), np.abs(_finite(high))))
    pad = PAD * size
    roomy = high - low > 4.0 * pad
    return np.where(roomy, low + pad, low), np.where(roomy, high - pad, high)


def _finite(bounds: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(bounds), bounds, 0.0)


def _round_by_trial(gain, values, low, high, x, fractional) -> np.ndarray | None:
    """Try every way of rounding the split accounts; return the cheapest within the interval."""
    if len(fractional) > TRIAL_ACCOUNTS:
        return None
    y = x > 1.0 - _FRACTIONAL
    base = values[y].sum(axis=0) - values[fractional][y[fractional]].sum(axis=0)
    choices = (np.arange(2 ** len(fractional))[:, None] >> np.arange(len(fractional))) & 1
    totals = base + choices @ values[fractional]
    within = np.all((totals >= low - SUM_SLACK) & (totals <= high + SUM_SLACK), axis=1)
    if not within.any():
        return None
    cost = np.where(within, choices @ gain[fractional], np.inf)
    y[fractional] = choices[int(np.argmin(cost))].astype(bool)
    return y


def _round(gain, values, interval, rows, x, free, settings, deadline, pad=False):
    """Fix every account but ``free`` at its LP side and solve the MIP over ``free``."""
    fixed = np.ones(len(x), dtype=bool)
    fixed[free] = False
    y = x > 0.5
    base = values[fixed & y].sum(axis=0)
    low, high = interval.low[rows] - base, interval.high[rows] - base
    budget = min(ROUNDING_SECONDS, deadline - time.perf_counter())
    if budget <= 0:
        return None
    solved = _solve(
        gain[free], values[free], low, high, budget, settings, deadline, integer=True, pad=pad
    )
    if solved is None:
        return None
    y[free] = solved[0] > 0.5
    return y


def _solve(
    gain: np.ndarray,
    values: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    seconds: float | None,
    settings: SolverSettings,
    deadline: float,
    *,
    integer: bool = False,
    pad: bool = False,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Solve ``min gain @ y, low <= values^T y <= high, 0 <= y <= 1``; return ``y`` and duals."""
    n = len(gain)
    limit = deadline - time.perf_counter() if seconds is None else seconds
    if limit <= 0:
        return None
    if pad:
        low, high = _padded(low, high)

    highs = highs_problem(
        gain,
        sp.csr_matrix(values.T),
        low,
        high,
        np.zeros(n),
        np.ones(n),
        np.full(n, integer),
        settings.model_copy(update={"mip_gap": 1e-4}),
        limit,
    )
    if integer:
        # The gains of near-tied accounts are tiny and of both signs, so a relative gap
        # would rarely close. The MIP stops within a small share of the summed gains.
        highs.setOptionValue("mip_abs_gap", 1e-4 * float(np.abs(gain).sum()))
    highs.run()

    status = highs.getModelStatus()
    solution = highs.getSolution()
    if status != highspy.HighsModelStatus.kOptimal and not (
        integer and solution.value_valid and status == highspy.HighsModelStatus.kTimeLimit
    ):
        return None
    x = np.asarray(solution.col_value)
    duals = np.asarray(solution.row_dual) if not integer else np.zeros(len(low))
    return x, duals
