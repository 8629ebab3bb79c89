"""The shipped real-data scenario solves to a verified plan (what `make solve` runs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from solver.pipeline import solve_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "us_default.yaml"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory):
    return solve_scenario(SCENARIO, tmp_path_factory.mktemp("out"))


def test_default_plan_is_valid(plan) -> None:
    summary = json.loads((plan.folder / "summary.json").read_text())

    assert summary["violations"] == []
    assert summary["status"] in ("optimal", "feasible")
    # Commercial territories must be contiguous, and its bound is the one of the model
    # without contiguity, so the gap is wider than the 0.2 % each exact solve stops at.
    assert summary["gap"] <= 0.03


def test_default_commercial_territories_are_contiguous(plan) -> None:
    # Recount the pieces of every Commercial territory from assignments.csv alone, on
    # the reference adjacency computed from the full-resolution county polygons (rook
    # pairs), plus the links that summary.json lists for islands and Alaska.
    summary = json.loads((plan.folder / "summary.json").read_text())
    geography = summary["roles"]["COM"]["geography"]
    assert geography["contiguity"] == "rook"
    links = {(link["unit"], link["linked_to"]) for link in geography["links"]}
    assert ("02130", "53009") in links  # Alaska's Ketchikan joins Clallam, Washington

    assignments = pd.read_csv(plan.folder / "assignments.csv", dtype=str)
    com = assignments[assignments["role"] == "COM"]
    territory = dict(
        zip(com["account_id"].str.removeprefix("CNTY-"), com["territory_id"], strict=True)
    )
    assert len(territory) == 3142

    reference = pd.read_csv(
        DATA / "county_adjacency_polygons.csv", dtype={"geoid_a": str, "geoid_b": str}
    )
    rook = reference[reference["rook"]]
    pairs = list(zip(rook["geoid_a"], rook["geoid_b"], strict=True)) + sorted(links)
    ids = sorted(territory)
    index = {geoid: k for k, geoid in enumerate(ids)}
    inside = [(index[a], index[b]) for a, b in pairs if territory[a] == territory[b]]
    rows, cols = zip(*inside, strict=True)
    graph = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(ids), len(ids)))
    _, piece = connected_components(graph, directed=False)
    pieces = pd.DataFrame({"territory": [territory[g] for g in ids], "piece": piece})
    assert (pieces.drop_duplicates().groupby("territory").size() == 1).all()

    territories = pd.read_csv(plan.folder / "territories.csv")
    com_rows = territories[territories["role"] == "COM"]
    assert (com_rows["pieces"] == 1).all()
    assert com_rows["polsby_popper"].between(0, 1).all()


def test_default_plan_writes_maps(plan) -> None:
    assert (plan.folder / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (plan.folder / "map.html").read_text(encoding="utf-8")
    # One layer per territory: 8 Enterprise and 11 Commercial.
    for territory in [f"ENT-T{t:02d}" for t in range(1, 9)] + [
        f"COM-T{t:02d}" for t in range(1, 12)
    ]:
        assert territory in html
    assert (plan.folder / "moves.png").exists()


def test_default_plan_covers_every_account(plan) -> None:
    accounts = pd.read_csv(SCENARIO.parent / "../data/us_accounts.csv", dtype=str)
    assignments = pd.read_csv(plan.folder / "assignments.csv", dtype=str)

    assert sorted(assignments["account_id"]) == sorted(accounts["account_id"])
    assert assignments["territory_id"].notna().all()


def test_default_plan_includes_ramping_hire(plan) -> None:
    territories = pd.read_csv(plan.folder / "territories.csv").set_index("rep_id")

    assert "TBH-ENT-01" in territories.index
    assert 0 < territories.loc["TBH-ENT-01", "ramp_factor"] < 1
    assert territories["viable"].all()


def test_default_plan_lists_later_hire(plan) -> None:
    inactive = plan.summary["roles"]["COM"]["inactive_reps"]

    assert any(rep["rep_id"].startswith("TBH-COM") for rep in inactive)
