"""Record ids, DeveloperNames and email addresses in the forms a CRM load file expects.

Salesforce ids come in a case-sensitive 15-character form and an 18-character form whose
last 3 characters encode the case of the first 15. Load files use the 18-character form,
because tools such as Excel compare text case-insensitively and would confuse
'001A0000006Vm9r' with '001A0000006VM9R'.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

import pandas as pd
from email_validator import EmailNotValidError, validate_email

from solver.errors import input_error
from solver.table_io import _text

#: Characters of the checksum suffix, indexed by the 5-bit case pattern of one chunk.
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

_ID_CHARACTERS = re.compile(r"[0-9A-Za-z]*")

_ID_FIX = "copy the 15- or 18-character id from Salesforce; ids are case-sensitive"

_EMAIL_FIX = "write the address as name@domain, for example ana.lopez@example.com"

#: Maximum length of a DeveloperName in Salesforce.
DEVELOPER_NAME_MAX = 80

_DEVELOPER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


# -- Salesforce ids -------------------------------------------------------------------------


def salesforce_id18(value: str) -> str:
    """Convert a 15- or 18-character Salesforce id to its 18-character form.

    Each 5-character chunk of the first 15 characters gives one suffix character: bit ``i``
    is set when character ``i`` of the chunk is an upper-case letter A-Z, and the 5-bit
    number indexes ``ABCDEFGHIJKLMNOPQRSTUVWXYZ012345``. An 18-character id is accepted
    when its suffix matches that checksum in any case, and is returned with the upper-case
    suffix. The first 15 characters are case-sensitive and returned unchanged.

    Raises
    ------
    ValueError
        With a short reason that starts with a verb ("has 16 characters, but ..."), for a
        value with characters other than ASCII letters and digits, with a length other than
        15 or 18, or with a suffix that does not match its checksum.
    """
    text = value.strip()

    bad = sorted(set(_ID_CHARACTERS.sub("", text)))
    if bad:
        listed = ", ".join(repr(char) for char in bad)
        raise ValueError(f"contains {listed}, but a Salesforce id has only letters and digits")

    if len(text) not in (15, 18):
        raise ValueError(f"has {len(text)} characters, but a Salesforce id has 15 or 18")

    body = text[:15]
    checksum = _case_checksum(body)
    suffix = text[15:]
    if suffix and suffix.upper() != checksum:
        raise ValueError(f"ends in '{suffix}' but its case checksum is '{checksum}'")
    return body + checksum


def _case_checksum(body: str) -> str:
    """Return the 3-character case checksum of a 15-character id body."""
    suffix = ""
    for start in (0, 5, 10):
        chunk = body[start : start + 5]
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return suffix


def salesforce_ids(
    values: pd.Series,
    *,
    file: str,
    column: str,
    prefix: str | None = None,
    what: str = "record",
) -> pd.Series:
    """Convert a column of Salesforce ids to the 18-character form.

    ``values`` must be indexed by 0-based data row positions, so that the spreadsheet row
    is the index plus 2. Empty cells become None. When ``prefix`` is given, every id must
    start with it: Salesforce key prefixes name the object, for example '001' for Account
    and '005' for User. Two rows with the same id are allowed here.

    Returns
    -------
    pandas.Series
        The 18-character ids (object dtype) with the index and name of ``values``.

    Raises
    ------
    InputError
        For the first row with a malformed id or an id with another prefix, naming the row,
        the value and the reason, and counting the other rejected rows of the column.
    ValueError
        When ``prefix`` is not 3 letters or digits.
    """
    if prefix is not None and not (len(prefix) == 3 and _ID_CHARACTERS.fullmatch(prefix)):
        raise ValueError(f"prefix {prefix!r} is not a 3-character Salesforce key prefix")

    def convert(text: str) -> str:
        converted = salesforce_id18(text)
        if prefix is not None and not converted.startswith(prefix):
            article = _article(what)
            raise ValueError(f"is not {article} {what} id ({what} ids start with {prefix})")
        return converted

    return _convert_cells(values, convert, file=file, column=column, fix=_ID_FIX)


def _article(noun: str) -> str:
    # 'u' is left out because the Salesforce objects starting with it ('User') take "a".
    return "an" if noun[:1].lower() in "aeio" else "a"


# -- email addresses ------------------------------------------------------------------------


def emails(values: pd.Series, *, file: str, column: str) -> pd.Series:
    """Validate a column of email addresses and return their normalized forms.

    Validation uses the syntax rules of ``email-validator`` without DNS look-ups. The
    normalized form has a lower-case domain and keeps the case of the part before the '@'.
    ``values`` is indexed like the argument of :func:`salesforce_ids`, and empty cells
    become None.

    Raises
    ------
    InputError
        For the first row with an invalid address, giving the reason from
        ``email-validator`` and counting the other rejected rows of the column.
    """
    return _convert_cells(values, _normalized_email, file=file, column=column, fix=_EMAIL_FIX)


def _normalized_email(text: str) -> str:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise ValueError(f"is not a valid email address ({reason})") from None


# -- shared cell loop -----------------------------------------------------------------------


def _convert_cells(
    values: pd.Series,
    convert: Callable[[str], str],
    *,
    file: str,
    column: str,
    fix: str,
) -> pd.Series:
    """Apply ``convert`` to each filled cell and raise InputError for the first ValueError.

    The error counts every other row that ``convert`` rejects, so that the user knows
    whether the whole column needs fixing.
    """
    texts = _text(values)
    result: list[str | None] = []
    failures: list[tuple[int, str, str]] = []

    for label, text in zip(texts.index.tolist(), texts.tolist(), strict=True):
        if text is None:
            result.append(None)
            continue
        try:
            result.append(convert(text))
        except ValueError as exc:
            result.append(None)
            failures.append((int(label) + 2, text, str(exc)))

    if failures:
        row, text, problem = failures[0]
        others = len(failures) - 1
        if others:
            noun = "row has" if others == 1 else "rows have"
            problem += f" ({others} other {noun} a rejected value in this column)"
        raise input_error(file, problem, fix, row=row, column=column, value=text)

    return pd.Series(result, index=values.index, name=values.name, dtype=object)


# -- DeveloperNames -------------------------------------------------------------------------


def developer_name(text: str) -> str:
    """Turn a label such as 'Enterprise / West' into a Salesforce DeveloperName.

    Accents are removed by NFKD decomposition and any other non-ASCII character is dropped.
    Each run of characters other than ASCII letters and digits becomes one underscore, and
    leading and trailing underscores are stripped. A name that is empty or starts with a
    digit gets the prefix 'X'. The result is cut to 80 characters.

    Examples: 'Enterprise / West' gives 'Enterprise_West', '2027 plan' gives
    'X2027_plan' and '' gives 'X'.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")

    if not name or name[0].isdigit():
        name = "X" + name

    return name[:DEVELOPER_NAME_MAX].rstrip("_")


