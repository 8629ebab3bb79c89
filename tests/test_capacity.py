"""Tests for solver/capacity.py: tenure, ramp factors, capacity shares and headcount."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from solver.capacity import (
    capacity_table,
    headcount,
    headcount_by_period,
    inactive_reps,
    is_active,
    ramp_factor,
    tenure_months,
    territories_needed,
)
from solver.errors import InputError
from solver.scenario import Scenario

ON = dt.date(2027, 2, 1)


def make_scenario(roles: dict[str, Any], ramp_profiles: dict[str, list[float]] | None = None):
    """Build a scenario with the given roles. The input files need not exist."""
    return Scenario.model_validate(
        {
            "name": "capacity-test",
            "design_date": ON.isoformat(),
            "inputs": {
                "accounts": {
                    "path": "accounts.csv",
                    "columns": {
                        "id": "account_id",
                        "latitude": "lat",
                        "longitude": "lon",
                        "metrics": {"potential": "potential"},
                    },
                },
                "reps": {"path": "reps.csv"},
            },
            "ramp_profiles": ramp_profiles or {},
            "roles": roles,
        }
    )


def make_reps(*rows: dict[str, Any]) -> pd.DataFrame:
    """Build a reps table shaped like load_reps output from rows of rep_id, role and start."""
    records = []
    for row in rows:
        records.append(
            {
                "rep_id": row["rep_id"],
                "role": row.get("role", "AE"),
                "name": row.get("name"),
                "start_date": pd.Timestamp(row["start"]),
                "end_date": pd.Timestamp(row["end"]) if row.get("end") else pd.NaT,
                "home_latitude": math.nan,
                "home_longitude": math.nan,
                "ramp_profile": row.get("ramp_profile"),
            }
        )
    return pd.DataFrame(records)


# --- tenure_months -------------------------------------------------------------------------


def test_tenure_on_start_day():
    assert tenure_months(dt.date(2027, 1, 15), dt.date(2027, 1, 15)) == 0


def test_tenure_mid_month_start():
    start = dt.date(2027, 1, 15)

    assert tenure_months(start, dt.date(2027, 2, 14)) == 0
    assert tenure_months(start, dt.date(2027, 2, 15)) == 1
    assert tenure_months(start, dt.date(2027, 3, 14)) == 1
    assert tenure_months(start, dt.date(2027, 3, 15)) == 2


def test_tenure_start_on_31st():
    start = dt.date(2027, 1, 31)

    assert tenure_months(start, dt.date(2027, 2, 27)) == 0
    assert tenure_months(start, dt.date(2027, 2, 28)) == 1
    assert tenure_months(start, dt.date(2027, 3, 30)) == 1
    assert tenure_months(start, dt.date(2027, 3, 31)) == 2
    assert tenure_months(start, dt.date(2027, 4, 29)) == 2
    assert tenure_months(start, dt.date(2027, 4, 30)) == 3


def test_tenure_start_on_31st_leap_year():
    start = dt.date(2028, 1, 31)

    assert tenure_months(start, dt.date(2028, 2, 28)) == 0
    assert tenure_months(start, dt.date(2028, 2, 29)) == 1


def test_tenure_across_year_end():
    start = dt.date(2026, 11, 20)

    assert tenure_months(start, dt.date(2027, 2, 19)) == 2
    assert tenure_months(start, dt.date(2027, 2, 20)) == 3
    assert tenure_months(start, dt.date(2028, 11, 20)) == 24


def test_tenure_accepts_timestamps():
    months = tenure_months(pd.Timestamp("2027-01-15"), pd.Timestamp("2027-02-15 09:30"))

    assert months == 1


def test_tenure_before_start_raises():
    with pytest.raises(
        ValueError,
        match=r"tenure is undefined on 2027-01-14 because it is before the start date 2027-01-15",
    ):
        tenure_months(dt.date(2027, 1, 15), dt.date(2027, 1, 14))


# --- is_active ------------------------------------------------------------------------------


def test_active_window_bounds():
    start, end = dt.date(2026, 3, 1), dt.date(2026, 11, 30)

    assert not is_active(start, end, dt.date(2026, 2, 28))
    assert is_active(start, end, start)
    assert is_active(start, end, end)
    assert not is_active(start, end, dt.date(2026, 12, 1))


def test_active_without_end_date():
    start = dt.date(2026, 3, 1)

    assert is_active(start, None, dt.date(2040, 1, 1))
    assert is_active(pd.Timestamp(start), pd.NaT, dt.date(2040, 1, 1))
    assert is_active(start, math.nan, dt.date(2040, 1, 1))


# --- ramp_factor ----------------------------------------------------------------------------


def test_ramp_curve_ending_at_full():
    curve = [0.25, 0.5, 1.0]
    start = dt.date(2027, 1, 15)

    assert ramp_factor(curve, start, dt.date(2027, 1, 15)) == 0.25
    assert ramp_factor(curve, start, dt.date(2027, 2, 14)) == 0.25
    assert ramp_factor(curve, start, dt.date(2027, 2, 15)) == 0.5
    assert ramp_factor(curve, start, dt.date(2027, 3, 15)) == 1.0
    assert ramp_factor(curve, start, dt.date(2030, 6, 1)) == 1.0


def test_ramp_curve_ending_below_full():
    curve = [0.2, 0.6]
    start = dt.date(2027, 1, 15)

    assert ramp_factor(curve, start, dt.date(2027, 2, 15)) == 0.6
    assert ramp_factor(curve, start, dt.date(2030, 6, 1)) == 0.6


def test_ramp_zero_outside_active_window():
    curve = [1.0]
    start, end = dt.date(2026, 3, 1), dt.date(2026, 11, 30)

    assert ramp_factor(curve, start, dt.date(2026, 2, 28), end) == 0.0
    assert ramp_factor(curve, start, end, end) == 1.0
    assert ramp_factor(curve, start, dt.date(2026, 12, 1), end) == 0.0


def test_ramp_empty_curve_raises():
    with pytest.raises(ValueError, match="ramp curve is empty"):
        ramp_factor([], dt.date(2027, 1, 1), dt.date(2027, 2, 1))


# --- capacity_table -------------------------------------------------------------------------


def test_table_columns():
    scenario = make_scenario(
        {
            "AE": {"ramp": [1.0], "capacity": {"metrics": {"potential": 100.0}}},
            "SMB": {"ramp": [1.0], "capacity": {"metrics": {"accounts": 50.0}}},
        }
    )
    reps = make_reps({"rep_id": "R1", "start": "2026-01-01"})

    table = capacity_table(reps, scenario, ON)

    assert list(table.columns) == [
        "rep_id",
        "role",
        "name",
        "start_date",
        "end_date",
        "tenure_months",
        "ramp_factor",
        "capacity_share",
        "max_accounts",
        "capacity_potential",
        "capacity_accounts",
    ]


def test_table_shares_exact_fractions():
    scenario = make_scenario({"AE": {"ramp": [0.5, 1.0]}})
    reps = make_reps(
        {"rep_id": "R1", "start": "2025-06-01"},
        {"rep_id": "R2", "start": "2025-09-01"},
        {"rep_id": "R3", "start": "2027-01-10"},
    )

    table = capacity_table(reps, scenario, ON)

    assert table["ramp_factor"].tolist() == [1.0, 1.0, 0.5]
    assert table["capacity_share"].tolist() == [0.4, 0.4, 0.2]


def test_table_shares_per_role():
    scenario = make_scenario({"AE": {"ramp": [0.5, 1.0]}, "SMB": {"ramp": [0.25, 1.0]}})
    reps = make_reps(
        {"rep_id": "A1", "role": "AE", "start": "2025-06-01"},
        {"rep_id": "A2", "role": "AE", "start": "2027-01-10"},
        {"rep_id": "S1", "role": "SMB", "start": "2025-06-01"},
        {"rep_id": "S2", "role": "SMB", "start": "2025-07-01"},
        {"rep_id": "S3", "role": "SMB", "start": "2027-01-20"},
        {"rep_id": "S4", "role": "SMB", "start": "2027-01-25"},
    )

    table = capacity_table(reps, scenario, ON).set_index("rep_id")

    assert table.loc["A1", "capacity_share"] == pytest.approx(2 / 3)
    assert table.loc["A2", "capacity_share"] == pytest.approx(1 / 3)
    assert table.loc["S1", "capacity_share"] == 0.4
    assert table.loc["S3", "capacity_share"] == 0.1


def test_table_shares_zero_ramp_sum():
    scenario = make_scenario({"AE": {"ramp": [0.0, 1.0]}})
    reps = make_reps(
        {"rep_id": "R1", "start": "2027-01-05"},
        {"rep_id": "R2", "start": "2027-01-20"},
    )

    table = capacity_table(reps, scenario, ON)

    assert table["ramp_factor"].tolist() == [0.0, 0.0]
    assert table["capacity_share"].tolist() == [0.0, 0.0]


def test_table_ramp_weighted_capacity():
    capacity = {"max_accounts": 10, "metrics": {"potential": 1_000_000.0, "accounts": 40.0}}
    scenario = make_scenario({"AE": {"ramp": [0.3, 1.0], "capacity": capacity}})
    reps = make_reps(
        {"rep_id": "R1", "start": "2027-01-10"},
        {"rep_id": "R2", "start": "2025-01-10"},
    )

    table = capacity_table(reps, scenario, ON).set_index("rep_id")

    assert table.loc["R1", "capacity_potential"] == 300_000.0
    assert table.loc["R1", "capacity_accounts"] == 12.0
    assert table.loc["R1", "max_accounts"] == 3
    assert table.loc["R2", "capacity_potential"] == 1_000_000.0
    assert table.loc["R2", "max_accounts"] == 10


def test_table_max_accounts_float_noise():
    # 0.57 * 100 is 56.99999999999999 in floating point.
    scenario = make_scenario({"AE": {"ramp": [0.57, 1.0], "capacity": {"max_accounts": 100}}})
    reps = make_reps({"rep_id": "R1", "start": "2027-01-10"})

    table = capacity_table(reps, scenario, ON)

    assert table.loc[0, "max_accounts"] == 57


def test_table_unset_capacity_is_nan():
    scenario = make_scenario(
        {
            "AE": {"ramp": [1.0], "capacity": {"max_accounts": 8, "metrics": {"potential": 5.0}}},
            "SMB": {"ramp": [1.0]},
        }
    )
    reps = make_reps({"rep_id": "S1", "role": "SMB", "start": "2026-01-01"})

    table = capacity_table(reps, scenario, ON)

    assert math.isnan(table.loc[0, "max_accounts"])
    assert math.isnan(table.loc[0, "capacity_potential"])


def test_table_ramp_profile_overrides_role():
    scenario = make_scenario(
        {"AE": {"ramp": [0.2, 0.5, 1.0], "capacity": {"metrics": {"potential": 100.0}}}},
        ramp_profiles={"experienced": [0.8, 1.0]},
    )
    reps = make_reps(
        {"rep_id": "R1", "start": "2027-01-10"},
        {"rep_id": "R2", "start": "2027-01-10", "ramp_profile": "experienced"},
    )

    table = capacity_table(reps, scenario, ON).set_index("rep_id")

    assert table.loc["R1", "ramp_factor"] == 0.2
    assert table.loc["R2", "ramp_factor"] == 0.8
    assert table.loc["R2", "capacity_potential"] == 80.0


def test_table_missing_profile_uses_role():
    scenario = make_scenario({"AE": {"ramp": [0.2, 1.0]}}, ramp_profiles={"fast": [0.9]})
    reps = make_reps({"rep_id": "R1", "start": "2027-01-10", "ramp_profile": math.nan})

    table = capacity_table(reps, scenario, ON)

    assert table.loc[0, "ramp_factor"] == 0.2


def test_table_excludes_inactive_reps():
    scenario = make_scenario({"AE": {"ramp": [1.0]}})
    reps = make_reps(
        {"rep_id": "R1", "start": "2026-01-01"},
        {"rep_id": "HIRE-1", "start": "2027-05-01"},
        {"rep_id": "LEFT-1", "start": "2025-01-01", "end": "2026-11-30"},
        {"rep_id": "LAST-DAY", "start": "2025-01-01", "end": "2027-02-01"},
    )

    table = capacity_table(reps, scenario, ON)

    assert table["rep_id"].tolist() == ["LAST-DAY", "R1"]


def test_table_sort_order():
    scenario = make_scenario({"SMB": {"ramp": [1.0]}, "AE": {"ramp": [1.0]}})
    reps = make_reps(
        {"rep_id": "A2", "role": "AE", "start": "2026-01-01"},
        {"rep_id": "A1", "role": "AE", "start": "2026-01-01"},
        {"rep_id": "A0", "role": "AE", "start": "2026-06-01"},
        {"rep_id": "S1", "role": "SMB", "start": "2026-03-01"},
    )

    table = capacity_table(reps, scenario, ON)

    assert table["rep_id"].tolist() == ["S1", "A1", "A2", "A0"]


def test_table_keeps_rep_fields():
    scenario = make_scenario({"AE": {"ramp": [1.0]}})
    reps = make_reps({"rep_id": "R1", "name": "Ada", "start": "2026-01-15", "end": "2027-12-31"})

    row = capacity_table(reps, scenario, ON).iloc[0]

    assert row["name"] == "Ada"
    assert row["start_date"] == pd.Timestamp("2026-01-15")
    assert row["end_date"] == pd.Timestamp("2027-12-31")
    assert row["tenure_months"] == 12


def test_table_accepts_timestamp_date():
    scenario = make_scenario({"AE": {"ramp": [0.5, 1.0]}})
    reps = make_reps({"rep_id": "R1", "start": "2027-01-10"})

    from_date = capacity_table(reps, scenario, ON)
    from_timestamp = capacity_table(reps, scenario, pd.Timestamp(ON))

    pd.testing.assert_frame_equal(from_date, from_timestamp)


def test_table_empty_when_nobody_active():
    scenario = make_scenario({"AE": {"ramp": [1.0], "capacity": {"metrics": {"potential": 1.0}}}})
    reps = make_reps({"rep_id": "HIRE-1", "start": "2027-05-01"})

    table = capacity_table(reps, scenario, ON)

    assert table.empty
    assert "capacity_potential" in table.columns
    assert table["ramp_factor"].dtype == "float64"


def test_table_leaves_input_unchanged():
    scenario = make_scenario({"AE": {"ramp": [1.0]}})
    reps = make_reps(
        {"rep_id": "R2", "start": "2026-01-01"}, {"rep_id": "R1", "start": "2026-01-01"}
    )
    before = reps.copy()

    capacity_table(reps, scenario, ON)

    pd.testing.assert_frame_equal(reps, before)


def test_table_unknown_role_raises():
    scenario = make_scenario({"AE": {"ramp": [1.0]}})
    reps = make_reps({"rep_id": "R1", "role": "SDR", "start": "2026-01-01"})

    with pytest.raises(
        InputError,
        match=r"reps.csv, column 'role': value 'SDR' of rep 'R1' is not a role of "
        r"scenario.yaml. Fix: use one of AE",
    ):
        capacity_table(reps, scenario, ON)


def test_table_unknown_profile_raises():
    scenario = make_scenario({"AE": {"ramp": [1.0]}}, ramp_profiles={"fast": [0.9]})
    reps = make_reps({"rep_id": "R1", "start": "2026-01-01", "ramp_profile": "slow"})

    with pytest.raises(
        InputError,
        match=r"reps.csv, column 'ramp_profile': value 'slow' of rep 'R1' is not a ramp "
        r"profile of scenario.yaml \(defined: fast\)",
    ):
        capacity_table(reps, scenario, ON)


def test_table_missing_column_raises():
    scenario = make_scenario({"AE": {"ramp": [1.0]}})
    reps = make_reps({"rep_id": "R1", "start": "2026-01-01"}).drop(columns="ramp_profile")

    with pytest.raises(ValueError, match=r"reps table is missing column 'ramp_profile'"):
        capacity_table(reps, scenario, ON)


# --- inactive_reps --------------------------------------------------------------------------


def test_inactive_reasons():
    reps = make_reps(
        {"rep_id": "R1", "start": "2026-01-01"},
        {"rep_id": "HIRE-1", "start": "2027-05-01"},
        {"rep_id": "LEFT-1", "start": "2025-01-01", "end": "2026-11-30"},
    )

    inactive = inactive_reps(reps, ON).set_index("rep_id")

    assert inactive.index.tolist() == ["HIRE-1", "LEFT-1"]
    assert inactive.loc["HIRE-1", "reason"] == "starts 2027-05-01, after 2027-02-01"
    assert inactive.loc["LEFT-1", "reason"] == "left on 2026-11-30, before 2027-02-01"


def test_inactive_columns():
    reps = make_reps({"rep_id": "HIRE-1", "start": "2027-05-01"})

    inactive = inactive_reps(reps, ON)

    assert list(inactive.columns) == ["rep_id", "role", "start_date", "end_date", "reason"]


def test_inactive_excludes_last_day():
    reps = make_reps({"rep_id": "R1", "start": "2025-01-01", "end": "2027-02-01"})

    inactive = inactive_reps(reps, ON)

    assert inactive.empty


# --- headcount ------------------------------------------------------------------------------


def _plan() -> pd.DataFrame:
    return make_reps(
        {"rep_id": "A1", "role": "AE", "start": "2025-01-01"},
        {"rep_id": "A2", "role": "AE", "start": "2025-01-01", "end": "2027-03-31"},
        {"rep_id": "A3", "role": "AE", "start": "2027-04-01"},
        {"rep_id": "S1", "role": "SMB", "start": "2027-06-15"},
    )


def test_headcount_counts_active_reps():
    assert headcount(_plan(), ON) == {"AE": 2, "SMB": 0}


def test_headcount_by_period():
    dates = [dt.date(2027, 1, 1), dt.date(2027, 4, 1), dt.date(2027, 7, 1)]

    counts = headcount_by_period(_plan(), dates)

    expected = pd.DataFrame({"AE": [2, 2, 2], "SMB": [0, 0, 1]})
    assert counts.index.name == "date"
    assert counts.index.tolist() == [pd.Timestamp(day) for day in dates]
    pd.testing.assert_frame_equal(counts.reset_index(drop=True), expected)


def test_headcount_by_period_end_date():
    dates = [dt.date(2027, 3, 31), pd.Timestamp("2027-04-01")]

    counts = headcount_by_period(_plan(), dates)

    assert counts["AE"].tolist() == [2, 2]
    assert counts.index[1] == pd.Timestamp("2027-04-01")


# --- territories_needed ---------------------------------------------------------------------


def test_territories_needed_rounds_up():
    assert territories_needed(100.0, 10.0) == 10
    assert territories_needed(101.0, 10.0) == 11
    assert territories_needed(0.0, 10.0) == 0


def test_territories_needed_float_noise():
    assert territories_needed(10.0000000001, 1.0) == 10


def test_territories_needed_zero_capacity_raises():
    with pytest.raises(ValueError, match=r"capacity per rep must be a finite number > 0, got 0"):
        territories_needed(10.0, 0.0)


def test_territories_needed_negative_total_raises():
    with pytest.raises(ValueError, match=r"total must be a finite number >= 0, got -1"):
        territories_needed(-1.0, 10.0)
