"""Geography: county FIPS and ZIP codes to points, and great-circle distances in km.

Points are latitude and longitude in degrees (WGS84). Distances are haversine distances on
a sphere of the mean Earth radius. They are straight-line distances, so travel by road is
longer, and the spherical model is off by up to about 0.5 % against the ellipsoid.

The shipped geography lives in ``data/geo/`` next to the package (see its README): the
3,142 counties of the 50 states and DC from the 2016 Census boundaries, and 41,898 ZIP
code points from the ``zipcodes`` 1.3.0 package.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.errors import PlanError, count_noun, input_error

logger = logging.getLogger(__name__)

#: Mean Earth radius in km (IUGG mean radius R1 of the WGS84 ellipsoid).
EARTH_RADIUS_KM = 6371.0088

#: Folder of the shipped geography. It is found next to the package, so the engine must be
#: installed from a checkout with ``pip install -e .``.
GEO_DIR = Path(__file__).resolve().parents[1] / "data" / "geo"

_COUNTY_FILE = "us_counties.csv"
_ZIP_FILE = "us_zips.csv.gz"

# A code of 1 to 4 digits, optionally written as a float ('6001.0'), is a 5-digit code whose
# leading zeros were dropped by a spreadsheet or by a reader that parsed it as a number.
_LOST_ZEROS = re.compile(r"(\d{1,4})(?:\.0*)?")
# A 5-digit code read as a float ('36061.0') is intact, so it is accepted.
_FIVE_DIGITS = re.compile(r"(\d{5})(?:\.0*)?")
_ZIP_PLUS_FOUR = re.compile(r"(\d{5})-\d{4}")


@dataclass(frozen=True)
class CodeKind:
    """Rules for reading one kind of 5-digit code and the words that messages use for it."""

    label: str
    example: str
    accepts_zip_plus_four: bool
    unknown_fix: str


@dataclass(frozen=True)
class _ShippedKind(CodeKind):
    """A kind of code with a shipped file that gives each code its point."""

    file: str
    code_column: str
    lat_column: str
    lon_column: str


_COUNTY = _ShippedKind(
    label="county FIPS code",
    example="06001",
    file=_COUNTY_FILE,
    code_column="geoid",
    # The interior point is guaranteed to lie inside the county. The area centroid is not,
    # for counties with a curved or split shape.
    lat_column="interior_lat",
    lon_column="interior_lon",
    accepts_zip_plus_four=False,
    unknown_fix=(
        "use the 5-digit FIPS code of a county of the 50 states or DC as the 2016 Census "
        "boundaries draw them and data/geo/us_counties.csv lists them, or give latitude and "
        "longitude for this row. Connecticut uses its 8 legacy counties 09001 to 09015"
    ),
)

_ZIP = _ShippedKind(
    label="ZIP code",
    example="02134",
    file=_ZIP_FILE,
    code_column="zip",
    lat_column="lat",
    lon_column="lon",
    accepts_zip_plus_four=True,
    unknown_fix=(
        "use a ZIP code listed in data/geo/us_zips.csv.gz (military APO/FPO codes have no "
        "location), or give latitude and longitude for this row"
    ),
)

#: Reading rules of county FIPS codes and of ZIP codes, for :func:`read_codes`.
COUNTY_CODES: CodeKind = _COUNTY
ZIP_CODES: CodeKind = _ZIP


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Compute great-circle distances in km between points given in degrees.

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Latitudes and longitudes in degrees: scalars or arrays that numpy broadcasts
        against each other.

    Returns
    -------
    numpy.ndarray
        Distances in km (float64) with the broadcast shape of the inputs.
    """
    phi1 = np.radians(np.asarray(lat1, dtype=np.float64))
    phi2 = np.radians(np.asarray(lat2, dtype=np.float64))
    delta_phi = phi2 - phi1
    delta_lambda = np.radians(np.asarray(lon2, dtype=np.float64)) - np.radians(
        np.asarray(lon1, dtype=np.float64)
    )

    half_chord = (
        np.sin(delta_phi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(delta_lambda / 2.0) ** 2
    )
    # Rounding can push the term of two antipodal points a hair above 1, outside arcsin.
    half_chord = np.clip(half_chord, 0.0, 1.0)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(half_chord))


