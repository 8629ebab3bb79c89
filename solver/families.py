"""Account hierarchies: families, their roots and a problem solved on one row per family.

An accounts table may give each account a parent account. A *family* is a top-level
account (one with no parent) together with all its descendants. When a role keeps families
whole, the engine solves a grouped problem with one row per family and expands the
family assignment back to the accounts.

A family's metric is the sum of each member's own value. A parent row must therefore
contain the parent's own value, never a total that already includes its children.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from solver.errors import InputError, count_noun, input_error
from solver.formulation import stay_matrix
from solver.geo import unit_vectors
from solver.precheck import _num
from solver.problem import MoveLimit, RoleProblem
from solver.table_io import _text

logger = logging.getLogger(__name__)

#: Number of account ids a warning or an error lists before it stops.
_SHOWN_IDS = 5

#: Maximum length of a cycle an error spells out in full. Longer cycles show their first ids.
_SHOWN_CYCLE = 10


def family_roots(
    account_ids: pd.Series, parents: pd.Series, *, file: str, column: str
) -> pd.Series:
    """Find the top-level account of each account's family.

    Parameters
    ----------
    account_ids
        Unique account ids as text, indexed by the 0-based data row of the file.
    parents
        Parent account id of each row, with the same index. None, NaN or an empty string
        marks a top-level account.
    file, column
        Name of the accounts file and of its parent column, used in error messages.

    Returns
    -------
    pandas.Series
        Root account id of each row (object dtype, same index). A top-level account is
        its own root.

    Raises
    ------
    InputError
        For an account that is its own parent, a parent id that is not an account id of
        the table, or parents that form a cycle.
    """
    ids = account_ids.to_numpy(dtype=object)
    parent_text = _parent_text(parents)
    parent = _parent_index(ids, parent_text)

    # Messages name the row a spreadsheet shows, from each row's index label.
    rows = account_ids.index.to_numpy()
    _check_self_parents(parent, parent_text, rows, file, column)
    _check_orphans(parent, parent_text, rows, file, column)

    root = _root_pointers(parent)
    rootless = np.flatnonzero(parent[root] >= 0)
    if len(rootless):
        raise _cycle_error(ids, parent, int(rootless[0]), rows, file, column)
    return pd.Series(ids[root], index=account_ids.index, dtype=object)


def _parent_text(parents: pd.Series) -> np.ndarray:
    """Return the parent ids as stripped text, with None for an empty cell.

    The cells are read as the tables stage reads ids, so a parent stored as the number
    ``123.0`` still matches the account id ``123``.
    """
    return _text(parents).to_numpy(dtype=object)


def _parent_index(ids: np.ndarray, parent_text: np.ndarray) -> np.ndarray:
    """Return the row of each parent: ``-1`` for no parent, ``-2`` for an unknown id."""
    index = pd.Index(ids)
    if not index.is_unique:
        raise ValueError("account ids must be unique (the tables stage checks them)")

    has_parent = pd.notna(parent_text)
    parent = np.full(len(ids), -1, dtype=np.int64)
    found = index.get_indexer(parent_text[has_parent])
    parent[has_parent] = np.where(found >= 0, found, -2)
    return parent


def _check_self_parents(
    parent: np.ndarray, text: np.ndarray, rows: np.ndarray, file: str, column: str
) -> None:
    own = np.flatnonzero(parent == np.arange(len(parent)))
    if not len(own):
        return

    problem = "is the row's own account id, so the account would be its own parent"
    raise input_error(
        file,
        _with_count(problem, len(own)),
        "leave the cell empty for a top-level account",
        row=int(rows[own[0]]) + 2,
        column=column,
        value=text[own[0]],
    )


def _check_orphans(
    parent: np.ndarray, text: np.ndarray, rows: np.ndarray, file: str, column: str
) -> None:
    orphans = np.flatnonzero(parent == -2)
    if not len(orphans):
        return

    raise input_error(
        file,
        _with_count("is not an account id of this table", len(orphans)),
        f"set '{column}' to the account id of another row, or leave it empty for a "
        "top-level account",
        row=int(rows[orphans[0]]) + 2,
        column=column,
        value=text[orphans[0]],
    )


def _with_count(problem: str, count: int) -> str:
    if count > 1:
        problem += f" ({count} rows in total have this problem)"
    return problem


def _root_pointers(parent: np.ndarray) -> np.ndarray:
    """Return the root row of every row, by pointer jumping.

    Each pass replaces every pointer by its pointer's pointer, so after ``k`` passes a
    row points ``2**k`` levels up or at its root. A chain has at most ``n - 1`` levels, so
    ``bit_length(n - 1)`` passes reach every root in O(n log n) with no recursion. A row
    on a cycle, or leading into one, still points at a row with a parent afterwards.
    """
    n = len(parent)
    is_root = parent < 0
    pointer = np.where(is_root, np.arange(n), parent)
    for _ in range(max(n - 1, 1).bit_length()):
        if is_root[pointer].all():
            break
        pointer = pointer[pointer]
    return pointer


def _cycle_error(
    ids: np.ndarray, parent: np.ndarray, start: int, rows: np.ndarray, file: str, column: str
) -> InputError:
    """Build the error for the cycle that the parents of row ``start`` lead to."""
    cycle = _find_cycle(parent, start)
    first = cycle.index(min(cycle))
    ordered = cycle[first:] + cycle[:first]

    names = [str(ids[row]) for row in ordered]
    if len(names) > _SHOWN_CYCLE:
        names = names[:_SHOWN_CYCLE] + [f"... ({len(ordered)} accounts in total)"]
    path = " -> ".join([*names, str(ids[ordered[0]])])
    return input_error(
        file,
        f"accounts {path} form a cycle, so none of them has a top-level account",
        "break the cycle by leaving one parent empty",
        row=int(rows[ordered[0]]) + 2,
        column=column,
    )


def _find_cycle(parent: np.ndarray, start: int) -> list[int]:
    """Return the rows of the cycle reached from row ``start``, in parent order."""
    seen: dict[int, int] = {}
    path: list[int] = []
    row = start
    while row not in seen:
        seen[row] = len(path)
        path.append(row)
        row = int(parent[row])
    return path[seen[row] :]


def warn_prerolled(
    account_ids: pd.Series, roots: pd.Series, parents: pd.Series, values: pd.DataFrame
) -> None:
    """Warn about parents whose value looks like a total that already includes children.

    A family's metric adds each member's own value. A parent whose value equals the sum of
    its direct children's values (within a relative 1e-9) and is above 0 is probably a
    pre-rolled total, which the family total would then count twice. One warning is logged
    per metric, with the number of such parents and their first ids.

    Parameters
    ----------
    account_ids, roots, parents
        Account ids, root ids from :func:`family_roots` and parent ids, with the same
        index.
    values
        One float column per metric, with the same index.
    """
    if (roots.to_numpy(dtype=object) == account_ids.to_numpy(dtype=object)).all():
        return

    ids = account_ids.to_numpy(dtype=object)
    parent = _parent_index(ids, _parent_text(parents))
    child = np.flatnonzero(parent >= 0)
    has_children = np.bincount(parent[child], minlength=len(ids)) > 0

    for metric in values.columns:
        own = values[metric].to_numpy(dtype=float)
        children = np.bincount(parent[child], weights=own[child], minlength=len(ids))
        suspect = has_children & (own > 0) & np.isclose(own, children, rtol=1e-9, atol=0.0)
        if suspect.any():
            _log_prerolled(str(metric), ids[suspect])


def _log_prerolled(metric: str, parent_ids: np.ndarray) -> None:
    shown = ", ".join(str(value) for value in parent_ids[:_SHOWN_IDS])
    logger.warning(
        "metric '%s': found %s whose value equals the sum of their direct children's "
        "values (first ids: %s). A family adds each member's own value, so a parent value "
        "that already includes the children counts them twice. Give each parent its own "
        "value only",
        metric,
        count_noun(len(parent_ids), "parent accounts"),
        shown,
    )


@dataclass(frozen=True)
class Grouping:
    """A problem with one row per family, and the family row of each original account."""

    problem: RoleProblem
    family: np.ndarray

    def expand(self, assignment: np.ndarray) -> np.ndarray:
        """Return the territory of each original account from a territory per family."""
        if len(assignment) != self.problem.n_accounts:
            raise ValueError(
                f"assignment has {len(assignment)} entries, expected one per family "
                f"({self.problem.n_accounts})"
            )
        return np.asarray(assignment)[self.family]


def group_problem(problem: RoleProblem, roots: np.ndarray) -> Grouping:
    """Build the problem with one row per family.

    Family rows follow the first appearance of each root in ``problem.account_ids``. A
    family's values and weights are the sums of its members'. Its point is the weighted
    mean of its members' points on the unit sphere. Territories and bounds stay as they
    are, and so does ``move_budget``. Each of ``move_limits`` gets a stay matrix that
    counts every member, so budgets still count accounts, not families.

    Parameters
    ----------
    problem
        The problem with one row per account.
    roots
        ``(n,)`` root account id of each account, as :func:`family_roots` returns them.

    Raises
    ------
    InputError
        When two members of one family are locked to different territories.
    """
    if len(roots) != problem.n_accounts:
        raise ValueError(f"roots has {len(roots)} entries, expected {problem.n_accounts}")

    codes, uniques = pd.factorize(np.asarray(roots, dtype=object))
    family = codes.astype(np.int64)
    if len(uniques) == problem.n_accounts:
        return Grouping(problem, np.arange(problem.n_accounts))

    size = len(uniques)
    root_ids = np.asarray(uniques, dtype=object)
    previous, move_cost = _family_previous(problem, family, size)
    grouped = problem.replace(
        account_ids=root_ids,
        values=_sum_columns(family, problem.values, size),
        weights=np.bincount(family, weights=problem.weights, minlength=size),
        coords=_family_coords(family, problem.coords, problem.weights, size),
        previous=previous,
        move_cost=move_cost,
        move_limits=_family_limits(problem, family, size),
        locked=_family_locks(problem, family, root_ids),
    )
    return Grouping(grouped, family)


def _family_limits(problem: RoleProblem, family: np.ndarray, size: int) -> tuple[MoveLimit, ...]:
    """Return the budgets on family rows, still counting every member that moves.

    A family that goes to territory ``t`` keeps in place exactly its members whose
    previous territory is ``t``, so each budget's stay matrix sums the members by family.
    """
    limits = []
    for limit in problem.move_limits:
        member_stay = stay_matrix(problem, limit)
        stay = np.zeros((size, problem.n_territories))
        np.add.at(stay, family, member_stay)
        limits.append(dataclasses.replace(limit, stay=stay))
    return tuple(limits)


def _sum_columns(family: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    columns = [
        np.bincount(family, weights=values[:, k], minlength=size) for k in range(values.shape[1])
    ]
    return np.column_stack(columns) if columns else np.zeros((size, 0))


def _family_coords(
    family: np.ndarray, coords: np.ndarray, weights: np.ndarray, size: int
) -> np.ndarray:
    """Return the weighted mean point of each family as latitude and longitude."""
    total = np.bincount(family, weights=weights, minlength=size)
    # A family whose weights add up to 0 would have no mean, so its members count equally.
    member_weight = np.where(total[family] > 0, weights, 1.0)
    vectors = _sum_columns(family, unit_vectors(coords) * member_weight[:, None], size)

    x, y, z = vectors[:, 0], vectors[:, 1], vectors[:, 2]
    latitude = np.degrees(np.arctan2(z, np.hypot(x, y)))
    longitude = np.degrees(np.arctan2(y, x))

    # Members on opposite sides of the globe can cancel out, and then the mean has no
    # direction. The first member's point serves as the family's point.
    cancelled = np.linalg.norm(vectors, axis=1) < 1e-12
    if cancelled.any():
        first = np.unique(family, return_index=True)[1]
        latitude[cancelled] = coords[first[cancelled], 0]
        longitude[cancelled] = coords[first[cancelled], 1]
    return np.column_stack([latitude, longitude])


def _family_previous(
    problem: RoleProblem, family: np.ndarray, size: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Return the previous territory and the move cost of each family.

    A family's previous territory is the one whose members have the largest total move
    cost, then the most members, then the lowest index. It is ``-1`` when no member had one.
    Its move cost is the total cost of the members previously in that territory. Without
    ``move_cost`` the family move cost stays None.
    """
    if problem.previous is None:
        return None, None

    n_terr = problem.n_territories
    cost = problem.move_cost if problem.move_cost is not None else np.zeros(problem.n_accounts)
    had = np.flatnonzero(problem.previous >= 0)
    key = family[had] * n_terr + problem.previous[had].astype(np.int64)
    pairs, inverse = np.unique(key, return_inverse=True)
    pair_cost = np.bincount(inverse, weights=cost[had], minlength=len(pairs))
    pair_members = np.bincount(inverse, minlength=len(pairs))

    # Sort the (family, territory) pairs by family, then by cost from high to low, then by
    # members from many to few (so a zero continuity cost still picks where most of the
    # family is), then by territory. The first pair of each family is its previous one.
    pair_family, pair_territory = np.divmod(pairs, n_terr)
    order = np.lexsort((pair_territory, -pair_members, -pair_cost, pair_family))
    families, first = np.unique(pair_family[order], return_index=True)
    best = order[first]

    previous = np.full(size, -1, dtype=np.int64)
    previous[families] = pair_territory[best]
    if problem.move_cost is None:
        return previous, None

    # NOTE: the continuity cost counts only the members of the family's main territory
    # today. Members elsewhere stay only if the family goes to their territory, and that
    # saving is left out of the objective. The budgets count every member exactly.
    move_cost = np.zeros(size)
    move_cost[families] = pair_cost[best]
    return previous, move_cost


