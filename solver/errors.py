"""Exceptions the CLI turns into clear messages and exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Exit code for bad input (a file, a column, a key or a value the user must fix).
EXIT_BAD_INPUT = 2

#: Exit code for a plan whose goals cannot all be met.
EXIT_INFEASIBLE = 3


class PlanError(Exception):
    """Base class of every error the engine reports to a user."""


class InputError(PlanError):
    """Bad input: the message names the file, the row or key, the value and the fix."""


class InfeasiblePlanError(PlanError):
    """The goals of a plan cannot all be met; ``findings`` lists each reason in planning terms."""

    def __init__(self, message: str, findings: list[str] | None = None) -> None:
        self.findings = list(findings or [])
        text = message
        if self.findings:
            text += "\n" + "\n".join(f"  - {line}" for line in self.findings)
        super().__init__(text)


_NO_VALUE = object()


def input_error(
    file: str | Path,
    problem: str,
    fix: str,
    *,
    row: int | None = None,
    column: str | None = None,
    key: str | None = None,
    value: Any = _NO_VALUE,
) -> InputError:
    """Build an :class:`InputError` whose message has one fixed shape.

    ``row`` is the row number a spreadsheet shows (the header is row 1, the first data row
    is row 2). ``key`` is a dotted path inside a YAML file.
    """
    where = [Path(file).name if isinstance(file, Path) else str(file)]
    if row is not None:
        where.append(f"row {row}")
    if column is not None:
        where.append(f"column '{column}'")
    if key is not None:
        where.append(f"key '{key}'")

    text = ", ".join(where) + ": "
    if value is not _NO_VALUE:
        text += f"value {value!r} "
    text += f"{problem}. Fix: {fix}"
    if not text.endswith("."):
        text += "."
    return InputError(text)


def count_noun(number: int, plural: str) -> str:
    """Return ``'1 account'`` or ``'3 accounts'`` for the plural noun ``plural``."""
    return f"{number} {plural if number != 1 else plural.removesuffix('s')}"
