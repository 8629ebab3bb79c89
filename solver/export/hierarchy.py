"""The territory hierarchy of an export: role, then optionally Census region, then territory.

Salesforce and Dynamics 365 both load a parent before its children, so every node has a
level (1 for the roots) and the load files hold one level each.
"""

from __future__ import annotations

import pandas as pd

from solver.export.ids import developer_names
from solver.export.source import ExportSource
from solver.feedback import account_regions

NODE_COLUMNS = ["key", "developer_name", "name", "parent", "level", "kind", "role", "rep_id"]


def hierarchy_nodes(source: ExportSource, hierarchy: str, *, rename: bool) -> pd.DataFrame:
    """Return one row per node, parents first, with unique DeveloperNames.

    ``hierarchy`` is ``role_region``, ``role`` or ``none``. A territory's region is the
    Census region of its centre. ``key`` is the plan's territory id for the territories,
    ``role:<role>`` and ``region:<role>:<region>`` for the parents. ``parent`` is the
    parent's key (None for a root).
    """
    territories = source.territories
    rows: list[dict[str, object]] = []
    regions = _regions(territories) if hierarchy == "role_region" else None

    for role in dict.fromkeys(territories["role"]):
        label = source.role_label(role)
        inside = territories["role"] == role
        parent = None
        if hierarchy != "none":
            parent = f"role:{role}"
            rows.append(_node(parent, role, label, None, 1, "role", role))
        for region in [] if regions is None else sorted(set(regions[inside])):
            rows.append(
                _node(
                    f"region:{role}:{region}",
                    f"{role}_{region}",
                    f"{label} {region}",
                    parent,
                    2,
                    "region",
                    role,
                )
            )
        for _, territory in territories.loc[inside].iterrows():
            level, up = (1, None) if parent is None else (2, parent)
            if regions is not None:
                level, up = 3, f"region:{role}:{regions[territory.name]}"
            rows.append(
                _node(
                    territory["territory_id"],
                    territory["territory_id"],
                    f"{label} {territory['territory_id']}",
                    up,
                    level,
                    "territory",
                    role,
                    territory["rep_id"],
                )
            )

    nodes = pd.DataFrame(rows, columns=NODE_COLUMNS)
    labels = nodes["developer_name"].tolist()
    nodes["developer_name"] = developer_names(
        labels, what="territory", source=str(source.plan_dir / "territories.csv"), rename=rename
    )
    return nodes.sort_values("level", kind="stable").reset_index(drop=True)


def _node(
    key: str,
    label: str,
    name: str,
    parent: str | None,
    level: int,
    kind: str,
    role: str,
    rep_id: str | None = None,
) -> dict[str, object]:
    return {
        "key": key,
        "developer_name": label,
        "name": name,
        "parent": parent,
        "level": level,
        "kind": kind,
        "role": role,
        "rep_id": rep_id,
    }


def _regions(territories: pd.DataFrame) -> pd.Series:
    centres = territories[["centre_latitude", "centre_longitude"]].to_numpy(dtype=float)
    names = account_regions(centres)
    return pd.Series([str(n).replace(" ", "_").title() for n in names], index=territories.index)
