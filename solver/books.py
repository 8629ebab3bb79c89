"""Today's books in a role's problem: current owners, continuity, disruption budgets, locks.

A role's :class:`~solver.problem.RoleProblem` gains, from the accounts and reps tables:

* ``previous``: the territory of each account's current owner, or -1 when the account has
  no current owner, or one that is not active in the role on the design date (unowned);
* ``move_cost``: ``objective.continuity_km`` times the compactness weight, times the
  account's ``continuity_weight`` metric divided by its mean over the role, so moving an
  account of average weight costs as much as taking it that many km further away;
* ``move_limits``: the role's disruption budgets;
* ``locked``: the territory of each pinned account (a ``locked_to`` column, the scenario's
  ``locks`` list, or the role's ``protect`` rule, which pins an account to its current
  owner), and -1 for the others;
* a per-rep maximum of accounts (the reps table's ``max_accounts`` column) on top of the
  role's capacity.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from solver.errors import InfeasiblePlanError, InputError, count_noun
from solver.families import (
    Grouping,
    family_roots,
    group_problem,
    oversized_families,
    warn_prerolled,
)
from solver.precheck import _num
from solver.problem import MoveLimit, RoleProblem
from solver.scenario import ACCOUNT_COUNT, Scenario
from solver.table_io import _read_table, _text

logger = logging.getLogger(__name__)


def apply_books(
    scenario: Scenario,
    role_name: str,
    problem: RoleProblem,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
) -> RoleProblem:
    """Return ``problem`` with today's owners, continuity cost, budgets, locks and rep caps.

    ``accounts`` are the role's rows of the accounts table, in the problem's order, and
    ``reps`` is the whole reps table.
    """
    changes: dict[str, object] = {}
    capacity = _rep_caps(problem, reps)
    if capacity is not None:
        changes["capacity"] = capacity

    previous = None
    if "current_owner" in accounts.columns:
        previous = _previous(problem, accounts["current_owner"], reps)
        changes["previous"] = previous
        changes["move_cost"] = _move_cost(scenario, role_name, problem, previous)
        changes["move_limits"] = move_limits(scenario, role_name, problem, previous)
    else:
        _require_owners(scenario, role_name)

    locked = _locks(scenario, role_name, problem, accounts, reps, previous)
    if locked is not None:
        changes["locked"] = locked
    return problem.replace(**changes) if changes else problem


# -- today's owners and continuity --------------------------------------------------------


def _previous(problem: RoleProblem, owners: pd.Series, reps: pd.DataFrame) -> np.ndarray:
    index = {territory.rep_id: t for t, territory in enumerate(problem.territories)}
    previous = np.array([index.get(owner, -1) if owner else -1 for owner in owners], dtype=np.int64)

    unknown = owners.notna() & ~owners.isin(reps["rep_id"])
    if unknown.any():
        logger.warning(
            "%s: current owners not in the reps table, so their accounts count as unowned: "
            "%s (first: %s)",
            problem.role,
            count_noun(int(unknown.sum()), "accounts"),
            ", ".join(owners[unknown].astype(str).iloc[:5]),
        )
    other_role = set(reps.loc[reps["role"] != problem.role, "rep_id"])
    elsewhere = owners.isin(other_role)
    if elsewhere.any():
        logger.warning(
            "%s: current owners of another role, so their accounts count as unowned here: "
            "%s (first: %s)",
            problem.role,
            count_noun(int(elsewhere.sum()), "accounts"),
            ", ".join(owners[elsewhere].astype(str).iloc[:5]),
        )
    return previous


def _move_cost(
    scenario: Scenario, role_name: str, problem: RoleProblem, previous: np.ndarray
) -> np.ndarray:
    role = scenario.roles[role_name]
    values = problem.values[:, problem.metric_names.index(role.continuity_weight)]
    mean = float(values.mean()) if len(values) else 0.0
    relative = values / mean if mean > 0 else np.ones_like(values)
    return scenario.objective.continuity_km * scenario.objective.compactness * relative


def move_limits(
    scenario: Scenario, role_name: str, problem: RoleProblem, previous: np.ndarray
) -> tuple[MoveLimit, ...]:
    """Return the role's disruption budgets in metric units of today's books."""
    budget = scenario.roles[role_name].disruption
    if budget is None:
        return ()
    key = f"roles.{role_name}.disruption"
    limits = []
    if budget.max_accounts_moved is not None:
        limits.append(
            MoveLimit(
                ACCOUNT_COUNT, None, float(budget.max_accounts_moved), f"{key}.max_accounts_moved"
            )
        )
    for metric, share in budget.max_share_moved.items():
        total = _book_total(problem, previous >= 0, metric)
        limits.append(MoveLimit(metric, None, share * total, f"{key}.max_share_moved.{metric}"))

    per = budget.per_territory
    for t in range(problem.n_territories):
        if per.max_accounts_lost is not None:
            limits.append(
                MoveLimit(
                    ACCOUNT_COUNT,
                    t,
                    float(per.max_accounts_lost),
                    f"{key}.per_territory.max_accounts_lost",
                )
            )
        for metric, share in per.max_share_lost.items():
            total = _book_total(problem, previous == t, metric)
            limits.append(
                MoveLimit(metric, t, share * total, f"{key}.per_territory.max_share_lost.{metric}")
            )
    return tuple(limits)


def _book_total(problem: RoleProblem, inside: np.ndarray, metric: str) -> float:
    return float(problem.values[inside, problem.metric_names.index(metric)].sum())


def _require_owners(scenario: Scenario, role_name: str) -> None:
    role = scenario.roles[role_name]
    for key, value in (("disruption", role.disruption), ("protect", role.protect)):
        if value is not None:
            raise InputError(
                f"{scenario.source.name}, key 'roles.{role_name}.{key}': needs today's owners, "
                "but no current owner column is mapped. Fix: set "
                "inputs.accounts.columns.current_owner, or remove the key."
            )


def _rep_caps(problem: RoleProblem, reps: pd.DataFrame) -> np.ndarray | None:
    """Return the capacity with each rep's own maximum of accounts, or None without one."""
    if "rep_max_accounts" not in reps.columns:
        return None
    limits = dict(zip(reps["rep_id"], reps["rep_max_accounts"], strict=True))
    capacity = problem.capacity.copy()
    k = problem.metric_names.index(ACCOUNT_COUNT)
    for t, territory in enumerate(problem.territories):
        capacity[t, k] = min(capacity[t, k], float(limits.get(territory.rep_id, np.inf)))
    return capacity


