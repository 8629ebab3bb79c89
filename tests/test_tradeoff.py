"""Tests of the disruption trade-off curve (``territory tradeoff``)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from instances import write_instance

from solver.cli import main
from solver.errors import InputError
from solver.tradeoff import (
    Tradeoff,
    TradeoffPoint,
    account_budget,
    build_tradeoff,
    parse_shares,
    write_tradeoff,
)

#: km per degree of latitude on the meridian: the engine's mean Earth radius of
#: 6,371.0088 km times pi / 180, about 111.195 km.
KM_PER_DEGREE = 6371.0088 * math.pi / 180

#: The sweep the tests run: infeasible, one account, and no account limit.
SHARES = (0.0, 0.2, 1.0)


def write_books(folder: Path, **role_settings: Any) -> Path:
    """Write a six-account book whose owners break the band by one account.

    ```
    latitude   1    2    3    ...    9   10   11
    account    A1   A2   A3          A4  A5   A6
    potential  10   10   10          10  12   12
    owner      R1   R1   R2          R2  R1   R1
    rep home   R1                             R2
    ```

    The total potential is 64, so each rep's target is 32 and the +/-10 % band is 28.8
    to 35.2: three accounts each. Today R1 has 44 (A1, A2, A5, A6) and R2 has 20.
    Every account weighs 1 and continuity_km is 50, so each move adds 50 to the objective.

    * 0 moves: R1 stays at 44, above its band, so there is no plan.
    * 1 move: one of R1's accounts goes to R2. A6 saves the most distance, 10 degrees
      (10 at R1, 0 at R2), against 8 for A5. R1 = A1, A2, A5 (32, 0 + 1 + 9 degrees) and
      R2 = A3, A4, A6 (32, 8 + 2 + 0 degrees): 20 degrees and deviation 0 %.
    * 2 moves: R1 ends with 2 or 4 accounts (20 to 24, or 40 or more), so no plan.
    * 3 moves: each account to its nearer home, R1 = A1, A2, A3 (30) and R2 = A4, A5,
      A6 (34): 0 + 1 + 2 + 2 + 1 + 0 = 6 degrees and deviation 2 / 32 = 6.25 %. It moves
      A3, A5 and A6, and costs 6 degrees + 3 x 50 km, below the 1-move plan's 20 degrees
      + 50 km, so it is the optimum when the budget allows 3 moves.

    ``role_settings`` adds keys to the role FIELD.
    """
    lats = [1.0, 2.0, 3.0, 9.0, 10.0, 11.0]
    potentials = [10, 10, 10, 10, 12, 12]
    owners = ["R1", "R1", "R2", "R2", "R1", "R1"]
    accounts = [
        {"account_id": f"A{i + 1}", "latitude": lat, "longitude": 0.0, "potential": p, "owner": o}
        for i, (lat, p, o) in enumerate(zip(lats, potentials, owners, strict=True))
    ]
    reps = [
        {
            "rep_id": rep,
            "role": "FIELD",
            "start_date": "2020-01-06",
            "home_latitude": home,
            "home_longitude": 0.0,
        }
        for rep, home in (("R1", 1.0), ("R2", 11.0))
    ]
    role: dict[str, Any] = {
        "ramp": [1.0],
        "balance": [{"metric": "potential", "tolerance": 0.1}],
        "centres": "rep_home",
        **role_settings,
    }
    path = write_instance(
        folder, accounts, reps, {"FIELD": role}, extra={"objective": {"continuity_km": 50}}
    )

    scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
    scenario["inputs"]["accounts"]["columns"]["current_owner"] = "owner"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_books(tmp_path_factory.mktemp("books"))


@pytest.fixture(scope="module")
def sweep(books: Path) -> Tradeoff:
    return build_tradeoff(books, SHARES)


@pytest.fixture(scope="module")
def folder(sweep: Tradeoff, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tradeoff(sweep, tmp_path_factory.mktemp("out"))


def point_at(tradeoff: Tradeoff, share: float) -> TradeoffPoint:
    (point,) = [p for p in tradeoff.points if p.share == share]
    return point


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


# -- budgets and shares ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "owned", "budget"),
    [(0.0, 6, 0), (0.2, 6, 1), (1.0, 6, 6), (0.5, 5, 2), (0.29, 100, 29), (0.02, 3642, 72)],
)
def test_account_budget_floor(share: float, owned: int, budget: int) -> None:
    # 0.29 * 100 is 28.999999999999996 in floating point, and 0.02 * 3642 = 72.84.
    assert account_budget(share, owned) == budget


def test_parse_shares_sorted() -> None:
    assert parse_shares("1,0, 0.2") == (0.0, 0.2, 1.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,abc", "value 'abc' is not a number"),
        ("0,1.5", "share 1.5 is outside"),
        ("-0.1", "share -0.1 is outside"),
        ("0.2,0.2", "share 0.2 is given twice"),
        ("", "value '' is not a number"),
    ],
)
def test_parse_shares_rejects(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_shares(text)


# -- the sweep ------------------------------------------------------------------------------


def test_sweep_points_in_share_order(sweep: Tradeoff) -> None:
    assert [(p.share, p.role) for p in sweep.points] == [(s, "FIELD") for s in SHARES]
    assert [p.budget for p in sweep.points] == [0, 1, 6]
    assert all(p.accounts_with_owner == 6 for p in sweep.points)


def test_zero_budget_infeasible_with_reason(sweep: Tradeoff) -> None:
    point = point_at(sweep, 0.0)

    assert point.status == "infeasible"
    assert point.accounts_moved is None
    assert point.mean_km is None
    assert point.objective is None
    assert "roles.FIELD.disruption.max_accounts_moved allows 0" in point.explanation
    assert "keeping every goal moves at least 1" in point.explanation


def test_one_move_budget(sweep: Tradeoff) -> None:
    point = point_at(sweep, 0.2)

    assert point.status == "optimal"
    assert point.accounts_moved == 1
    assert point.share_moved["accounts"] == pytest.approx(1 / 6)
    # A6 carries 12 of the 64 owned potential.
    assert point.share_moved["potential"] == pytest.approx(12 / 64)
    assert point.max_dev_pct == {"potential": pytest.approx(0.0, abs=1e-9)}
    assert point.mean_km == pytest.approx(20 / 6 * KM_PER_DEGREE, rel=1e-6)
    assert point.objective == pytest.approx(20 * KM_PER_DEGREE + 50, rel=1e-6)
    assert point.explanation == ""


def test_full_budget_reaches_optimum(sweep: Tradeoff) -> None:
    point = point_at(sweep, 1.0)

    assert point.status == "optimal"
    assert point.accounts_moved == 3
    assert point.share_moved["accounts"] == pytest.approx(3 / 6)
    # A3, A5 and A6 carry 10 + 12 + 12 = 34 of the 64.
    assert point.share_moved["potential"] == pytest.approx(34 / 64)
    assert point.max_dev_pct == {"potential": pytest.approx(6.25)}
    # The mean distance leaves out the continuity cost of 3 x 50 in the objective.
    assert point.mean_km == pytest.approx(6 / 6 * KM_PER_DEGREE, rel=1e-6)
    assert point.objective == pytest.approx(6 * KM_PER_DEGREE + 150, rel=1e-6)


def test_sweep_keeps_per_territory_budget(tmp_path: Path) -> None:
    # R1 may lose only 1 account, so even with no role-wide limit only the 1-move plan
    # (A6 to R2) is left.
    path = write_books(tmp_path, disruption={"per_territory": {"max_accounts_lost": 1}})

    (point,) = build_tradeoff(path, [1.0]).points

    assert point.budget == 6
    assert point.accounts_moved == 1
    assert point.mean_km == pytest.approx(20 / 6 * KM_PER_DEGREE, rel=1e-6)


def test_mean_km_weighted_by_account_weight(tmp_path: Path) -> None:
    # Weights are potential over its mean of 64 / 6: 0.9375 for A1 to A4 and 1.125 for A5
    # and A6. Each account still goes to its nearer home, so the weighted km are
    # 0.9375 x (0 + 1 + 2 + 2) + 1.125 x (1 + 0) = 5.8125 degrees over 6 accounts.
    path = write_books(tmp_path, account_weight="potential")

    (point,) = build_tradeoff(path, [1.0]).points

    assert point.accounts_moved == 3
    assert point.mean_km == pytest.approx(5.8125 / 6 * KM_PER_DEGREE, rel=1e-6)


def test_missing_owner_column_rejected(books: Path, tmp_path: Path) -> None:
    scenario = yaml.safe_load(books.read_text(encoding="utf-8"))
    del scenario["inputs"]["accounts"]["columns"]["current_owner"]
    scenario["inputs"]["accounts"]["path"] = str(books.parent / "accounts.csv")
    scenario["inputs"]["reps"]["path"] = str(books.parent / "reps.csv")
    path = tmp_path / "no_owner.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")

    with pytest.raises(
        InputError, match=r"no_owner.yaml: .* inputs.accounts.columns.current_owner is not mapped"
    ):
        build_tradeoff(path, SHARES)


# -- files ----------------------------------------------------------------------------------


def test_csv_columns(folder: Path) -> None:
    rows = read_rows(folder / "tradeoff.csv")

    assert list(rows[0]) == [
        "share",
        "role",
        "budget",
        "accounts_with_owner",
        "status",
        "accounts_moved",
        "share_moved_accounts",
        "share_moved_potential",
        "max_dev_pct_potential",
        "mean_km",
        "objective",
        "explanation",
    ]
    assert [row["share"] for row in rows] == ["0.0", "0.2", "1.0"]
    assert [row["status"] for row in rows] == ["infeasible", "optimal", "optimal"]


def test_csv_infeasible_row(folder: Path) -> None:
    row = read_rows(folder / "tradeoff.csv")[0]

    assert row["budget"] == "0"
    for column in ("accounts_moved", "share_moved_potential", "mean_km", "objective"):
        assert row[column] == ""
    assert "moves at least 1" in row["explanation"]


def test_csv_values(folder: Path) -> None:
    one_move, full = read_rows(folder / "tradeoff.csv")[1:]

    assert one_move["accounts_moved"] == "1"
    assert full["accounts_moved"] == "3"
    # Floats are written with 6 decimals: 1/6 = 0.1666666... and 12/64 = 0.1875.
    assert one_move["share_moved_accounts"] == "0.166667"
    assert one_move["share_moved_potential"] == "0.1875"
    assert float(one_move["max_dev_pct_potential"]) == 0.0
    assert full["max_dev_pct_potential"] == "6.25"
    assert full["share_moved_potential"] == "0.53125"
    assert float(one_move["mean_km"]) == pytest.approx(20 / 6 * KM_PER_DEGREE, abs=1e-6)
    assert float(full["mean_km"]) == pytest.approx(KM_PER_DEGREE, abs=1e-6)
    assert float(full["objective"]) == pytest.approx(6 * KM_PER_DEGREE + 150, abs=1e-5)
    assert one_move["explanation"] == ""


def test_csv_same_bytes_twice(books: Path, folder: Path, tmp_path: Path) -> None:
    again = write_tradeoff(build_tradeoff(books, SHARES), tmp_path)

    assert (again / "tradeoff.csv").read_bytes() == (folder / "tradeoff.csv").read_bytes()


def test_runtimes_file(folder: Path) -> None:
    rows = read_rows(folder / "runtimes.csv")

    assert [(row["share"], row["role"]) for row in rows] == [
        ("0.0", "FIELD"),
        ("0.2", "FIELD"),
        ("1.0", "FIELD"),
    ]
    assert all(float(row["runtime_s"]) >= 0 for row in rows)


def test_png_written(folder: Path) -> None:
    data = (folder / "tradeoff.png").read_bytes()

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000


def test_folder_under_scenario_name(folder: Path) -> None:
    assert folder.parts[-2:] == ("tiny", "tradeoff")
    assert sorted(p.name for p in folder.iterdir()) == [
        "runtimes.csv",
        "tradeoff.csv",
        "tradeoff.png",
    ]


# -- command line ---------------------------------------------------------------------------


def test_cli_writes_folder(books: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["tradeoff", str(books), "--shares", "0,0.2,1", "--out", str(tmp_path)])

    assert code == 0
    folder = tmp_path / "tiny" / "tradeoff"
    assert (folder / "tradeoff.csv").is_file()
    assert (folder / "tradeoff.png").is_file()
    output = capsys.readouterr().out
    assert "Trade-off of scenario tiny" in output
    assert "infeasible" in output
    assert "6.25%" in output
    assert f"Written to {folder}/" in output


def test_cli_bad_shares_exit_2(books: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["tradeoff", str(books), "--shares", "0,2", "--out", str(tmp_path)])

    assert code == 2
    assert "share 2 is outside [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "tiny").exists()
