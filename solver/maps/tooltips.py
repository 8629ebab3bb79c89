"""The text of a territory's tooltip: rep, accounts, metrics against targets, shape.

Values are formatted for people: thousands separators, deviations in percent with one
decimal and a sign, distances in whole km, Polsby–Popper with two decimals. A column
missing from the territories table, or empty for this territory, leaves its part out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Columns of the metrics table after the metric name. A column no metric fills is left out.
METRIC_HEADINGS = ("total", "target", "deviation", "allowed", "minimum")


@dataclass(frozen=True)
class TooltipText:
    """A territory's tooltip: a title, facts as label-value pairs, one row per metric."""

    title: str
    facts: list[tuple[str, str]]
    metrics: list[dict[str, str]]


def territory_tooltip(title: str, row: pd.Series, metrics: tuple[str, ...]) -> TooltipText:
    """Collect the tooltip of one territory row of ``territories.csv``."""
    facts = []
    if _known(row, "rep_name") or _known(row, "rep_id"):
        facts.append(("rep", _rep(row)))
    # The accounts metric, when shown, already gives the count with its target.
    if _known(row, "n_accounts") and "accounts" not in metrics:
        facts.append(("accounts", number(row["n_accounts"])))
    if _known(row, "mean_km"):
        facts.append(("mean distance", f"{float(row['mean_km']):,.0f} km"))
    if _known(row, "polsby_popper"):
        facts.append(("Polsby–Popper", f"{float(row['polsby_popper']):.2f}"))
    if _known(row, "pieces"):
        facts.append(("pieces", number(row["pieces"])))
    if _known(row, "viable"):
        facts.append(("viable", "yes" if _true(row["viable"]) else "no"))

    rows = [_metric_cells(row, metric) for metric in metrics if _known(row, metric)]
    return TooltipText(title, facts, rows)


def tooltip_html(tooltip: TooltipText) -> str:
    """Render a tooltip as two small HTML tables, every text escaped.

    The result is safe inside a JavaScript template literal, because backticks and ``$``
    are escaped as HTML entities too.
    """
    facts = "".join(
        f"<tr><th>{_escape(label)}</th><td>{_escape(value)}</td></tr>"
        for label, value in tooltip.facts
    )
    parts = [f"<b>{_escape(tooltip.title)}</b>", f"<table>{facts}</table>"]

    headings = [h for h in METRIC_HEADINGS if any(h in cells for cells in tooltip.metrics)]
    if tooltip.metrics:
        head = "<th>metric</th>" + "".join(f"<th>{heading}</th>" for heading in headings)
        body = "".join(
            f"<tr><th>{_escape(cells['metric'])}</th>"
            + "".join(f"<td>{_escape(cells.get(heading, ''))}</td>" for heading in headings)
            + "</tr>"
            for cells in tooltip.metrics
        )
        parts.append(f'<table class="territory-metrics"><tr>{head}</tr>{body}</table>')
    return '<div class="territory-tooltip">' + "".join(parts) + "</div>"


def number(value: Any) -> str:
    """Format a count or amount with thousands separators: whole when large or integral."""
    value = float(value)
    if value.is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def percent(value: Any) -> str:
    """Format a deviation in percent with a sign and one decimal: ``+14.8 %``."""
    shown = round(float(value), 1)
    if shown == 0:
        return "0.0 %"
    return f"{shown:+.1f} %"


def _metric_cells(row: pd.Series, metric: str) -> dict[str, str]:
    cells = {"metric": metric, "total": number(row[metric])}
    if _known(row, f"{metric}_target"):
        cells["target"] = number(row[f"{metric}_target"])
    if _known(row, f"{metric}_dev_pct"):
        cells["deviation"] = percent(row[f"{metric}_dev_pct"])
    if _known(row, f"{metric}_min_allowed") and _known(row, f"{metric}_max_allowed"):
        low, high = row[f"{metric}_min_allowed"], row[f"{metric}_max_allowed"]
        cells["allowed"] = f"{number(low)} to {number(high)}"
    if _known(row, f"{metric}_minimum"):
        cells["minimum"] = number(row[f"{metric}_minimum"])
    return cells


def _rep(row: pd.Series) -> str:
    name = str(row["rep_name"]) if _known(row, "rep_name") else ""
    rep_id = str(row["rep_id"]) if _known(row, "rep_id") else ""
    if name and rep_id and name != rep_id:
        return f"{name} ({rep_id})"
    return name or rep_id


def _known(row: pd.Series, column: str) -> bool:
    if column not in row.index:
        return False
    value = row[column]
    if isinstance(value, str):
        return value != ""
    return not pd.isna(value)


def _true(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _escape(text: str) -> str:
    return html.escape(text).replace("`", "&#96;").replace("$", "&#36;")
