"""Independent verification of a finished plan.

Every rule is recomputed with plain pandas from the final assignment, the accounts table,
the territories' capacity shares and the scenario. Nothing here reads the solver's model,
its bounds or its status, so a bug in the formulation or a solver tolerance shows up as a
violation instead of a silently broken plan.
"""

from __future__ import annotations

import math

import pandas as pd

from solver.scenario import ACCOUNT_COUNT, Scenario

#: Relative slack for comparing floating-point totals with bounds.
RELATIVE_TOLERANCE = 1e-9


def verify_plan(
    scenario: Scenario,
    accounts: pd.DataFrame,
    members: dict[str, pd.Series],
    territories: pd.DataFrame,
    assignments: pd.DataFrame,
) -> list[dict[str, object]]:
    """Return every violated rule of the plan; an empty list means the plan is valid.

    Parameters
    ----------
    accounts
        The accounts table, with one column per metric.
    members
        For each role, a boolean Series over ``accounts`` rows: the accounts it must cover.
    territories
        One row per territory: ``territory_id, role, rep_id, ramp_factor, capacity_share``.
    assignments
        One row per (account, role): ``account_id, role, territory_id``.
    """
    table = accounts.assign(**{ACCOUNT_COUNT: 1.0})
    violations: list[dict[str, object]] = []
    for role_name, role in scenario.roles.items():
        expected = table.loc[members[role_name].to_numpy(), "account_id"]
        own = assignments[assignments["role"] == role_name]
        role_territories = territories[territories["role"] == role_name]
        violations += _coverage(role_name, expected, own, role_territories)

        merged = own[["account_id", "territory_id"]].merge(table, on="account_id", how="inner")
        metrics = sorted(
            {g.metric for g in role.balance}
            | {v.metric for v in role.viability}
            | set(role.capacity.metrics)
            | {ACCOUNT_COUNT}
        )
        totals = (
            merged.groupby("territory_id")[metrics]
            .sum()
            .reindex(role_territories["territory_id"], fill_value=0.0)
        )
        role_totals = table.loc[members[role_name].to_numpy(), metrics].sum()
        for row in role_territories.itertuples(index=False):
            total: pd.Series = totals.loc[str(row.territory_id)]  # type: ignore[assignment]
            violations += _territory_rules(scenario, role_name, row, total, role_totals)
    return violations


def _coverage(
    role: str, expected: pd.Series, own: pd.DataFrame, territories: pd.DataFrame
) -> list[dict[str, object]]:
    found = []
    counts = own["account_id"].value_counts()
    missing = sorted(set(expected) - set(counts.index))
    doubled = sorted(counts[counts > 1].index)
    extra = sorted(set(counts.index) - set(expected))
    foreign = sorted(set(own["territory_id"]) - set(territories["territory_id"]))
    for rule, ids in (
        ("unassigned", missing),
        ("assigned_twice", doubled),
        ("not_eligible", extra),
        ("unknown_territory", foreign),
    ):
        if ids:
            shown = ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")
            found.append(
                {
                    "role": role,
                    "rule": rule,
                    "count": len(ids),
                    "message": f"{role}: {rule}: {shown}",
                }
            )
    return found


def _territory_rules(
    scenario: Scenario, role_name: str, territory, total: pd.Series, role_totals: pd.Series
) -> list[dict[str, object]]:
    role = scenario.roles[role_name]
    found = []

    def check(rule: str, metric: str, value: float, low: float, high: float) -> None:
        slack = RELATIVE_TOLERANCE * max(
            1.0, abs(low) if math.isfinite(low) else 0.0, abs(high) if math.isfinite(high) else 0.0
        )
        if low - slack <= value <= high + slack:
            return
        found.append(
            {
                "role": role_name,
                "territory_id": territory.territory_id,
                "rule": rule,
                "metric": metric,
                "value": float(value),
                "min_allowed": low,
                "max_allowed": high,
                "message": (
                    f"{territory.territory_id}: {rule} on '{metric}': total {value:,.6g} "
                    f"outside [{low:,.6g}, {high:,.6g}]"
                ),
            }
        )

    # Balance bands: role total times the territory's capacity share, +/- tolerance.
    for goal in role.balance:
        target = role_totals[goal.metric] * territory.capacity_share
        check(
            "balance",
            goal.metric,
            total[goal.metric],
            target * (1 - goal.tolerance),
            target * (1 + goal.tolerance),
        )

    # Viability minimums, the same for every territory of the role.
    for minimum in role.viability:
        check("viability", minimum.metric, total[minimum.metric], minimum.minimum, math.inf)

    # Ramp-weighted capacity of the territory's rep.
    for metric, amount in role.capacity.metrics.items():
        check("capacity", metric, total[metric], -math.inf, territory.ramp_factor * amount)
    if role.capacity.max_accounts is not None:
        limit = math.floor(territory.ramp_factor * role.capacity.max_accounts + 1e-9)
        check("max_accounts", ACCOUNT_COUNT, total[ACCOUNT_COUNT], -math.inf, limit)
    return found
