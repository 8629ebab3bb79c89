"""Reading input tables and checking their cells, shared by the accounts and reps loaders.

A table is a CSV (``.csv``, ``.csv.gz``), Parquet (``.parquet``) or Excel (``.xlsx``,
``.xls``) file, chosen by its suffix. CSV and Excel cells are read as text, so leading zeros
of codes survive and every conversion happens here. Parquet cells keep their stored types.

A failed cell check raises :class:`~solver.errors.InputError` for the first bad row, as a
spreadsheet numbers it (header = row 1, first data row = row 2), and counts the other bad rows.
The helpers keep their leading underscore because only :mod:`solver.tables` uses them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.errors import input_error
from solver.scenario import AccountsInput, RepsInput, Scenario

logger = logging.getLogger(__name__)

_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".xlsx", ".xls")
_EXCEL_SUFFIXES = (".xlsx", ".xls")

# ISO dates, also with the midnight time that Excel date cells get when read as text.
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]00:00:00(?:\.0+)?)?")


# -- reading ------------------------------------------------------------------------------


def _read_table(scenario: Scenario, spec: AccountsInput | RepsInput, section: str) -> pd.DataFrame:
    """Read one input table. The index is each row's 0-based position among data rows."""
    path = scenario.resolve(spec.path)
    key = f"inputs.{section}"
    scenario_file = scenario.source.name
    if not path.is_file():
        problem = f"is not an existing file (looked for {path})"
        fix = f"correct {key}.path. A relative path is resolved from the folder of {scenario_file}"
        raise input_error(scenario_file, problem, fix, key=f"{key}.path", value=str(spec.path))

    suffix = next((s for s in _SUFFIXES if path.name.lower().endswith(s)), path.suffix)
    if suffix not in _SUFFIXES:
        problem = f"has an unsupported file type '{suffix}'"
        fix = "save the table as .csv, .csv.gz, .parquet, .xlsx or .xls and point the key to it"
        raise input_error(scenario_file, problem, fix, key=f"{key}.path", value=str(spec.path))
    if spec.sheet is not None and suffix not in _EXCEL_SUFFIXES:
        problem = f"is set, but {path.name} is not an Excel workbook"
        fix = f"remove {key}.sheet, or point {key}.path to an Excel workbook"
        raise input_error(scenario_file, problem, fix, key=f"{key}.sheet", value=spec.sheet)

    table = _read_file(path, suffix, spec.sheet, scenario_file, f"{key}.sheet")

    # Drop fully empty rows (such as trailing blank lines) but keep every row's position,
    # so that row numbers in messages still match the file.
    table = table.loc[table.notna().any(axis=1)]
    if table.empty:
        raise input_error(path.name, "has no data rows", "add at least one row under the header")
    logger.info("read %d rows from %s", len(table), path)
    return table


def _read_file(
    path: Path, suffix: str, sheet: str | None, scenario_file: str, sheet_key: str
) -> pd.DataFrame:
    # Only empty cells are missing values, because 'NA' can be a segment (North America).
    missing = [""]
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(path)
            return table.reset_index(drop=table.index.names == [None])
        if suffix in _EXCEL_SUFFIXES:
            with pd.ExcelFile(path) as book:
                if sheet is not None and sheet not in book.sheet_names:
                    fix = f"use one of {_listing(book.sheet_names)}"
                    problem = f"is not a sheet of {path.name}"
                    raise input_error(scenario_file, problem, fix, key=sheet_key, value=sheet)
                sheet_name = sheet if sheet is not None else 0
                return pd.read_excel(
                    book, sheet_name=sheet_name, dtype=str, keep_default_na=False, na_values=missing
                )
        # The BOM that Excel writes at the start of a "CSV UTF-8" file is dropped.
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=missing,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError:
        fix = "save it with UTF-8 encoding (in Excel: CSV UTF-8)"
        raise input_error(path.name, "is not UTF-8 text", fix) from None
    except ImportError as exc:
        fix = "save it as .xlsx, .csv or .parquet, or install the missing package"
        raise input_error(path.name, f"cannot be read: {exc}", fix) from None
    except pd.errors.EmptyDataError:
        raise input_error(path.name, "is empty", "write a header row and the data rows") from None
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        problem = f"cannot be read as a {suffix} file ({exc})"
        fix = "check that the file is not damaged and that its suffix matches its format"
        raise input_error(path.name, problem, fix) from None


def _check_columns_exist(
    raw: pd.DataFrame, keys: dict[str, str], file: str, scenario: Scenario
) -> None:
    present = [str(column) for column in raw.columns]
    for column, key in keys.items():
        if column in present:
            continue
        guess = _closest(column, present)
        hint = f"did you mean '{guess}'? " if guess else f"the columns are {_listing(present)}. "
        problem = f"not found in the header row (key '{key}' of {scenario.source.name} maps it)"
        fix = f"{hint}Correct that key, or rename the column in {file}"
        raise input_error(file, problem, fix, column=column)


# -- cells --------------------------------------------------------------------------------


