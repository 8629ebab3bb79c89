"""Load files for Salesforce Enterprise Territory Management (ETM), one CSV per object.

The load order is Territory2Type, Territory2Model, Territory2 (one file per hierarchy
level, so that every parent exists before its children), UserTerritory2Association and
ObjectTerritory2Association. Associations cannot be updated, so when today's association
ids are known, a moved account gets a delete file row (its old association) and an insert
file row (its new one).

A record refers to another by its Salesforce id. The ids of records that already exist
come from ``--salesforce-ids``: a CSV with the columns ``object``, ``Id`` and
``DeveloperName``, such as the result of ``SELECT Id, DeveloperName FROM Territory2``
with an ``object`` column added. Records found there are not inserted again. A reference
to a record without a known id is written as ``<Relationship>.DeveloperName``, and its
file is marked as not ready in the manifest, because DeveloperName is not an idLookup
field on these objects. Load the earlier steps, export their ids, and run the export
again with ``--salesforce-ids``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.errors import InputError
from solver.export.changes import changed_mask
from solver.export.hierarchy import hierarchy_nodes
from solver.export.ids import account_ids, developer_name, developer_names, user_ids
from solver.export.loadset import (
    ExportOptions,
    LoadFile,
    LoadSet,
    exported_rows,
    missing_ids,
    missing_rep_ids,
)
from solver.export.source import ExportSource
from solver.scenario import SalesforceExport

ASSOCIATION_CAUSE = "Territory2Manual"


def salesforce_load_set(source: ExportSource, options: ExportOptions) -> LoadSet:
    """Return the Salesforce ETM load files of the plan, in load order."""
    settings = source.scenario.export.salesforce
    load_set = LoadSet("salesforce")
    rename = "duplicate-names" in options.allow
    nodes = hierarchy_nodes(source, settings.hierarchy, rename=rename)
    _check_limit(nodes, settings.territory_limit, options)
    known = options.salesforce_ids

    if not options.changes_only:
        role_types = _role_types(source, nodes, rename)
        types = _types(source, role_types, settings.hierarchy)
        model = _model(source)
        _add_structure(load_set, types, model, nodes, known, settings, role_types)
        _add_users(load_set, source, nodes, options, settings.role_in_territory)
    else:
        load_set.notes.append(
            "Changes only: the model, its types and territories are expected to exist already, "
            "so only account associations are written."
        )
    _add_accounts(load_set, source, nodes, options)
    return load_set


# -- structure ----------------------------------------------------------------------------


def _role_types(source: ExportSource, nodes: pd.DataFrame, rename: bool) -> dict[str, str]:
    """Return the DeveloperName of each role's territory type, unique among the types."""
    roles = list(dict.fromkeys(nodes.loc[nodes["kind"] == "territory", "role"]))
    labels = ["Role_Group", "Region", *(f"{role}_Territory" for role in roles)]
    names = developer_names(
        labels, what="territory type", source=source.scenario.source.name, rename=rename
    )
    return dict(zip(roles, names[2:], strict=True))


def _types(source: ExportSource, role_types: dict[str, str], hierarchy: str) -> pd.DataFrame:
    """Return one territory type per hierarchy level and per role, with unique priorities."""
    rows = []
    if hierarchy != "none":
        rows.append(("Role_Group", "Role group"))
    if hierarchy == "role_region":
        rows.append(("Region", "Region"))
    for role, name in role_types.items():
        rows.append((name, f"{source.role_label(role)} territory"))
    return pd.DataFrame(
        {
            "DeveloperName": [name for name, _ in rows],
            "MasterLabel": [label for _, label in rows],
            "Priority": list(range(1, len(rows) + 1)),
        }
    )


def _model(source: ExportSource) -> pd.DataFrame:
    settings = source.scenario.export.salesforce
    scenario = source.scenario
    name = settings.model_name or f"{scenario.name} {scenario.design_date.isoformat()}"
    default = f"{scenario.name}_{scenario.design_date.strftime('%Y%m%d')}"
    return pd.DataFrame(
        {
            "DeveloperName": [developer_name(settings.model_developer_name or default)],
            "Name": [name],
            "Description": [
                scenario.description.strip() or f"Territories of scenario {scenario.name}"
            ],
        }
    )


def _node_type(node: pd.Series, role_types: dict[str, str]) -> str:
    if node["kind"] == "role":
        return "Role_Group"
    if node["kind"] == "region":
        return "Region"
    return role_types[node["role"]]


def _add_structure(
    load_set: LoadSet,
    types: pd.DataFrame,
    model: pd.DataFrame,
    nodes: pd.DataFrame,
    known: dict[tuple[str, str], str],
    settings: SalesforceExport,
    role_types: dict[str, str],
) -> None:
    types = types.loc[~types["DeveloperName"].map(lambda n: ("Territory2Type", n) in known)]
    load_set.files.append(
        LoadFile("Territory2Type", "Territory2Type", "insert", types.reset_index(drop=True))
    )
    model_name = model["DeveloperName"].iloc[0]
    if ("Territory2Model", model_name) not in known:
        load_set.files.append(LoadFile("Territory2Model", "Territory2Model", "insert", model))

    names = dict(zip(nodes["key"], nodes["developer_name"], strict=True))
    for level, group in nodes.groupby("level", sort=True):
        group = group.loc[~group["developer_name"].map(lambda n: ("Territory2", n) in known)]
        frame = pd.DataFrame({"DeveloperName": group["developer_name"], "Name": group["name"]})
        references = [
            _reference("Territory2Model", "Territory2Model", [model_name] * len(group), known),
            _reference(
                "Territory2Type",
                "Territory2Type",
                [_node_type(n, role_types) for _, n in group.iterrows()],
                known,
            ),
            _reference(
                "ParentTerritory2",
                "Territory2",
                [names.get(p) if p else None for p in group["parent"]],
                known,
            ),
        ]
        ready = True
        for column, values, resolved in references:
            frame[column] = values
            ready = ready and resolved
        frame["AccountAccessLevel"] = settings.account_access
        frame["OpportunityAccessLevel"] = settings.opportunity_access
        frame["CaseAccessLevel"] = settings.case_access
        frame["ContactAccessLevel"] = settings.contact_access
        load_set.files.append(
            LoadFile(
                f"Territory2_level{level}",
                "Territory2",
                "insert",
                frame.reset_index(drop=True),
                ready=ready,
            )
        )


