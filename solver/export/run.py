"""Run an export: check the plan, build every requested load set, then write them.

Every load set is built and checked before the first file is written, so bad input never
leaves a partial export. Each target's folder is then written into a staging folder and
swapped in whole (see :func:`solver.outputs.write_folder`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from solver.errors import InputError, count_noun, input_error
from solver.export import ids as ids_module
from solver.export.changes import changes_table, load_current
from solver.export.dynamics import dynamics_load_set
from solver.export.files import read_back, sha256, write_csv_parts
from solver.export.generic import generic_load_set
from solver.export.hubspot import hubspot_load_set
from solver.export.loadset import ExportOptions, LoadFile, LoadSet
from solver.export.salesforce import salesforce_load_set
from solver.export.source import ExportSource, load_source
from solver.outputs import write_folder, write_json
from solver.table_io import _read_file, _reject, _text

logger = logging.getLogger(__name__)

BUILDERS: dict[str, Callable[[ExportSource, ExportOptions], LoadSet]] = {
    "salesforce": salesforce_load_set,
    "hubspot": hubspot_load_set,
    "dynamics": dynamics_load_set,
    "csv": generic_load_set,
}

#: Salesforce objects whose existing records ``--salesforce-ids`` may list.
SALESFORCE_OBJECTS = ("Territory2Type", "Territory2Model", "Territory2")

#: Version of the manifest layout; raised when a key changes meaning.
MANIFEST_VERSION = 1


def export_plan(
    plan_dir: str | Path,
    targets: Sequence[str],
    *,
    scenario: str | Path | None = None,
    ids_file: str | Path | None = None,
    current: str | Path | None = None,
    changes_only: bool = False,
    allow: Sequence[str] = (),
    salesforce_ids: str | Path | None = None,
    out: str | Path | None = None,
    limits: dict[str, int] | None = None,
) -> dict[str, Path]:
    """Write the load files of ``targets`` for the plan in ``plan_dir``; return their folders.

    The folders are ``<out>/<target>/``, with ``out`` defaulting to ``<plan_dir>/export``.
    ``limits`` may set ``hubspot_max_rows`` and ``dynamics_max_bytes``, for tests.
    """
    source = load_source(plan_dir, scenario_path=scenario, ids_file=ids_file)
    _check_violations(source, allow)
    state = load_current(source, current)
    if changes_only and state is None:
        raise InputError(
            "--changes-only needs today's assignment. Fix: set "
            "inputs.accounts.columns.current_owner in the scenario, or pass --current FILE."
        )

    options = ExportOptions(
        allow=frozenset(allow),
        current=state,
        changes_only=changes_only,
        salesforce_ids=_salesforce_ids(salesforce_ids),
        **(limits or {}),
    )
    changes = changes_table(source, state) if state is not None else None
    load_sets = [BUILDERS[target](source, options) for target in dict.fromkeys(targets)]

    root = Path(out) if out is not None else source.plan_dir / "export"
    folders = {}
    for load_set in load_sets:
        load_set.changes = changes
        folder = root / load_set.target
        write_folder(folder, partial(_write, load_set=load_set, source=source, options=options))
        logger.info("wrote %s", folder)
        folders[load_set.target] = folder
    return folders


def _check_violations(source: ExportSource, allow: Sequence[str]) -> None:
    violations = source.summary.get("violations") or []
    if not violations or "violations" in allow:
        return
    first = (
        violations[0].get("message", violations[0])
        if isinstance(violations[0], dict)
        else violations[0]
    )
    raise InputError(
        f"{source.plan_dir / 'summary.json'}: the plan has "
        f"{count_noun(len(violations), 'violations')} "
        f"(first: {first}), so its territories break their goals. Fix: solve again with "
        "looser goals or more time, or pass --allow violations to export it anyway."
    )


def _salesforce_ids(path: str | Path | None) -> dict[tuple[str, str], str]:
    """Read ``object,Id,DeveloperName`` rows of records that already exist in Salesforce."""
    if path is None:
        return {}
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: file not found. Fix: pass an existing CSV to --salesforce-ids.")
    raw = _read_file(file, ".csv", None, file.name, "")
    by_key = {str(c).strip().lower(): c for c in raw.columns}
    for required in ("object", "id", "developername"):
        if required not in by_key:
            raise input_error(
                file.name,
                "not found in the header row",
                "give the columns object, Id and DeveloperName",
                column=required,
            )

    ids = ids_module.salesforce_ids(
        _text(raw[by_key["id"]]), file=file.name, column=str(by_key["id"])
    )
    keys = pd.Series(
        list(zip(_text(raw[by_key["object"]]), _text(raw[by_key["developername"]]), strict=True)),
        index=raw.index,
    )
    objects = {o.lower(): o for o in SALESFORCE_OBJECTS}
    wrong = keys.map(lambda key: bool(key[0]) and key[0].lower() not in objects)
    column = str(by_key["object"])
    fix = f"write one of {', '.join(SALESFORCE_OBJECTS)}"
    problem = "is not an object whose ids the export uses"
    _reject(wrong, file.name, problem, fix, column, keys.map(lambda key: key[0]))
    keys = keys.map(lambda key: (objects.get(str(key[0]).lower(), key[0]), key[1]))
    repeated = keys.duplicated(keep="first")
    column = str(by_key["developername"])
    problem = "names a record that an earlier row names too"
    fix = "keep one row per object and DeveloperName"
    _reject(repeated, file.name, problem, fix, column, keys.map(lambda key: key[1]))
    return {(str(o), str(n)): str(i) for (o, n), i in zip(keys, ids, strict=True) if o and n and i}


def _write(staging: Path, load_set: LoadSet, source: ExportSource, options: ExportOptions) -> None:
    entries = []
    for step, load_file in enumerate(load_set.files, start=1):
        stem = f"{step:02d}_{load_file.name}"
        if load_file.parquet:
            path = staging / f"{stem}.parquet"
            load_file.frame.to_parquet(path, index=False)
            paths = [path]
        else:
            paths = write_csv_parts(
                load_file.frame,
                staging,
                stem,
                max_rows=load_file.max_rows,
                max_bytes=load_file.max_bytes,
                bom=source.scenario.export.excel_bom,
            )
        for path in paths:
            entries.append(_entry(step, path, load_file, len(paths)))

    extra = []
    if load_set.changes is not None:
        path = write_csv_parts(
            load_set.changes, staging, "changes", bom=source.scenario.export.excel_bom
        )[0]
        extra.append({"file": path.name, "rows": len(load_set.changes), "sha256": sha256(path)})
    write_json(_manifest(load_set, source, options, entries, extra), staging / "manifest.json")


def _entry(step: int, path: Path, load_file: LoadFile, parts: int) -> dict[str, Any]:
    # Reading the file back counts records correctly when a field contains a line break.
    rows = len(load_file.frame) if load_file.parquet else len(read_back([path]))
    entry: dict[str, Any] = {
        "step": step,
        "file": path.name,
        "object": load_file.object,
        "operation": load_file.operation,
        "rows": rows,
        "bytes": path.stat().st_size,
        "sha256": sha256(path),
        "ready": load_file.ready,
    }
    if parts > 1:
        entry["part_of"] = parts
    if not load_file.ready:
        entry["waits_for"] = (
            "ids of records loaded in earlier steps: load them, export Id and DeveloperName, "
            "and export again with --salesforce-ids"
        )
    return entry


def _manifest(
    load_set: LoadSet,
    source: ExportSource,
    options: ExportOptions,
    files: list[dict[str, Any]],
    extra: list[dict[str, Any]],
) -> dict[str, Any]:
    summary = source.summary
    return {
        "manifest_version": MANIFEST_VERSION,
        "target": load_set.target,
        "changes_only": options.changes_only,
        "current_assignment": options.current.source if options.current else None,
        "allowed": sorted(options.allow),
        "files": files,
        "changes": extra[0] if extra else None,
        "notes": load_set.notes,
        "skipped": load_set.skipped,
        "plan": {
            "folder": source.plan_dir.as_posix(),
            "scenario": summary.get("scenario"),
            "design_date": summary.get("design_date"),
            "status": summary.get("status"),
            "objective": summary.get("objective"),
            "gap": summary.get("gap"),
            "n_accounts": summary.get("n_accounts"),
            "n_territories": summary.get("n_territories"),
            "violations": len(summary.get("violations") or []),
            "sha256": source.plan_sha256,
        },
    }
