"""Input tables: the accounts table and the reps table, read and validated.

A table is a CSV (``.csv``, ``.csv.gz``), Parquet (``.parquet``) or Excel (``.xlsx``,
``.xls``) file, chosen by its suffix. CSV and Excel cells are read as text, so leading zeros
of codes survive and every conversion happens here. Parquet cells keep their stored types.

Every problem raises :class:`~solver.errors.InputError` naming the file, the row as a
spreadsheet shows it (header = row 1, first data row = row 2), the column, the value and
the fix. When several rows share a problem, the message shows the first and counts them.
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

from solver import geo
from solver.errors import input_error
from solver.scenario import ACCOUNT_COUNT, AccountsInput, RepsInput, Scenario

logger = logging.getLogger(__name__)

_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".xlsx", ".xls")
_EXCEL_SUFFIXES = (".xlsx", ".xls")

# ISO dates, also with the midnight time that Excel date cells get when read as text.
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]00:00:00(?:\.0+)?)?")

_DATE_FIX = (
    "write the date as YYYY-MM-DD, for example 2027-03-04. A date such as 03/04/2027 is "
    "rejected because it could mean 4 March or 3 April"
)


def load_accounts(scenario: Scenario) -> pd.DataFrame:
    """Read the accounts table of ``scenario``, validate it and apply the column mapping.

    Each account is placed at its latitude and longitude when both cells are filled, else
    at its county FIPS code, else at its ZIP code (each only when that column is mapped).

    Returns
    -------
    pandas.DataFrame
        One row per account, sorted by ``account_id`` with a fresh index. The columns are
        ``account_id`` (str), ``name`` (when mapped), ``latitude`` and ``longitude``
        (float degrees) and ``location_source`` (``'latlon'``, ``'county_fips'`` or
        ``'zip'``). One float column per mapped metric follows, named after the metric.
        Last come the ``keep`` columns and the role filter columns under their source
        names, as text with None for empty cells.

    Raises
    ------
    InputError
        For a missing file or column, an empty or duplicate account id, a metric value that
        is empty, not a number or negative, a coordinate out of range, a bad FIPS or ZIP
        code, or a row with no location.
    """
    spec = scenario.inputs.accounts
    columns = spec.columns
    raw = _read_table(scenario, spec, "accounts")
    _check_columns_exist(raw, _account_column_keys(scenario), spec.path.name, scenario)
    extras = _extra_account_columns(scenario)
    cells = _Cells(raw, spec.path.name)

    frame = pd.DataFrame(index=raw.index)
    frame["account_id"] = _ids(cells.column(columns.id), "account id").astype(str)
    if columns.name is not None:
        frame["name"] = cells.column(columns.name).text

    points = (columns.latitude, columns.longitude, columns.county_fips, columns.zip)
    latitude, longitude, source = _locations(cells, *points)
    cells.reject_rows(np.isnan(latitude), "has no location", f"fill in {_options(*points)}")
    frame["latitude"] = latitude
    frame["longitude"] = longitude
    frame["location_source"] = source

    for metric, column in columns.metrics.items():
        frame[metric] = _metric_values(cells.column(column), metric)
    for column in extras:
        frame[column] = cells.column(column).text

    _warn_null_island(frame)
    return frame.sort_values("account_id", kind="stable").reset_index(drop=True)


def load_reps(scenario: Scenario) -> pd.DataFrame:
    """Read the reps and hiring-plan table of ``scenario`` and validate it.

    A row with an empty rep id is a planned hire. It gets the id ``TBH-<ROLE>-<nn>``:
    the role name upper-cased and a number from 01, counted per role in order of start date
    and then of rows, skipping ids that the table already uses.

    Returns
    -------
    pandas.DataFrame
        One row per rep in the order of the file. The columns are ``rep_id``, ``role``,
        ``name`` (None when absent), ``start_date`` and ``end_date`` (datetime64, NaT when
        the rep has no planned end) and ``home_latitude`` and ``home_longitude`` (NaN
        when absent). The last is ``ramp_profile``, None when the role's ramp applies.

    Raises
    ------
    InputError
        For a missing file or column, an unknown role or ramp profile, a missing or invalid
        start date, an invalid end date or one before the start date, a duplicate rep id or
        a bad home location.
    """
    spec = scenario.inputs.reps
    columns = spec.columns
    raw = _read_table(scenario, spec, "reps")
    mapping = columns.model_dump(exclude_none=True)
    keys = {column: f"inputs.reps.columns.{field}" for field, column in mapping.items()}
    _check_columns_exist(raw, keys, spec.path.name, scenario)
    cells = _Cells(raw, spec.path.name)
    empty = pd.Series([None] * len(raw), index=raw.index, dtype=object)

    role_fix = f"use one of the roles of {scenario.source.name}"
    roles = _choices(
        cells.column(columns.role), "role", list(scenario.roles), role_fix, required=True
    )
    start = _dates(cells.column(columns.start_date), required=True)
    end = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if columns.end_date is not None:
        end = _dates(cells.column(columns.end_date), required=False)
        _check_end_after_start(cells.column(columns.end_date), start, end)

    profiles = empty
    if columns.ramp_profile is not None:
        profiles = _ramp_profiles(cells.column(columns.ramp_profile), scenario)

    reps = pd.DataFrame(index=raw.index)
    reps["rep_id"] = _rep_ids(cells.column(columns.id), roles, start).astype(str)
    reps["role"] = roles
    reps["name"] = cells.column(columns.name).text if columns.name else empty
    reps["start_date"] = start
    reps["end_date"] = end
    home_latitude, home_longitude, _ = _locations(
        cells,
        columns.home_latitude,
        columns.home_longitude,
        columns.home_county_fips,
        columns.home_zip,
    )
    reps["home_latitude"] = home_latitude
    reps["home_longitude"] = home_longitude
    reps["ramp_profile"] = profiles
    return reps.reset_index(drop=True)


def role_members(accounts: pd.DataFrame, scenario: Scenario) -> dict[str, np.ndarray]:
    """Return a boolean mask over ``accounts`` for each role, in the scenario's role order.

    A role without an ``accounts`` filter covers every account. Otherwise it covers the
    accounts whose filter column contains one of the filter values. The comparison is on text
    and case-sensitive: each value is written with ``str()`` (so YAML ``true`` is
    ``'True'`` and ``1`` is ``'1'``) and compared with the stripped cell text.

    Raises
    ------
    InputError
        When a filter column is missing from ``accounts`` or a role covers no account. The
        message lists the values found in the column.
    """
    file = scenario.inputs.accounts.path.name
    masks: dict[str, np.ndarray] = {}
    for name, role in scenario.roles.items():
        if role.accounts is None:
            masks[name] = np.ones(len(accounts), dtype=bool)
            continue

        column = role.accounts.column
        key = f"roles.{name}.accounts"
        if column not in accounts.columns:
            problem = f"is not a column of the accounts table {file}"
            fix = f"use one of {_listing(list(accounts.columns))}"
            raise input_error(scenario.source.name, problem, fix, key=f"{key}.column", value=column)

        cells = _text(accounts[column])
        expected = [str(value) for value in role.accounts.values]
        mask = cells.isin(expected).to_numpy(dtype=bool)
        if not mask.any():
            found = cells.dropna().value_counts().index.tolist()
            problem = (
                f"role '{name}' covers no accounts: no row of {file} has column '{column}' "
                f"in {expected}"
            )
            fix = (
                "use values found in the column (compared as case-sensitive text): "
                f"{_listing(found, limit=10)}"
            )
            raise input_error(scenario.source.name, problem, fix, key=f"{key}.values")
        masks[name] = mask
    return masks


def check_roles_staffed(reps: pd.DataFrame, scenario: Scenario) -> None:
    """Raise InputError for the first role of ``scenario`` that has no rep in ``reps``."""
    file = scenario.inputs.reps.path.name
    staffed = set(reps["role"])
    for name in scenario.roles:
        if name in staffed:
            continue
        fix = (
            f"add a row with role '{name}' to {file} (leave its rep id empty for a planned "
            f"hire), or remove the role from {scenario.source.name}"
        )
        raise input_error(file, f"role '{name}' has no reps or planned hires", fix)


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


def _account_column_keys(scenario: Scenario) -> dict[str, str]:
    """Map each accounts column the scenario uses to the scenario key that names it."""
    columns = scenario.inputs.accounts.columns
    prefix = "inputs.accounts.columns"
    keys: dict[str, str] = {}
    for field in ("id", "latitude", "longitude", "county_fips", "zip", "name"):
        column = getattr(columns, field)
        if column is not None:
            keys.setdefault(column, f"{prefix}.{field}")
    for metric, column in columns.metrics.items():
        keys.setdefault(column, f"{prefix}.metrics.{metric}")
    for index, column in enumerate(columns.keep):
        keys.setdefault(column, f"{prefix}.keep.{index}")
    for name, role in scenario.roles.items():
        if role.accounts is not None:
            keys.setdefault(role.accounts.column, f"roles.{name}.accounts.column")
    return keys


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


def _extra_account_columns(scenario: Scenario) -> list[str]:
    """Return the keep and role filter columns, checking that no name clashes with output."""
    columns = scenario.inputs.accounts.columns
    # Output column -> the source column it is read from (None when it is computed).
    sources = {"account_id": columns.id, "name": columns.name, "latitude": columns.latitude}
    sources.update({"longitude": columns.longitude, "location_source": None, ACCOUNT_COUNT: None})

    for metric in columns.metrics:
        if metric in sources:
            key = f"inputs.accounts.columns.metrics.{metric}"
            fix = f"rename the metric, for example to 'total_{metric}'"
            problem = "is a metric name that the engine reserves"
            raise input_error(scenario.source.name, problem, fix, key=key, value=metric)
    sources.update(columns.metrics)

    filters = [role.accounts.column for role in scenario.roles.values() if role.accounts]
    extras: list[str] = []
    for column in dict.fromkeys([*columns.keep, *filters]):
        if column not in sources:
            extras.append(column)
        elif sources[column] != column:
            problem = f"has the name of the output column '{column}', which contains other data"
            fix = "rename the column in the file and in the scenario, or drop it from keep"
            raise input_error(scenario.inputs.accounts.path.name, problem, fix, column=column)
    return extras


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


def _metric_values(column: _Column, metric: str) -> np.ndarray:
    values, not_number = _numbers(column)
    fix = "write a plain number such as 1250.5, without currency symbols, units or separators"
    column.reject(not_number, "is not a number", fix)
    problem = f"is empty, but metric '{metric}' needs a value"
    column.reject(column.text.isna(), problem, "fill it with 0 if the account has none of it")
    column.reject(values < 0, "is negative", "metrics must be >= 0")
    return values.to_numpy(dtype=np.float64)


# -- locations ----------------------------------------------------------------------------


def _locations(
    cells: _Cells,
    lat_column: str | None,
    lon_column: str | None,
    fips_column: str | None,
    zip_column: str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place each row at its latitude and longitude, else its county FIPS, else its ZIP code.

    Returns latitude, longitude (NaN for rows with no location) and the source of each
    point: 'latlon', 'county_fips', 'zip' or None.
    """
    latitude = np.full(len(cells.raw), np.nan)
    longitude = np.full(len(cells.raw), np.nan)
    source = np.full(len(cells.raw), None, dtype=object)
    if lat_column is not None and lon_column is not None:
        lat = _coordinates(cells.column(lat_column), 90.0)
        lon = _coordinates(cells.column(lon_column), 180.0)
        filled = ~np.isnan(lat) & ~np.isnan(lon)
        latitude[filled], longitude[filled] = lat[filled], lon[filled]
        source[filled] = "latlon"

    for kind, code_column in (("county_fips", fips_column), ("zip", zip_column)):
        if code_column is None:
            continue
        codes = cells.column(code_column).text
        use = np.isnan(latitude) & codes.notna().to_numpy()
        if not use.any():
            continue
        locate = geo.locate_counties if kind == "county_fips" else geo.locate_zips
        latitude[use], longitude[use] = locate(codes[use], cells.file, code_column)
        source[use] = kind
    return latitude, longitude, source


