"""The solved plan that an export reads, with the names and CRM ids of its accounts and reps.

An export starts from a plan folder written by `territory solve`: ``assignments.csv``,
``territories.csv`` and ``summary.json``. The summary names the scenario file, and the
scenario names the input tables. Those tables give the account and rep names, ZIP and FIPS
codes as text (so leading zeros survive), the current owners and the CRM ids.

CRM ids come from columns of the input tables (``export.accounts`` and ``export.reps`` in
the scenario) and from an ids file (``export.ids_file`` or ``--ids``). The ids file has
the columns ``kind`` (``account`` or ``rep``), ``id`` (the plan's id) and any of
``salesforce_id``, ``hubspot_id``, ``domain``, ``dynamics_id`` and ``email``. A filled cell
of the ids file wins over the table column.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from solver.errors import InputError, input_error
from solver.export.files import sha256
from solver.scenario import Scenario, load_scenario
from solver.table_io import (
    _Cells,
    _check_columns_exist,
    _read_file,
    _read_table,
    _reject,
    _text,
)
from solver.tables import load_reps

PLAN_FILES = ("assignments.csv", "territories.csv", "summary.json")

#: CRM id fields of an account and of a rep, as named in the ids file.
ACCOUNT_FIELDS = ("salesforce_id", "hubspot_id", "domain", "dynamics_id")
REP_FIELDS = ("email", "salesforce_id")

#: Converts one source column of ids; raises InputError naming the file, row and value.
Converter = Callable[[pd.Series, str, str], pd.Series]


@dataclass(frozen=True)
class IdSource:
    """One column that gives a CRM id field: its file, its column and its cells.

    The cells are indexed by the plan id. ``rows`` maps each plan id to the row number a
    spreadsheet shows for it in ``file``.
    """

    file: str
    column: str
    cells: pd.Series
    rows: pd.Series


@dataclass(frozen=True)
class ExportSource:
    """A solved plan with everything the export targets need.

    ``accounts`` has one row per account in the plan, sorted by role then account id:
    the plan's ``account_id``, ``role``, ``territory_id``, ``rep_id`` and metric columns,
    then ``account_name``, ``zip``, ``county_fips`` and ``current_owner`` (text, None
    when unknown). ``territories`` is ``territories.csv``. ``reps`` has ``rep_id``,
    ``name``, ``role`` and ``planned`` (True for a planned hire) for every rep of the table.
    """

    plan_dir: Path
    summary: dict[str, Any]
    scenario: Scenario
    accounts: pd.DataFrame
    territories: pd.DataFrame
    reps: pd.DataFrame
    plan_sha256: dict[str, str]
    account_ids: dict[str, list[IdSource]] = field(default_factory=dict)
    rep_ids: dict[str, list[IdSource]] = field(default_factory=dict)

    def role_label(self, role: str) -> str:
        """Return the role's label from the scenario, else its name."""
        return self.scenario.roles[role].label or role

    def account_field(self, name: str, convert: Converter | None = None) -> pd.Series:
        """Return CRM field ``name`` per account of the plan (None where no source has it)."""
        return _merged(self.account_ids.get(name, []), self.accounts["account_id"], convert)

    def rep_field(self, name: str, convert: Converter | None = None) -> pd.Series:
        """Return CRM field ``name`` per rep of the table (None where no source has it)."""
        return _merged(self.rep_ids.get(name, []), self.reps["rep_id"], convert)

    def account_sources(self, name: str) -> str:
        """Return where field ``name`` of an account is looked for, for messages."""
        return _describe(self.account_ids.get(name, []), f"export.accounts.{name}")

    def rep_sources(self, name: str) -> str:
        """Return where field ``name`` of a rep is looked for, for messages."""
        key = "salesforce_user_id" if name == "salesforce_id" else name
        return _describe(self.rep_ids.get(name, []), f"export.reps.{key}")