def is_developer_name(name: str) -> bool:
    """Check that ``name`` is a valid DeveloperName, as :func:`developer_name` returns.

    A valid name has 1 to 80 ASCII letters, digits and underscores, starts with a letter,
    and has no two underscores in a row and no trailing underscore.
    """
    return (
        len(name) <= DEVELOPER_NAME_MAX
        and _DEVELOPER_NAME.fullmatch(name) is not None
        and "__" not in name
        and not name.endswith("_")
    )


def developer_names(
    labels: Sequence[str], *, what: str, source: str, rename: bool = False
) -> list[str]:
    """Turn distinct labels into distinct DeveloperNames, in the order of ``labels``.

    When two labels give the same name, the first one keeps it. With ``rename`` the later
    one gets the first free suffix of '_2', '_3', and so on, and its stem is cut so that the
    name stays within 80 characters. A suffixed name never takes a name that another label
    gives without a suffix.

    Raises
    ------
    InputError
        Without ``rename``, when two labels give the same name. ``source`` is the file the
        message names, and ``what`` the noun for a label, such as 'territory'.
    ValueError
        When a label appears more than once, which is a bug in the caller.
    """
    _reject_repeated_labels(labels, what)
    bases = [developer_name(label) for label in labels]

    # Reserve every unsuffixed name, so that renaming never steals a later label's name.
    reserved = set(bases)
    owners: dict[str, str] = {}
    names: list[str] = []

    for label, base in zip(labels, bases, strict=True):
        if base not in owners:
            owners[base] = label
            names.append(base)
            continue

        if not rename:
            raise _duplicate_name_error(owners[base], label, base, what, source)

        name = _free_suffixed_name(base, reserved)
        reserved.add(name)
        owners[name] = label
        names.append(name)

    return names


def _reject_repeated_labels(labels: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise ValueError(f"{what} label {label!r} is given more than once")
        seen.add(label)


def _duplicate_name_error(first: str, second: str, name: str, what: str, source: str) -> Exception:
    problem = f"{what} labels '{first}' and '{second}' both give the DeveloperName '{name}'"
    fix = "rename one of them, or pass --allow duplicate-names to add _2, _3 suffixes"
    return input_error(source, problem, fix)


def _free_suffixed_name(base: str, reserved: set[str]) -> str:
    """Return ``base`` with the first suffix '_2', '_3', ... whose name is not reserved."""
    number = 2
    while True:
        suffix = f"_{number}"
        stem = base[: DEVELOPER_NAME_MAX - len(suffix)].rstrip("_")
        name = stem + suffix
        if name not in reserved:
            return name
        number += 1


def account_ids(cells: pd.Series, file: str, column: str) -> pd.Series:
    """Return a column of Salesforce Account ids in 18-character form."""
    return salesforce_ids(cells, file=file, column=column, prefix="001", what="Account")


def user_ids(cells: pd.Series, file: str, column: str) -> pd.Series:
    """Return a column of Salesforce User ids in 18-character form."""
    return salesforce_ids(cells, file=file, column=column, prefix="005", what="User")


def matching_cells(
    cells: pd.Series,
    normalised: pd.Series,
    pattern: re.Pattern[str],
    *,
    file: str,
    column: str,
    problem: str,
    fix: str,
) -> pd.Series:
    """Return ``normalised`` when every filled cell matches ``pattern``, else raise.

    The error names the first row whose normalised text does not match, and counts them.
    """
    bad = cells.notna() & ~normalised.fillna("").map(lambda v: bool(pattern.fullmatch(v)))
    if bad.any():
        label = bad[bad].index[0]
        raise input_error(
            file,
            problem if bad.sum() == 1 else f"{problem} ({int(bad.sum())} rows in total)",
            fix,
            row=int(label) + 2,
            column=column,
            value=cells.loc[label],
        )
    return normalised
