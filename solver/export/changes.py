"""Today's assignment, the accounts whose owner the plan changes, and why.

Today's assignment comes from the accounts table (``inputs.accounts.columns.current_owner``,
holding rep ids) or from a file given with ``--current``. The file is a CSV with an account
column and an owner or territory column, matched without regard to case:

* the account: ``account_id`` (the plan's id) or ``ObjectId`` (the Salesforce account id);
* the owner: ``owner`` or ``rep_id`` (the plan's rep id), or ``owner_email``;
* the territory: ``territory`` or ``territory_id`` (the plan's id or its DeveloperName),
  or ``Territory2.DeveloperName`` as a Salesforce export of ObjectTerritory2Association
  names it;
* ``Id``: the Salesforce ObjectTerritory2Association id. The Salesforce export needs it
  to delete the associations of moved accounts.

An account changes when its owner differs from the plan's rep or, when only territories are
known, when its territory's DeveloperName differs. An account missing from today's
assignment changes too. Each change gets the first reason that applies, in this order:

``unowned``
    No owner today, or an owner or territory that the plan does not know.
``segment``
    Today's owner works in another role, so the account changes segment.
``attrition``
    Today's owner is a rep of the role without a territory in the plan (left, or not
    yet started on the design date).
``new_hire``
    The new owner owns no account of the role today.
``viability``
    The new owner's book today misses a viability minimum of their territory.
``balance``
    Today's owner's book is above a balance band of their territory, or the new owner's
    is below one.
``compactness``
    Both books are within their bands, so the move only makes territories more compact.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.errors import InputError, count_noun, input_error
from solver.export.ids import account_ids, developer_name, salesforce_ids
from solver.export.source import ExportSource
from solver.scenario import ACCOUNT_COUNT
from solver.table_io import _read_file, _text

logger = logging.getLogger(__name__)

REASONS = ("unowned", "segment", "attrition", "new_hire", "viability", "balance", "compactness")
# A plan solved from the same owners brings its own codes too: lock, hierarchy, capacity.

CHANGE_COLUMNS = [
    "account_id",
    "account_name",
    "role",
    "from_owner",
    "from_territory",
    "to_owner",
    "to_territory",
    "reason",
]

_ACCOUNT_KEYS = ("account_id", "objectid")
_OWNER_KEYS = ("owner", "rep_id", "owner_email")
_TERRITORY_KEYS = ("territory", "territory_id", "territory2.developername")


@dataclass(frozen=True)
class CurrentState:
    """Today's owner, territory and Salesforce association id of each plan row.

    The three series align with ``ExportSource.accounts`` and hold None where unknown.
    """

    owner: pd.Series
    territory: pd.Series
    association_id: pd.Series
    source: str

    @property
    def has_association_ids(self) -> bool:
        """Whether today's Salesforce association ids are known."""
        return bool(self.association_id.notna().any())


def load_current(source: ExportSource, path: str | Path | None) -> CurrentState | None:
    """Return today's assignment from ``path``, else from the accounts table, else None."""
    if path is not None:
        return _from_file(source, Path(path))

    column = source.scenario.inputs.accounts.columns.current_owner
    if column is None:
        return None
    empty = pd.Series([None] * len(source.accounts), dtype=object)
    owners = source.accounts["current_owner"].astype(object)
    return CurrentState(owners, empty, empty.copy(), f"column '{column}' of the accounts table")


def changes_table(source: ExportSource, current: CurrentState) -> pd.DataFrame:
    """Return one row per plan row whose owner or territory changes, with its reason."""
    accounts = source.accounts
    changed = _changed(source, current)
    # Today's territory in the plan's id form when it is a plan territory, so that both
    # columns of a row read alike. The owner falls back on that territory's rep.
    plan_ids = {developer_name(t): t for t in source.territories["territory_id"]}
    named = current.territory.map(lambda t: plan_ids.get(developer_name(t), t) if t else None)
    owners = _effective_owner(source, current)
    from_territory = named.where(named.notna(), _owner_territory(source, owners))
    table = pd.DataFrame(
        {
            "account_id": accounts["account_id"],
            "account_name": accounts["account_name"],
            "role": accounts["role"],
            "from_owner": owners,
            "from_territory": from_territory,
            "to_owner": accounts["rep_id"],
            "to_territory": accounts["territory_id"],
            "reason": _plan_reasons(source, current, _reasons(source, current)),
        }
    )
    return table.loc[changed.to_numpy()].reset_index(drop=True)[CHANGE_COLUMNS]