# -- locks --------------------------------------------------------------------------------


def _locks(
    scenario: Scenario,
    role_name: str,
    problem: RoleProblem,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    previous: np.ndarray | None,
) -> np.ndarray | None:
    """Return each account's pinned territory (-1 when free), or None when none is pinned."""
    requested: dict[int, tuple[str, str]] = {}
    position = {account: i for i, account in enumerate(problem.account_ids)}

    if "locked_to" in accounts.columns:
        column = scenario.inputs.accounts.columns.locked_to
        for i, rep in enumerate(accounts["locked_to"]):
            if rep:
                requested[i] = (rep, f"column '{column}' of {scenario.inputs.accounts.path.name}")
    for n, lock in enumerate(scenario.locks):
        if lock.account not in position:
            continue
        where = f"key 'locks.{n}' of {scenario.source.name}"
        earlier = requested.get(position[lock.account])
        if earlier is not None:
            raise InputError(
                f"{where}: account '{lock.account}' is locked to '{lock.rep}', but "
                f"{earlier[1]} locks it to '{earlier[0]}'. Fix: keep one lock per account."
            )
        requested[position[lock.account]] = (lock.rep, where)

    locked = np.full(problem.n_accounts, -1, dtype=np.int64)
    index = {territory.rep_id: t for t, territory in enumerate(problem.territories)}
    for i, (rep, where) in sorted(requested.items()):
        locked[i] = _lock_target(
            scenario, role_name, problem.account_ids[i], rep, where, index, reps
        )

    protect = scenario.roles[role_name].protect
    if protect is not None and previous is not None:
        values = problem.values[:, problem.metric_names.index(protect.metric)]
        protected = (values > protect.above) & (previous >= 0) & (locked < 0)
        locked[protected] = previous[protected]
        logger.info(
            "%s: %d protected accounts stay with their owner", role_name, int(protected.sum())
        )

    return locked if (locked >= 0).any() else None


def _lock_target(
    scenario: Scenario,
    role_name: str,
    account: str,
    rep: str,
    where: str,
    index: dict[str, int],
    reps: pd.DataFrame,
) -> int:
    if rep in index:
        return index[rep]
    known = reps.loc[reps["rep_id"] == rep]
    if known.empty:
        problem = "is not a rep id of the reps table"
        fix = "use a rep id of the reps table, or remove the lock"
    elif known["role"].iloc[0] != role_name:
        problem = (
            f"is a rep of role {known['role'].iloc[0]}, but the account is in role {role_name}"
        )
        fix = f"lock the account to a rep of role {role_name}, or remove the lock"
    else:
        problem = f"is not active on the design date {scenario.design_date.isoformat()}"
        fix = "lock the account to an active rep, or remove the lock"
    raise InputError(
        f"{where}: account '{account}' is locked to '{rep}', which {problem}. Fix: {fix}."
    )


