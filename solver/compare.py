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
``comparison.md``
    The totals side by side per role, the plots and a verdict per role.

Every run is planned and scored before anything is written. The files go into a staging
folder that then replaces the old one, so a failure leaves the earlier comparison in place.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from solver.errors import InputError, input_error
from solver.feedback import capacity_feedback, feedback_markdown
from solver.outputs import write_csv, write_folder
from solver.period_metrics import UNDER_LOADED, period_table, totals_row
from solver.policies import POLICIES, HorizonInputs, load_horizon, plan_policy
from solver.scenario import Horizon, Scenario, load_scenario
from solver.timeline import SCHEDULE_COLUMNS, RoleTimeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes

logger = logging.getLogger(__name__)

#: A comparison name becomes a folder name, so it is one plain path component.
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class MetricSpec:
    """One row of the side-by-side table: a column of ``totals.csv`` and how to judge it."""

    key: str
    label: str
    better: Literal["higher", "lower", "closer to 1.0"]
    unit: Literal["percent", "count", "amount", "ratio"]


#: The totals compared per role, in table order, with the direction in which each is better.
#: Entries with ``{metric}`` repeat for each balance metric of the role. Mean utilisation is
#: best near 1.0, because below it capacity sits idle and above it reps are overloaded.
#: Fewer solves is better, because every re-solve is a redesign to roll out.
METRICS = (
    MetricSpec("mean_coverage", "mean coverage", "higher", "percent"),
    MetricSpec("uncovered_potential_months", "uncovered potential-months", "lower", "amount"),
    MetricSpec("overloaded_potential_months", "overloaded potential-months", "lower", "amount"),
    MetricSpec("mean_utilisation", "mean utilisation", "closer to 1.0", "ratio"),
    MetricSpec("max_utilisation", "max utilisation", "lower", "ratio"),
    MetricSpec("rep_periods_over", "rep-periods over capacity", "lower", "count"),
    MetricSpec(
        "rep_periods_under",
        f"rep-periods under {UNDER_LOADED * 100:g} % utilisation",
        "lower",
        "count",
    ),
    MetricSpec("max_dev_{metric}", "max deviation of {metric}", "lower", "percent"),
    MetricSpec("viability_failures", "viability failures", "lower", "count"),
    MetricSpec("accounts_moved", "accounts moved", "lower", "count"),
    MetricSpec("potential_moved", "potential moved", "lower", "amount"),
    MetricSpec("owner_changes_mean", "mean owner changes per account", "lower", "ratio"),
    MetricSpec("owner_changes_max", "max owner changes per account", "lower", "count"),
    MetricSpec("solves", "solves", "lower", "count"),
    MetricSpec("invalid_periods", "invalid periods", "lower", "count"),
)

#: Decimals shown per unit. Ties are judged on the shown value.
_DECIMALS = {"percent": 1, "count": 0, "amount": 1, "ratio": 2}


@dataclass(frozen=True)
class PlotSpec:
    """One PNG of the comparison: a column of ``periods.csv`` drawn per run and role."""

    column: str
    title: str
    ylabel: str
    scale: float = 1.0
    reference: float | None = None


#: The plots, by file name.
PLOTS = {
    "coverage.png": PlotSpec(
        "coverage",
        "Coverage: share of potential owned by an active rep, ramp-weighted",
        "coverage (%)",
        scale=100.0,
    ),
    "utilisation.png": PlotSpec(
        "utilisation_mean",
        "Mean utilisation per period (1.0 = at ramped capacity)",
        "mean load / ramped capacity",
        reference=1.0,
    ),
    "cumulative_moves.png": PlotSpec(
        "accounts_moved_cum", "Accounts moved since the first period", "accounts moved"
    ),
}

#: Markers per run, in run order. Sizes shrink so that the markers of equal lines stay visible.
_MARKERS = (("o", 8.0), ("s", 6.0), ("^", 5.0), ("D", 4.0))


@dataclass(frozen=True)
class Run:
    """One policy planned over one scenario's horizon, with one timeline per role."""

    label: str
    source: Path
    policy: str
    timelines: dict[str, RoleTimeline]


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
    return Comparison(folder_name, horizon, runs, periods, totals, verdict, markdown, table)


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