def load_source(
    plan_dir: str | Path,
    *,
    scenario_path: str | Path | None = None,
    ids_file: str | Path | None = None,
) -> ExportSource:
    """Read the plan in ``plan_dir`` with its scenario, input tables and CRM ids.

    Raises
    ------
    InputError
        For a folder that is not a plan, a scenario that is not the plan's, a mapped column
        missing from a table, or a bad ids file.
    """
    folder = Path(plan_dir)
    summary = _read_summary(folder)
    scenario = _plan_scenario(folder, summary, scenario_path)
    assignments = _read_plan_csv(folder / "assignments.csv")
    territories = _read_plan_csv(folder / "territories.csv")

    raw_accounts = _read_table(scenario, scenario.inputs.accounts, "accounts")
    accounts_file = scenario.inputs.accounts.path.name
    _check_mapped_columns(raw_accounts, scenario, accounts_file, "accounts")
    accounts = _plan_accounts(assignments, raw_accounts, scenario, folder)
    reps = load_reps(scenario)[["rep_id", "name", "role"]]
    raw_reps = _read_table(scenario, scenario.inputs.reps, "reps")
    # A planned hire has no id in the table, and usually no CRM user yet.
    reps["planned"] = _text(raw_reps[scenario.inputs.reps.columns.id]).isna().to_numpy()
    _check_mapped_columns(raw_reps, scenario, scenario.inputs.reps.path.name, "reps")

    account_ids = _table_id_sources(raw_accounts, scenario, "accounts")
    rep_ids = _table_id_sources(raw_reps, scenario, "reps", plan_ids=reps["rep_id"])
    ids_path = _ids_path(scenario, ids_file)
    if ids_path is not None:
        _add_ids_file(ids_path, account_ids, rep_ids)

    plan_sha = {name: sha256(folder / name) for name in PLAN_FILES}
    return ExportSource(
        folder, summary, scenario, accounts, territories, reps, plan_sha, account_ids, rep_ids
    )


# -- the plan folder ----------------------------------------------------------------------


def _read_summary(folder: Path) -> dict[str, Any]:
    missing = [name for name in PLAN_FILES if not (folder / name).is_file()]
    if not folder.is_dir() or missing:
        if folder.is_dir():
            what = f"has no {', '.join(missing)}"
        else:
            what = "is a file" if folder.exists() else "does not exist"
        raise InputError(
            f"{folder}: {what}, so it is not a plan folder. Fix: run `territory solve "
            "<scenario>` first and pass its output folder, for example out/us_default."
        )
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{folder / 'summary.json'}: is not valid JSON ({exc}). "
            "Fix: solve the scenario again to rewrite the plan folder."
        ) from None
    return summary


def _plan_scenario(folder: Path, summary: dict[str, Any], override: str | Path | None) -> Scenario:
    if override is not None:
        path = Path(override)
    elif summary.get("scenario_file"):
        path = Path(os.path.normpath(folder / summary["scenario_file"]))
    else:
        raise InputError(
            f"{folder / 'summary.json'}: names no scenario file. Fix: pass the scenario "
            "that produced this plan with --scenario."
        )
    if not path.is_file():
        raise InputError(
            f"{path}: the plan's scenario file was not found. Fix: pass it with --scenario."
        )

    scenario = load_scenario(path)
    if scenario.name != summary.get("scenario"):
        raise InputError(
            f"{path}: is scenario '{scenario.name}', but the plan in {folder} was solved "
            f"from scenario '{summary.get('scenario')}'. Fix: pass that plan's scenario "
            "with --scenario."
        )
    return scenario


def _read_plan_csv(path: Path) -> pd.DataFrame:
    # Ids stay text, so that '01001' keeps its leading zero; metrics become numbers.
    frame = _read_file(path, ".csv", None, path.name, "")
    for column in frame.columns:
        text = ("account_id", "territory_id", "role", "rep_id", "rep_name", "centre")
        if column in (*text, "current_rep_id", "reason"):
            frame[column] = _text(frame[column])
        else:
            converted = pd.to_numeric(frame[column], errors="coerce")
            if converted.notna().sum() == frame[column].notna().sum():
                frame[column] = converted
    return frame


