"""Period metrics score a role timeline by the rules stated in the module docstring."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from solver.period_metrics import period_table, totals_row
from solver.timeline import SCHEDULE_COLUMNS, Period, RoleTimeline

POTENTIAL = [10.0, 20.0, 30.0, 40.0]


def make_timeline(
    owners: list[list[str]],
    ramp: dict[str, list[float]],
    *,
    potential: list[float] = POTENTIAL,
    full_capacity: dict[str, float] | None = None,
    balance: dict[str, float] | None = None,
    minimum: dict[str, float] | None = None,
    months: int = 1,
    violations: tuple[tuple[str, ...], ...] | None = None,
    solves: int = 1,
) -> RoleTimeline:
    """Build a timeline of accounts a1..an whose periods start on 1 January 2025.

    ``owners`` has one list per period; ``ramp`` one list of factors per rep. Every account
    has ``accounts`` = 1.
    """
    n_periods = len(owners)
    periods = []
    for k in range(n_periods):
        start = dt.date(2025, 1 + k * months, 1)
        next_month = 1 + (k + 1) * months
        next_start = dt.date(2025 + (next_month - 1) // 12, (next_month - 1) % 12 + 1, 1)
        periods.append(Period(start, next_start - dt.timedelta(days=1), months))

    account_ids = np.array([f"a{i + 1}" for i in range(len(potential))])
    values = pd.DataFrame({"accounts": 1.0, "potential": potential})
    ramp_table = pd.DataFrame.from_dict(ramp, orient="index", columns=range(1, n_periods + 1))
    ramp_table.index.name = "rep_id"

    return RoleTimeline(
        role="FIELD",
        policy="prebuilt",
        periods=tuple(periods),
        account_ids=account_ids,
        values=values,
        owners=np.array(owners, dtype=object),
        ramp=ramp_table,
        full_capacity={"potential": 60.0} if full_capacity is None else full_capacity,
        balance={"potential": 0.1} if balance is None else balance,
        minimum=minimum or {},
        potential="potential",
        schedule=pd.DataFrame(columns=SCHEDULE_COLUMNS),
        violations=violations or ((),) * n_periods,
        solves=solves,
    )


@pytest.fixture
def hiring() -> RoleTimeline:
    """A works every period, B is hired in period 3 and takes a3, a4, then a3 goes back to A.

    ```
    period        1      2      3      4
    ramp A        1      1      1      1
    ramp B        0      0      0.5    1
    A owns      a1-a4  a1-a4  a1,a2  a1,a2,a3
    B owns        -      -    a3,a4    a4
    ```
    """
    return make_timeline(
        owners=[
            ["A", "A", "A", "A"],
            ["A", "A", "A", "A"],
            ["A", "A", "B", "B"],
            ["A", "A", "A", "B"],
        ],
        ramp={"A": [1.0, 1.0, 1.0, 1.0], "B": [0.0, 0.0, 0.5, 1.0]},
        violations=((), (), ("balance",), ()),
        solves=2,
    )


def test_columns_in_order(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    assert list(table.columns) == [
        "role",
        "policy",
        "period",
        "start",
        "end",
        "months",
        "active_reps",
        "coverage",
        "utilisation_mean",
        "utilisation_max",
        "reps_over",
        "reps_under",
        "max_dev_potential",
        "cv_potential",
        "viability_failures",
        "accounts_moved",
        "potential_moved",
        "accounts_moved_cum",
        "potential_moved_cum",
        "uncovered_potential_months",
        "overloaded_potential_months",
    ]


def test_period_numbers_and_dates(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    assert table["period"].tolist() == [1, 2, 3, 4]
    assert table.loc[0, "start"] == "2025-01-01"
    assert table.loc[0, "end"] == "2025-01-31"
    assert table.loc[3, "start"] == "2025-04-01"
    assert table.loc[3, "end"] == "2025-04-30"


def test_hiring_active_reps(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    # B has ramp 0 in periods 1 and 2.
    assert table["active_reps"].tolist() == [1, 1, 2, 2]


def test_hiring_coverage(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    # Periods 1, 2: A at ramp 1 owns all 100 -> 1.0.
    # Period 3: (10 + 20) * 1 + (30 + 40) * 0.5 = 65 of 100 -> 0.65.
    # Period 4: both at ramp 1 -> 1.0.
    assert table["coverage"].tolist() == pytest.approx([1.0, 1.0, 0.65, 1.0])


def test_hiring_utilisation(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    # Periods 1, 2: A carries 100 / 60 = 5/3.
    # Period 3: A 30 / 60 = 0.5, B 70 / (60 * 0.5) = 7/3; mean (0.5 + 7/3) / 2 = 17/12.
    # Period 4: A 60 / 60 = 1.0, B 40 / 60 = 2/3; mean 5/6.
    assert table["utilisation_mean"].tolist() == pytest.approx([5 / 3, 5 / 3, 17 / 12, 5 / 6])
    assert table["utilisation_max"].tolist() == pytest.approx([5 / 3, 5 / 3, 7 / 3, 1.0])


def test_hiring_reps_over_and_under(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    # Over 1: A in periods 1, 2; B in period 3. A at exactly 1.0 in period 4 is not over.
    # Under 0.8: A (0.5) in period 3; B (2/3) in period 4.
    assert table["reps_over"].tolist() == [1, 1, 1, 0]
    assert table["reps_under"].tolist() == [0, 0, 1, 1]


def test_hiring_balance_spread(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    # Periods 1, 2: A alone carries its whole share -> 0, and cv 0 for one rep.
    # Period 3: shares 100 * 1 / 1.5 = 66.67 and 100 * 0.5 / 1.5 = 33.33;
    #   deviations (30 - 66.67) / 66.67 = -0.55 and (70 - 33.33) / 33.33 = 1.1 -> 1.1.
    #   Load per ramp 30 and 140: mean 85, population std 55 -> cv 55 / 85 = 11/17.
    # Period 4: shares 50 and 50, loads 60 and 40 -> 0.2; mean 50, std 10 -> cv 0.2.
    assert table["max_dev_potential"].tolist() == pytest.approx([0.0, 0.0, 1.1, 0.2])
    assert table["cv_potential"].tolist() == pytest.approx([0.0, 0.0, 11 / 17, 0.2])


def test_hiring_moves(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    # Period 3: a3, a4 move to B (30 + 40 = 70). Period 4: a3 moves back to A (30).
    assert table["accounts_moved"].tolist() == [0, 0, 2, 1]
    assert table["potential_moved"].tolist() == pytest.approx([0.0, 0.0, 70.0, 30.0])
    assert table["accounts_moved_cum"].tolist() == [0, 0, 2, 3]
    assert table["potential_moved_cum"].tolist() == pytest.approx([0.0, 0.0, 70.0, 100.0])


def test_hiring_potential_months(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    # Every owner is an active rep, so nothing is uncovered.
    # Overloaded: A's 100 in periods 1, 2; B's 70 in period 3; no rep in period 4.
    assert table["uncovered_potential_months"].tolist() == pytest.approx([0.0] * 4)
    assert table["overloaded_potential_months"].tolist() == pytest.approx([100.0, 100.0, 70.0, 0.0])


def test_hiring_no_viability_failures(hiring: RoleTimeline) -> None:
    table = period_table(hiring)

    assert table["viability_failures"].tolist() == [0, 0, 0, 0]


def test_hiring_totals(hiring: RoleTimeline) -> None:
    totals = totals_row(hiring, period_table(hiring))

    assert totals["role"] == "FIELD"
    assert totals["policy"] == "prebuilt"
    assert totals["periods"] == 4
    assert totals["solves"] == 2
    # (1 + 1 + 0.65 + 1) / 4, every period one month.
    assert totals["mean_coverage"] == pytest.approx(0.9125)
    # (5/3 + 5/3 + 17/12 + 5/6) / 4 = (20 + 20 + 17 + 10) / 48 = 67/48.
    assert totals["mean_utilisation"] == pytest.approx(67 / 48)
    assert totals["max_utilisation"] == pytest.approx(7 / 3)
    assert totals["rep_periods_over"] == 3
    assert totals["rep_periods_under"] == 2
    assert totals["max_dev_potential"] == pytest.approx(1.1)
    assert totals["viability_failures"] == 0
    assert totals["accounts_moved"] == 3
    assert totals["potential_moved"] == pytest.approx(100.0)
    # Owner changes per account: a1 0, a2 0, a3 2, a4 1.
    assert totals["owner_changes_mean"] == pytest.approx(0.75)
    assert totals["owner_changes_max"] == 2
    assert totals["uncovered_potential_months"] == pytest.approx(0.0)
    # 100 + 100 + 70 + 0.
    assert totals["overloaded_potential_months"] == pytest.approx(270.0)
    # Only period 3 has a violation.
    assert totals["invalid_periods"] == 1


def test_totals_keys(hiring: RoleTimeline) -> None:
    totals = totals_row(hiring, period_table(hiring))

    assert list(totals) == [
        "role",
        "policy",
        "periods",
        "solves",
        "mean_coverage",
        "mean_utilisation",
        "max_utilisation",
        "rep_periods_over",
        "rep_periods_under",
        "max_dev_potential",
        "viability_failures",
        "accounts_moved",
        "potential_moved",
        "owner_changes_mean",
        "owner_changes_max",
        "uncovered_potential_months",
        "overloaded_potential_months",
        "invalid_periods",
    ]


@pytest.fixture
def house() -> RoleTimeline:
    """One quarter: A owns a1, B a2, the house territory a3, and C (ramp 0) a4."""
    return make_timeline(
        owners=[["A", "B", "HOUSE", "C"]],
        ramp={"A": [1.0], "B": [1.0], "C": [0.0]},
        full_capacity={"potential": 50.0},
        months=3,
    )


def test_house_quarter_dates(house: RoleTimeline) -> None:
    row = period_table(house).iloc[0]

    assert row["months"] == 3
    assert row["end"] == "2025-03-31"


def test_house_and_inactive_uncovered(house: RoleTimeline) -> None:
    row = period_table(house).iloc[0]

    # Only a1 (10) and a2 (20) are covered: 30 / 100.
    assert row["active_reps"] == 2
    assert row["coverage"] == pytest.approx(0.3)
    # HOUSE's 30 and C's 40 for 3 months: 3 * 70.
    assert row["uncovered_potential_months"] == pytest.approx(210.0)


def test_house_not_in_loads(house: RoleTimeline) -> None:
    row = period_table(house).iloc[0]

    # A 10 / 50 = 0.2, B 20 / 50 = 0.4.
    assert row["utilisation_mean"] == pytest.approx(0.3)
    assert row["utilisation_max"] == pytest.approx(0.4)
    assert row["overloaded_potential_months"] == pytest.approx(0.0)


def test_house_not_in_balance(house: RoleTimeline) -> None:
    row = period_table(house).iloc[0]

    # Total over active reps only is 30, so shares are 15 and 15: deviations -1/3, +1/3.
    # Counting the house patch would give shares of 50 and a spread of 0.8.
    assert row["max_dev_potential"] == pytest.approx(1 / 3)
    # Loads 10 and 20: mean 15, population std 5.
    assert row["cv_potential"] == pytest.approx(1 / 3)


@pytest.fixture
def viability() -> RoleTimeline:
    """Two periods with minimums of 25 potential and 2 accounts; D is never active.

    ```
    period 1: A a1 (10, 1 account)      B a2,a3 (50, 2)  C a4 (40, 1)
    period 2: A a1,a2 (30, 2 accounts)  B a3 (30, 1)     C a4 (40, 1)
    ```
    """
    return make_timeline(
        owners=[["A", "B", "B", "C"], ["A", "A", "B", "C"]],
        ramp={"A": [1.0, 1.0], "B": [1.0, 1.0], "C": [1.0, 1.0], "D": [0.0, 0.0]},
        full_capacity={"potential": 100.0},
        minimum={"potential": 25.0, "accounts": 2.0},
    )


def test_viability_failures_per_period(viability: RoleTimeline) -> None:
    table = period_table(viability)

    # Period 1: A below 25 potential; A and C below 2 accounts (B at exactly 2 passes) -> 3.
    # Period 2: no rep below 25 potential; B and C below 2 accounts -> 2.
    # D owns nothing but is not active, so it never fails.
    assert table["viability_failures"].tolist() == [3, 2]


def test_viability_failures_total(viability: RoleTimeline) -> None:
    totals = totals_row(viability, period_table(viability))

    assert totals["viability_failures"] == 5


def test_fallback_capacity_from_last_period() -> None:
    # Full capacity is empty: A and B are at ramp 1.0 in the last period, so one full rep
    # carries 100 / 2 = 50 potential.
    timeline = make_timeline(
        owners=[["A", "A", "A", "A"], ["A", "A", "B", "C"]],
        ramp={"A": [1.0, 1.0], "B": [0.0, 1.0], "C": [0.0, 0.5]},
        full_capacity={},
    )

    table = period_table(timeline)

    # Period 1: A carries 100 / 50 = 2.0.
    # Period 2: A 30 / 50 = 0.6, B 30 / 50 = 0.6, C 40 / (50 * 0.5) = 1.6; mean 2.8 / 3.
    assert table["utilisation_max"].tolist() == pytest.approx([2.0, 1.6])
    assert table["utilisation_mean"].tolist() == pytest.approx([2.0, 2.8 / 3])


def test_fallback_capacity_without_full_reps() -> None:
    # No rep reaches ramp 1.0, so the divisor is 1 and one full rep carries all 100.
    timeline = make_timeline(
        owners=[["A", "A", "A", "A"]],
        ramp={"A": [0.5]},
        full_capacity={},
    )

    row = period_table(timeline).iloc[0]

    # 100 / (100 * 0.5).
    assert row["utilisation_max"] == pytest.approx(2.0)


def test_zero_potential_is_covered() -> None:
    timeline = make_timeline(
        owners=[["HOUSE", "HOUSE", "A", "A"]],
        ramp={"A": [1.0]},
        potential=[0.0, 0.0, 0.0, 0.0],
        full_capacity={"accounts": 4.0},
    )

    row = period_table(timeline).iloc[0]

    assert row["coverage"] == 1.0


def test_no_active_rep_gives_nan() -> None:
    timeline = make_timeline(owners=[["HOUSE"] * 4], ramp={"A": [0.0]})

    row = period_table(timeline).iloc[0]

    assert row["active_reps"] == 0
    assert row["coverage"] == 0.0
    assert math.isnan(row["utilisation_mean"])
    assert math.isnan(row["max_dev_potential"])
    assert row["uncovered_potential_months"] == pytest.approx(100.0)


def test_missing_metric_column_raises() -> None:
    timeline = make_timeline(owners=[["A"] * 4], ramp={"A": [1.0]}, balance={"pipeline": 0.1})

    with pytest.raises(ValueError, match=r"values has no column for metrics \['pipeline'\]"):
        period_table(timeline)


def test_ramp_column_count_mismatch_raises() -> None:
    timeline = make_timeline(owners=[["A"] * 4], ramp={"A": [1.0]})
    two_periods = pd.DataFrame({1: [1.0], 2: [1.0]}, index=pd.Index(["A"], name="rep_id"))

    with pytest.raises(ValueError, match=r"ramp must have one column per period \(1\), got 2"):
        period_table(dataclasses.replace(timeline, ramp=two_periods))