def _cell_text(value: Any) -> str | None:
    """Return a cell as stripped text, or None when it is empty.

    Integral floats lose their '.0' (a Parquet integer column with gaps is stored as float).
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _text(series: pd.Series) -> pd.Series:
    """Return ``series`` as stripped text with None for empty cells (object dtype)."""
    return pd.Series([_cell_text(v) for v in series], index=series.index, dtype=object)


@dataclass(frozen=True)
class _Cells:
    """The raw cells of one input file, with the file name for messages."""

    raw: pd.DataFrame
    file: str

    def column(self, name: str) -> _Column:
        return _Column(self, name, self.raw[name], _text(self.raw[name]))

    def reject_rows(self, mask: Any, problem: str, fix: str) -> None:
        """Raise InputError for the first row in ``mask`` (no column or value shown)."""
        _reject(pd.Series(mask, index=self.raw.index), self.file, problem, fix)


@dataclass(frozen=True)
class _Column:
    """One column of an input file: its raw cells and the same cells as text."""

    cells: _Cells
    name: str
    raw: pd.Series
    text: pd.Series

    def reject(self, mask: pd.Series, problem: str, fix: str) -> None:
        """Raise InputError for the first row in ``mask``, showing this column's value."""
        _reject(mask, self.cells.file, problem, fix, column=self.name, text=self.text)


def _reject(
    mask: pd.Series,
    file: str,
    problem: str,
    fix: str,
    column: str | None = None,
    text: pd.Series | None = None,
) -> None:
    """Raise InputError for the first row in ``mask``, counting the rows it covers."""
    if not mask.any():
        return
    label = mask[mask].index[0]
    count = int(mask.sum())
    if count > 1:
        problem += f" ({count} rows in total have this problem)"
    row = int(label) + 2
    if text is None:
        raise input_error(file, problem, fix, row=row, column=column)
    raise input_error(file, problem, fix, row=row, column=column, value=text.loc[label] or "")


def _ids(column: _Column, label: str) -> pd.Series:
    """Return non-empty, unique ids as text."""
    fix = f"give every row a unique {label}"
    column.reject(column.text.isna(), f"is empty, but every row needs an {label}", fix)
    _reject_duplicates(column, label)
    return column.text


def _reject_duplicates(column: _Column, label: str) -> None:
    ids = column.text
    repeated = ids.notna() & ids.duplicated(keep="first")
    if not repeated.any():
        return
    later = repeated[repeated].index[0]
    earlier = ids.index[(ids == ids.loc[later]).to_numpy()][0]
    problem = f"repeats the {label} of row {int(earlier) + 2}"
    column.reject(repeated, problem, f"give every row a unique {label}")


def _numbers(column: _Column) -> tuple[pd.Series, pd.Series]:
    """Parse cells as floats. Return the values and the mask of filled non-numbers.

    Text ``true``/``false`` (any case) reads as 1/0, so that a flag column such as an ICP
    marker can be a metric. Infinite values count as non-numbers.
    """
    if pd.api.types.is_numeric_dtype(column.raw.dtype):
        values = column.raw.astype(np.float64)
    else:
        flags = [{"true": "1", "false": "0"}.get(t.lower(), t) if t else t for t in column.text]
        values = pd.to_numeric(pd.Series(flags, index=column.text.index), errors="coerce")
        values = values.astype(np.float64)

    filled = column.text.notna()
    return values, filled & ~np.isfinite(values.fillna(np.inf))


def _choices(
    column: _Column, label: str, known: list[str], fix: str, *, required: bool
) -> pd.Series:
    """Return the cells as text, checking that each cell is one of ``known`` or empty.

    With ``required``, an empty cell is rejected too.
    """
    text = column.text
    unknown = ~text.isin(known)
    if not required:
        unknown &= text.notna()
    if unknown.any():
        guess = _closest(text[unknown].iloc[0] or "", known)
        if guess:
            fix = f"did you mean '{guess}'? {fix[0].upper()}{fix[1:]}"
        listing = f": {_listing(known)}" if known else ""
        column.reject(unknown, f"is not a {label} of the scenario", f"{fix}{listing}")
    return text


def _parse_date(value: Any) -> pd.Timestamp | None:
    """Return the date in a cell, or None when the cell is empty.

    Raises ValueError when the cell is neither a date nor text in the format YYYY-MM-DD.
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, dt.date | np.datetime64):
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize(None) if stamp.tzinfo else stamp).normalize()

    text = str(value).strip()
    if not text:
        return None
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a date in the format YYYY-MM-DD: {text!r}")
    # fromisoformat rejects impossible dates such as 2027-02-30.
    return pd.Timestamp(dt.date.fromisoformat(match.group(1)))


# -- messages -----------------------------------------------------------------------------


def _closest(name: str, options: list[str]) -> str | None:
    """Return the option that ``name`` most likely misspells, or None."""
    by_case = {option.lower(): option for option in options}
    if name.lower() in by_case:
        return by_case[name.lower()]
    guess = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return guess[0] if guess else None


def _listing(values: list[Any], limit: int = 20) -> str:
    """Return values quoted and comma-separated, cut after ``limit`` with a count of the rest."""
    text = ", ".join(f"'{value}'" for value in values[:limit])
    if len(values) > limit:
        text += f" and {len(values) - limit} more"
    return text or "(none)"