# -- the input tables ---------------------------------------------------------------------


def _check_mapped_columns(raw: pd.DataFrame, scenario: Scenario, file: str, table: str) -> None:
    """Check that every column the export section maps exists in the table."""
    section = scenario.export.accounts if table == "accounts" else scenario.export.reps
    keys = {
        column: f"export.{table}.{name}"
        for name, column in section.model_dump(exclude_none=True).items()
    }
    if table == "accounts" and scenario.inputs.accounts.columns.current_owner is not None:
        keys[scenario.inputs.accounts.columns.current_owner] = (
            "inputs.accounts.columns.current_owner"
        )
    _check_columns_exist(raw, keys, file, scenario)


def _plan_accounts(
    assignments: pd.DataFrame, raw: pd.DataFrame, scenario: Scenario, folder: Path
) -> pd.DataFrame:
    """Join the plan's assignment rows with names, codes and owners from the accounts table."""
    columns = scenario.inputs.accounts.columns
    cells = _Cells(raw, scenario.inputs.accounts.path.name)
    table = pd.DataFrame({"account_id": cells.column(columns.id).text})
    optional = {
        "account_name": columns.name,
        "zip": columns.zip,
        "county_fips": columns.county_fips,
        "current_owner": columns.current_owner,
    }
    for output, column in optional.items():
        table[output] = cells.column(column).text if column else None

    unknown = assignments.loc[~assignments["account_id"].isin(table["account_id"]), "account_id"]
    if len(unknown):
        raise InputError(
            f"{folder / 'assignments.csv'}: account '{unknown.iloc[0]}' is not in "
            f"{scenario.inputs.accounts.path.name} ({len(unknown)} accounts in total). "
            "Fix: the accounts table changed after the solve; solve the scenario again."
        )
    joined = assignments.merge(table, on="account_id", how="left", validate="many_to_one")
    return joined.sort_values(["role", "account_id"], kind="stable").reset_index(drop=True)


def _table_id_sources(
    raw: pd.DataFrame, scenario: Scenario, table: str, plan_ids: pd.Series | None = None
) -> dict[str, list[IdSource]]:
    """Return the CRM id columns that the scenario maps in one input table."""
    if table == "accounts":
        file = scenario.inputs.accounts.path.name
        mapping = scenario.export.accounts.model_dump(exclude_none=True)
        ids = _text(raw[scenario.inputs.accounts.columns.id])
    else:
        file = scenario.inputs.reps.path.name
        mapping = scenario.export.reps.model_dump(exclude_none=True)
        mapping = {
            ("salesforce_id" if k == "salesforce_user_id" else k): v for k, v in mapping.items()
        }
        # Planned hires get their generated TBH ids, row for row.
        assert plan_ids is not None
        ids = pd.Series(plan_ids.to_numpy(), index=raw.index)

    rows = pd.Series(raw.index.to_numpy() + 2, index=ids.to_numpy())
    sources: dict[str, list[IdSource]] = {}
    for name, column in mapping.items():
        cells = pd.Series(_text(raw[column]).to_numpy(), index=ids.to_numpy(), dtype=object)
        sources[name] = [IdSource(file, column, cells, rows)]
    return sources


# -- the ids file -------------------------------------------------------------------------


def _ids_path(scenario: Scenario, override: str | Path | None) -> Path | None:
    if override is not None:
        path = Path(override)
        if not path.is_file():
            raise InputError(
                f"{path}: ids file not found. Fix: pass an existing CSV file to --ids."
            )
        return path
    if scenario.export.ids_file is None:
        return None
    path = scenario.resolve(scenario.export.ids_file)
    if not path.is_file():
        raise input_error(
            scenario.source.name,
            f"is not an existing file (looked for {path})",
            "correct export.ids_file; a relative path is resolved from the scenario's folder",
            key="export.ids_file",
            value=str(scenario.export.ids_file),
        )
    return path