def changed_mask(source: ExportSource, current: CurrentState) -> np.ndarray:
    """Return whether each plan row changes owner or territory."""
    return _changed(source, current).to_numpy()


# -- reading today's assignment -----------------------------------------------------------


def _from_file(source: ExportSource, path: Path) -> CurrentState:
    if not path.is_file():
        raise InputError(
            f"{path}: file of today's assignment not found. Fix: pass an existing CSV to --current."
        )
    raw = _read_file(path, ".csv", None, path.name, "")
    raw = raw.loc[raw.notna().any(axis=1)]
    by_key = {str(c).strip().lower(): c for c in raw.columns}
    account_key = next((k for k in _ACCOUNT_KEYS if k in by_key), None)
    if account_key is None or not any(k in by_key for k in (*_OWNER_KEYS, *_TERRITORY_KEYS)):
        raise input_error(
            path.name,
            "has no account column or no owner or territory column "
            f"(columns: {', '.join(map(str, raw.columns))})",
            "give account_id or ObjectId, and owner, rep_id, owner_email, territory or "
            "Territory2.DeveloperName",
        )

    plan_ids = _plan_account_ids(source, raw[by_key[account_key]], account_key, path)
    owners = _owners(source, raw, by_key, path)
    territories = _column(raw, by_key, _TERRITORY_KEYS)
    association = _association_ids(raw, by_key, path)

    frame = pd.DataFrame(
        {
            "account_id": plan_ids,
            "owner": owners,
            "territory": territories,
            "association_id": association,
        }
    )
    unknown = frame["account_id"].isna()
    if unknown.any():
        shown = _first(_text(raw[by_key[account_key]])[unknown])
        logger.warning(
            "%s: %s naming accounts that are not in the plan ignored (%s)",
            path.name,
            count_noun(int(unknown.sum()), "rows"),
            shown,
        )
    strangers = frame["owner"].notna() & ~frame["owner"].isin(source.reps["rep_id"])
    if strangers.any():
        logger.warning(
            "%s: %s with an owner that is not in the reps table, read as unowned (%s)",
            path.name,
            count_noun(int(strangers.sum()), "rows"),
            _first(frame.loc[strangers, "owner"]),
        )
    frame = frame.loc[~unknown]
    return _align(source, frame, f"{path.name}")


def _plan_account_ids(source: ExportSource, cells: pd.Series, key: str, path: Path) -> pd.Series:
    text = _text(cells)
    if key == "account_id":
        return text.where(text.isin(source.accounts["account_id"]), None)

    # A Salesforce account id: map it back to the plan's id through the account ids.
    object_ids = salesforce_ids(
        text, file=path.name, column=str(cells.name), prefix="001", what="Account"
    )
    crm = source.account_field("salesforce_id", account_ids)
    lookup = pd.Series(source.accounts["account_id"].to_numpy(), index=crm.to_numpy())
    lookup = lookup[lookup.index.notna() & ~lookup.index.duplicated()]
    return pd.Series(
        lookup.reindex(object_ids.to_numpy()).to_numpy(), index=text.index, dtype=object
    )


def _owners(
    source: ExportSource, raw: pd.DataFrame, by_key: dict[str, str], path: Path
) -> pd.Series:
    if "owner_email" in by_key and not any(k in by_key for k in ("owner", "rep_id")):
        emails = _text(raw[by_key["owner_email"]]).str.lower()
        strangers = emails.notna() & ~emails.isin(source.rep_field("email").str.lower())
        if strangers.any():
            logger.warning(
                "%s: %s with an owner email of no rep, read as unowned (%s)",
                path.name,
                count_noun(int(strangers.sum()), "rows"),
                _first(emails[strangers]),
            )
        known = source.rep_field("email")
        lookup = pd.Series(source.reps["rep_id"].to_numpy(), index=known.str.lower().to_numpy())
        lookup = lookup[lookup.index.notna() & ~lookup.index.duplicated()]
        return pd.Series(
            lookup.reindex(emails.to_numpy()).to_numpy(), index=raw.index, dtype=object
        ).where(emails.notna().to_numpy(), None)
    return _column(raw, by_key, ("owner", "rep_id"))


