"""CSV load files for CRM imports: exact cell text, formula-safe strings and size-limited parts.

The files follow RFC 4180: comma separator, CRLF line endings, and double quotes only around
fields that contain a comma, a double quote, CR or LF. Text is written as given, so an id
such as ``'01001'`` keeps its leading zero, and a text cell that a spreadsheet would run as
a formula gets a leading apostrophe.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from solver.outputs import DECIMALS

#: Leading characters after which a spreadsheet may evaluate a text cell as a formula
#: ("CSV injection").
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_LINE_END = "\r\n"


def neutralise(text: str) -> str:
    """Return ``text`` with a leading apostrophe when it starts with a formula prefix.

    The apostrophe is not a formula prefix, so a spreadsheet keeps the cell as text.
    """
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_text(frame: pd.DataFrame) -> str:
    """Render ``frame`` as RFC 4180 CSV text: the header, then one CRLF-ended line per row.

    Cells follow the column's dtype. Text is written as given and neutralised, missing values
    are empty, booleans are ``true``/``false``, integers are plain digits and floats are
    rounded to 6 decimals in the shortest positional form (``2.0`` is written ``2``). Raises
    ValueError for a frame without columns or for an infinite float.
    """
    header, lines = _render_lines(frame)
    return header + "".join(lines)


def write_csv_parts(
    frame: pd.DataFrame,
    folder: Path,
    stem: str,
    *,
    max_rows: int | None = None,
    max_bytes: int | None = None,
    bom: bool = False,
) -> list[Path]:
    """Write ``frame`` as ``<stem>.csv`` in ``folder``, or as numbered parts if it is too big.

    Parts are named ``<stem>_part001.csv``, ``<stem>_part002.csv`` and so on. Each repeats
    the header and is filled greedily in row order, so the same frame always gives the same
    files. ``max_rows`` counts the header row, so a part contains at most ``max_rows - 1``
    records. ``max_bytes`` is the maximum UTF-8 file size including the header and the BOM.
    A row is never split across parts. ``bom=True`` starts each file with the UTF-8 byte
    order mark, so Excel detects the encoding. Files are written in place, without a
    temporary file, because callers write into a staging folder that is swapped in whole.
    Return the written paths in part order. Raises ValueError, before writing anything, when
    ``max_rows`` is below 2 or the header with a single row exceeds ``max_bytes``.
    """
    _check_file_options(stem, max_rows, max_bytes)

    header, lines = _render_lines(frame)
    prefix = (codecs.BOM_UTF8 if bom else b"") + header.encode("utf-8")
    rows = [line.encode("utf-8") for line in lines]
    sizes = [len(row) for row in rows]
    if max_bytes is not None:
        _check_row_sizes(frame.index, len(prefix), sizes, max_bytes)

    bounds = _part_bounds(len(prefix), sizes, max_rows, max_bytes)
    if len(bounds) == 1:
        names = [f"{stem}.csv"]
    else:
        names = [f"{stem}_part{number:03d}.csv" for number in range(1, len(bounds) + 1)]

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (start, stop) in zip(names, bounds, strict=True):
        path = folder / name
        with open(path, "wb") as file:
            file.write(prefix)
            file.writelines(rows[start:stop])
        paths.append(path)
    return paths


def sha256(path: Path) -> str:
    """Return the hex SHA-256 digest of the file's bytes."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def read_back(paths: Sequence[Path]) -> pd.DataFrame:
    """Read CSV parts back with every cell as text and concatenate them in the given order.

    Cells keep their written text: ``'01001'`` stays a string and an empty field is ``''``.
    A leading BOM is removed.
    """
    if not paths:
        raise ValueError("read_back needs at least one CSV path, got none")

    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig") for path in paths
    ]
    return pd.concat(frames, ignore_index=True)


def _render_lines(frame: pd.DataFrame) -> tuple[str, list[str]]:
    """Return the header line and one line per row, each ending with CRLF."""
    if len(frame.columns) == 0:
        raise ValueError("cannot write a CSV file for a frame without columns")

    # Columns are taken by position, so duplicate column names still give one column each.
    columns = [
        _column_cells(frame.iloc[:, position], name) for position, name in enumerate(frame.columns)
    ]

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=_LINE_END, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([str(name) for name in frame.columns])
    header = buffer.getvalue()

    # Each row goes through an emptied buffer, so its own line (and byte size) is known.
    lines = []
    for row in zip(*columns, strict=True):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        lines.append(buffer.getvalue())
    return header, lines


