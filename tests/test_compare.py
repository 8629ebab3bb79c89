"""The comparison of planning policies on a hiring timeline small enough to check by hand.

Rep A works the west from before the horizon. Rep B is hired on 1 March with a ramp of
50 % in the first month and 100 % after. Four accounts of potential 10, two in the west
(W1, W2) and two in the east (E1, E2). One fully ramped rep carries a potential of 40.
The horizon is January to April 2027 in months.

```
period               Jan    Feb    Mar           Apr
ramp A / B           1 / 0  1 / 0  1 / 0.5       1 / 1
pre-built   B owns   -      -      E1            E1, E2
just-in-time B owns  -      -      E1, E2        E1, E2
```

A owns every other account. Coverage is potential times the owner's ramp over 40:
pre-built in March (10 + 10 + 10 + 5) / 40 = 0.875, just-in-time (10 + 10 + 5 + 5) / 40
= 0.75, and 1.0 in every other month.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from pathlib import Path

import pandas as pd
import pytest
from instances import write_instance
from test_policies import ACCOUNTS, HORIZON, REPS, ROLE

from solver import compare as compare_module
from solver.cli import main
from solver.compare import (
    Comparison,
    build_comparison,
    compare,
    moves_table,
    score_runs,
    write_comparison,
)
from solver.compare_report import PLOTS, comparison_markdown, plot_periods, verdict_paragraphs
from solver.errors import InputError
from solver.period_metrics import period_columns

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def scenario_path(folder: Path, *, name: str = "tiny", **extra) -> Path:
    return write_instance(
        folder,
        ACCOUNTS,
        REPS,
        {"FIELD": ROLE},
        name=name,
        solver={"mip_gap": 0.0},
        extra={"horizon": HORIZON, **extra},
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Compare both policies on the tiny scenario; return the scenario and the folder."""
    root = tmp_path_factory.mktemp("compare")
    path = scenario_path(root / "tiny")
    return path, compare([path], root / "out")


@pytest.fixture(scope="module")
def comparison(written: tuple[Path, Path]) -> Comparison:
    return build_comparison([written[0]])


def verdict_of(folder: Path) -> str:
    markdown = (folder / "comparison.md").read_text(encoding="utf-8")
    return markdown.split("## Verdict", 1)[1]


def test_compare_writes_every_file(written) -> None:
    _, folder = written

    assert folder.name == "tiny"
    assert folder.parent.name == "compare"
    assert sorted(p.name for p in folder.iterdir()) == [
        "capacity_feedback.csv",
        "comparison.md",
        "coverage.png",
        "cumulative_moves.png",
        "moves_just_in_time.png",
        "moves_prebuilt.png",
        "periods.csv",
        "schedule_just_in_time.csv",
        "schedule_prebuilt.csv",
        "totals.csv",
        "utilisation.png",
    ]


def test_comparison_has_the_capacity_feedback_section(written) -> None:
    _, folder = written
    text = (folder / "comparison.md").read_text(encoding="utf-8")
    feedback = pd.read_csv(folder / "capacity_feedback.csv")

    assert "## Capacity feedback" in text
    assert text.index("## Capacity feedback") < text.index("## Verdict")
    assert feedback["region"].tolist() == ["Midwest", "West"]


def test_periods_csv_has_two_runs_of_four_periods(written) -> None:
    _, folder = written
    periods = pd.read_csv(folder / "periods.csv")

    assert len(periods) == 8
    assert periods["run"].tolist() == ["prebuilt"] * 4 + ["just_in_time"] * 4
    assert periods["period"].tolist() == [1, 2, 3, 4] * 2
    assert list(periods.columns)[0] == "run"


def test_periods_csv_keeps_the_metric_columns(written, comparison) -> None:
    _, folder = written
    periods = pd.read_csv(folder / "periods.csv")
    timeline = comparison.runs[0].timelines["FIELD"]

    assert list(periods.columns)[1:] == period_columns(timeline)


def test_periods_csv_coverage_by_hand(written) -> None:
    _, folder = written
    periods = pd.read_csv(folder / "periods.csv").set_index(["run", "period"])

    assert periods.loc[("prebuilt", 3), "coverage"] == pytest.approx(0.875)
    assert periods.loc[("just_in_time", 3), "coverage"] == pytest.approx(0.75)
    assert periods.loc[("prebuilt", 4), "accounts_moved_cum"] == 2


