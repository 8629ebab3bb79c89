"""Local search that turns a near-plan into a plan within every bound, then improves it.

A rounded plan breaks some rows by a little. Repair moves one account at a time to another
of its candidates. Every move is scored on all candidates at once with numpy. The best
moves are then applied one by one in a short Python loop that rechecks each one against
the current totals, so moves never undo each other.

* Feasibility phase: accept a move only if it lowers the total violation (the sum over
  rows of the distance outside the bounds, in units of a mean territory). When no single
  move helps, swap two accounts between a violated territory and a neighbour.
* Improvement phase: accept a move only if it keeps both territories within their bounds
  and lowers the cost.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from solver.scale.candidates import Candidates
from solver.scale.lagrange import Bounds

logger = logging.getLogger(__name__)

#: Largest number of moves tried per sweep.
MOVES_PER_SWEEP = 50_000

_EPS = 1e-12


def violation(totals: np.ndarray, rows: Bounds) -> np.ndarray:
    """Return the violation of each row set in ``totals`` (last axis is the metric)."""
    over = np.maximum(totals - rows.upper, 0.0)
    under = np.maximum(rows.lower - totals, 0.0)
    return (over + under).sum(axis=-1)


def territory_totals(slot: np.ndarray, candidates: Candidates, rows: Bounds) -> np.ndarray:
    """Return ``(T, m)`` totals of a plan given as a candidate slot per account."""
    territory = candidates.territory[np.arange(len(slot)), slot]
    t = rows.lower.shape[0]
    return np.column_stack(
        [
            np.bincount(territory, rows.values[:, k], minlength=t)
            for k in range(rows.values.shape[1])
        ]
    )


def repair(
    slot: np.ndarray, candidates: Candidates, rows: Bounds, deadline: float
) -> tuple[np.ndarray, bool]:
    """Return an improved plan (candidate slot per account) and whether it is within bounds."""
    slot = slot.copy()
    totals = territory_totals(slot, candidates, rows)

    sweep = 0
    while violation(totals, rows).sum() > _EPS and time.perf_counter() < deadline:
        sweep += 1
        moved = _sweep(slot, totals, candidates, rows, feasibility=True)
        if moved == 0:
            moved = _swap_sweep(slot, totals, candidates, rows)
        logger.debug(
            "repair sweep %d: %d changes, violation %.4g",
            sweep,
            moved,
            violation(totals, rows).sum(),
        )
        if moved == 0:
            break

    feasible = bool(violation(totals, rows).sum() <= _EPS)
    if not feasible:
        return slot, False

    while time.perf_counter() < deadline:
        if _sweep(slot, totals, candidates, rows, feasibility=False) == 0:
            break
    return slot, True


def _sweep(
    slot: np.ndarray,
    totals: np.ndarray,
    candidates: Candidates,
    rows: Bounds,
    *,
    feasibility: bool,
) -> int:
    """Propose the best move per account, apply those still good in order; return the count."""
    n = len(slot)
    accounts = np.arange(n)
    source = candidates.territory[accounts, slot]
    values = rows.values

    if feasibility:
        priority = _violation_change(slot, source, totals, candidates, rows)
    else:
        priority = _cost_change(slot, candidates)
        priority = np.where(_stays_within(source, totals, candidates, rows), priority, np.inf)
    priority[accounts, slot] = np.inf

    best = priority.argmin(axis=1)
    score = priority[accounts, best]
    proposed = np.flatnonzero(score < -_EPS)
    if len(proposed) == 0:
        return 0
    proposed = proposed[np.argsort(score[proposed], kind="stable")[:MOVES_PER_SWEEP]]

    moved = 0
    for i in proposed:
        j = best[i]
        s, t = source[i], candidates.territory[i, j]
        if not _still_good(totals, rows, s, t, values[i], feasibility, candidates, i, slot[i], j):
            continue
        totals[s] -= values[i]
        totals[t] += values[i]
        slot[i] = j
        moved += 1
    return moved


def _violation_change(
    slot: np.ndarray,
    source: np.ndarray,
    totals: np.ndarray,
    candidates: Candidates,
    rows: Bounds,
) -> np.ndarray:
    """Return ``(n, K)`` move priorities: extra cost per unit of violation removed (lower first).

    A move that removes no violation gets ``inf``.
    """
    values = rows.values
    source_before = violation(totals[source], _rows_at(rows, source))
    source_after = violation(totals[source] - values, _rows_at(rows, source))
    target = candidates.territory
    target_rows = _rows_at(rows, target)
    target_before = violation(totals[target], target_rows)
    target_after = violation(totals[target] + values[:, None, :], target_rows)
    change = (source_after - source_before)[:, None] + target_after - target_before

    # Extra cost per unit of violation removed, so cheap fixes come first. A move that
    # also saves cost counts as free, and among free moves the larger fix comes first.
    scale = float(np.mean(candidates.cost)) or 1.0
    extra = np.maximum(_cost_change(slot, candidates), 0.0) / scale
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = extra / np.maximum(-change, _EPS)
    return np.where(change < -_EPS, ratio + 1e-9 * change - 1e-12, np.inf)


def _cost_change(slot: np.ndarray, candidates: Candidates) -> np.ndarray:
    current = candidates.cost[np.arange(len(slot)), slot]
    return candidates.cost - current[:, None]


def _stays_within(
    source: np.ndarray, totals: np.ndarray, candidates: Candidates, rows: Bounds
) -> np.ndarray:
    """Return ``(n, K)``: True where the move keeps both territories within every bound."""
    values = rows.values
    after_source = totals[source] - values
    source_ok = np.all(after_source >= rows.lower[source] - _EPS, axis=1)
    target = candidates.territory
    after_target = totals[target] + values[:, None, :]
    target_ok = np.all(after_target <= rows.upper[target] + _EPS, axis=2)
    return source_ok[:, None] & target_ok


def _still_good(totals, rows, s, t, value, feasibility, candidates, i, current, j) -> bool:
    """Recheck one move against the current totals."""
    if s == t:
        return False
    if feasibility:
        before = violation(
            totals[[s, t]], Bounds(rows.values, rows.lower[[s, t]], rows.upper[[s, t]])
        )
        after_totals = np.stack([totals[s] - value, totals[t] + value])
        after = violation(after_totals, Bounds(rows.values, rows.lower[[s, t]], rows.upper[[s, t]]))
        return bool(after.sum() < before.sum() - _EPS)
    if candidates.cost[i, j] >= candidates.cost[i, current] - _EPS:
        return False
    return bool(
        np.all(totals[s] - value >= rows.lower[s] - _EPS)
        and np.all(totals[t] + value <= rows.upper[t] + _EPS)
    )


def _rows_at(rows: Bounds, index: np.ndarray) -> Bounds:
    return Bounds(rows.values, rows.lower[index], rows.upper[index])


#: Accounts per side considered for swaps between two territories.
SWAP_SIDE = 300


def _swap_sweep(slot: np.ndarray, totals: np.ndarray, candidates: Candidates, rows: Bounds) -> int:
    """Swap pairs of accounts between a violated territory and a neighbour; return the count.

    A swap moves account ``i`` from ``s`` to ``t`` and account ``j`` from ``t`` to ``s``.
    It fixes what no single move can: a band that needs a large account out and a small one
    in, with the account count unchanged.
    """
    n = len(slot)
    current = candidates.territory[np.arange(n), slot]
    broken = np.flatnonzero(violation(totals, rows) > _EPS)
    swaps = 0
    for s in broken:
        in_s = np.flatnonzero(current == s)
        neighbours = np.unique(candidates.territory[in_s])
        best = (0.0, 0.0, -1, -1, -1, -1)
        for t in neighbours[neighbours != s]:
            found = _best_swap(int(s), int(t), current, slot, totals, candidates, rows)
            if found is not None and (found[0], found[1]) < (best[0], best[1]):
                best = found
        change, _, i, j, slot_i, slot_j = best
        if i < 0 or change >= -_EPS:
            continue
        t = current[j]
        totals[s] += rows.values[j] - rows.values[i]
        totals[t] += rows.values[i] - rows.values[j]
        slot[i], slot[j] = slot_i, slot_j
        current[i], current[j] = t, s
        swaps += 1
    return swaps


def _best_swap(s, t, current, slot, totals, candidates, rows):
    """Return ``(violation change, cost change, i, j, new slot i, new slot j)`` or None."""
    side_i = _movers(s, t, current, slot, candidates)
    side_j = _movers(t, s, current, slot, candidates)
    if side_i is None or side_j is None:
        return None
    (i, slot_i, cost_i), (j, slot_j, cost_j) = side_i, side_j

    delta = rows.values[i][:, None, :] - rows.values[j][None, :, :]
    pair = Bounds(rows.values, rows.lower[[s, t]], rows.upper[[s, t]])
    before = violation(totals[[s, t]], pair).sum()
    after_s = violation(totals[s] - delta, Bounds(rows.values, rows.lower[s], rows.upper[s]))
    after_t = violation(totals[t] + delta, Bounds(rows.values, rows.lower[t], rows.upper[t]))
    change = after_s + after_t - before
    cost = cost_i[:, None] + cost_j[None, :]

    scale = float(np.abs(cost).mean()) or 1.0
    score = np.where(change < -_EPS, change + 1e-9 * cost / scale, np.inf)
    a, b = np.unravel_index(int(np.argmin(score)), score.shape)
    if not np.isfinite(score[a, b]):
        return None
    return float(change[a, b]), float(cost[a, b]), i[a], j[b], slot_i[a], slot_j[b]


def _movers(source, target, current, slot, candidates):
    """Return the accounts of ``source`` that may go to ``target``: ids, new slots, cost change."""
    members = np.flatnonzero(current == source)
    match = candidates.territory[members] == target
    able = match.any(axis=1)
    if not able.any():
        return None
    members = members[able]
    new_slot = match[able].argmax(axis=1)
    cost = candidates.cost[members, new_slot] - candidates.cost[members, slot[members]]
    keep = np.argsort(cost, kind="stable")[:SWAP_SIDE]
    return members[keep], new_slot[keep], cost[keep]
