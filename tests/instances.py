"""Tiny instances written as real files into a test's temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml


def write_instance(
    folder: Path,
    accounts: list[dict[str, Any]],
    reps: list[dict[str, Any]],
    roles: dict[str, Any],
    *,
    name: str = "tiny",
    metrics: dict[str, str] | None = None,
    solver: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    keep: list[str] | None = None,
) -> Path:
    """Write accounts.csv, reps.csv and scenario.yaml into ``folder``; return the scenario path.

    ``extra`` adds top-level scenario keys, and ``keep`` replaces the kept account columns.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(accounts).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame(reps).to_csv(folder / "reps.csv", index=False)
    rep_columns = {}
    if any("home_latitude" in rep for rep in reps):
        rep_columns = {"home_latitude": "home_latitude", "home_longitude": "home_longitude"}
    scenario = {
        "name": name,
        "design_date": "2027-01-01",
        "inputs": {
            "accounts": {
                "path": "accounts.csv",
                "columns": {
                    "id": "account_id",
                    "latitude": "latitude",
                    "longitude": "longitude",
                    "metrics": metrics if metrics is not None else {"potential": "potential"},
                    "keep": keep
                    if keep is not None
                    else (["segment"] if any("segment" in a for a in accounts) else []),
                },
            },
            "reps": {"path": "reps.csv", "columns": rep_columns},
        },
        "roles": roles,
        "solver": {"time_limit_s": 20, "seed": 3, **(solver or {})},
        **(extra or {}),
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path