def test_totals_csv_by_hand(written) -> None:
    _, folder = written
    totals = pd.read_csv(folder / "totals.csv").set_index("run")

    assert list(pd.read_csv(folder / "totals.csv").columns)[:3] == ["run", "role", "policy"]
    # (1 + 1 + 0.875 + 1) / 4 and (1 + 1 + 0.75 + 1) / 4.
    assert totals.loc["prebuilt", "mean_coverage"] == pytest.approx(0.96875)
    assert totals.loc["just_in_time", "mean_coverage"] == pytest.approx(0.9375)
    # Pre-built designs once; just-in-time solves in January and again when B starts.
    assert totals.loc["prebuilt", "solves"] == 1
    assert totals.loc["just_in_time", "solves"] == 2


def test_schedule_csv_lists_phase_in(written) -> None:
    _, folder = written
    schedule = pd.read_csv(folder / "schedule_prebuilt.csv")

    assert list(schedule.columns) == [
        "role",
        "account_id",
        "from_rep",
        "to_rep",
        "effective_date",
        "reason",
    ]
    assert schedule.to_dict("records") == [
        {
            "role": "FIELD",
            "account_id": "E1",
            "from_rep": "A",
            "to_rep": "B",
            "effective_date": "2027-03-01",
            "reason": "phase_in",
        },
        {
            "role": "FIELD",
            "account_id": "E2",
            "from_rep": "A",
            "to_rep": "B",
            "effective_date": "2027-04-01",
            "reason": "phase_in",
        },
    ]


def test_table_puts_runs_side_by_side(written) -> None:
    _, folder = written
    markdown = (folder / "comparison.md").read_text(encoding="utf-8")

    assert "Horizon: 2027-01-01 to 2027-04-30, 4 month periods." in markdown
    assert "| Metric | Better | prebuilt | just_in_time |" in markdown
    # 0.96875 and 0.9375 in percent, to one decimal.
    assert "| mean coverage | higher | 96.9 % | 93.8 % |" in markdown
    assert "| solves | lower | 1 | 2 |" in markdown
    assert "](coverage.png)" in markdown
    assert "](cumulative_moves.png)" in markdown


def test_verdict_names_prebuilt_on_coverage(written) -> None:
    verdict = verdict_of(written[1])

    assert verdict.lstrip().startswith("**Role FIELD:**")
    assert "prebuilt scores better on mean coverage (higher is better: 96.9 % vs 93.8 %)" in verdict


def test_verdict_names_just_in_time_on_utilisation(written) -> None:
    # Utilisation is load / (40 * ramp). Pre-built: Jan 1, Feb 1, Mar mean(30/40, 10/20)
    # = 0.625, Apr mean(20/40, 20/40) = 0.5, so (1 + 1 + 0.625 + 0.5) / 4 = 0.78.
    # Just-in-time: Mar mean(20/40, 20/20) = 0.75, so (1 + 1 + 0.75 + 0.5) / 4 = 0.81.
    # Under 80 %: pre-built 2 reps in Mar and 2 in Apr, just-in-time 1 in Mar and 2 in Apr.
    verdict = verdict_of(written[1])

    assert "just_in_time scores better on mean utilisation" in verdict
    assert "(closer to 1.0 is better: 0.81 vs 0.78)" in verdict
    assert "rep-periods under 80 % utilisation (lower is better: 3 vs 4)" in verdict


def test_verdict_states_ties(written) -> None:
    # Both policies move E1 and E2 once each: 2 accounts, 20 potential.
    verdict = verdict_of(written[1])

    assert "Both runs tie on" in verdict
    assert "accounts moved (2)" in verdict
    assert "invalid periods (0)" in verdict


