"""Dynamics 365 data import files: territories, then accounts with owner and territory.

Dynamics 365 resolves the ``Manager`` and ``Owner`` lookups to users by primary email and
the ``Parent Territory`` and ``Territory`` lookups to territories by name. Territories come
one file per hierarchy level, parents first. Every file is split below the 8 MB size
limit of an import file.
"""

from __future__ import annotations

import re

import pandas as pd

from solver.errors import InputError
from solver.export.hierarchy import hierarchy_nodes
from solver.export.hubspot import _note_shared_accounts, _owner_emails
from solver.export.ids import matching_cells
from solver.export.loadset import ExportOptions, LoadFile, LoadSet, exported_rows, missing_ids
from solver.export.source import ExportSource

_GUID = re.compile(r"\{?[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\}?")


def dynamics_load_set(source: ExportSource, options: ExportOptions) -> LoadSet:
    """Return the Dynamics 365 territory and account import files of the plan."""
    load_set = LoadSet("dynamics")
    settings = source.scenario.export.salesforce
    nodes = hierarchy_nodes(source, settings.hierarchy, rename="duplicate-names" in options.allow)
    owners = _owner_emails(source, load_set, options)
    _check_unique_names(nodes, "duplicate-names" in options.allow)
    names = dict(zip(nodes["key"], nodes["name"], strict=True))

    if not options.changes_only:
        for level, group in nodes.groupby("level", sort=True):
            frame = pd.DataFrame(
                {
                    "Name": group["name"].to_numpy(),
                    "Manager": group["rep_id"]
                    .map(lambda r: owners.get(r) if r else None)
                    .to_numpy(),
                    "Parent Territory": group["parent"]
                    .map(lambda p: names.get(p) if p else None)
                    .to_numpy(),
                }
            )
            load_set.files.append(
                LoadFile(
                    f"territories_level{level}",
                    "territory",
                    "import",
                    frame,
                    max_bytes=options.dynamics_max_bytes,
                )
            )

    accounts = source.accounts
    rows = exported_rows(source, options)
    dynamics_ids = source.account_field("dynamics_id", guids)
    frame = pd.DataFrame()
    if dynamics_ids.notna().any():
        # A row without an id would import as a new account, a duplicate of the real one.
        missing = sorted(set(accounts.loc[rows & dynamics_ids.isna().to_numpy(), "account_id"]))
        missing_ids("accounts", missing, source.account_sources("dynamics_id"), options, load_set)
        rows = rows & dynamics_ids.notna().to_numpy()
        frame["Account"] = dynamics_ids[rows].to_numpy()
    else:
        load_set.notes.append(
            "No Dynamics 365 account ids are mapped, so accounts are matched by name: "
            "turn on a duplicate detection rule on the account name before importing."
        )
    frame["Account Name"] = accounts.loc[rows, "account_name"].to_numpy()
    frame["Owner"] = accounts.loc[rows, "rep_id"].map(owners).to_numpy()
    frame["Territory"] = accounts.loc[rows, "territory_id"].map(names).to_numpy()
    load_set.files.append(
        LoadFile("accounts", "account", "import", frame, max_bytes=options.dynamics_max_bytes)
    )
    _note_shared_accounts(source, load_set)
    return load_set


def guids(cells: pd.Series, file: str, column: str) -> pd.Series:
    problem = "is not a Dynamics 365 record id, a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    fix = "copy the account id from a Dynamics 365 export"
    checked = matching_cells(
        cells, cells, _GUID, file=file, column=column, problem=problem, fix=fix
    )
    return checked.map(lambda v: v.strip("{}").lower() if isinstance(v, str) else None)


def _check_unique_names(nodes: pd.DataFrame, rename: bool) -> None:
    """Reject territories that share a name, because Dynamics 365 looks parents up by name.

    With ``rename``, later duplicates get the suffixes " (2)", " (3)" and so on instead.
    """
    repeated = nodes["name"].duplicated(keep="first")
    if not repeated.any():
        return
    if not rename:
        name = nodes.loc[repeated, "name"].iloc[0]
        keys = nodes.loc[nodes["name"] == name, "key"].tolist()
        raise InputError(
            f"dynamics export: the territories {', '.join(keys)} share the name '{name}'. "
            "Fix: give their roles different labels, or pass --allow duplicate-names to add "
            "(2), (3) suffixes."
        )
    seen: dict[str, int] = {}
    names = []
    for name in nodes["name"]:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    nodes["name"] = names
