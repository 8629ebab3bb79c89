"""Build ``data/us_current_owners.csv``: a synthetic book of today's owners.

Run from the repository root with ``.venv/bin/python data/build_current_owners.py``, then
``python data/build_default.py``, which adds the owners to ``us_accounts.csv`` as the
``current_owner`` column.

The default data comes from no CRM, so today's owners are made up in two steps:

1. The default scenario is solved for the team of 1 October 2026: E08 has not left yet,
   and E07, C11 and the planned hires have not started.
2. Books drift from any design, so 4 % of each role's accounts (chosen with a fixed
   seed) are handed to the rep whose territory centre is the next nearest.

So on the design date of 1 February 2027, E08's accounts have no active owner, E07, the
planned Enterprise hire and C11 start with empty books, and a few accounts sit with a
neighbour.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DATA_DIR.parent))

from solver.geo import distance_matrix_km  # noqa: E402
from solver.pipeline import prepare, solve_roles  # noqa: E402
from solver.scenario import load_scenario  # noqa: E402

OUTPUT = DATA_DIR / "us_current_owners.csv"
SCENARIO = DATA_DIR.parent / "scenarios" / "us_default.yaml"
BOOK_DATE = dt.date(2026, 10, 1)
DRIFT_SHARE = 0.04
SEED = 2026


def book_scenario():
    """Return the default scenario as of :data:`BOOK_DATE`, without today's books."""
    scenario = load_scenario(SCENARIO)
    accounts = scenario.inputs.accounts
    columns = accounts.columns.model_copy(update={"current_owner": None})
    inputs = scenario.inputs.model_copy(
        update={"accounts": accounts.model_copy(update={"columns": columns})}
    )
    roles = {
        name: role.model_copy(update={"disruption": None, "protect": None})
        for name, role in scenario.roles.items()
    }
    objective = scenario.objective.model_copy(update={"continuity_km": 0.0})
    return scenario.model_copy(
        update={
            "design_date": BOOK_DATE,
            "inputs": inputs,
            "roles": roles,
            "objective": objective,
            "locks": [],
        }
    )


def main() -> None:
    scenario = book_scenario()
    prepared = prepare(scenario)
    solutions = solve_roles(scenario, prepared.problems)
    rng = np.random.default_rng(SEED)

    frames = []
    for role, problem in prepared.problems.items():
        solution = solutions[role]
        owner = solution.assignment.copy()
        drift = rng.choice(problem.n_accounts, int(DRIFT_SHARE * problem.n_accounts), replace=False)
        km = distance_matrix_km(problem.coords[drift], solution.centres)
        km[np.arange(len(drift)), owner[drift]] = np.inf
        owner[drift] = km.argmin(axis=1)
        reps = [problem.territories[t].rep_id for t in owner]
        frames.append(pd.DataFrame({"account_id": problem.account_ids, "current_owner": reps}))

    owners = pd.concat(frames).sort_values("account_id", kind="stable")
    owners.to_csv(OUTPUT, index=False, lineterminator="\n")
    print(f"wrote {len(owners)} rows to {OUTPUT}")


if __name__ == "__main__":
    main()