def test_pngs_are_real_images(written) -> None:
    _, folder = written

    for name in ("coverage.png", "utilisation.png", "cumulative_moves.png"):
        data = (folder / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        assert len(data) > 10_000, name


def test_moves_maps_are_real_images(written) -> None:
    _, folder = written

    for name in ("moves_prebuilt.png", "moves_just_in_time.png"):
        data = (folder / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        assert len(data) > 10_000, name


@pytest.mark.parametrize("run_index", [0, 1])
def test_moves_table_first_and_last_owner(comparison, run_index: int) -> None:
    # Both policies give every account to A in January. By April B owns E1 and E2 (see
    # the schedule test), so the two east accounts differ and the west ones do not.
    run = comparison.runs[run_index]
    table = moves_table(run, comparison.locations[run_index]).set_index("account_id")

    assert sorted(table.index) == ["E1", "E2", "W1", "W2"]
    assert table["before"].to_dict() == {"E1": "A", "E2": "A", "W1": "A", "W2": "A"}
    assert table["after"].to_dict() == {"E1": "B", "E2": "B", "W1": "A", "W2": "A"}
    assert set(table["role"]) == {"FIELD"}
    # E2 sits at 39.0 N, 92.0 W + 0.1 (see test_policies.ACCOUNTS).
    assert table.loc["E2", "latitude"] == pytest.approx(39.0)
    assert table.loc["E2", "longitude"] == pytest.approx(-91.9)


def test_plot_has_a_panel_per_role(comparison, tmp_path: Path) -> None:
    periods = comparison.periods
    two_roles = pd.concat([periods, periods.assign(role="INSIDE")], ignore_index=True)

    plot_periods(periods, PLOTS["coverage.png"], tmp_path / "one.png")
    plot_periods(two_roles, PLOTS["coverage.png"], tmp_path / "two.png")

    # The PNG header stores width and height at bytes 16-24. At 110 dpi a figure is
    # 1.2 inches plus 2.8 per role tall: 4.0 inches (440 pixels) for one role and 6.8
    # inches (748 pixels) for two.
    heights = [
        struct.unpack(">II", (tmp_path / name).read_bytes()[16:24])[1]
        for name in ("one.png", "two.png")
    ]
    assert heights == [440, 748]


def test_verdict_names_runs_when_more_than_two(comparison) -> None:
    base = comparison.totals.iloc[0].to_dict()
    rows = [
        {**base, "run": "a/prebuilt", "mean_coverage": 0.95, "mean_utilisation": 0.9},
        {**base, "run": "b/just_in_time", "mean_coverage": 0.93, "mean_utilisation": 1.1},
        {**base, "run": "c/prebuilt", "mean_coverage": 0.95, "mean_utilisation": math.nan},
    ]

    paragraph = verdict_paragraphs(comparison.runs, pd.DataFrame(rows))[0]

    assert (
        "a/prebuilt and c/prebuilt score better on mean coverage "
        "(higher is better: 95.0 % vs 93.0 % for b/just_in_time)" in paragraph
    )
    # 0.90 and 1.10 are both 0.10 away from 1.0, so they tie, and c has no value.
    assert (
        "mean utilisation (0.90 for a/prebuilt and 1.10 for b/just_in_time; "
        "no value for c/prebuilt)" in paragraph
    )
    assert "All runs tie on" in paragraph


def test_same_inputs_same_bytes(written, tmp_path: Path) -> None:
    path, folder = written

    again = compare([path], tmp_path)

    for name in (
        "periods.csv",
        "totals.csv",
        "schedule_prebuilt.csv",
        "comparison.md",
        "moves_prebuilt.png",
    ):
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name


def test_invalid_periods_are_called_out(comparison) -> None:
    run = comparison.runs[1]
    broken = ((), (), ("territory FIELD-2: potential 25 above its maximum 21.3",), ())
    timeline = dataclasses.replace(run.timelines["FIELD"], violations=broken)
    runs = (comparison.runs[0], dataclasses.replace(run, timelines={"FIELD": timeline}))
    _, totals = score_runs(runs)

    paragraph = verdict_paragraphs(runs, totals)[0]

    assert paragraph.startswith(
        "**Role FIELD:** **Warning: just_in_time has 1 invalid period (starting 2027-03-01)"
    )
    assert "First violation: territory FIELD-2: potential 25 above its maximum 21.3" in paragraph
    assert "invalid periods (lower is better: 0 vs 1)" in paragraph


def test_extra_section_comes_before_verdict(comparison) -> None:
    markdown = comparison_markdown(
        comparison.runs,
        comparison.periods,
        comparison.totals,
        comparison.horizon,
        extra="## Capacity feedback\n\nOne more rep in the east.\n",
    )

    plots = markdown.index("## Plots")
    extra = markdown.index("## Capacity feedback")
    verdict = markdown.index("## Verdict")
    assert plots < extra < verdict


def test_failed_write_keeps_older_folder(comparison, tmp_path: Path, monkeypatch) -> None:
    folder = write_comparison(comparison, tmp_path)
    (folder / "marker.txt").write_text("older comparison", encoding="utf-8")
    older = {name: (folder / name).read_bytes() for name in ("periods.csv", "comparison.md")}
    changed = dataclasses.replace(comparison, periods=comparison.periods.assign(coverage=0.5))

    def broken_plot(*args) -> None:
        raise RuntimeError("disk full")

    # The CSV files are written before the plots, so the failure comes after a changed
    # periods.csv was written somewhere.
    monkeypatch.setattr(compare_module, "plot_periods", broken_plot)
    with pytest.raises(RuntimeError, match="disk full"):
        write_comparison(changed, tmp_path)

    assert (folder / "marker.txt").read_text(encoding="utf-8") == "older comparison"
    assert (folder / "periods.csv").read_bytes() == older["periods.csv"]
    assert (folder / "comparison.md").read_bytes() == older["comparison.md"]
    assert [p.name for p in folder.parent.iterdir()] == ["tiny"]


def test_two_scenarios_run_their_own_policies(tmp_path: Path) -> None:
    west = scenario_path(tmp_path / "w", name="west", policy="prebuilt")
    east = scenario_path(tmp_path / "e", name="east", policy="just_in_time")

    folder = compare([west, east], tmp_path / "out")

    assert folder.name == "west_vs_east"
    assert (folder / "schedule_west_prebuilt.csv").is_file()
    assert (folder / "schedule_east_just_in_time.csv").is_file()
    totals = pd.read_csv(folder / "totals.csv").set_index("run")
    assert list(totals.index) == ["west/prebuilt", "east/just_in_time"]
    assert totals.loc["west/prebuilt", "mean_coverage"] == pytest.approx(0.96875)
    assert totals.loc["east/just_in_time", "mean_coverage"] == pytest.approx(0.9375)


def test_different_horizons_are_rejected(tmp_path: Path) -> None:
    first = scenario_path(tmp_path / "a", name="a")
    second = scenario_path(tmp_path / "b", name="b", horizon={**HORIZON, "end": "2027-06-30"})

    with pytest.raises(InputError) as caught:
        build_comparison([first, second])

    message = str(caught.value)
    assert str(first) in message
    assert str(second) in message
    assert "2027-01-01 to 2027-06-30 in months" in message
    assert "2027-01-01 to 2027-04-30 in months" in message
    assert "give every compared scenario the same horizon" in message


def test_missing_horizon_is_rejected(tmp_path: Path) -> None:
    first = scenario_path(tmp_path / "a", name="a")
    second = scenario_path(tmp_path / "b", name="b", horizon=None)

    with pytest.raises(InputError, match="horizon \\(none\\) differs from horizon 2027-01-01"):
        build_comparison([first, second])


def test_same_name_and_policy_is_rejected(tmp_path: Path) -> None:
    first = scenario_path(tmp_path / "a", name="same")
    second = scenario_path(tmp_path / "b", name="same")

    with pytest.raises(InputError) as caught:
        build_comparison([first, second])

    message = str(caught.value)
    assert str(first) in message
    assert str(second) in message
    assert "both runs would be labelled 'same/prebuilt'" in message


def test_name_must_be_a_folder_name(written) -> None:
    with pytest.raises(InputError, match="comparison name '../up' is not a plain folder name"):
        build_comparison([written[0]], name="../up")


def test_cli_missing_scenario_exits_2(tmp_path: Path, capsys) -> None:
    code = main(["compare", str(tmp_path / "missing.yaml"), "--out", str(tmp_path)])

    assert code == 2
    assert "missing.yaml: scenario file not found" in capsys.readouterr().err
    assert not (tmp_path / "compare").exists()


def test_cli_prints_folder_and_verdict(written, tmp_path: Path, capsys) -> None:
    code = main(["compare", str(written[0]), "--out", str(tmp_path), "--name", "mine"])

    printed = capsys.readouterr().out
    assert code == 0
    assert f"Written to {tmp_path / 'compare' / 'mine'}/" in printed
    assert "Role FIELD: prebuilt scores better on mean coverage" in printed
    assert "**" not in printed