def _coordinates(column: _Column, limit: float) -> np.ndarray:
    values, not_number = _numbers(column)
    column.reject(not_number, "is not a number", "write decimal degrees, such as 40.7128")
    fix = "write decimal degrees and check that latitude and longitude are not swapped"
    column.reject(values.abs() > limit, f"is outside [-{limit:g}, {limit:g}] degrees", fix)
    return values.to_numpy(dtype=np.float64)


def _options(lat: str | None, lon: str | None, fips: str | None, zip_code: str | None) -> str:
    """Describe the mapped location columns for the fix of a row with no location."""
    options = []
    if lat is not None:
        options.append(f"latitude and longitude (columns '{lat}' and '{lon}')")
    if fips is not None:
        options.append(f"the county FIPS code (column '{fips}')")
    if zip_code is not None:
        options.append(f"the ZIP code (column '{zip_code}')")
    return " or ".join(options)


def _warn_null_island(frame: pd.DataFrame) -> None:
    at_origin = (frame["latitude"] == 0.0) & (frame["longitude"] == 0.0)
    if not at_origin.any():
        return
    ids = ", ".join(frame.loc[at_origin, "account_id"].head(5))
    message = "%d accounts are at latitude 0, longitude 0, which usually marks a missing "
    logger.warning(message + "location (first ids: %s)", int(at_origin.sum()), ids)


