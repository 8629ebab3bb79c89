"""Pre-built and just-in-time policies on a timeline small enough to check by hand.

Rep A works the west from before the horizon. Rep B is hired on 1 March with a ramp of
50 % in the first month and 100 % after. Four accounts of potential 10: two in the west
(W1, W2) and two in the east (E1, E2), about 1,100 km apart. One fully ramped rep carries
a potential of 40. The horizon is January to April 2027 in months.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from instances import write_instance

from solver.cli import main
from solver.errors import InfeasiblePlanError, InputError
from solver.period_metrics import period_table
from solver.policies import plan_policy
from solver.scenario import Horizon, load_scenario
from solver.timeline import horizon_periods, load_horizon, owner_changes

WEST, EAST = (39.0, -105.0), (39.0, -92.0)

ACCOUNTS = [
    {"account_id": "W1", "latitude": WEST[0], "longitude": WEST[1] - 0.1, "potential": 10},
    {"account_id": "W2", "latitude": WEST[0], "longitude": WEST[1] + 0.1, "potential": 10},
    {"account_id": "E1", "latitude": EAST[0], "longitude": EAST[1] - 0.1, "potential": 10},
    {"account_id": "E2", "latitude": EAST[0], "longitude": EAST[1] + 0.1, "potential": 10},
]

REPS = [
    {
        "rep_id": "A",
        "role": "FIELD",
        "start_date": "2020-01-06",
        "home_latitude": WEST[0],
        "home_longitude": WEST[1],
    },
    {
        "rep_id": "B",
        "role": "FIELD",
        "start_date": "2027-03-01",
        "home_latitude": EAST[0],
        "home_longitude": EAST[1],
    },
]

ROLE = {
    "ramp": [0.5, 1.0],
    "capacity": {"metrics": {"potential": 40}},
    "balance": [{"metric": "potential", "tolerance": 0.6}],
    "centres": "rep_home",
}

HORIZON = {"start": "2027-01-01", "end": "2027-04-30", "period": "month"}


def scenario_path(tmp_path: Path, reps=REPS, horizon=HORIZON) -> Path:
    return write_instance(
        tmp_path,
        ACCOUNTS,
        reps,
        {"FIELD": ROLE},
        solver={"mip_gap": 0.0},
        extra={"horizon": horizon},
    )


@pytest.fixture(scope="module")
def timelines(tmp_path_factory: pytest.TempPathFactory):
    path = scenario_path(tmp_path_factory.mktemp("timeline"))
    inputs = load_horizon(load_scenario(path))
    return {policy: plan_policy(inputs, policy)["FIELD"] for policy in ("prebuilt", "just_in_time")}


def owners_of(timeline, period: int) -> dict[str, str]:
    return dict(zip(timeline.account_ids, timeline.owners[period], strict=True))


def test_periods_are_the_four_months(timelines) -> None:
    periods = timelines["prebuilt"].periods

    assert [p.start.isoformat() for p in periods] == [
        "2027-01-01",
        "2027-02-01",
        "2027-03-01",
        "2027-04-01",
    ]
    assert [p.end.isoformat() for p in periods][-1] == "2027-04-30"


def test_ramp_table_follows_the_hire(timelines) -> None:
    ramp = timelines["prebuilt"].ramp

    assert ramp.loc["A"].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert ramp.loc["B"].tolist() == [0.0, 0.0, 0.5, 1.0]


def test_prebuilt_interim_cover_before_hire(timelines) -> None:
    timeline = timelines["prebuilt"]

    assert owners_of(timeline, 0) == {"W1": "A", "W2": "A", "E1": "A", "E2": "A"}
    assert owners_of(timeline, 1) == {"W1": "A", "W2": "A", "E1": "A", "E2": "A"}


def test_prebuilt_phases_half_the_patch_in_march(timelines) -> None:
    # B's ramp is 50 % in March, so half the patch's potential (10 of 20) moves. Accounts
    # move lowest potential first, then by id: E1 goes, E2 waits with A.
    timeline = timelines["prebuilt"]

    assert owners_of(timeline, 2) == {"W1": "A", "W2": "A", "E1": "B", "E2": "A"}
    assert owners_of(timeline, 3) == {"W1": "A", "W2": "A", "E1": "B", "E2": "B"}


def test_prebuilt_schedule_lists_each_move(timelines) -> None:
    schedule = timelines["prebuilt"].schedule

    assert schedule.to_dict("records") == [
        {
            "account_id": "E1",
            "from_rep": "A",
            "to_rep": "B",
            "effective_date": "2027-03-01",
            "reason": "phase_in",
        },
        {
            "account_id": "E2",
            "from_rep": "A",
            "to_rep": "B",
            "effective_date": "2027-04-01",
            "reason": "phase_in",
        },
    ]


def test_move_order_column_decides_who_moves_first(tmp_path: Path) -> None:
    # E2 has no open pipeline and E1 has some, so with pipeline ascending E2 moves first.
    accounts = [
        {**account, "pipeline": {"E1": "5000", "E2": "0"}.get(account["account_id"], "0")}
        for account in ACCOUNTS
    ]
    path = write_instance(
        tmp_path,
        accounts,
        REPS,
        {"FIELD": ROLE},
        solver={"mip_gap": 0.0},
        extra={"horizon": HORIZON, "prebuilt": {"move_order": [{"column": "pipeline"}]}},
        keep=["pipeline"],
    )

    timeline = plan_policy(load_horizon(load_scenario(path)), "prebuilt")["FIELD"]

    assert owners_of(timeline, 2) == {"W1": "A", "W2": "A", "E1": "A", "E2": "B"}


def test_move_order_unknown_column_is_rejected(tmp_path: Path) -> None:
    path = write_instance(
        tmp_path,
        ACCOUNTS,
        REPS,
        {"FIELD": ROLE},
        extra={"horizon": HORIZON, "prebuilt": {"move_order": [{"column": "pipeline"}]}},
    )

    with pytest.raises(InputError) as caught:
        plan_policy(load_horizon(load_scenario(path)), "prebuilt")

    message = str(caught.value)
    assert "prebuilt.move_order names column 'pipeline'" in message
    assert "add the column to inputs.accounts.columns.keep" in message


def test_just_in_time_moves_on_hire(timelines) -> None:
    # In March B is at 50 %: targets are 40 * 2/3 and 40 * 1/3 with +/-60 %, so B can take
    # both eastern accounts (20 <= 21.3), which saves far more than the move cost.
    timeline = timelines["just_in_time"]

    assert owners_of(timeline, 1) == {"W1": "A", "W2": "A", "E1": "A", "E2": "A"}
    assert owners_of(timeline, 2) == {"W1": "A", "W2": "A", "E1": "B", "E2": "B"}
    assert owners_of(timeline, 3) == owners_of(timeline, 2)


def test_just_in_time_solves_once_per_headcount_change(timelines) -> None:
    assert timelines["just_in_time"].solves == 2
    assert timelines["prebuilt"].solves == 1


def test_just_in_time_schedule_names_the_new_hire(timelines) -> None:
    schedule = timelines["just_in_time"].schedule

    assert schedule["account_id"].tolist() == ["E1", "E2"]
    assert set(schedule["reason"]) == {"new_hire"}
    assert set(schedule["effective_date"]) == {"2027-03-01"}


def test_moves_per_period(timelines) -> None:
    prebuilt = owner_changes(timelines["prebuilt"]).sum(axis=1)
    just_in_time = owner_changes(timelines["just_in_time"]).sum(axis=1)

    assert prebuilt.tolist() == [0, 0, 1, 1]
    assert just_in_time.tolist() == [0, 0, 2, 0]


@pytest.mark.parametrize("policy", ["prebuilt", "just_in_time"])
def test_every_period_plan_passes_verification(timelines, policy: str) -> None:
    timeline = timelines[policy]

    assert len(timeline.violations) == 4
    assert all(found == () for found in timeline.violations)


def test_move_budget_too_small_is_explained(tmp_path: Path) -> None:
    path = write_instance(
        tmp_path,
        ACCOUNTS,
        REPS,
        {"FIELD": {**ROLE, "balance": [{"metric": "potential", "tolerance": 0.3}]}},
        solver={"mip_gap": 0.0},
        extra={"horizon": HORIZON, "just_in_time": {"move_budget": 0}},
    )
    inputs = load_horizon(load_scenario(path))

    # In March the bands are 18.7-34.7 for A and 9.3-17.3 for B, so B needs exactly one
    # account of 10: the fewest moves is one, and a budget of none cannot work.
    with pytest.raises(InfeasiblePlanError) as caught:
        plan_policy(inputs, "just_in_time")

    message = str(caught.value)
    assert "the move budget of 0 accounts is too small" in message
    assert "set just_in_time.move_budget to at least 1" in message


def test_hire_after_the_horizon_is_rejected(tmp_path: Path) -> None:
    reps = [
        *REPS,
        {
            "rep_id": "C",
            "role": "FIELD",
            "start_date": "2027-06-01",
            "home_latitude": EAST[0],
            "home_longitude": EAST[1],
        },
    ]
    path = scenario_path(tmp_path, reps=reps)

    with pytest.raises(InputError) as caught:
        load_horizon(load_scenario(path))

    message = str(caught.value)
    assert "reps.csv" in message
    assert "row 4" in message
    assert "value '2027-06-01'" in message
    assert "rep C starts after the horizon ends on 2027-04-30" in message
    assert "extend horizon.end" in message


def test_horizon_end_before_start_is_rejected(tmp_path: Path) -> None:
    path = scenario_path(tmp_path, horizon={"start": "2027-05-01", "end": "2027-01-31"})

    with pytest.raises(InputError) as caught:
        load_scenario(path)

    assert "horizon end 2027-01-31 is before its start 2027-05-01" in str(caught.value)


def test_period_must_be_month_or_quarter(tmp_path: Path) -> None:
    path = scenario_path(tmp_path, horizon={**HORIZON, "period": "week"})

    with pytest.raises(InputError) as caught:
        load_scenario(path)

    message = str(caught.value)
    assert "horizon.period" in message
    assert "'month' or 'quarter'" in message


def test_quarters_end_on_the_horizon_end() -> None:
    horizon = Horizon.model_validate(
        {"start": "2027-01-15", "end": "2027-11-30", "period": "quarter"}
    )

    periods = horizon_periods(horizon)

    assert [(p.start.isoformat(), p.end.isoformat(), p.months) for p in periods] == [
        ("2027-01-15", "2027-04-14", 3),
        ("2027-04-15", "2027-07-14", 3),
        ("2027-07-15", "2027-10-14", 3),
        ("2027-10-15", "2027-11-30", 2),
    ]
    assert np.sum([p.months for p in periods]) == 11


@pytest.mark.parametrize(
    ("policy", "coverage", "utilisation_mean", "utilisation_max"),
    [
        # Pre-built, March: A owns W1, W2 and E2 (30 of 40 at ramp 1.0) and B owns E1 (10
        # at ramp 0.5): coverage (30 + 5) / 40 = 0.875, utilisation A 30/40 and B 10/20.
        ("prebuilt", [1.0, 1.0, 0.875, 1.0], [1.0, 1.0, 0.625, 0.5], [1.0, 1.0, 0.75, 0.5]),
        # Just-in-time, March: A owns the west (20) and B the east (20 at ramp 0.5):
        # coverage (20 + 10) / 40 = 0.75, utilisation A 20/40 and B 20/20.
        ("just_in_time", [1.0, 1.0, 0.75, 1.0], [1.0, 1.0, 0.75, 0.5], [1.0, 1.0, 1.0, 0.5]),
    ],
)
def test_period_metrics_by_hand(timelines, policy, coverage, utilisation_mean, utilisation_max):
    periods = period_table(timelines[policy])

    assert periods["coverage"].tolist() == pytest.approx(coverage)
    assert periods["utilisation_mean"].tolist() == pytest.approx(utilisation_mean)
    assert periods["utilisation_max"].tolist() == pytest.approx(utilisation_max)
    assert periods["reps_over"].tolist() == [0, 0, 0, 0]


def test_check_rejects_a_hire_after_the_horizon(tmp_path: Path, capsys) -> None:
    reps = [*REPS, {"rep_id": "C", "role": "FIELD", "start_date": "2027-06-01"}]
    path = scenario_path(tmp_path, reps=reps)

    code = main(["check", str(path)])

    assert code == 2
    assert "rep C starts after the horizon ends on 2027-04-30" in capsys.readouterr().err
