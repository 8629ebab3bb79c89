"""Planning policies compared over one hiring timeline: plan, score, report.

With one scenario, both policies run on it. With several, each scenario runs its own
``policy`` and all must share one horizon. Every run is scored by
:mod:`solver.period_metrics`, and ``out/compare/<name>/`` receives:

``periods.csv``
    One row per run, role and period.
``totals.csv``
    One row per run and role, totalled over the horizon.
``schedule_<run>.csv``
    The owner changes of one run, with the role first.
``coverage.png``, ``utilisation.png``, ``cumulative_moves.png``
    One line per run over the period start dates, one panel per role.
``moves_<run>.png``
    The owner of every account in the run's first and last period, side by side, with
    the accounts whose owner differs outlined (:mod:`solver.maps`).
``capacity_feedback.csv``
    Staffing by region and one more rep's gain (:mod:`solver.feedback`).
``comparison.md``
    The totals side by side per role, the plots, the capacity feedback and a verdict per
    role (:mod:`solver.compare_report`).

Every run is planned and scored before anything is written. The files go into a staging
folder that then replaces the old one, so a failure leaves the earlier comparison in place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from solver.compare_report import PLOTS, Run, comparison_markdown, plot_periods, verdict_paragraphs
from solver.errors import InputError, input_error
from solver.feedback import capacity_feedback, feedback_markdown
from solver.maps import write_moves_png
from solver.outputs import write_csv, write_folder
from solver.period_metrics import period_table, totals_row
from solver.policies import POLICIES, plan_policy
from solver.scenario import Horizon, Scenario, load_scenario
from solver.timeline import SCHEDULE_COLUMNS, HorizonInputs, load_horizon

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

#: A comparison name becomes a folder name, so it is one plain path component.
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Comparison:
    """The scored runs of a comparison and its report, ready to write."""

    name: str
    horizon: Horizon
    runs: tuple[Run, ...]
    periods: pd.DataFrame
    totals: pd.DataFrame
    verdict: tuple[str, ...]
    markdown: str
    feedback: pd.DataFrame | None = None
    #: Per run, in run order: ``account_id``, ``latitude`` and ``longitude`` of its accounts.
    locations: tuple[pd.DataFrame, ...] = ()


def compare(
    paths: Sequence[str | Path],
    out_dir: str | Path = Path("out"),
    name: str | None = None,
    *,
    feedback: bool = True,
) -> Path:
    """Compare the runs of the scenarios in ``paths`` and write ``out_dir/compare/<name>/``.

    ``name`` defaults to the scenario name (one scenario) or the names joined by ``_vs_``.
    Return the folder written.
    """
    return write_comparison(build_comparison(paths, name, feedback=feedback), out_dir)


def build_comparison(
    paths: Sequence[str | Path], name: str | None = None, *, feedback: bool = True
) -> Comparison:
    """Plan and score every run and build the report, without writing anything.

    With ``feedback``, the capacity feedback (:mod:`solver.feedback`) of the first
    scenario is added as a section and as ``capacity_feedback.csv``.

    Raises :class:`InputError` before any planning when a scenario is invalid, the
    scenarios have different horizons, two runs would get the same label, or ``name``
    is not a plain folder name.
    """
    if not paths:
        raise InputError("no scenario to compare. Fix: pass at least one scenario file.")
    scenarios = [load_scenario(path) for path in paths]
    _check_same_horizon(scenarios)
    planned = _run_labels(scenarios)
    folder_name = _folder_name(scenarios, name)
    inputs = [load_horizon(scenario) for scenario in scenarios]

    runs = tuple(_plan_run(inputs[index], policy, label) for index, policy, label in planned)
    periods, totals = score_runs(runs)
    horizon = scenarios[0].horizon
    assert horizon is not None
    verdict = tuple(verdict_paragraphs(runs, totals))
    table = capacity_feedback(inputs[0]) if feedback else None
    extra = feedback_markdown(table) if table is not None else ""
    markdown = comparison_markdown(runs, periods, totals, horizon, extra)
    locations = tuple(
        inputs[index].accounts[["account_id", "latitude", "longitude"]] for index, _, _ in planned
    )
    return Comparison(
        folder_name, horizon, runs, periods, totals, verdict, markdown, table, locations
    )


def write_comparison(comparison: Comparison, out_dir: str | Path = Path("out")) -> Path:
    """Write ``comparison`` to ``out_dir/compare/<name>/``, replacing an older one atomically."""
    folder = Path(out_dir) / "compare" / comparison.name
    files = comparison_files(comparison)

    def write(staging: Path) -> None:
        for file_name, write_file in files.items():
            write_file(staging / file_name)

    write_folder(folder, write)
    logger.info("wrote %s", folder)
    return folder


def comparison_files(comparison: Comparison) -> dict[str, Callable[[Path], None]]:
    """Return each file of the comparison folder with the function that writes it to a path."""
    files: dict[str, Callable[[Path], None]] = {
        "periods.csv": partial(write_csv, comparison.periods),
        "totals.csv": partial(write_csv, comparison.totals),
    }
    for run in comparison.runs:
        files[f"schedule_{run_slug(run.label)}.csv"] = partial(write_csv, schedule_table(run))
    for file_name, spec in PLOTS.items():
        files[file_name] = partial(plot_periods, comparison.periods, spec)
    # A comparison built without account locations writes no moves maps.
    for run, locations in zip(comparison.runs, comparison.locations, strict=False):
        files[f"moves_{run_slug(run.label)}.png"] = partial(
            _write_moves, run, moves_table(run, locations)
        )
    if comparison.feedback is not None:
        files["capacity_feedback.csv"] = partial(write_csv, comparison.feedback)
    files["comparison.md"] = partial(_write_text, comparison.markdown)
    return files


def run_slug(label: str) -> str:
    """Return ``label`` as part of a file name: ``west/prebuilt`` becomes ``west_prebuilt``.

    Labels cannot collide after this, because scenario names contain no ``/`` and every
    label ends in one of the fixed policy names.
    """
    return label.replace("/", "_")


def _check_same_horizon(scenarios: list[Scenario]) -> None:
    """Reject compared scenarios whose horizons are missing or differ from the first one's."""
    first = scenarios[0]
    for other in scenarios[1:]:
        if first.horizon is not None and other.horizon == first.horizon:
            continue
        raise input_error(
            str(other.source),
            f"horizon {_describe(other.horizon)} differs from horizon "
            f"{_describe(first.horizon)} of {first.source}",
            "give every compared scenario the same horizon (start, end and period)",
            key="horizon",
        )