def _reference(
    relationship: str, target: str, names: list[str | None], known: dict[tuple[str, str], str]
) -> tuple[str, list[str | None], bool]:
    """Return the column name, values and readiness of a reference to ``target`` records.

    With every referenced id known, the column is ``<relationship>Id`` with the ids;
    otherwise it is ``<relationship>.DeveloperName`` with the names.
    """
    wanted = [n for n in names if n is not None]
    if all((target, n) in known for n in wanted):
        return f"{relationship}Id", [known[(target, n)] if n else None for n in names], True
    return f"{relationship}.DeveloperName", names, False


def _check_limit(nodes: pd.DataFrame, limit: int, options: ExportOptions) -> None:
    if len(nodes) <= limit:
        return
    parents = int((nodes["kind"] != "territory").sum())
    message = (
        f"salesforce export: the model would hold {len(nodes)} territories ({parents} of them "
        f"role and region parents), above the limit of {limit:,} per model. Salesforce allows "
        "1,000 territories per model by default."
    )
    if "territory-limit" in options.allow:
        return
    raise InputError(
        message + " Fix: ask Salesforce to raise the limit and set "
        "export.salesforce.territory_limit, set export.salesforce.hierarchy to 'role' or "
        "'none' to drop parents, or pass --allow territory-limit."
    )


# -- associations -------------------------------------------------------------------------


def _add_users(
    load_set: LoadSet,
    source: ExportSource,
    nodes: pd.DataFrame,
    options: ExportOptions,
    role_in_territory: str,
) -> None:
    users = source.rep_field("salesforce_id", user_ids)
    user_of = dict(zip(source.reps["rep_id"], users, strict=True))
    territories = nodes.loc[(nodes["kind"] == "territory") & nodes["rep_id"].notna()]
    missing = sorted({r for r in territories["rep_id"] if not user_of.get(r)})
    missing_rep_ids(source, missing, source.rep_sources("salesforce_id"), options, load_set)

    territories = territories.loc[territories["rep_id"].map(lambda r: bool(user_of.get(r)))]
    column, values, ready = _reference(
        "Territory2", "Territory2", territories["developer_name"].tolist(), options.salesforce_ids
    )
    frame = pd.DataFrame({"UserId": territories["rep_id"].map(user_of).to_numpy(), column: values})
    frame["RoleInTerritory2"] = role_in_territory
    load_set.files.append(
        LoadFile(
            "UserTerritory2Association", "UserTerritory2Association", "insert", frame, ready=ready
        )
    )


def _add_accounts(
    load_set: LoadSet, source: ExportSource, nodes: pd.DataFrame, options: ExportOptions
) -> None:
    accounts = source.accounts
    object_ids = source.account_field("salesforce_id", account_ids)
    rows = exported_rows(source, options)
    missing = sorted(set(accounts.loc[rows & object_ids.isna().to_numpy(), "account_id"]))
    missing_ids("accounts", missing, source.account_sources("salesforce_id"), options, load_set)

    names = dict(zip(nodes["key"], nodes["developer_name"], strict=True))
    current = options.current
    if current is not None and current.has_association_ids:
        moved = rows & (current.association_id.notna()).to_numpy() & _moved(source, options)
        delete = pd.DataFrame({"Id": current.association_id[moved].to_numpy()})
        load_set.files.append(
            LoadFile(
                "ObjectTerritory2Association_delete",
                "ObjectTerritory2Association",
                "delete",
                delete,
            )
        )
        rows = rows & (_moved(source, options) | current.association_id.isna().to_numpy())
    elif current is not None:
        load_set.notes.append(
            "Today's association ids are unknown, so no delete file was written: a moved "
            "account keeps its old territory until that association is removed. Pass "
            "--current with an ObjectTerritory2Association export that holds their Id."
        )

    keep = rows & object_ids.notna().to_numpy()
    territory_names = accounts.loc[keep, "territory_id"].map(names).tolist()
    column, values, ready = _reference(
        "Territory2", "Territory2", territory_names, options.salesforce_ids
    )
    frame = pd.DataFrame({"ObjectId": object_ids[keep].to_numpy(), column: values})
    frame["AssociationCause"] = ASSOCIATION_CAUSE
    load_set.files.append(
        LoadFile(
            "ObjectTerritory2Association",
            "ObjectTerritory2Association",
            "insert",
            frame,
            ready=ready,
        )
    )


def _moved(source: ExportSource, options: ExportOptions) -> np.ndarray:
    assert options.current is not None
    return changed_mask(source, options.current)