def plot_periods(periods: pd.DataFrame, spec: PlotSpec, path: Path) -> None:
    """Draw ``spec.column`` per period start date to a PNG: a line per run, a panel per role."""
    # Imported here, so that commands which never plot do not pay for importing matplotlib.
    # The figure draws on its own Agg canvas, so no global pyplot backend is touched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    roles = sorted(periods["role"].unique())
    runs = list(dict.fromkeys(periods["run"]))
    figure = Figure(figsize=(7.5, 1.2 + 2.8 * len(roles)), layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(len(roles), 1, sharex=True, squeeze=False)[:, 0]

    for axes, role in zip(panels, roles, strict=True):
        _draw_role(axes, periods[periods["role"] == role], runs, spec)
        axes.set_title(f"Role {role}")

    # Three ticks suffice, so a short horizon gets one tick per month, not ticks mid-month.
    locator = AutoDateLocator(minticks=3)
    panels[-1].xaxis.set_major_locator(locator)
    panels[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    panels[-1].set_xlabel("period start")
    figure.suptitle(spec.title)
    figure.savefig(path, dpi=110)


def _draw_role(axes: Axes, rows: pd.DataFrame, runs: list[str], spec: PlotSpec) -> None:
    for k, run in enumerate(runs):
        line = rows[rows["run"] == run]
        if line.empty:
            continue
        starts = np.asarray(line["start"], dtype="datetime64[D]")
        marker, size = _MARKERS[k % len(_MARKERS)]
        values = line[spec.column].to_numpy(dtype=float) * spec.scale
        axes.plot(starts, values, marker=marker, markersize=size, label=run)

    if spec.reference is not None:
        axes.axhline(
            spec.reference, color="grey", linestyle="--", linewidth=1, label="ramped capacity"
        )
    axes.set_ylabel(spec.ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")


def comparison_markdown(
    runs: Sequence[Run],
    periods: pd.DataFrame,
    totals: pd.DataFrame,
    horizon: Horizon,
    extra: str = "",
) -> str:
    """Build ``comparison.md``: horizon, totals side by side per role, plots, then verdict.

    ``extra`` is inserted as given, with its own ``##`` heading, between the plots and the
    verdict. It is the place for further sections such as capacity feedback.
    """
    count = periods["start"].nunique()
    lines = [
        f"# Comparison: {', '.join(run.label for run in runs)}",
        "",
        f"Horizon: {horizon.start.isoformat()} to {horizon.end.isoformat()}, "
        f"{count} {horizon.period} period{'s' if count != 1 else ''}.",
        "",
        *[f"- `{run.label}`: policy {run.policy}, scenario {run.source}" for run in runs],
        "",
        "How to read: each table totals one role over the horizon, one column per run. "
        "Mean coverage and mean utilisation are weighted by period length, max rows are the "
        "maximum over periods, owner changes count the periods in which an account changed "
        "owner, and the other rows are sums over periods. Column Better says which direction "
        "of a metric is better, and periods.csv has the values per period.",
        "",
    ]
    for role in sorted(totals["role"].unique()):
        lines += [f"## Role {role}", "", *_role_table(totals[totals["role"] == role]), ""]

    lines += ["## Plots", ""]
    lines += [f"![{spec.title}]({file_name})" for file_name, spec in PLOTS.items()]
    lines.append("")
    if extra:
        lines += [extra.strip("\n"), ""]

    lines += ["## Verdict", ""]
    for paragraph in verdict_paragraphs(runs, totals):
        lines += [paragraph, ""]
    return "\n".join(lines)


def _role_table(rows: pd.DataFrame) -> list[str]:
    labels = rows["run"].tolist()
    lines = [
        "| Metric | Better | " + " | ".join(labels) + " |",
        "|---|---|" + "---:|" * len(labels),
    ]
    for spec in _role_metrics(rows):
        cells = [_format(spec, value) for value in rows[spec.key]]
        lines.append(f"| {spec.label} | {spec.better} | " + " | ".join(cells) + " |")
    return lines


def _role_metrics(rows: pd.DataFrame) -> list[MetricSpec]:
    """Return :data:`METRICS` with the ``{metric}`` entries expanded for the role's totals."""
    balance = [c.removeprefix("max_dev_") for c in rows.columns if c.startswith("max_dev_")]
    balance = [metric for metric in balance if rows[f"max_dev_{metric}"].notna().any()]
    specs = []
    for spec in METRICS:
        if "{metric}" not in spec.key:
            specs.append(spec)
            continue
        for metric in balance:
            key, label = spec.key.format(metric=metric), spec.label.format(metric=metric)
            specs.append(MetricSpec(key, label, spec.better, spec.unit))
    return specs


def _shown(spec: MetricSpec, value: float) -> float:
    """Return ``value`` as the table shows it, in percent for percentages."""
    scaled = value * 100.0 if spec.unit == "percent" else float(value)
    return round(scaled, _DECIMALS[spec.unit])


def _format(spec: MetricSpec, value: float) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    text = f"{_shown(spec, value):,.{_DECIMALS[spec.unit]}f}"
    return f"{text} %" if spec.unit == "percent" else text


def verdict_paragraphs(runs: Sequence[Run], totals: pd.DataFrame) -> list[str]:
    """Return one markdown paragraph per role: which run is better on which total, with numbers.

    A run with invalid periods (plans that failed verification) is called out first, in bold.
    """
    paragraphs = []
    for role in sorted(totals["role"].unique()):
        rows = totals[totals["role"] == role]
        sentences = [_invalid_warning(run, role) for run in runs if _invalid(run, role)]
        if len(rows) < 2:
            sentences.append(f"Only {rows['run'].iloc[0]} plans this role, so nothing is compared.")
        else:
            sentences += _findings(rows)
        paragraphs.append(f"**Role {role}:** " + " ".join(sentences))
    return paragraphs


def _invalid(run: Run, role: str) -> list[int]:
    timeline = run.timelines.get(role)
    if timeline is None:
        return []
    return [p for p, broken in enumerate(timeline.violations) if broken]


def _invalid_warning(run: Run, role: str) -> str:
    timeline = run.timelines[role]
    invalid = _invalid(run, role)
    starts = ", ".join(timeline.periods[p].start.isoformat() for p in invalid)
    first = timeline.violations[invalid[0]][0]
    plural = "s" if len(invalid) != 1 else ""
    return (
        f"**Warning: {run.label} has {len(invalid)} invalid period{plural} (starting {starts}): "
        f"its plan failed verification there, so its numbers describe a plan that breaks the "
        f"rules. First violation: {first}**"
    )


def _findings(rows: pd.DataFrame) -> list[str]:
    """Return sentences grouping the metrics by the runs that score better on them."""
    labels = rows["run"].tolist()
    better: dict[tuple[str, ...], list[str]] = {}
    ties, unknown = [], []
    for spec in _role_metrics(rows):
        values = dict(zip(labels, rows[spec.key].tolist(), strict=True))
        known = {label: v for label, v in values.items() if v is not None and not math.isnan(v)}
        if len(known) < 2:
            unknown.append(spec.label)
            continue

        missing = [label for label in labels if label not in known]
        note = f"; no value for {_join(missing)}" if missing else ""
        winners = _winners(spec, known)
        if len(winners) == len(known):
            ties.append(f"{spec.label} ({_tied_values(spec, known)}{note})")
        else:
            better.setdefault(winners, []).append(_margin(spec, known, winners, note))

    sentences = []
    for winners, metrics in better.items():
        verb = "scores" if len(winners) == 1 else "score"
        sentences.append(f"{_join(list(winners))} {verb} better on {_join(metrics)}.")
    if ties:
        subject = "Both runs" if len(labels) == 2 else "All runs"
        sentences.append(f"{subject} tie on {_join(ties)}.")
    if unknown:
        sentences.append(f"Not comparable (no value for some runs): {', '.join(unknown)}.")
    return sentences


def _winners(spec: MetricSpec, known: dict[str, float]) -> tuple[str, ...]:
    rounded = {label: _shown(spec, value) for label, value in known.items()}
    if spec.better == "higher":
        score = {label: -value for label, value in rounded.items()}
    elif spec.better == "lower":
        score = rounded
    else:
        # Rounded again, so that 0.90 and 1.10 tie instead of differing in the last bit.
        digits = _DECIMALS[spec.unit]
        score = {label: round(abs(value - 1.0), digits) for label, value in rounded.items()}
    best = min(score.values())
    return tuple(label for label, value in score.items() if value == best)


def _tied_values(spec: MetricSpec, known: dict[str, float]) -> str:
    """Return the one value the runs share, or each run's value when they tie on distance to 1."""
    shown = {label: _format(spec, value) for label, value in known.items()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return _join([f"{text} for {label}" for label, text in shown.items()])


def _margin(spec: MetricSpec, known: dict[str, float], winners: tuple[str, ...], note: str) -> str:
    """Return ``label (higher is better: 96.9 % vs 93.8 %)``, naming the runs if more than two."""
    best = _tied_values(spec, {label: known[label] for label in winners})
    others = [label for label in known if label not in winners]
    if len(known) == 2 and not note:
        against = _format(spec, known[others[0]])
    else:
        against = _join([f"{_format(spec, known[label])} for {label}" for label in others])
    return f"{spec.label} ({spec.better} is better: {best} vs {against}{note})"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _write_text(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")
