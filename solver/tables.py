"""Input tables: the accounts table and the reps table, read and validated.

Both tables are read by :mod:`solver.table_io`, which lists the supported file types.

Every problem raises :class:`~solver.errors.InputError` naming the file, the row as a
spreadsheet shows it (header = row 1, first data row = row 2), the column, the value and
the fix. When several rows share a problem, the message shows the first and counts them.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from solver import geo
from solver.errors import input_error
from solver.scenario import ACCOUNT_COUNT, Scenario
from solver.table_io import (
    _Cells,
    _check_columns_exist,
    _choices,
    _Column,
    _ids,
    _listing,
    _numbers,
    _parse_date,
    _read_table,
    _reject_duplicates,
    _text,
)

logger = logging.getLogger(__name__)

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
    # The row number a spreadsheet shows (the header is row 1), for messages after sorting.
    frame["source_row"] = np.arange(len(raw)) + 2
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
    # Today's owners, parents and locks stay text under fixed names; the books stage checks
    # them against the reps and the accounts.
    for field in ("current_owner", "parent_id", "locked_to"):
        source = getattr(columns, field)
        if source is not None:
            frame[field] = cells.column(source).text
    # Geographic codes stay text too, so that a role with units can join accounts by code.
    for field, name in (("county_fips", "county_code"), ("zip", "zip_code"), ("unit", "unit_code")):
        source = getattr(columns, field)
        if source is not None:
            frame[name] = cells.column(source).text

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
    if columns.max_accounts is not None:
        column = cells.column(columns.max_accounts)
        limit, invalid = _numbers(column)
        column.reject(
            invalid | (limit < 0),
            "is not a number >= 0",
            "write a whole number of accounts, or leave the cell empty for no limit",
        )
        reps["rep_max_accounts"] = limit.fillna(np.inf).to_numpy()
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
    masks: dict[str, np.ndarray] = {}
    for name in scenario.roles:
        masks[name] = _included(accounts, scenario, name) & ~_excluded(accounts, scenario, name)
    return masks


def _excluded(accounts: pd.DataFrame, scenario: Scenario, name: str) -> np.ndarray:
    """Return the accounts that role ``name`` may not own (its ``exclude`` filter)."""
    role = scenario.roles[name]
    if role.exclude is None:
        return np.zeros(len(accounts), dtype=bool)
    cells = _text(accounts[role.exclude.column])
    return cells.isin([str(value) for value in role.exclude.values]).to_numpy(dtype=bool)


def _included(accounts: pd.DataFrame, scenario: Scenario, name: str) -> np.ndarray:
    """Return the accounts that role ``name``'s ``accounts`` filter covers."""
    file = scenario.inputs.accounts.path.name
    role = scenario.roles[name]
    if role.accounts is None:
        return np.ones(len(accounts), dtype=bool)

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
    return mask


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


# -- accounts -----------------------------------------------------------------------------


def _account_column_keys(scenario: Scenario) -> dict[str, str]:
    """Map each accounts column the scenario uses to the scenario key that names it."""
    columns = scenario.inputs.accounts.columns
    prefix = "inputs.accounts.columns"
    keys: dict[str, str] = {}
    fields = ("id", "latitude", "longitude", "county_fips", "zip", "name")
    for field in (*fields, "current_owner", "parent_id", "locked_to", "unit"):
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
        if role.exclude is not None:
            keys.setdefault(role.exclude.column, f"roles.{name}.exclude.column")
    return keys


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
    filters += [role.exclude.column for role in scenario.roles.values() if role.exclude]
    extras: list[str] = []
    for column in dict.fromkeys([*columns.keep, *filters]):
        if column not in sources:
            extras.append(column)
        elif sources[column] != column:
            problem = f"has the name of the output column '{column}', which contains other data"
            fix = "rename the column in the file and in the scenario, or drop it from keep"
            raise input_error(scenario.inputs.accounts.path.name, problem, fix, column=column)
    return extras


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


def _ramp_profiles(column: _Column, scenario: Scenario) -> pd.Series:
    known = list(scenario.ramp_profiles)
    fix = "leave the cell empty to use the role's ramp, or "
    if known:
        fix += f"use a ramp profile of {scenario.source.name}"
    else:
        fix += f"define the profile under ramp_profiles in {scenario.source.name}"
    return _choices(column, "ramp profile", known, fix, required=False)


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