def distance_matrix_km(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Compute the great-circle distance in km from every point to every centre.

    Parameters
    ----------
    points
        Array of shape (n, 2): latitude and longitude in degrees, one row per point.
    centres
        Array of shape (T, 2): latitude and longitude in degrees, one row per centre.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape (n, T); entry (i, t) is the distance from point i to centre t.
    """
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    for label, array in (("points", points), ("centres", centres)):
        if array.ndim != 2 or array.shape[1] != 2:
            raise ValueError(
                f"{label} must have shape (n, 2) with latitude and longitude columns, "
                f"got {array.shape}"
            )

    return haversine_km(
        points[:, 0, None], points[:, 1, None], centres[None, :, 0], centres[None, :, 1]
    )


def county_points() -> pd.DataFrame:
    """Return the shipped counties, one row per county (see ``data/geo/README.md``).

    Columns: ``geoid`` (5-character string), ``state``, ``name``, ``centroid_lat``,
    ``centroid_lon``, ``interior_lat``, ``interior_lon``, ``pop_latest`` and
    ``cbp2020_establishments`` (NaN for 12 counties). The file is read once and cached,
    and every call returns a copy, so the caller may change it.
    """
    return _read_geo_file(_COUNTY_FILE, "geoid").copy()


def zip_points() -> pd.DataFrame:
    """Return the shipped ZIP code points, one row per ZIP code (see ``data/geo/README.md``).

    Columns: ``zip`` (5-character string), ``state``, ``city``, ``lat``, ``lon`` and
    ``county_geoid`` (NaN when the point lies in no county). The file is read once and
    cached, and every call returns a copy, so the caller may change it.
    """
    return _read_geo_file(_ZIP_FILE, "zip").copy()


def locate_counties(codes: pd.Series, file: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Look up the point of each county FIPS code.

    A county is placed at its interior point, which is guaranteed to lie inside the county,
    not at its area centroid, which can fall outside a county with a curved shape. A code
    that lost its leading zeros (``'6001'`` or ``'6001.0'``) is padded with a warning when
    the padded code is a shipped county (see :func:`read_codes`).

    Parameters
    ----------
    codes
        FIPS codes as text, such as ``'06001'``. The index is the 0-based position of
        each code among the data rows of ``file``, so that messages can show the row
        number a spreadsheet shows (index + 2, because the header is row 1).
    file
        Name of the input file, used in error messages.
    column
        Name of the code column in ``file``, used in error messages.

    Returns
    -------
    tuple of numpy.ndarray
        Latitudes and longitudes in degrees (float64), in the order of ``codes``.

    Raises
    ------
    InputError
        For an empty code, a code that is not 5 digits and cannot be padded to a shipped
        county, or a code of no shipped county. The message names the file, the first such
        row, the column, the value and the fix.
    """
    return _locate(codes, file, column, _COUNTY)


def locate_zips(codes: pd.Series, file: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Look up the point of each ZIP code.

    ZIP+4 codes (``'02134-1234'``) are placed at their 5-digit ZIP code. ``codes``,
    ``file`` and ``column`` work as in :func:`locate_counties`, and so do the errors.

    Returns
    -------
    tuple of numpy.ndarray
        Latitudes and longitudes in degrees (float64), in the order of ``codes``.
    """
    return _locate(codes, file, column, _ZIP)


def read_codes(
    codes: pd.Series, known: pd.Index, kind: CodeKind, file: str, column: str
) -> pd.Series:
    """Read 5-digit codes from text cells and check that each one is in ``known``.

    A code of 1 to 4 digits, also written as a float (``'6001.0'``), lost its leading
    zeros in a spreadsheet or a numeric reader. It is padded to 5 digits when the padded
    code is in ``known``, with one warning that lists the first such rows.

    Parameters
    ----------
    codes
        Code cells. The index is the 0-based position of each code among the data rows of
        ``file``, so that messages show the row number a spreadsheet shows (index + 2).
    known
        The valid 5-digit codes.
    kind
        The reading rules and message words, such as :data:`COUNTY_CODES`.
    file, column
        Input file name and code column, used in messages.

    Returns
    -------
    pandas.Series
        The 5-digit code of each cell, with the index of ``codes``.

    Raises
    ------
    InputError
        For an empty code, a code that is not 5 digits (and cannot be padded to a known
        one), or a code not in ``known``. The message names the file, the first such row,
        the column, the value and the fix.
    """
    text = codes.map(_code_text)
    canonical = text.map(lambda value: _canonical_code(value, kind))

    canonical = _pad_lost_zeros(text, canonical, known, file, column, kind)
    _check_malformed(text, canonical, file, column, kind)

    unknown = ~canonical.isin(known)
    if unknown.any():
        _raise_first(
            unknown, text, file, column, problem=f"is an unknown {kind.label}", fix=kind.unknown_fix
        )
    return canonical


@functools.cache
def _read_geo_file(name: str, code_column: str) -> pd.DataFrame:
    """Read one shipped file once. Callers get copies or read-only lookups of it."""
    path = GEO_DIR / name
    if not path.is_file():
        raise PlanError(
            f"The shipped geography file {path} is missing. Fix: install the engine from a "
            "checkout with 'pip install -e .', which keeps the data/geo folder next to the "
            "solver package."
        )

    # Codes are read as text to keep their leading zeros. Only empty cells are missing.
    text_columns = {code_column: str, "county_geoid": str, "state": str, "city": str, "name": str}
    table = pd.read_csv(path, dtype=text_columns, keep_default_na=False, na_values=[""])
    logger.debug("read %d rows of %s", len(table), path)
    return table


@functools.cache
def _lookup_table(kind: _ShippedKind) -> pd.DataFrame:
    """Return the latitude and longitude of each code of ``kind``, indexed by code."""
    table = _read_geo_file(kind.file, kind.code_column)
    points = table.set_index(kind.code_column)[[kind.lat_column, kind.lon_column]]
    return points.astype(np.float64)


def _locate(
    codes: pd.Series, file: str, column: str, kind: _ShippedKind
) -> tuple[np.ndarray, np.ndarray]:
    table = _lookup_table(kind)
    canonical = read_codes(codes, table.index, kind, file, column)

    points = table.reindex(canonical.to_numpy())
    latitude = points[kind.lat_column].to_numpy(dtype=np.float64)
    longitude = points[kind.lon_column].to_numpy(dtype=np.float64)
    return latitude, longitude


def _code_text(value: Any) -> str | None:
    """Return a code cell as stripped text, or None when it is empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _canonical_code(text: str | None, kind: CodeKind) -> str | None:
    """Return the 5-digit code in ``text``, or None when ``text`` is not a valid code."""
    if text is None:
        return None
    match = _FIVE_DIGITS.fullmatch(text)
    if match is None and kind.accepts_zip_plus_four:
        match = _ZIP_PLUS_FOUR.fullmatch(text)
    return match.group(1) if match else None


def _pad_lost_zeros(
    text: pd.Series, canonical: pd.Series, known: pd.Index, file: str, column: str, kind: CodeKind
) -> pd.Series:
    """Return ``canonical`` with each code of 1 to 4 digits padded to 5 digits.

    Padding is safe only when the padded code exists, so a code whose padded form is
    unknown is rejected with its row rather than guessed.
    """
    matches = text.map(lambda value: _LOST_ZEROS.fullmatch(value) if value else None)
    lost = matches.notna() & canonical.isna()
    if not lost.any():
        return canonical

    padded = matches[lost].map(lambda match: match.group(1).zfill(5))
    unknown = ~padded.isin(known)
    if unknown.any():
        first = padded[unknown].iloc[0]
        _raise_first(
            text.index.isin(unknown[unknown].index),
            text,
            file,
            column,
            problem=(
                f"is not a 5-digit {kind.label}, and padded with leading zeros to '{first}' "
                f"it is not a known {kind.label} either"
            ),
            fix=kind.unknown_fix,
        )

    _warn_padded(text, padded, file, column, kind)
    result = canonical.copy()
    result[lost] = padded
    return result


def _warn_padded(
    text: pd.Series, padded: pd.Series, file: str, column: str, kind: CodeKind
) -> None:
    rows = padded.index[:5]
    examples = ", ".join(
        f"row {row + 2} {cell!r} -> {code!r}"
        for row, cell, code in zip(rows, text.loc[rows], padded.iloc[:5], strict=True)
    )
    logger.warning(
        "%s, column '%s': leading zeros were lost and are restored in %s (%s%s). "
        "Store the column as text to keep the zeros (in Excel, format the column as Text "
        "before you type or paste the codes).",
        file,
        column,
        count_noun(len(padded), f"{kind.label}s"),
        examples,
        ", ..." if len(padded) > 5 else "",
    )


def _check_malformed(
    text: pd.Series, canonical: pd.Series, file: str, column: str, kind: CodeKind
) -> None:
    empty = text.isna()
    if empty.any():
        _raise_first(
            empty,
            text,
            file,
            column,
            problem=f"is empty, but a {kind.label} is needed here",
            fix=f"fill in the 5-digit {kind.label}, for example '{kind.example}'",
        )

    malformed = canonical.isna()
    if malformed.any():
        also = " (ZIP+4 codes such as '02134-1234' are accepted too)"
        _raise_first(
            malformed,
            text,
            file,
            column,
            problem=f"is not a 5-digit {kind.label}",
            fix=(
                f"write the 5-digit {kind.label}, for example '{kind.example}'"
                + (also if kind.accepts_zip_plus_four else "")
            ),
        )


def _raise_first(
    mask: pd.Series | np.ndarray, text: pd.Series, file: str, column: str, *, problem: str, fix: str
) -> None:
    """Raise an InputError for the first row in ``mask``, counting the rows it covers."""
    flags = np.asarray(mask, dtype=bool)
    label = text.index[flags][0]
    count = int(flags.sum())
    if count > 1:
        problem += f" ({count} rows in total have this problem)"
    value = text.loc[label]
    raise input_error(
        file, problem, fix, row=int(label) + 2, column=column, value="" if value is None else value
    )


def unit_vectors(coords: np.ndarray) -> np.ndarray:
    """Return ``(n, 3)`` points on the unit sphere for latitude/longitude in degrees."""
    lat, lon = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