def _describe(horizon: Horizon | None) -> str:
    if horizon is None:
        return "(none)"
    return f"{horizon.start.isoformat()} to {horizon.end.isoformat()} in {horizon.period}s"


def _run_labels(scenarios: list[Scenario]) -> list[tuple[int, str, str]]:
    """Return ``(scenario index, policy, label)`` per run, rejecting two runs with one label."""
    if len(scenarios) == 1:
        return [(0, policy, policy) for policy in POLICIES]

    runs: list[tuple[int, str, str]] = []
    sources: dict[str, Path] = {}
    for index, scenario in enumerate(scenarios):
        label = f"{scenario.name}/{scenario.policy}"
        if label in sources:
            raise input_error(
                str(scenario.source),
                f"has the same name '{scenario.name}' and policy '{scenario.policy}' as "
                f"{sources[label]}, so both runs would be labelled '{label}'",
                "rename one of the scenarios (key 'name') or give it another policy",
                key="name",
            )
        sources[label] = scenario.source
        runs.append((index, scenario.policy, label))
    return runs


def _folder_name(scenarios: list[Scenario], name: str | None) -> str:
    if name is None:
        # A scenario named twice (say, the same plan under two policies) is named once.
        return "_vs_".join(dict.fromkeys(scenario.name for scenario in scenarios))
    if not _FOLDER_NAME.fullmatch(name):
        raise InputError(
            f"comparison name {name!r} is not a plain folder name. Fix: use letters, digits, "
            "'_', '.' or '-', starting with a letter or digit."
        )
    return name


def _plan_run(inputs: HorizonInputs, policy: str, label: str) -> Run:
    logger.info("run %s: planning %s over the horizon", label, policy)
    timelines = plan_policy(inputs, policy)
    return Run(label, inputs.scenario.source, policy, timelines)


def score_runs(runs: Sequence[Run]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the period table and the totals of every run and role, with ``run`` first.

    Rows follow the run order, then the role names sorted, then the periods.
    """
    period_frames = []
    total_rows = []
    for run in runs:
        for role in sorted(run.timelines):
            timeline = run.timelines[role]
            periods = period_table(timeline)
            total_rows.append({"run": run.label, **totals_row(timeline, periods)})
            periods.insert(0, "run", run.label)
            period_frames.append(periods)
    return pd.concat(period_frames, ignore_index=True), pd.DataFrame(total_rows)


def schedule_table(run: Run) -> pd.DataFrame:
    """Return the owner changes of every role of ``run``, with a ``role`` column first."""
    columns = ["role", *SCHEDULE_COLUMNS]
    frames = [
        run.timelines[role].schedule.assign(role=role)[columns]
        for role in sorted(run.timelines)
        if len(run.timelines[role].schedule)
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def moves_table(run: Run, locations: pd.DataFrame) -> pd.DataFrame:
    """Return every account's owner in the first and last period of ``run``, with its place.

    The columns are the ones :func:`solver.maps.write_moves_png` reads: ``account_id``,
    ``latitude``, ``longitude``, ``role``, ``before`` (first period) and ``after`` (last
    period). An account that moves away and back within the horizon counts as unmoved.
    """
    columns = ["account_id", "latitude", "longitude", "role", "before", "after"]
    frames = [
        pd.DataFrame(
            {
                "account_id": timeline.account_ids,
                "role": role,
                "before": timeline.owners[0],
                "after": timeline.owners[-1],
            }
        )
        for role, timeline in sorted(run.timelines.items())
    ]
    if not frames:
        return pd.DataFrame(columns=columns)

    table = pd.concat(frames, ignore_index=True)
    place = locations.set_index("account_id").loc[table["account_id"]]
    table["latitude"] = place["latitude"].to_numpy(float)
    table["longitude"] = place["longitude"].to_numpy(float)
    return table[columns]


def _write_moves(run: Run, moves: pd.DataFrame, path: Path) -> None:
    periods = next(iter(run.timelines.values())).periods if run.timelines else ()
    first = f" ({periods[0].start.isoformat()})" if periods else ""
    last = f" ({periods[-1].start.isoformat()})" if periods else ""
    write_moves_png(
        path,
        moves,
        title=f"{run.label}: accounts whose owner differs between the first and last period",
        before_label=f"first period{first}",
        after_label=f"last period{last}",
    )


def _write_text(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")
