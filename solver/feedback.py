"""Capacity feedback: where the plan runs short of reps, and where one more rep helps most.

Regions are the four US Census regions. An account belongs to the region of its nearest
shipped county point; an account more than :data:`OUTSIDE_KM` from every county is in
region ``outside``.

For each role the baseline is the pre-built plan of the scenario. Per region it reports
the potential, the share of the target team's capacity centred there, and the
potential-months whose owner was overloaded or inactive. Then, for each region, the
what-if adds one fully ramped rep of the role, working from the first day of the horizon
with a home at the region's potential-weighted centre, solves the pre-built design again
and scores the horizon. The marginal gain is the change against the baseline: mean
coverage, and potential-months with an overloaded owner.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from solver.geo import county_points, unit_vectors
from solver.period_metrics import period_table, totals_row
from solver.policies import plan_policy
from solver.scale.candidates import chord_to_km
from solver.scenario import Scenario
from solver.timeline import HorizonInputs, RoleTimeline

logger = logging.getLogger(__name__)

#: US Census regions by state postal code (DC and the states; territories are left out).
CENSUS_REGIONS = {
    "Northeast": "CT ME MA NH RI VT NJ NY PA",
    "Midwest": "IL IN MI OH WI IA KS MN MO NE ND SD",
    "South": "DE DC FL GA MD NC SC VA WV AL KY MS TN AR LA OK TX",
    "West": "AZ CO ID MT NV NM UT WY AK CA HI OR WA",
}

#: Accounts farther than this from every county point are in region ``outside``.
OUTSIDE_KM = 200.0

#: A region whose share of potential exceeds its share of capacity by more than this
#: factor is understaffed (and overstaffed below its inverse).
STAFFING_MARGIN = 1.1

#: Columns of the feedback table.
FEEDBACK_COLUMNS = [
    "role",
    "region",
    "accounts",
    "potential",
    "potential_share",
    "capacity_share",
    "staffing",
    "overloaded_potential_months",
    "uncovered_potential_months",
    "whatif_mean_coverage",
    "coverage_gain",
    "whatif_overloaded_potential_months",
    "overload_relieved",
    "rank",
]


def account_regions(coords: np.ndarray) -> np.ndarray:
    """Return the Census region of each ``(lat, lon)`` point, by its nearest county."""
    counties = county_points()
    state_region = {
        state: region for region, states in CENSUS_REGIONS.items() for state in states.split()
    }
    region = counties["state"].map(state_region).fillna("outside").to_numpy()
    points = unit_vectors(counties[["interior_lat", "interior_lon"]].to_numpy())
    chord, nearest = cKDTree(points).query(unit_vectors(coords))
    km = chord_to_km(np.asarray(chord))
    return np.where(km <= OUTSIDE_KM, region[nearest], "outside")


def capacity_feedback(inputs: HorizonInputs) -> pd.DataFrame:
    """Return one row per (role, region): staffing, overload, and one more rep's gain."""
    baseline = plan_policy(inputs, "prebuilt")
    frames = [_role_feedback(inputs, role, timeline) for role, timeline in baseline.items()]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table.reindex(columns=FEEDBACK_COLUMNS)


def _role_feedback(inputs: HorizonInputs, role: str, baseline: RoleTimeline) -> pd.DataFrame:
    """Return the feedback rows of one role, with a what-if solve per region."""
    accounts = inputs.accounts.loc[inputs.members[role]].reset_index(drop=True)
    coords = accounts[["latitude", "longitude"]].to_numpy(dtype=float)
    regions = account_regions(coords)
    potential = baseline.values[baseline.potential].to_numpy()
    base_totals = totals_row(baseline, period_table(baseline))

    rows = []
    for region in sorted(set(regions)):
        inside = regions == region
        row = {
            "role": role,
            "region": region,
            "accounts": int(inside.sum()),
            "potential": float(potential[inside].sum()),
            "potential_share": _share(potential[inside].sum(), potential.sum()),
            "capacity_share": _capacity_share(inputs, baseline, regions, region),
            **_region_months(baseline, inside),
        }
        row["staffing"] = _staffing(row["potential_share"], row["capacity_share"])
        row.update(_what_if(inputs, role, region, coords[inside], potential[inside], base_totals))
        rows.append(row)

    table = pd.DataFrame(rows)
    order = table.sort_values(
        ["overload_relieved", "coverage_gain", "region"],
        ascending=[False, False, True],
        kind="stable",
    ).index
    table.loc[order, "rank"] = np.arange(1, len(table) + 1)
    table["rank"] = table["rank"].astype(int)
    return table


def _region_months(timeline: RoleTimeline, inside: np.ndarray) -> dict[str, float]:
    """Return the region's potential-months with an overloaded or an inactive owner."""
    potential = timeline.values[timeline.potential].to_numpy()
    basis_metric, full = next(iter(timeline.full_capacity.items()))
    basis = timeline.values[basis_metric].to_numpy()
    overloaded = uncovered = 0.0
    for p, period in enumerate(timeline.periods):
        owners = timeline.owners[p]
        ramp = timeline.ramp.iloc[:, p]
        ramp_of = pd.Series(owners).map(ramp).fillna(0.0).to_numpy()
        load = pd.Series(basis).groupby(owners).sum()
        over = pd.Series(owners).map(load / (full * ramp.where(ramp > 0))).fillna(0.0)
        active = ramp_of > 0
        uncovered += period.months * float(potential[inside & ~active].sum())
        busy = active & (over.to_numpy() > 1.0 + 1e-9)
        overloaded += period.months * float(potential[inside & busy].sum())
    return {"overloaded_potential_months": overloaded, "uncovered_potential_months": uncovered}