def _family_locks(
    problem: RoleProblem, family: np.ndarray, root_ids: np.ndarray
) -> np.ndarray | None:
    """Return the territory each family is locked to, ``-1`` where it is free."""
    if problem.locked is None:
        return None

    members = np.flatnonzero(problem.locked >= 0)
    lock = problem.locked[members].astype(np.int64)
    lowest = np.full(len(root_ids), problem.n_territories, dtype=np.int64)
    highest = np.full(len(root_ids), -1, dtype=np.int64)
    np.minimum.at(lowest, family[members], lock)
    np.maximum.at(highest, family[members], lock)

    conflicts = np.flatnonzero((highest >= 0) & (lowest != highest))
    if len(conflicts):
        raise _lock_conflict(problem, problem.locked, family, int(conflicts[0]), root_ids)
    return highest


def _lock_conflict(
    problem: RoleProblem,
    locked: np.ndarray,
    family: np.ndarray,
    conflict: int,
    root_ids: np.ndarray,
) -> InputError:
    """Build the error naming the first two members of a family that are locked apart."""
    members = np.flatnonzero((family == conflict) & (locked >= 0))
    first = int(members[0])
    other = int(members[locked[members] != locked[first]][0])

    def describe(row: int) -> str:
        territory = problem.territories[int(locked[row])]
        where = f"{territory.territory_id}, rep {territory.rep_id}"
        return f"{problem.account_ids[row]} (locked to {where})"

    return InputError(
        f"role {problem.role}: accounts {describe(first)} and {describe(other)} belong to "
        f"the family of {root_ids[conflict]}, which must stay in one territory. "
        "Fix: lock them to the same rep or remove one lock."
    )


