"""The report of a comparison: the markdown tables, the verdict per role and the plots.

:mod:`solver.compare` plans and scores the runs; this module only turns the scored
``periods`` and ``totals`` tables into text and images. Which direction is better for each
metric is set in one place, :data:`METRICS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from solver.period_metrics import UNDER_LOADED
from solver.scenario import Horizon
from solver.timeline import RoleTimeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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