def _capacity_share(
    inputs: HorizonInputs, timeline: RoleTimeline, regions: np.ndarray, region: str
) -> float:
    """Return the share of the target team whose patch lies mostly in ``region``."""
    last = timeline.owners[-1]
    target_reps = [rep for rep in timeline.ramp.index if timeline.ramp.iloc[:, -1][rep] > 0]
    if not target_reps:
        return 0.0
    home = {rep: _main_region(regions[last == rep]) for rep in target_reps}
    weights = timeline.ramp.iloc[:, -1]
    inside = sum(weights[rep] for rep in target_reps if home[rep] == region)
    return float(inside / sum(weights[rep] for rep in target_reps))


def _main_region(regions: np.ndarray) -> str | None:
    if len(regions) == 0:
        return None
    values, counts = np.unique(regions, return_counts=True)
    return str(values[int(np.argmax(counts))])


def _staffing(potential_share: float, capacity_share: float) -> str:
    if potential_share > capacity_share * STAFFING_MARGIN:
        return "understaffed"
    if potential_share * STAFFING_MARGIN < capacity_share:
        return "overstaffed"
    return "balanced"


def _what_if(inputs, role, region, coords, potential, base_totals) -> dict[str, float]:
    """Solve the pre-built plan with one more rep centred in ``region``; return the gains."""
    centre = np.average(coords, axis=0, weights=potential if potential.sum() > 0 else None)
    reps = _with_extra_rep(inputs, role, region, centre)
    scenario = _home_fixes_centre(inputs.scenario, role)
    extended = HorizonInputs(scenario, inputs.accounts, reps, inputs.members, inputs.periods)
    logger.info("%s: what-if with one more rep in %s", role, region)
    timeline = plan_policy(extended, "prebuilt")[role]
    totals: dict[str, Any] = totals_row(timeline, period_table(timeline))
    return {
        "whatif_mean_coverage": float(totals["mean_coverage"]),
        "coverage_gain": float(totals["mean_coverage"] - base_totals["mean_coverage"]),
        "whatif_overloaded_potential_months": float(totals["overloaded_potential_months"]),
        "overload_relieved": float(
            base_totals["overloaded_potential_months"] - totals["overloaded_potential_months"]
        ),
    }


def _home_fixes_centre(scenario: Scenario, role: str) -> Scenario:
    """Return ``scenario`` with the extra rep's home as their territory centre.

    A role with ``centres: model`` places every centre itself, so the what-if rep would
    not stay in the region. With ``auto`` the reps without a home are still placed by the
    model, and the what-if rep, who has one, is centred there.
    """
    settings = scenario.roles[role]
    if settings.centres != "model":
        return scenario
    roles = {**scenario.roles, role: settings.model_copy(update={"centres": "auto"})}
    return scenario.model_copy(update={"roles": roles})


def _with_extra_rep(inputs: HorizonInputs, role: str, region: str, centre: np.ndarray):
    """Return the reps table with one fully ramped rep of ``role`` homed at ``centre``."""
    assert inputs.scenario.horizon is not None
    reps = inputs.reps.copy()
    extra: dict[str, Any] = dict.fromkeys(reps.columns)
    extra.update(
        rep_id=f"WHATIF-{role}-{region}",
        role=role,
        name=f"One more {role} rep in {region}",
        start_date=pd.Timestamp("1900-01-01"),
        end_date=pd.NaT,
        home_latitude=float(centre[0]),
        home_longitude=float(centre[1]),
    )
    return pd.concat([reps, pd.DataFrame([extra])], ignore_index=True)


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else 0.0


def feedback_markdown(table: pd.DataFrame) -> str:
    """Return the capacity feedback as a markdown section, best region per role first."""
    lines = [
        "## Capacity feedback",
        "",
        "Baseline: the pre-built plan. What-if: one more fully ramped rep from the first day,",
        "homed at the region's potential-weighted centre. Gains are against the baseline.",
        "",
    ]
    for role, rows in table.groupby("role", sort=False):
        best = rows.sort_values("rank").iloc[0]
        lines.append(
            f"**{role}**: one more rep in the {best['region']} region gains the most: "
            f"mean coverage {100 * best['coverage_gain']:+.2f} points, and "
            f"{best['overload_relieved']:,.0f} potential-months less with an overloaded "
            "owner."
        )
        lines.append("")
        lines.append(
            "| region | accounts | potential share | capacity share | staffing | overloaded "
            "potential-months | coverage gain (points) | overload relieved | rank |"
        )
        lines.append("|---|---:|---:|---:|---|---:|---:|---:|---:|")
        records: list[dict[Any, Any]] = rows.sort_values("rank").to_dict("records")
        for row in records:
            lines.append(
                f"| {row['region']} | {row['accounts']:,} | {100 * row['potential_share']:.1f} % | "
                f"{100 * row['capacity_share']:.1f} % | {row['staffing']} | "
                f"{row['overloaded_potential_months']:,.0f} | "
                f"{100 * row['coverage_gain']:+.2f} | {row['overload_relieved']:,.0f} | "
                f"{row['rank']} |"
            )
        lines.append("")
    return "\n".join(lines)