def _column(raw: pd.DataFrame, by_key: dict[str, str], keys: tuple[str, ...]) -> pd.Series:
    key = next((k for k in keys if k in by_key), None)
    if key is None:
        return pd.Series([None] * len(raw), index=raw.index, dtype=object)
    return _text(raw[by_key[key]])


def _association_ids(raw: pd.DataFrame, by_key: dict[str, str], path: Path) -> pd.Series:
    if "id" not in by_key:
        return pd.Series([None] * len(raw), index=raw.index, dtype=object)
    return salesforce_ids(
        _text(raw[by_key["id"]]),
        file=path.name,
        column=str(by_key["id"]),
        what="ObjectTerritory2Association",
    )


def _align(source: ExportSource, frame: pd.DataFrame, label: str) -> CurrentState:
    """Match rows of today's assignment to the plan's (account, role) rows.

    An account in several roles is matched by the role of today's owner or territory.
    """
    rep_role = dict(zip(source.reps["rep_id"], source.reps["role"], strict=True))
    names = source.territories["territory_id"].map(developer_name)
    territory_role = dict(zip(names, source.territories["role"], strict=True))
    roles = frame["owner"].map(rep_role)
    roles = roles.where(
        roles.notna(),
        frame["territory"].map(lambda t: territory_role.get(developer_name(t)) if t else None),
    )
    frame = frame.assign(role=roles)

    accounts = source.accounts
    columns: dict[str, list[Any]] = {
        name: [None] * len(accounts) for name in ("owner", "territory", "association_id")
    }
    by_account: dict[str, list[dict[Any, Any]]] = {}
    for record in frame.to_dict("records"):
        by_account.setdefault(str(record["account_id"]), []).append(record)
    roles_per_account = accounts["account_id"].value_counts().to_dict()
    repeated: list[str] = []

    for position, (account, role) in enumerate(
        zip(accounts["account_id"], accounts["role"], strict=True)
    ):
        records = by_account.get(account, [])
        matches = [r for r in records if r["role"] == role]
        if len(matches) > 1:
            repeated.append(account)
        match = matches[0] if matches else None
        if match is None and records and roles_per_account[account] == 1:
            match = records[0]
        if match is not None:
            for name, values in columns.items():
                values[position] = match[name]

    if repeated:
        logger.warning(
            "%s: %s listed twice for the same role, the first row is used (%s)",
            label,
            count_noun(len(repeated), "accounts"),
            _first(pd.Series(repeated)),
        )
    series = {name: pd.Series(values, dtype=object) for name, values in columns.items()}
    return CurrentState(series["owner"], series["territory"], series["association_id"], label)


# -- what changes, and why ----------------------------------------------------------------


def _changed(source: ExportSource, current: CurrentState) -> pd.Series:
    accounts = source.accounts
    by_owner = current.owner.notna()
    new_names = accounts["territory_id"].map(developer_name)
    old_names = current.territory.map(lambda t: developer_name(t) if t else None)
    owner_moves = by_owner & (current.owner != accounts["rep_id"])
    territory_moves = ~by_owner & current.territory.notna() & (old_names != new_names)
    missing = ~by_owner & current.territory.isna()
    return owner_moves | territory_moves | missing


def _owner_territory(source: ExportSource, owners: pd.Series) -> pd.Series:
    """Return the plan territory of each owner (None for owners without one)."""
    lookup = dict(
        zip(source.territories["rep_id"], source.territories["territory_id"], strict=True)
    )
    return owners.map(lambda rep: lookup.get(rep) if rep else None).astype(object)


def _effective_owner(source: ExportSource, current: CurrentState) -> pd.Series:
    """Return today's owner, falling back on the plan rep of today's territory."""
    territory_rep = {
        developer_name(t): r
        for t, r in zip(
            source.territories["territory_id"], source.territories["rep_id"], strict=True
        )
    }
    from_territory = current.territory.map(
        lambda t: territory_rep.get(developer_name(t)) if t else None
    )
    return current.owner.where(current.owner.notna(), from_territory)


