"""The plan's assignment as CSV and Parquet, with names and every CRM id that is known."""

from __future__ import annotations

import pandas as pd

from solver.export.ids import developer_name
from solver.export.loadset import ExportOptions, LoadFile, LoadSet, exported_rows
from solver.export.source import ExportSource


def generic_load_set(source: ExportSource, options: ExportOptions) -> LoadSet:
    """Return the assignment with names and ids as one CSV and one Parquet file."""
    accounts = source.accounts
    rows = exported_rows(source, options)
    reps = source.reps.set_index("rep_id")
    rep_emails = dict(zip(source.reps["rep_id"], source.rep_field("email"), strict=True))
    frame = pd.DataFrame(
        {
            "account_id": accounts["account_id"],
            "account_name": accounts["account_name"],
            "role": accounts["role"],
            "role_label": accounts["role"].map(source.role_label),
            "territory_id": accounts["territory_id"],
            "territory_developer_name": accounts["territory_id"].map(developer_name),
            "rep_id": accounts["rep_id"],
            "rep_name": accounts["rep_id"].map(reps["name"]),
            "rep_email": accounts["rep_id"].map(rep_emails),
            "zip": accounts["zip"],
            "county_fips": accounts["county_fips"],
        }
    )
    for name in ("salesforce_id", "hubspot_id", "domain", "dynamics_id"):
        frame[name] = source.account_field(name)
    metrics = [c for c in accounts.columns if c not in frame.columns and c != "current_owner"]
    for metric in metrics:
        frame[metric] = accounts[metric]

    frame = frame.loc[rows].reset_index(drop=True)
    load_set = LoadSet("csv")
    load_set.files.append(LoadFile("assignments", "assignment", "write", frame))
    load_set.files.append(LoadFile("assignments", "assignment", "write", frame, parquet=True))
    return load_set
