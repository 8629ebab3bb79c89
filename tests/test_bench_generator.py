"""The benchmark generator, its independent plan check and a tiny run of both peers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# benchmarks/ is a folder next to the installed package, not part of it, so the repository
# root has to be importable for these tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.generate import (  # noqa: E402
    METRICS,
    TIERS,
    draw_accounts,
    load_geography,
    make_instance,
    make_instance_custom,
)
from benchmarks.peers import cbc_peer, cpsat_peer, parse_cbc_log  # noqa: E402
from benchmarks.report import add_comparisons, time_to_within  # noqa: E402
from benchmarks.verify_instance import verify_assignment  # noqa: E402
from solver.errors import InputError  # noqa: E402

# Part of a CBC 2.10 log as PuLP writes it: two plans of equal objective, then a better one.
CBC_LOG = (
    "Cbc0010I After 0 nodes, 1 on tree, 1e+50 best solution, best possible 486746.4"
    " (1.03 seconds)\n"
    "Cbc0012I Integer solution of 488751.05 found by DiveCoefficient after 547 iterations"
    " and 6 nodes (1.35 seconds)\n"
    "Cbc0012I Integer solution of 488751.05 found by heuristic after 499 iterations"
    " and 5 nodes (1.38 seconds)\n"
    "Cbc0004I Integer solution of 488726.56 found after 899 iterations and 35 nodes"
    " (1.57 seconds)\n"
)


@pytest.fixture(scope="module")
def small():
    return make_instance_custom(300, 5, seed=7)


def test_same_seed_same_instance(small) -> None:
    again = make_instance_custom(300, 5, seed=7)

    assert np.array_equal(small.coords, again.coords)
    assert np.array_equal(small.values, again.values)
    assert np.array_equal(small.home_coords, again.home_coords)


def test_other_seed_other_instance(small) -> None:
    other = make_instance_custom(300, 5, seed=8)

    assert not np.array_equal(small.coords, other.coords)
    assert not np.array_equal(small.values, other.values)


def test_size_s_shapes() -> None:
    problem = make_instance("S", 1)

    assert problem.coords.shape == (2_000, 2)
    assert problem.values.shape == (2_000, len(METRICS))
    assert problem.home_coords.shape == (20, 2)
    assert problem.n_territories == 20
    assert problem.fixed_centre.all()


def test_unknown_size_rejected() -> None:
    with pytest.raises(InputError, match="benchmark size 'XXL' is unknown. Fix: use one of S"):
        make_instance("XXL", 1)


def test_too_many_territories_rejected() -> None:
    with pytest.raises(InputError, match="at most 3142"):
        make_instance_custom(5_000, 4_000, seed=1)


def test_tier_shares_near_targets() -> None:
    accounts = draw_accounts(load_geography(), 20_000, np.random.default_rng(3))

    shares = np.bincount(accounts.tier, minlength=len(TIERS)) / 20_000
    for tier, share in zip(TIERS, shares, strict=True):
        assert share == pytest.approx(tier.share, abs=0.01), tier.name


def test_potential_grows_with_tier() -> None:
    accounts = draw_accounts(load_geography(), 20_000, np.random.default_rng(3))

    potential = accounts.values[:, METRICS.index("potential")]
    medians = [np.median(potential[accounts.tier == k]) for k in range(len(TIERS))]
    assert medians[0] < medians[1] < medians[2]


def test_points_inside_us(small) -> None:
    points = np.vstack([small.coords, small.home_coords])

    assert points[:, 0].min() >= 18.0
    assert points[:, 0].max() <= 72.0
    assert points[:, 1].min() >= -180.0
    assert points[:, 1].max() <= -66.0


def test_homes_distinct(small) -> None:
    assert len(np.unique(small.home_coords, axis=0)) == small.n_territories


def test_targets_sum_to_totals(small) -> None:
    assert np.allclose(small.target.sum(axis=0), small.values.sum(axis=0))


def test_icp_minimum_below_average(small) -> None:
    icp = METRICS.index("icp")
    average = small.values[:, icp].sum() / small.n_territories

    assert np.all(small.minimum[:, icp] == pytest.approx(0.6 * average))


def test_verify_flags_unbalanced_plan(small) -> None:
    everything_in_first = np.zeros(small.n_accounts, dtype=np.int64)

    messages = verify_assignment(small, everything_in_first)

    assert any("BENCH-T01: 'accounts' total 300" in message for message in messages)


def test_verify_flags_missing_territory(small) -> None:
    assignment = np.zeros(small.n_accounts, dtype=np.int64)
    assignment[:2] = -1

    assert verify_assignment(small, assignment) == [
        "2 accounts have no territory or an unknown one"
    ]


def test_parse_cbc_log_keeps_improvements() -> None:
    assert parse_cbc_log(CBC_LOG) == [(1.35, 488751.05), (1.57, 488726.56)]


def test_time_to_within_first_close_point() -> None:
    timeline = [[1.0, 110.0], [2.0, 100.4], [3.0, 100.0]]

    assert time_to_within(timeline, 100.0) == 2.0


def test_comparisons_without_peer_plan() -> None:
    record = {
        "verified": True,
        "objective": 100.0,
        "timeline": [[5.0, 100.0]],
        "peers": [{"name": "cbc", "verified": False, "objective": None, "timeline": []}],
    }

    add_comparisons(record)

    assert record["best_known_objective"] == 100.0
    assert record["time_to_within_0_5pct_s"] == 5.0
    assert record["speedup_vs_fastest_peer"] is None
    assert "no peer reached" in record["speedup_note"]
    assert record["objective_ratio_at_limit"] == {"cbc": None}


@pytest.fixture(scope="module")
def tiny():
    return make_instance_custom(100, 2, seed=1)


@pytest.mark.parametrize("peer", [cbc_peer, cpsat_peer], ids=["cbc", "cpsat"])
def test_peer_returns_verified_plan(tiny, peer) -> None:
    record = peer(tiny, 20.0, 1)

    assert record["verified"]
    assert record["objective"] > 0
    assert len(record["timeline"]) >= 1
    assert record["timeline"][-1][1] == pytest.approx(record["objective"], rel=1e-4)


def test_peers_agree_on_optimum(tiny) -> None:
    cbc = cbc_peer(tiny, 20.0, 1)
    cpsat = cpsat_peer(tiny, 20.0, 1)

    assert cbc["status"] == "optimal"
    assert cpsat["status"] == "optimal"
    assert cbc["objective"] == pytest.approx(cpsat["objective"], rel=1e-6)
