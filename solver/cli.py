"""Territory planning engine: solve a scenario into verified territories.

Exit codes:

* 0: a valid plan (or comparison of valid plans) was written.
* 1: the plan or comparison was written, but verification found violations.
* 2: bad input.
* 3: the goals cannot all be met.
* 4: no plan within the time limit.
* 5: a broken installation (a shipped data file is missing).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from solver.compare import build_comparison, write_comparison
from solver.errors import (
    EXIT_BAD_INPUT,
    EXIT_INFEASIBLE,
    InfeasiblePlanError,
    InputError,
    PlanError,
)
from solver.export.loadset import OVERRIDES
from solver.export.run import BUILDERS, export_plan
from solver.pipeline import NoPlanError, Plan, prepare, solve_scenario
from solver.scenario import load_scenario
from solver.timeline import load_horizon
from solver.tradeoff import (
    DEFAULT_SHARES,
    build_tradeoff,
    format_tradeoff,
    parse_shares,
    write_tradeoff,
)

EXIT_VIOLATIONS = 1
EXIT_NO_PLAN = 4
EXIT_SETUP = 5


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    try:
        return args.run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InfeasiblePlanError as exc:
        print(f"infeasible: {exc}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except NoPlanError as exc:
        print(f"no plan: {exc}", file=sys.stderr)
        return EXIT_NO_PLAN
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETUP


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="territory", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver details")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    solve = commands.add_parser("solve", help="solve a scenario and write out/<name>/")
    solve.add_argument("scenario", help="path of the scenario YAML file")
    solve.add_argument("--out", default="out", help="output folder (default: out)")
    solve.add_argument(
        "--backend",
        choices=["auto", "highs", "cbc", "ortools", "scalable"],
        help="override solver.backend",
    )
    solve.add_argument("--time-limit", type=float, help="override solver.time_limit_s (seconds)")
    solve.set_defaults(run=_solve)

    check = commands.add_parser(
        "check", help="validate a scenario and its tables and run the pre-checks, without solving"
    )
    check.add_argument("scenario", help="path of the scenario YAML file")
    check.set_defaults(run=_check)

    compare = commands.add_parser(
        "compare",
        help="run the planning policies over a hiring horizon and write out/compare/<name>/",
        description="With one scenario, run both policies on it. With several, run each "
        "scenario's own policy, and all must have the same horizon.",
    )
    compare.add_argument("scenario", nargs="+", help="paths of one or more scenario YAML files")
    compare.add_argument("--out", default="out", help="output folder (default: out)")
    compare.add_argument(
        "--name",
        help="name of the comparison folder (default: the scenario names joined by _vs_)",
    )
    compare.add_argument(
        "--no-feedback",
        action="store_true",
        help="skip the capacity feedback, which solves the pre-built design once per region",
    )
    compare.set_defaults(run=_compare)
    _add_export(commands)
    _add_tradeoff(commands)
    return parser


def _add_tradeoff(commands: Any) -> None:
    tradeoff = commands.add_parser(
        "tradeoff",
        help="solve a scenario under a sweep of disruption budgets and write out/<name>/tradeoff/",
        description="For each share s, every role may move at most floor(s x its accounts "
        "with a current owner), and keeps its other disruption settings. Each point's moves, "
        "max deviation from target and mean distance go to tradeoff.csv and tradeoff.png.",
    )
    tradeoff.add_argument("scenario", help="path of the scenario YAML file")
    tradeoff.add_argument(
        "--shares",
        default=",".join(f"{share:g}" for share in DEFAULT_SHARES),
        help="comma-separated shares of owned accounts that may move, each within [0, 1] "
        "(default: %(default)s)",
    )
    tradeoff.add_argument("--out", default="out", help="output folder (default: out)")
    tradeoff.set_defaults(run=_tradeoff)


def _tradeoff(args: argparse.Namespace) -> int:
    tradeoff = build_tradeoff(args.scenario, parse_shares(args.shares))
    folder = write_tradeoff(tradeoff, args.out)
    print(format_tradeoff(tradeoff, folder))
    return 0


def _add_export(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="write CRM load files for a solved plan into <plan dir>/export/<target>/",
        description="Turn a plan folder written by `territory solve` into load files for a "
        "CRM, each target with a manifest.json. CRM ids come from the columns that the "
        "scenario's export section maps, and from an ids file.",
    )
    export.add_argument("plan_dir", help="folder of a solved plan, for example out/us_default")
    export.add_argument(
        "--to",
        action="append",
        required=True,
        choices=[*BUILDERS, "all"],
        help="target; repeat the option for several, or use all",
    )
    export.add_argument("--scenario", help="scenario file (default: the one the plan names)")
    export.add_argument(
        "--ids",
        help="CSV of CRM ids: kind, id, salesforce_id, hubspot_id, domain, dynamics_id, email",
    )
    export.add_argument(
        "--current",
        help="CSV of today's assignment (default: the scenario's current_owner column)",
    )
    export.add_argument(
        "--changes-only",
        action="store_true",
        help="write only the accounts whose owner or territory changes",
    )
    export.add_argument(
        "--salesforce-ids",
        help="CSV with object, Id and DeveloperName of ETM records that exist already",
    )
    export.add_argument(
        "--allow",
        action="append",
        default=[],
        choices=OVERRIDES,
        help="export despite this problem; repeat the option for several",
    )
    export.add_argument("--out", help="output folder (default: <plan dir>/export)")
    export.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    targets = list(BUILDERS) if "all" in args.to else args.to
    folders = export_plan(
        args.plan_dir,
        targets,
        scenario=args.scenario,
        ids_file=args.ids,
        current=args.current,
        changes_only=args.changes_only,
        allow=args.allow,
        salesforce_ids=args.salesforce_ids,
        out=args.out,
    )
    for target, folder in folders.items():
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        print(f"{target}: {folder}/")
        for entry in manifest["files"]:
            flag = "" if entry["ready"] else "  (needs ids from earlier steps)"
            print(f"  {entry['file']:<48} {entry['rows']:>8,} rows{flag}")
        if manifest["changes"]:
            print(f"  {manifest['changes']['file']:<48} {manifest['changes']['rows']:>8,} rows")
        for note in manifest["notes"]:
            print(f"  note: {note}")
    return 0


def _solve(args: argparse.Namespace) -> int:
    plan = solve_scenario(
        args.scenario, args.out, backend=args.backend, time_limit_s=args.time_limit
    )
    print(format_summary(plan))
    return EXIT_VIOLATIONS if plan.summary["violations"] else 0


def _check(args: argparse.Namespace) -> int:
    prepared = prepare(load_scenario(args.scenario))
    name = prepared.scenario.name
    print(f"{args.scenario}: valid scenario '{name}', inputs read, pre-checks passed")
    for role, problem in prepared.problems.items():
        print(f"  {role}: {problem.n_accounts} accounts, {problem.n_territories} territories")
    if prepared.uncovered["count"]:
        print(f"  {prepared.uncovered['count']} accounts match no role")
    if prepared.scenario.horizon is not None:
        inputs = load_horizon(prepared.scenario)
        print(f"  horizon: {len(inputs.periods)} periods, hires within it")
    return 0


def _compare(args: argparse.Namespace) -> int:
    comparison = build_comparison(args.scenario, args.name, feedback=not args.no_feedback)
    folder = write_comparison(comparison, args.out)
    print(f"Compared {', '.join(run.label for run in comparison.runs)}. Written to {folder}/")
    for paragraph in comparison.verdict:
        # The verdict is markdown, and its bold markers only clutter a terminal.
        print("\n" + paragraph.replace("**", ""))
    invalid = comparison.totals["invalid_periods"].sum()
    return EXIT_VIOLATIONS if invalid else 0


def format_summary(plan: Plan) -> str:
    """Return the readable end-of-run summary: one block per role, then the verdict."""
    summary = plan.summary
    lines = [f"Scenario {summary['scenario']} (design date {summary['design_date']})", ""]
    for role, info in summary["roles"].items():
        lines.append(
            f"{role}: {info['n_accounts']} accounts in {info['n_territories']} territories, "
            f"{info['status']} ({info['solver']}), mean distance {info['mean_km']:.1f} km, "
            f"gap {info['gap']:.2%}"
        )
        if "moves" in info:
            lines.append(_moves_line(info["moves"]))
        if "geography" in info:
            lines.append(_geography_line(info["geography"]))
        table = plan.territories[plan.territories["role"] == role]
        lines.append(_territory_lines(table))
        lines.append("")

    verdict = (
        "valid, no violations"
        if not summary["violations"]
        else (f"INVALID: {len(summary['violations'])} violations")
    )
    deviations = ", ".join(f"{m} {v:.2f}%" for m, v in summary["max_abs_dev_pct"].items())
    lines.append(f"Plan {verdict}. Max deviation from target: {deviations or 'n/a'}.")
    lines.append(
        f"Objective {summary['objective']:,.1f}, bound {summary['bound']:,.1f}, "
        f"gap {summary['gap']:.3%}, {summary['runtime_s']:.1f}s. Written to {plan.folder}/"
    )
    return "\n".join(lines)


def _moves_line(moves: dict[str, Any]) -> str:
    """Return one line on what moved against today's books, with each budget's use."""
    shares = ", ".join(f"{share:.1%} of {metric}" for metric, share in moves["share_moved"].items())
    line = (
        f"  moves: {moves['accounts_moved']} of {moves['accounts_with_owner']} owned accounts"
        + (f" ({shares})" if shares else "")
        + f", {moves['accounts_unowned']} unowned"
    )
    role_budgets = [b for b in moves["budgets"] if b["territory"] is None]
    for budget in role_budgets:
        name = budget["key"].split(".disruption.", 1)[-1]
        line += f"; budget {name}: {budget['moved']:,.0f} of {budget['limit']:,.0f} used"
    return line


def _geography_line(geography: dict[str, Any]) -> str:
    """Return one line on a role's units, contiguity and shapes."""
    line = f"  units: {geography['units_with_accounts']} {geography['units']}"
    if geography["contiguity"] != "none":
        links = len(geography.get("links", []))
        max_pieces = geography["max_pieces"]
        line += (
            f", {geography['contiguity']} contiguity, at most {max_pieces} "
            f"piece{'s' if max_pieces != 1 else ''} per territory, {links} links joining islands "
            "and separated areas"
        )
    if "mean_polsby_popper" in geography:
        line += f", mean Polsby-Popper {geography['mean_polsby_popper']:.3f}"
    return line


def _territory_lines(table: pd.DataFrame) -> str:
    columns = ["territory_id", "rep_id", "ramp_factor", "n_accounts"]
    columns += [c for c in table.columns if c.endswith("_dev_pct") and table[c].notna().any()]
    columns += ["viable", "mean_km"]
    columns += [c for c in ("accounts_gained", "accounts_lost") if c in table.columns]
    columns += [c for c in ("pieces", "polsby_popper") if c in table and table[c].notna().any()]
    shown = table[columns].copy()
    shown["ramp_factor"] = (shown["ramp_factor"] * 100).round().astype(int).astype(str) + "%"
    for column in shown.columns:
        if column.endswith("_dev_pct"):
            shown[column] = shown[column].map(lambda v: f"{v:+.1f}%")
    shown["mean_km"] = shown["mean_km"].round(1)
    if "pieces" in shown:
        shown["pieces"] = shown["pieces"].astype("Int64")
    if "polsby_popper" in shown:
        shown["polsby_popper"] = shown["polsby_popper"].round(3)
    return shown.to_string(index=False)


if __name__ == "__main__":
    sys.exit(main())