def _column_cells(column: pd.Series, name: Hashable) -> list[str]:
    """Return the cell text of each value of ``column``, chosen by the column's dtype."""
    format_cell: Callable[[Any], str]
    if pd.api.types.is_bool_dtype(column.dtype):
        format_cell = _bool_cell
    elif pd.api.types.is_integer_dtype(column.dtype):
        format_cell = _integer_cell
    elif pd.api.types.is_float_dtype(column.dtype):
        format_cell = _float_cell
    else:
        format_cell = _text_cell

    try:
        return [format_cell(value) for value in column]
    except ValueError as error:
        raise ValueError(f"column '{name}': {error}") from None


def _is_missing(value: Any) -> bool:
    """Return whether ``value`` is None, NaN, NA or NaT. Lists and arrays are not missing."""
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _bool_cell(value: Any) -> str:
    if _is_missing(value):
        return ""
    return "true" if value else "false"


def _integer_cell(value: Any) -> str:
    if _is_missing(value):
        return ""
    return str(int(value))


def _float_cell(value: Any) -> str:
    """Return ``value`` rounded to 6 decimals in the shortest positional form, never 1e-06."""
    if _is_missing(value):
        return ""

    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{number} is not a finite number, and CRM number fields need one")

    text = np.format_float_positional(round(number, DECIMALS), unique=True, trim="-")
    # Rounding a small negative number gives -0.0, written as 0 so that no cell reads "-0".
    return "0" if text == "-0" else text


def _text_cell(value: Any) -> str:
    """Return the text of a cell in an object or string column.

    Mixed columns contain numbers and booleans when pandas could not give them a numeric dtype
    (an integer column with None becomes object). Those are formatted like their numeric
    columns and are not neutralised, so -5 stays ``-5``. Everything else is ``str(value)``,
    neutralised.

    NOTE: dates and times are written with ``str()`` (``2024-01-01 00:00:00``), so pass
    ISO strings when a CRM field needs another date format.
    """
    if _is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return _bool_cell(value)
    if isinstance(value, int | np.integer):
        return _integer_cell(value)
    if isinstance(value, float | np.floating):
        return _float_cell(value)
    return neutralise(str(value))


def _check_file_options(stem: str, max_rows: int | None, max_bytes: int | None) -> None:
    if not stem or Path(stem).name != stem:
        raise ValueError(f"stem must be a plain file name without folders, got {stem!r}")
    if max_rows is not None and max_rows < 2:
        raise ValueError(
            f"max_rows must be at least 2 (the header row and one record), got {max_rows}"
        )
    if max_bytes is not None and max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive number of bytes, got {max_bytes}")


def _check_row_sizes(index: pd.Index, prefix_size: int, sizes: list[int], max_bytes: int) -> None:
    """Raise ValueError if the header, or the header with any one row, exceeds ``max_bytes``."""
    if prefix_size > max_bytes:
        raise ValueError(
            f"the CSV header alone is {prefix_size} bytes, more than max_bytes={max_bytes}. "
            "Raise max_bytes."
        )

    for position, size in enumerate(sizes):
        if prefix_size + size > max_bytes:
            raise ValueError(
                f"row {position + 1} (index {index[position]!r}) needs {prefix_size + size} "
                f"bytes with the header, more than max_bytes={max_bytes}. Raise max_bytes "
                "or shorten that row's text."
            )


def _part_bounds(
    prefix_size: int, sizes: list[int], max_rows: int | None, max_bytes: int | None
) -> list[tuple[int, int]]:
    """Return ``(start, stop)`` row positions of each part, filling each part greedily.

    Every row must fit a part on its own (checked before). A frame without rows gives one
    empty part, so the header is still written.
    """
    max_records = math.inf if max_rows is None else max_rows - 1
    byte_budget = math.inf if max_bytes is None else max_bytes - prefix_size

    bounds = []
    start = 0
    used = 0
    for position, size in enumerate(sizes):
        full = position - start >= max_records or used + size > byte_budget
        if position > start and full:
            bounds.append((start, position))
            start = position
            used = 0
        used += size
    bounds.append((start, len(sizes)))
    return bounds