def oversized_families(grouping: Grouping, member_counts: bool = True) -> list[str]:
    """List the families of several accounts that no territory can hold.

    A family is oversized when, on some metric, its value is above the upper bound
    (band maximum or capacity) of every territory. Single accounts are left out, because
    the pre-checks already report an account too large for any territory.

    Parameters
    ----------
    grouping
        The grouped problem and the family of each account.
    member_counts
        Whether each message shows the number of accounts in the family. Default True.

    Returns
    -------
    list of str
        One message per oversized family, in family order.
    """
    problem = grouping.problem
    if problem.n_territories == 0:
        return []

    sizes = np.bincount(grouping.family, minlength=problem.n_accounts)
    largest = problem.upper.max(axis=0)
    too_big = (problem.values > largest) & (sizes > 1)[:, None]
    return [
        _oversized_message(problem, int(row), int(sizes[row]), too_big[row], largest, member_counts)
        for row in np.flatnonzero(too_big.any(axis=1))
    ]


def _oversized_message(
    problem: RoleProblem,
    row: int,
    size: int,
    too_big: np.ndarray,
    largest: np.ndarray,
    member_counts: bool,
) -> str:
    counted = f" ({count_noun(size, 'accounts')})" if member_counts else ""
    excesses = [
        f"{problem.metric_names[k]} {_num(problem.values[row, k])} is above the largest "
        f"territory maximum {_num(largest[k])}"
        for k in np.flatnonzero(too_big)
    ]
    return (
        f"family of {problem.account_ids[row]}{counted}: {' and '.join(excesses)} "
        f"of role {problem.role}"
    )