def _reasons(source: ExportSource, current: CurrentState) -> pd.Series:
    accounts = source.accounts
    owners = _effective_owner(source, current)
    plan_reps = set(zip(source.territories["role"], source.territories["rep_id"], strict=True))
    table_reps = dict(zip(source.reps["rep_id"], source.reps["role"], strict=True))
    books = _books(source, owners)
    bands = {(row["role"], row["rep_id"]): row for row in source.territories.to_dict("records")}

    reasons = []
    for role, old, new in zip(accounts["role"], owners, accounts["rep_id"], strict=True):
        if old is None or old not in table_reps:
            reasons.append("unowned")
        elif table_reps[old] != role:
            reasons.append("segment")
        elif (role, old) not in plan_reps:
            reasons.append("attrition")
        elif (role, new) not in books:
            reasons.append("new_hire")
        elif _misses_minimum(books[(role, new)], bands[(role, new)]):
            reasons.append("viability")
        elif _above_band(books.get((role, old), {}), bands[(role, old)]) or _below_band(
            books[(role, new)], bands[(role, new)]
        ):
            reasons.append("balance")
        else:
            reasons.append("compactness")
    return pd.Series(reasons, dtype=object)


def _books(source: ExportSource, owners: pd.Series) -> dict[tuple[str, str], dict[str, float]]:
    """Return today's totals per (role, owner): the account count and every band metric."""
    accounts = source.accounts.assign(owner=owners.to_numpy(), **{ACCOUNT_COUNT: 1.0})
    metrics = [c for c in _band_metrics(source) if c in accounts.columns]
    owned = accounts.loc[accounts["owner"].notna()]
    totals = owned.groupby(["role", "owner"])[metrics].sum()
    books: dict[tuple[str, str], dict[str, float]] = {}
    for (role, rep), row in zip(totals.index, totals.to_dict("records"), strict=True):
        books[(str(role), str(rep))] = {str(m): float(v) for m, v in row.items()}
    return books


def _band_metrics(source: ExportSource) -> list[str]:
    columns = source.territories.columns
    metrics = [c.removesuffix("_min_allowed") for c in columns if c.endswith("_min_allowed")]
    metrics += [c.removesuffix("_minimum") for c in columns if c.endswith("_minimum")]
    return list(dict.fromkeys(metrics))


# A missing band is NaN, and every comparison with NaN is False.


def _misses_minimum(book: dict[str, float], band: Mapping[Any, Any]) -> bool:
    return any(book[m] < _number(band.get(f"{m}_minimum")) for m in book)


def _below_band(book: dict[str, float], band: Mapping[Any, Any]) -> bool:
    return any(book[m] < _number(band.get(f"{m}_min_allowed")) for m in book)


def _above_band(book: dict[str, float], band: Mapping[Any, Any]) -> bool:
    return any(book[m] > _number(band.get(f"{m}_max_allowed")) for m in book)


def _number(value: Any) -> float:
    return float(value) if value is not None and pd.notna(value) else float("nan")


def _first(values: pd.Series, limit: int = 5) -> str:
    """Return up to ``limit`` values for a log line, with '...' when there are more."""
    shown = [str(v) for v in values.iloc[:limit]]
    return ", ".join(shown) + (", ..." if len(values) > limit else "")


def _plan_reasons(source: ExportSource, current: CurrentState, reasons: pd.Series) -> pd.Series:
    """Return the solve's own reasons where the plan was solved from the same owners.

    The solve also models locks, families and capacity, so its reason wins for every row whose
    ``current_rep_id`` in ``assignments.csv`` is today's owner here.
    """
    accounts = source.accounts
    if "reason" not in accounts.columns or "current_rep_id" not in accounts.columns:
        return reasons
    plan_owner = accounts["current_rep_id"].fillna("").astype(str)
    same = plan_owner.to_numpy() == current.owner.fillna("").astype(str).to_numpy()
    known = accounts["reason"].fillna("").astype(str).to_numpy() != ""
    use = same & known
    merged = reasons.copy()
    merged[use] = accounts["reason"].to_numpy()[use]
    return merged
