"""The plan's assignment as CSV and Parquet, with names and every CRM id that is known."""

from __future__ import annotations

import pandas as pd

from solver.export.dynamics import guids
from solver.export.hubspot import domains, email_cells, record_ids
from solver.export.ids import account_ids, developer_name
from solver.export.loadset import ExportOptions, LoadFile, LoadSet, exported_rows
from solver.export.source import ExportSource


def generic_load_set(source: ExportSource, options: ExportOptions) -> LoadSet:
    """Return the assignment with names and ids as one CSV and one Parquet file."""
    accounts = source.accounts
    rows = exported_rows(source, options)
    reps = source.reps.set_index("rep_id")
    rep_emails = dict(
        zip(source.reps["rep_id"], source.rep_field("email", email_cells), strict=True)
    )
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
    # The same checks as the CRM targets, so a CSV never carries an id they would reject.
    converters = {
        "salesforce_id": account_ids,
        "hubspot_id": record_ids,
        "domain": domains,
        "dynamics_id": guids,
    }
    for name, convert in converters.items():
        frame[name] = source.account_field(name, convert)
    metrics = [c for c in accounts.columns if c not in frame.columns and c != "current_owner"]
    for metric in metrics:
        frame[metric] = accounts[metric]

    frame = frame.loc[rows].reset_index(drop=True)
    load_set = LoadSet("csv")
    load_set.files.append(LoadFile("assignments", "assignment", "write", frame))
    load_set.files.append(LoadFile("assignments", "assignment", "write", frame, parquet=True))
    return load_set
