"""HubSpot companies import: the record id or domain of each company and its owner's email.

HubSpot matches an imported company to an existing one by ``Record ID``, else by
``Company Domain Name``. ``Company owner`` is the owner's email, which HubSpot resolves
to a user. ``Territory`` is the plan's territory id for a custom property; map it to
one in the import, or choose not to import that column. Files are split at HubSpot's row
limit per file.
"""

from __future__ import annotations

import re

import pandas as pd

from solver.export.ids import emails, matching_cells
from solver.export.loadset import (
    ExportOptions,
    LoadFile,
    LoadSet,
    exported_rows,
    missing_ids,
    missing_rep_ids,
)
from solver.export.source import ExportSource

_RECORD_ID = re.compile(r"[0-9]+")

# A host name of dot-separated labels of letters, digits and hyphens, with a letter TLD.
_DOMAIN = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def hubspot_load_set(source: ExportSource, options: ExportOptions) -> LoadSet:
    """Return the HubSpot companies import files of the plan."""
    load_set = LoadSet("hubspot")
    accounts = source.accounts
    record_id_cells = source.account_field("hubspot_id", record_ids)
    domain_cells = source.account_field("domain", domains)
    owners = _owner_emails(source, load_set, options)

    rows = exported_rows(source, options)
    unknown = rows & record_id_cells.isna().to_numpy() & domain_cells.isna().to_numpy()
    where = f"{source.account_sources('hubspot_id')}, and {source.account_sources('domain')}"
    missing_ids(
        "accounts", sorted(set(accounts.loc[unknown, "account_id"])), where, options, load_set
    )

    keep = rows & ~unknown
    frame = pd.DataFrame()
    if record_id_cells.notna().any():
        frame["Record ID"] = record_id_cells[keep].to_numpy()
    if domain_cells.notna().any():
        frame["Company Domain Name"] = domain_cells[keep].to_numpy()
    frame["Company name"] = accounts.loc[keep, "account_name"].to_numpy()
    frame["Company owner"] = accounts.loc[keep, "rep_id"].map(owners).to_numpy()
    frame["Territory"] = accounts.loc[keep, "territory_id"].to_numpy()
    load_set.files.append(
        LoadFile("companies", "Company", "import", frame, max_rows=options.hubspot_max_rows)
    )
    _note_shared_accounts(source, load_set)
    return load_set


def _owner_emails(
    source: ExportSource, load_set: LoadSet, options: ExportOptions
) -> dict[str, str]:
    """Return the email of every rep who owns a territory; reject or skip reps without one."""
    addresses = dict(
        zip(source.reps["rep_id"], source.rep_field("email", email_cells), strict=True)
    )
    owners = source.territories["rep_id"].dropna()
    missing = sorted({rep for rep in owners if not addresses.get(rep)})
    missing_rep_ids(source, missing, source.rep_sources("email"), options, load_set)
    return {rep: address for rep, address in addresses.items() if address}


def email_cells(cells: pd.Series, file: str, column: str) -> pd.Series:
    return emails(cells, file=file, column=column)


def record_ids(cells: pd.Series, file: str, column: str) -> pd.Series:
    problem = "is not a HubSpot record id, which has only digits"
    fix = "copy the Record ID column of a HubSpot companies export"
    return matching_cells(
        cells, cells, _RECORD_ID, file=file, column=column, problem=problem, fix=fix
    )


def domains(cells: pd.Series, file: str, column: str) -> pd.Series:
    text = cells.map(lambda v: _bare_domain(v) if isinstance(v, str) else None)
    problem = "is not a company domain"
    fix = "write the domain only, for example example.com"
    return matching_cells(cells, text, _DOMAIN, file=file, column=column, problem=problem, fix=fix)


def _bare_domain(value: str) -> str:
    """Return ``value`` without a scheme, ``www.``, path or trailing dot, in lower case."""
    text = re.sub(r"^[a-z]+://", "", value.strip().lower())
    text = text.split("/", 1)[0].rstrip(".")
    return text.removeprefix("www.")


def _note_shared_accounts(source: ExportSource, load_set: LoadSet) -> None:
    """Note accounts that several roles own: a CRM record keeps only one owner."""
    shared = source.accounts["account_id"].duplicated(keep=False)
    if shared.any():
        count = source.accounts.loc[shared, "account_id"].nunique()
        load_set.notes.append(
            f"Accounts in several roles: {count}. Each gets one row per role, and the CRM "
            "record keeps the owner of the last row it imports."
        )
