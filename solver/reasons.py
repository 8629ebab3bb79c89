"""Why an account changes owner, and what each territory gains and loses.

Each account whose territory differs from its current one gets the first reason that
applies, in this order. A *book* is what a territory's current owner holds today, with
locked accounts counted on their lock.

``unowned``
    The account has no current owner, or one that is not in the reps table.
``segment``
    The current owner is a rep of another role, so the account changes segment.
``attrition``
    The current owner is a rep of the role who is not active on the design date.
``lock``
    The account is locked or protected on its new owner.
``new_hire``
    The new owner owns no account of the role today.
``hierarchy``
    The account follows its family, which the plan keeps in one territory, to a
    territory other than the one most of the family's move cost sits with today.
``capacity``
    The current owner's book is above their capacity.
``viability``
    The new owner's book misses a viability minimum.
``balance``
    The current owner's book is above their balance band, or the new owner's is below theirs.
``compactness``
    Both books are within their goals, so the move only makes territories more compact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.families import Grouping
from solver.problem import RoleProblem

REASONS = (
    "unowned",
    "segment",
    "attrition",
    "lock",
    "new_hire",
    "hierarchy",
    "capacity",
    "viability",
    "balance",
    "compactness",
)


def move_reasons(
    problem: RoleProblem, assignment: np.ndarray, grouping: Grouping | None = None
) -> np.ndarray:
    """Return the reason of each account's move, and '' for accounts that stay."""
    assert problem.previous is not None
    previous = problem.previous
    locked = problem.locked if problem.locked is not None else np.full(problem.n_accounts, -1)
    # The books the plan starts from: today's, with locked accounts already on their lock.
    start = np.where(locked >= 0, locked, previous)
    owned = start >= 0
    books = np.zeros((problem.n_territories, len(problem.metric_names)))
    np.add.at(books, start[owned], problem.values[owned])
    has_book = np.bincount(previous[previous >= 0], minlength=problem.n_territories) > 0

    over_capacity = np.asarray((books > problem.capacity + 1e-9).any(axis=1))
    below_minimum = np.asarray((books < problem.minimum - 1e-9).any(axis=1))
    above_band = np.asarray((books > problem.balance_hi + 1e-9).any(axis=1))
    below_band = np.asarray((books < problem.balance_lo - 1e-9).any(axis=1))
    follows = _follows_family(problem, grouping)

    reasons = np.full(problem.n_accounts, "", dtype=object)
    for i in np.flatnonzero(assignment != previous):
        old, new = previous[i], assignment[i]
        if old < 0:
            reasons[i] = "unowned"
        elif locked[i] == new:
            reasons[i] = "lock"
        elif not has_book[new]:
            reasons[i] = "new_hire"
        elif follows[i]:
            reasons[i] = "hierarchy"
        elif over_capacity[old]:
            reasons[i] = "capacity"
        elif below_minimum[new]:
            reasons[i] = "viability"
        elif above_band[old] or below_band[new]:
            reasons[i] = "balance"
        else:
            reasons[i] = "compactness"
    return reasons


def _follows_family(problem: RoleProblem, grouping: Grouping | None) -> np.ndarray:
    """Return, per account, whether it is in a family whose current territory is another one."""
    if grouping is None or grouping.problem.previous is None:
        return np.zeros(problem.n_accounts, dtype=bool)
    assert problem.previous is not None
    sizes = np.bincount(grouping.family)
    family_previous = grouping.problem.previous[grouping.family]
    return (sizes[grouping.family] > 1) & (problem.previous != family_previous)


def add_move_columns(
    assignments: pd.DataFrame,
    territories: pd.DataFrame,
    problems: dict[str, RoleProblem],
    assignment: dict[str, np.ndarray],
    groupings: dict[str, Grouping],
    current_owner: dict[str, str | None],
    rep_roles: dict[str, str],
) -> None:
    """Add ``current_rep_id``, ``moved`` and ``reason`` to ``assignments`` and
    ``accounts_gained`` and ``accounts_lost`` to ``territories``, for roles with owners today.

    Both tables must list the roles' rows in the order of ``problems`` (as the output
    stage writes them).
    """
    if not any(p.previous is not None for p in problems.values()):
        return
    reasons, moved = [], []
    for role, problem in problems.items():
        if problem.previous is None:
            reasons.append(np.full(problem.n_accounts, "", dtype=object))
            moved.append(np.zeros(problem.n_accounts, dtype=bool))
            continue
        role_reasons = move_reasons(problem, assignment[role], groupings.get(role))
        reasons.append(_owner_reasons(role_reasons, problem, role, current_owner, rep_roles))
        moved.append(assignment[role] != problem.previous)

    assignments["current_rep_id"] = assignments["account_id"].map(current_owner)
    assignments["moved"] = np.concatenate(moved)
    assignments["reason"] = np.concatenate(reasons)

    # Counted over all roles, so a rep whose account moves to another role's rep loses it.
    changed = assignments.loc[assignments["moved"]]
    gained = changed["rep_id"].value_counts()
    lost = changed["current_rep_id"].value_counts()
    territories["accounts_gained"] = territories["rep_id"].map(gained).fillna(0).astype(np.int64)
    territories["accounts_lost"] = territories["rep_id"].map(lost).fillna(0).astype(np.int64)


def _owner_reasons(
    reasons: np.ndarray,
    problem: RoleProblem,
    role: str,
    current_owner: dict[str, str | None],
    rep_roles: dict[str, str],
) -> np.ndarray:
    """Tell apart the ``unowned`` accounts whose owner is a known rep: left, or another role."""
    refined = reasons.copy()
    for i in np.flatnonzero(reasons == "unowned"):
        owner = current_owner.get(str(problem.account_ids[i]))
        if owner in rep_roles:
            refined[i] = "attrition" if rep_roles[owner] == role else "segment"
    return refined