# -- reps ---------------------------------------------------------------------------------


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


def _ramp_profiles(column: _Column, scenario: Scenario) -> pd.Series:
    known = list(scenario.ramp_profiles)
    fix = "leave the cell empty to use the role's ramp, or "
    if known:
        fix += f"use a ramp profile of {scenario.source.name}"
    else:
        fix += f"define the profile under ramp_profiles in {scenario.source.name}"
    return _choices(column, "ramp profile", known, fix, required=False)


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


def _dates(column: _Column, *, required: bool) -> pd.Series:
    parsed: list[pd.Timestamp | None] = []
    invalid: list[bool] = []
    for value in column.raw:
        try:
            parsed.append(_parse_date(value))
            invalid.append(False)
        except ValueError:
            parsed.append(None)
            invalid.append(True)
    problem = "is not a valid date in the format YYYY-MM-DD"
    column.reject(pd.Series(invalid, index=column.raw.index), problem, _DATE_FIX)

    dates = pd.Series(parsed, index=column.raw.index, dtype="datetime64[ns]")
    if required:
        problem = "is empty, but every rep and planned hire needs a start date"
        column.reject(dates.isna(), problem, "fill in the start date as YYYY-MM-DD")
    return dates


def _check_end_after_start(column: _Column, start: pd.Series, end: pd.Series) -> None:
    before = end.notna() & (end < start)
    if not before.any():
        return
    first_start = start.loc[before[before].index[0]]
    problem = f"is before the start date {first_start:%Y-%m-%d}"
    column.reject(before, problem, "correct the end date, or leave it empty when no end is planned")


def _rep_ids(column: _Column, roles: pd.Series, start: pd.Series) -> pd.Series:
    """Return the rep ids, with a generated ``TBH-<ROLE>-<nn>`` id for each empty cell."""
    _reject_duplicates(column, "rep id")
    ids = column.text.copy()
    used = set(ids.dropna())

    blank = pd.DataFrame({"role": roles, "start": start, "row": np.arange(len(ids))})
    blank = blank.loc[ids.isna()].sort_values(["start", "row"], kind="stable")
    for role, hires in blank.groupby("role", sort=False):
        number = 1
        for label in hires.index:
            while f"TBH-{str(role).upper()}-{number:02d}" in used:
                number += 1
            ids.loc[label] = f"TBH-{str(role).upper()}-{number:02d}"
            used.add(ids.loc[label])
    return ids


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