def check_locks(problem: RoleProblem) -> None:
    """Raise when the locked accounts alone break a territory's maximum.

    The message names the territory, the metric, the locked total, the maximum, the excess
    and the loosest tolerance that would let the locks stand.
    """
    if problem.locked is None:
        return
    pinned = problem.locked >= 0
    totals = np.zeros((problem.n_territories, len(problem.metric_names)))
    np.add.at(totals, problem.locked[pinned], problem.values[pinned])

    findings = []
    for t, k in zip(*np.nonzero(totals > problem.upper + 1e-9), strict=True):
        territory = problem.territories[t]
        metric = problem.metric_names[k]
        upper = problem.upper[t, k]
        excess = totals[t, k] - upper
        fix = f"unlock accounts worth at least {_num(excess)} of {metric} from {territory.rep_id}"
        # Both the band and the capacity may be below the locked total, and then both
        # must change for the locks to stand.
        loosen = []
        if totals[t, k] > problem.balance_hi[t, k] + 1e-9 and problem.target[t, k] > 0:
            needed = totals[t, k] / problem.target[t, k] - 1
            loosen.append(f"widen the {metric} tolerance to at least {needed:.1%}")
        if totals[t, k] > problem.capacity[t, k] + 1e-9:
            ramp = problem.territories[t].ramp_factor
            full = totals[t, k] / ramp if ramp > 0 else totals[t, k]
            loosen.append(
                f"raise the {metric} capacity of a fully ramped rep to at least {_num(full)}"
            )
        if loosen:
            fix += ", or " + " and ".join(loosen)
        findings.append(
            f"role {problem.role}: the accounts locked to {territory.rep_id} "
            f"({territory.territory_id}) hold {_num(totals[t, k])} of {metric}, above its "
            f"maximum {_num(upper)} by {_num(excess)}. Fix: {fix}."
        )
    if findings:
        raise InfeasiblePlanError("The locked accounts break a territory's goals:", findings)


# -- every role of a scenario ---------------------------------------------------------------


def with_books(
    scenario: Scenario,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    members: dict[str, np.ndarray],
    problems: dict[str, RoleProblem],
) -> tuple[dict[str, RoleProblem], dict[str, Grouping]]:
    """Apply today's books to every role, and group families where a role keeps them.

    Returns the problems and, for roles with ``keep_families``, the grouping to solve on.
    Raises :class:`InfeasiblePlanError` for locks or families that no territory can hold.
    """
    _check_lock_accounts(scenario, accounts)
    roots = _roots(scenario, accounts)
    booked: dict[str, RoleProblem] = {}
    groupings: dict[str, Grouping] = {}
    findings: list[str] = []
    for role, problem in problems.items():
        own = accounts.loc[members[role]].reset_index(drop=True)
        booked[role] = apply_books(scenario, role, problem, own, reps)
        check_locks(booked[role])
        if scenario.roles[role].keep_families and roots is not None:
            groupings[role] = group_problem(booked[role], roots[members[role]].to_numpy())
            findings += oversized_families(groupings[role])
    if findings:
        fix = (
            "Fix: widen the tolerance or raise the capacity of that metric, or set "
            "keep_families: false for the role"
        )
        raise InfeasiblePlanError(
            "Some account families fit no territory:", [f"{line}. {fix}" for line in findings]
        )
    return booked, groupings


def _check_lock_accounts(scenario: Scenario, accounts: pd.DataFrame) -> None:
    known = set(accounts["account_id"])
    for n, lock in enumerate(scenario.locks):
        if lock.account not in known:
            raise InputError(
                f"{scenario.source.name}, key 'locks.{n}.account': '{lock.account}' is not an "
                f"account id of {scenario.inputs.accounts.path.name}. Fix: correct the id, or "
                "remove the lock."
            )


def _roots(scenario: Scenario, accounts: pd.DataFrame) -> pd.Series | None:
    if "parent_id" not in accounts.columns:
        if any(role.keep_families for role in scenario.roles.values()):
            roles = [name for name, role in scenario.roles.items() if role.keep_families]
            raise InputError(
                f"{scenario.source.name}, key 'roles.{roles[0]}.keep_families': needs a parent "
                "column, but none is mapped. Fix: set inputs.accounts.columns.parent_id, or "
                "remove keep_families."
            )
        return None
    columns = scenario.inputs.accounts.columns
    file = scenario.inputs.accounts.path.name
    # The tables stage sorts accounts by id, so the file is read again for its row order,
    # which the messages about rows refer to.
    raw = _read_table(scenario, scenario.inputs.accounts, "accounts")
    ids = _text(raw[columns.id]).reset_index(drop=True)
    parents = _text(raw[columns.parent_id]).reset_index(drop=True)
    rows = pd.Series(raw.index.to_numpy(), dtype=np.int64)
    in_file = family_roots(
        ids.set_axis(rows), parents.set_axis(rows), file=file, column=str(columns.parent_id)
    )
    roots = pd.Series(in_file.to_numpy(), index=ids.to_numpy()).reindex(
        accounts["account_id"].to_numpy()
    )
    roots.index = accounts.index
    metrics = [m for m in columns.metrics if m in accounts.columns]
    warn_prerolled(accounts["account_id"], roots, accounts["parent_id"], accounts[metrics])
    return roots
