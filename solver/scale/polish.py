"""Round the Lagrangian near-plan into a plan: an LP over the nearly tied accounts, then a MIP.

At good multipliers most accounts have one clearly cheapest territory (in reduced cost);
only some are nearly tied. Every clear account stays at its cheapest territory. The LP
relaxation over the nearly tied ones, with every bound reduced by what the fixed accounts
contribute, is solved by HiGHS. A basic LP optimum splits at most about one account per
tight row, so the LP decides almost all of them. A small MIP over the split accounts and
their nearest neighbours then settles the rest. Without a plan, the caller's local search
repairs the LP's rounded plan.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from solver.backends.highs import highs_problem
from solver.scale.candidates import Candidates
from solver.scale.lagrange import Bounds
from solver.scale.repair import territory_totals
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Time limit of one rounding MIP, in seconds.
MIP_SECONDS = 5.0

#: Accounts in the rounding LP (at least ``LP_ACCOUNTS``, or so many per bound row) and
#: options per account.
LP_ACCOUNTS = 3_000
LP_ACCOUNTS_PER_ROW = 10
LP_OPTIONS = 6

#: Largest LP (account, option) pairs for which every candidate is an option.
LP_PAIRS = 1_500_000

#: Minimum number of accounts freed in the rounding MIP, and the number of attempts. The
#: count doubles after each attempt without a plan.
MIN_MIP_ACCOUNTS = 300
MIP_ATTEMPTS = 1


def round_near_ties(
    reduced: np.ndarray,
    candidates: Candidates,
    rows: Bounds,
    settings: SolverSettings,
    deadline: float,
    absolute_gap: float = 0.0,
) -> tuple[np.ndarray, bool]:
    """Return a plan (candidate slot per account) and whether it is within every bound.

    Without a plan within bounds, the LP's rounded plan (or the near-plan, when the LP has no
    solution) is returned for the local search to repair.

    The LP over the nearly tied accounts decides most of them; the MIP then settles the
    accounts the LP splits. It stops once its plan is within ``absolute_gap`` (objective
    units) of its bound.
    """
    n, width = reduced.shape
    order = np.argsort(reduced, axis=1, kind="stable")
    ranked = np.take_along_axis(reduced, order, axis=1)
    regret = ranked[:, 1] - ranked[:, 0] if width > 1 else np.full(n, np.inf)
    base = order[:, 0].copy()

    lp_count = max(LP_ACCOUNTS, LP_ACCOUNTS_PER_ROW * rows.lower.size)
    while True:
        lp_free = np.sort(np.argsort(regret, kind="stable")[: min(n, lp_count)])
        options_per_account = width if len(lp_free) * width <= LP_PAIRS else min(LP_OPTIONS, width)
        lp_options = order[lp_free, :options_per_account]
        budget = max(1.0, 0.5 * (deadline - time.perf_counter()))
        x = _solve(
            lp_free, lp_options, base, candidates, rows, settings, budget, 0.0, integer=False
        )
        logger.info(
            "rounding LP over %d accounts: %s",
            len(lp_free),
            "solved" if x is not None else "no solution",
        )
        if x is not None:
            break
        if len(lp_free) == n or time.perf_counter() >= deadline - 1.0:
            return base, False
        lp_count *= 4

    share = x.reshape(len(lp_free), lp_options.shape[1])
    base[lp_free] = lp_options[np.arange(len(lp_free)), share.argmax(axis=1)]
    split = lp_free[share.max(axis=1) < 1 - 1e-6]
    logger.info("rounding LP: %d accounts split", len(split))

    touched = np.unique(
        candidates.territory[lp_free[:, None], lp_options][(share > 1e-6) & (share < 1 - 1e-6)]
    )
    free_count = max(len(split), MIN_MIP_ACCOUNTS)
    for _ in range(MIP_ATTEMPTS):
        if time.perf_counter() >= deadline - 0.5:
            break
        free = _mip_accounts(split, free_count, base, candidates, touched)
        options = order[free, :options_per_account]
        budget = min(0.5 * (deadline - time.perf_counter()), MIP_SECONDS)
        solved = _solve(free, options, base, candidates, rows, settings, budget, absolute_gap)
        logger.info(
            "rounding MIP: %d free accounts, %s",
            len(free),
            "plan" if solved is not None else "no plan",
        )
        if solved is not None:
            slot = base.copy()
            slot[free] = solved
            return slot, True
        if free_count >= n:
            break
        free_count = min(n, 2 * free_count)
    return base, False


def _mip_accounts(
    split: np.ndarray,
    count: int,
    base: np.ndarray,
    candidates: Candidates,
    touched: np.ndarray,
) -> np.ndarray:
    """Return the split accounts plus their neighbours, ``count`` in all.

    Neighbours are accounts of the territories the split accounts touch that could move to
    another of those territories, those with the smallest extra distance first.
    """
    n = len(base)
    rows = np.arange(n)
    current = candidates.territory[rows, base]
    # Distance regret: how much farther the nearest other territory in the touched region is.
    # Accounts on a border of that region are the cheapest to move, whatever their size.
    inside = np.isin(candidates.territory, touched) & (candidates.territory != current[:, None])
    other = np.where(inside, candidates.cost, np.inf).min(axis=1)
    border = np.isin(current, touched) & np.isfinite(other)
    distance_regret = other - candidates.cost[rows, base]
    ranked = np.argsort(np.where(border, distance_regret, np.inf), kind="stable")
    ranked = ranked[~np.isin(ranked, split)]
    return np.union1d(split, ranked[: max(0, count - len(split))])


def _solve(
    free: np.ndarray,
    options: np.ndarray,
    base: np.ndarray,
    candidates: Candidates,
    rows: Bounds,
    settings: SolverSettings,
    time_limit_s: float,
    absolute_gap: float,
    *,
    integer: bool = True,
) -> np.ndarray | None:
    """Solve the model of the free accounts with every other account fixed at ``base``.

    Returns the free accounts' slots (MIP) or the solution vector over their options (LP),
    or None without a solution.
    """
    t, m = rows.lower.shape
    totals = territory_totals(base, candidates, rows)
    own = candidates.territory[free, base[free]]
    for k in range(m):
        totals[:, k] -= np.bincount(own, rows.values[free, k], minlength=t)

    n_free, width = options.shape
    pair_row = np.repeat(np.arange(n_free), width)
    pair_slot = options.ravel()
    pair_territory = candidates.territory[free[pair_row], pair_slot]
    n_pairs = len(pair_row)
    columns = np.arange(n_pairs)

    blocks = [sp.csr_matrix((np.ones(n_pairs), (pair_row, columns)), shape=(n_free, n_pairs))]
    lower, upper = [np.ones(n_free)], [np.ones(n_free)]
    for k in range(m):
        coefficient = rows.values[free[pair_row], k]
        blocks.append(sp.csr_matrix((coefficient, (pair_territory, columns)), shape=(t, n_pairs)))
        lower.append(rows.lower[:, k] - totals[:, k])
        upper.append(rows.upper[:, k] - totals[:, k])

    highs = highs_problem(
        candidates.cost[free[pair_row], pair_slot],
        sp.vstack(blocks, format="csr"),
        np.concatenate(lower),
        np.concatenate(upper),
        np.zeros(n_pairs),
        np.ones(n_pairs),
        np.full(n_pairs, integer),
        settings,
        time_limit_s,
    )
    highs.setOptionValue("mip_abs_gap", float(absolute_gap))
    highs.run()
    if highs.getInfo().primal_solution_status != 2:
        logger.debug("rounding %s: %s", "MIP" if integer else "LP", highs.getModelStatus())
        return None
    x = np.asarray(highs.getSolution().col_value)
    if not integer:
        return x
    chosen = x > 0.5
    slots = base[free].copy()
    slots[pair_row[chosen]] = pair_slot[chosen]
    return slots