def _add_ids_file(
    path: Path, account_ids: dict[str, list[IdSource]], rep_ids: dict[str, list[IdSource]]
) -> None:
    """Add the columns of an ids file after the table columns, so that they win."""
    raw = _read_file(path, ".csv", None, path.name, "")
    raw = raw.loc[raw.notna().any(axis=1)]
    # Headers match without regard to case, so 'Salesforce_ID' is 'salesforce_id'.
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    known = {"kind", "id", *ACCOUNT_FIELDS, *REP_FIELDS}
    unknown = [c for c in raw.columns if c not in known]
    if unknown:
        raise input_error(
            path.name,
            "is not a column of an ids file",
            f"rename it to one of {', '.join(sorted(known))}, or remove it",
            column=unknown[0],
        )
    for required in ("kind", "id"):
        if required not in raw.columns:
            raise input_error(
                path.name,
                "not found in the header row",
                "an ids file needs the columns kind, id and some of "
                f"{', '.join(sorted(set(ACCOUNT_FIELDS) | set(REP_FIELDS)))}",
                column=required,
            )

    kinds = _text(raw["kind"]).str.lower()
    ids = _text(raw["id"])
    bad_kind = ~kinds.isin(["account", "rep"])
    _reject(
        bad_kind, path.name, "is not a kind of id", "write 'account' or 'rep'", "kind", raw["kind"]
    )
    _reject_repeats(path, kinds, ids)

    for kind, fields, target in (
        ("account", ACCOUNT_FIELDS, account_ids),
        ("rep", REP_FIELDS, rep_ids),
    ):
        inside = kinds == kind
        rows = pd.Series(raw.index[inside].to_numpy() + 2, index=ids[inside].to_numpy())
        for name in fields:
            if name not in raw.columns:
                continue
            cells = pd.Series(_text(raw[name])[inside].to_numpy(), index=ids[inside].to_numpy())
            target.setdefault(name, []).append(IdSource(path.name, name, cells, rows))


def _reject_repeats(path: Path, kinds: pd.Series, ids: pd.Series) -> None:
    fix = "write the plan's account or rep id"
    _reject(ids.isna(), path.name, "is empty", fix, "id", ids.fillna(""))
    repeated = pd.Series(list(zip(kinds, ids, strict=True)), index=ids.index).duplicated()
    problem = "appears twice as the id of one kind (account or rep)"
    _reject(repeated, path.name, problem, "keep one row per account and per rep", "id", ids)


# -- merging ------------------------------------------------------------------------------


def _merged(sources: list[IdSource], plan_ids: pd.Series, convert: Converter | None) -> pd.Series:
    """Return one value per plan id: the last source with a filled cell wins."""
    merged = pd.Series([None] * len(plan_ids), index=plan_ids.to_numpy(), dtype=object)
    for source in sources:
        cells = source.cells
        if convert is not None:
            # Convert with row numbers as the index, so that errors name the file's row.
            by_row = pd.Series(
                cells.to_numpy(), index=source.rows.reindex(cells.index).to_numpy() - 2
            )
            cells = pd.Series(
                convert(by_row, source.file, source.column).to_numpy(), index=cells.index
            )
        cells = cells[~cells.index.duplicated(keep="first")]
        known = cells.reindex(merged.index)
        merged = known.where(known.notna(), merged)
    merged = merged.astype(object)
    return merged.where(merged.notna(), None).reset_index(drop=True)


def _describe(sources: list[IdSource], key: str) -> str:
    if not sources:
        return f"no column, because none is mapped (set {key} in the scenario, or give an ids file)"
    return " or ".join(f"column '{s.column}' of {s.file}" for s in sources)
