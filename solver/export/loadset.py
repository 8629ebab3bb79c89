"""A load set: the files of one export target in load order, and the options that shape it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from solver.errors import InputError, count_noun
from solver.export.changes import CurrentState, changed_mask
from solver.export.source import ExportSource

#: Problems a user may override with ``--allow``.
OVERRIDES = ("violations", "missing-ids", "duplicate-names", "territory-limit")

#: HubSpot imports at most this many rows per file, the header included (Excel's limit).
HUBSPOT_MAX_ROWS = 1_048_576

#: Dynamics 365 rejects an import file larger than 8 MB.
DYNAMICS_MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ExportOptions:
    """Export settings beyond the plan: overrides, today's assignment and file limits."""

    allow: frozenset[str] = frozenset()
    current: CurrentState | None = None
    changes_only: bool = False
    salesforce_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    hubspot_max_rows: int = HUBSPOT_MAX_ROWS
    dynamics_max_bytes: int = DYNAMICS_MAX_BYTES


@dataclass(frozen=True)
class LoadFile:
    """One file of a load set.

    ``name`` is the file stem without the step number. ``ready`` is False when the file
    still refers to records by DeveloperName, which the CRM cannot resolve on its own.
    """

    name: str
    object: str
    operation: str
    frame: pd.DataFrame
    max_rows: int | None = None
    max_bytes: int | None = None
    ready: bool = True
    parquet: bool = False


@dataclass
class LoadSet:
    """The files of one target in load order, with notes and what was left out."""

    target: str
    files: list[LoadFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    changes: pd.DataFrame | None = None


def missing_rep_ids(
    source: ExportSource, reps: list[str], where: str, options: ExportOptions, load_set: LoadSet
) -> None:
    """Reject territory owners without a CRM user, except planned hires, which get a note."""
    planned = set(source.reps.loc[source.reps["planned"], "rep_id"])
    vacant = sorted(rep for rep in reps if rep in planned)
    if vacant:
        load_set.notes.append(
            f"Planned hires without a CRM user ({', '.join(vacant)}): their territories are "
            "written without an owner until the hire has a user."
        )
    missing_ids("reps", sorted(rep for rep in reps if rep not in planned), where, options, load_set)


def missing_ids(
    what: str,
    ids: list[str],
    where: str,
    options: ExportOptions,
    load_set: LoadSet,
) -> None:
    """Reject ``ids`` that lack a CRM id, or record them as skipped when the user allows it."""
    if not ids:
        return
    if "missing-ids" in options.allow:
        load_set.skipped[what] = sorted(ids)
        load_set.notes.append(
            f"{count_noun(len(ids), what)} without a CRM id left out (--allow missing-ids)."
        )
        return
    shown = ", ".join(sorted(ids)[:5]) + (", ..." if len(ids) > 5 else "")
    raise InputError(
        f"{load_set.target} export: {count_noun(len(ids), what)} without an id ({shown}); "
        f"looked in {where}. "
        "Fix: fill in the ids, or pass --allow missing-ids to leave those rows out."
    )


def exported_rows(source: ExportSource, options: ExportOptions) -> np.ndarray:
    """Return which plan rows to write: all, or only those that change with --changes-only."""
    if not options.changes_only or options.current is None:
        return np.ones(len(source.accounts), dtype=bool)
    return changed_mask(source, options.current)
