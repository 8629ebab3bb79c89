"""End-to-end solves of roles on geographic units, checked from the written plan files.

The units are squares of 0.1 degree drawn by the tests, written as a GeoJSON (a
GeoPackage or a shapefile in the CRS tests) next to the scenario. Square ``G<row><col>``
has its south-west corner at ``origin + (0.1 * row, 0.1 * col)`` degrees, so row 0 is the
southern row and column 0 the western column. Accounts are named after their square
(``G12-0``), which lets a test read each account's unit from ``assignments.csv``: the file
itself has no unit column.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from collections import deque
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml
from instances import write_instance

from solver.cli import main
from solver.errors import InputError
from solver.pipeline import solve_scenario

#: South-west corner (latitude, longitude) of the Kansas grids, around Salina.
KANSAS = (38.7, -97.8)

#: South-west corner of a grid in Ohio, where a swapped point is still a valid coordinate.
OHIO = (39.0, -84.0)

#: Great-circle km per degree of latitude on the mean-radius sphere.
KM_PER_DEGREE = 6371.0088 * math.pi / 180

#: Square side in degrees.
SIDE = 0.1


# -- writing instances ----------------------------------------------------------------------


def square(row: int, col: int, origin: tuple[float, float] = KANSAS) -> shapely.Polygon:
    """Return the square ``G<row><col>`` of a grid with its south-west corner at ``origin``."""
    south, west = origin[0] + SIDE * row, origin[1] + SIDE * col
    return shapely.box(west, south, west + SIDE, south + SIDE)


def write_units(
    path: Path,
    ids: list[str],
    *,
    origin: tuple[float, float] = KANSAS,
    shapes: dict[str, shapely.Geometry] | None = None,
    crs: str | None = "EPSG:4326",
) -> Path:
    """Write the squares named in ``ids`` (in that order) with their id in column ``region``.

    ``shapes`` replaces the square of some ids by another geometry.
    """
    geometry = [(shapes or {}).get(i, square(int(i[1]), int(i[2]), origin)) for i in ids]
    path.parent.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame({"region": ids}, geometry=geometry, crs=crs).to_file(path)
    return path


def grid_ids(rows: int, cols: int) -> list[str]:
    return [f"G{r}{c}" for r in range(rows) for c in range(cols)]


def account(
    account_id: str, latitude: float, longitude: float, potential: float = 10.0
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "latitude": latitude,
        "longitude": longitude,
        "potential": potential,
    }


def rep(rep_id: str, latitude: float, longitude: float) -> dict[str, Any]:
    return {
        "rep_id": rep_id,
        "role": "FIELD",
        "start_date": "2020-01-01",
        "home_latitude": latitude,
        "home_longitude": longitude,
    }


def field_role(geography: dict[str, Any], *, tolerance: float | None = 0.1, **keys: Any) -> dict:
    """Return a roles mapping with the one role FIELD, balanced on potential.

    A ``tolerance`` of None leaves the role without a balance goal.
    """
    role: dict[str, Any] = {"ramp": [1.0], "geography": geography, **keys}
    if tolerance is not None:
        role["balance"] = [{"metric": "potential", "tolerance": tolerance}]
    return {"FIELD": role}


def user_units(file: str = "grid.geojson", **settings: Any) -> dict[str, Any]:
    """Return a geography mapping on a user's file, joined by point, with rook contiguity."""
    return {
        "units": file,
        "id_column": "region",
        "join": "point",
        "contiguity": "rook",
        **settings,
    }


def write_scenario(
    folder: Path,
    accounts: list[dict[str, Any]],
    reps: list[dict[str, Any]],
    roles: dict[str, Any],
    *,
    maps: bool = False,
    columns: dict[str, str] | None = None,
) -> Path:
    """Write the instance as scenario ``geo``, mapping the extra accounts ``columns``."""
    path = write_instance(
        folder,
        accounts,
        reps,
        roles,
        name="geo",
        solver={"time_limit_s": 10, "seed": 3},
        extra={"maps": maps},
    )
    if columns:
        scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
        scenario["inputs"]["accounts"]["columns"].update(columns)
        path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


# -- reading plans back ---------------------------------------------------------------------


def unit_of(account_id: str) -> str:
    return account_id.split("-")[0]


def rook_pieces(units: set[str]) -> int:
    """Count the rook-connected pieces of a set of grid squares by breadth-first search.

    Squares ``G<r><c>`` and ``G<r'><c'>`` share an edge when ``|r - r'| + |c - c'| == 1``.
    """
    seen: set[str] = set()
    pieces = 0
    for start in sorted(units):
        if start in seen:
            continue
        pieces += 1
        queue = deque([start])
        seen.add(start)
        while queue:
            current = queue.popleft()
            row, col = int(current[1]), int(current[2])
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                neighbour = f"G{row + dr}{col + dc}"
                if neighbour in units and neighbour not in seen:
                    seen.add(neighbour)
                    queue.append(neighbour)
    return pieces


def read_owners(folder: Path) -> dict[str, str]:
    """Return each account's rep from ``assignments.csv``."""
    table = pd.read_csv(folder / "assignments.csv", dtype=str)
    return dict(zip(table["account_id"], table["rep_id"], strict=True))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# -- scenario 1: a 4 x 4 grid in Kansas -----------------------------------------------------


def kansas_grid(folder: Path, contiguity: str = "rook", *, maps: bool = False) -> Path:
    """Write a 4 x 4 grid with three accounts per square and four reps at fixed homes.

    Account ``k`` of square number ``s = 4 * row + col`` has potential
    ``1 + (7 * s + 3 * k) % 9``, so the square totals are, north row first::

        row 3   12 15 18 12
        row 2   18 12 15 18
        row 1   15 18 12 15
        row 0   12 15 18 12

    The total is 57 + 60 + 63 + 57 = 237, so each of the four territories targets
    237 / 4 = 59.25, and a tolerance of 5% allows 56.2875 to 62.2125. The reps live at
    the centres of the four 2 x 2 quadrants. With these bands the cheapest plan without
    contiguity puts some territory in two pieces, as ``test_grid_without_contiguity_splits``
    checks.
    """
    write_units(folder / "grid.geojson", grid_ids(4, 4))
    south, west = KANSAS
    offsets = [(0.02, 0.03), (0.05, 0.07), (0.08, 0.04)]
    accounts = []
    for row in range(4):
        for col in range(4):
            for k, (dy, dx) in enumerate(offsets):
                potential = 1 + (7 * (4 * row + col) + 3 * k) % 9
                lat, lon = south + SIDE * row + dy, west + SIDE * col + dx
                accounts.append(account(f"G{row}{col}-{k}", lat, lon, float(potential)))
    reps = [
        rep(f"R{j}", south + 0.1 + 0.2 * (j // 2), west + 0.1 + 0.2 * (j % 2)) for j in range(4)
    ]
    roles = field_role(user_units(contiguity=contiguity), tolerance=0.05, centres="auto")
    return write_scenario(folder, accounts, reps, roles, maps=maps)


def test_grid_plan_contiguous_by_unit(tmp_path: Path) -> None:
    path = kansas_grid(tmp_path / "grid")

    folder = solve_scenario(path, tmp_path / "out").folder

    assignments = pd.read_csv(folder / "assignments.csv", dtype={"territory_id": str})
    assert len(assignments) == 48
    assignments["unit"] = assignments["account_id"].map(unit_of)
    per_unit = assignments.groupby("unit")["territory_id"].nunique()
    assert len(per_unit) == 16
    assert (per_unit == 1).all(), per_unit[per_unit > 1]
    for territory, rows in assignments.groupby("territory_id"):
        assert rook_pieces(set(rows["unit"])) == 1, territory
    totals = assignments.groupby("territory_id")["potential"].sum()
    assert len(totals) == 4
    assert (totals >= 56.2875 - 1e-9).all(), totals
    assert (totals <= 62.2125 + 1e-9).all(), totals


def test_grid_plan_shape_columns(tmp_path: Path) -> None:
    path = kansas_grid(tmp_path / "grid")

    folder = solve_scenario(path, tmp_path / "out").folder

    territories = pd.read_csv(folder / "territories.csv")
    assert territories["pieces"].tolist() == [1, 1, 1, 1]
    assert (territories["polsby_popper"] > 0).all()
    assert (territories["polsby_popper"] <= 1).all()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    geography = summary["roles"]["FIELD"]["geography"]
    assert geography["units"] == "grid.geojson"
    assert geography["units_with_accounts"] == 16
    assert geography["contiguity"] == "rook"
    assert geography["max_pieces"] == 1
    assert summary["violations"] == []


def test_grid_without_contiguity_splits(tmp_path: Path) -> None:
    # Without contiguity a territory splits, which shows that the rook test above can fail.
    path = kansas_grid(tmp_path / "grid", contiguity="none")

    folder = solve_scenario(path, tmp_path / "out").folder

    assignments = pd.read_csv(folder / "assignments.csv", dtype={"territory_id": str})
    assignments["unit"] = assignments["account_id"].map(unit_of)
    assert (assignments.groupby("unit")["territory_id"].nunique() == 1).all()
    pieces = [rook_pieces(set(rows["unit"])) for _, rows in assignments.groupby("territory_id")]
    assert max(pieces) > 1


def test_grid_same_bytes_twice(tmp_path: Path) -> None:
    path = kansas_grid(tmp_path / "grid", maps=True)

    first = solve_scenario(path, tmp_path / "one").folder
    second = solve_scenario(path, tmp_path / "two").folder

    for name in ["assignments.csv", "territories.csv", "map.html", "map.png"]:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


# -- scenario 2: a strip of four squares with a hand-checked plan ---------------------------


def strip_scenario(folder: Path, contiguity: str) -> Path:
    """Write a 1 x 4 strip S0..S3 (G00..G03) with one account per square, zig-zagging.

    ```
            R1 home (38.84, -97.6)
      +-------+-------+-------+-------+  38.8
      |  a0   |       |  a2   |       |  north accounts at 38.795
      |       |       |       |       |
      |       |  a1   |       |  a3   |  south accounts at 38.705
      +-------+-------+-------+-------+  38.7
    -97.8   -97.7   -97.6   -97.5   -97.4
            R2 home (38.66, -97.6)
    ```

    Every account has potential 10, so each territory must hold 20 (+/-10% is 18..22):
    two squares each.
    """
    write_units(folder / "grid.geojson", grid_ids(1, 4))
    accounts = [
        account("G00-0", 38.795, -97.75),
        account("G01-0", 38.705, -97.65),
        account("G02-0", 38.795, -97.55),
        account("G03-0", 38.705, -97.45),
    ]
    reps = [rep("R1", 38.84, -97.6), rep("R2", 38.66, -97.6)]
    roles = field_role(user_units(contiguity=contiguity), centres="rep_home")
    return write_scenario(folder, accounts, reps, roles)


# Planar km at latitude 38.75: a degree of latitude is 111.2 km, one of longitude
# 111.2 * cos(38.75 deg) = 86.7 km. From a home, the inner accounts (a1, a2) are 0.05 deg
# = 4.34 km east or west and the outer ones (a0, a3) 0.15 deg = 13.01 km. An account on the
# home's side of the strip is 0.045 deg = 5.00 km north or south of it, one on the other
# side 0.135 deg = 15.01 km. So:
#   near inner = sqrt(4.34^2 + 5.00^2) = 6.62     far inner = sqrt(4.34^2 + 15.01^2) = 15.62
#   near outer = sqrt(13.01^2 + 5.00^2) = 13.94   far outer = sqrt(13.01^2 + 15.01^2) = 19.86
# Plans with two squares each (R1 | R2) and their km:
#   {S0, S2} | {S1, S3}  all near:                       13.94 + 6.62 + 6.62 + 13.94 = 41.12
#   {S2, S3} | {S0, S1}  contiguous, far on the outer:   6.62 + 19.86 + 19.86 + 6.62 = 52.96
#   {S0, S3} | {S1, S2}  and its swap:                  13.94 + 19.86 + 6.62 + 15.62 = 56.04
#   {S0, S1} | {S2, S3}  contiguous, far on the inner:  13.94 + 15.62 + 15.62 + 13.94 = 59.12
#   {S1, S3} | {S0, S2}  all far:                       15.62 + 19.86 + 19.86 + 15.62 = 70.96
# The margins (6 km and more) dwarf the error of planar km against great-circle km.
CONTIGUOUS_STRIP = {"G00-0": "R2", "G01-0": "R2", "G02-0": "R1", "G03-0": "R1"}
SPLIT_STRIP = {"G00-0": "R1", "G01-0": "R2", "G02-0": "R1", "G03-0": "R2"}


def test_strip_contiguous_hand_answer(tmp_path: Path) -> None:
    path = strip_scenario(tmp_path / "strip", contiguity="rook")

    plan = solve_scenario(path, tmp_path / "out")

    assert read_owners(plan.folder) == CONTIGUOUS_STRIP
    assert plan.summary["roles"]["FIELD"]["objective"] == pytest.approx(52.96, abs=0.5)
    assert plan.summary["violations"] == []


def test_strip_without_contiguity_splits(tmp_path: Path) -> None:
    path = strip_scenario(tmp_path / "strip", contiguity="none")

    plan = solve_scenario(path, tmp_path / "out")

    assert read_owners(plan.folder) == SPLIT_STRIP
    assert plan.summary["roles"]["FIELD"]["objective"] == pytest.approx(41.12, abs=0.5)


# -- bad input: a clear message and nothing written -----------------------------------------


def small_accounts(origin: tuple[float, float] = KANSAS) -> list[dict[str, Any]]:
    """Return one account in the middle of each square of a 2 x 2 grid."""
    return [
        account(f"G{r}{c}-0", origin[0] + SIDE * r + 0.05, origin[1] + SIDE * c + 0.05)
        for r in range(2)
        for c in range(2)
    ]


def small_scenario(
    folder: Path,
    accounts: list[dict[str, Any]] | None = None,
    geography: dict[str, Any] | None = None,
    *,
    columns: dict[str, str] | None = None,
) -> Path:
    """Write a 2 x 2 Kansas grid with one account per square and two reps."""
    write_units(folder / "grid.geojson", grid_ids(2, 2))
    reps = [rep("R1", 38.75, -97.75), rep("R2", 38.85, -97.65)]
    roles = field_role(geography or user_units())
    return write_scenario(folder, accounts or small_accounts(), reps, roles, columns=columns)


@pytest.fixture(scope="module")
def earlier_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the folder of a valid plan of scenario ``geo``, solved once for the module."""
    base = tmp_path_factory.mktemp("earlier")
    path = small_scenario(base / "input")
    return solve_scenario(path, base / "out").folder


@pytest.fixture
def out(tmp_path: Path, earlier_plan: Path) -> Path:
    """Return an output folder that contains a copy of the earlier plan under ``geo``."""
    folder = tmp_path / "out"
    shutil.copytree(earlier_plan, folder / "geo")
    return folder


def assert_rejected(path: Path, out: Path, *fragments: str) -> str:
    """Solve ``path`` into ``out``, expect an InputError with every fragment, return its text.

    The earlier plan in ``out/geo`` must stay byte-identical, with no other folder left.
    """
    before = snapshot(out / "geo")

    with pytest.raises(InputError) as caught:
        solve_scenario(path, out)

    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "Fix:" in message
    assert snapshot(out / "geo") == before
    assert [p.name for p in out.iterdir()] == ["geo"]
    return message


def assert_cli_rejected(
    path: Path, out: Path, capsys: pytest.CaptureFixture, *fragments: str
) -> None:
    """Run ``territory solve`` and expect exit code 2 and a message without a traceback."""
    before = snapshot(out / "geo")

    code = main(["solve", str(path), "--out", str(out)])

    err = capsys.readouterr().err
    assert code == 2
    assert "error: " in err
    for fragment in fragments:
        assert fragment in err, err
    assert "Traceback" not in err
    assert snapshot(out / "geo") == before
    assert [p.name for p in out.iterdir()] == ["geo"]


def test_zips_contiguity_rejected(tmp_path: Path, out: Path, capsys) -> None:
    # The points are joined by point, far from any ZIP code point. The contiguity key is
    # rejected first, before the join could reject the point for its distance.
    geography = {"units": "zips", "join": "point", "contiguity": "rook"}
    path = small_scenario(tmp_path / "zips", geography=geography)

    assert_cli_rejected(
        path,
        out,
        capsys,
        "key 'roles.FIELD.geography.contiguity'",
        "'rook' needs polygon units, but 'zips' has points only",
        "set contiguity: none",
    )


def test_missing_id_column_rejected(tmp_path: Path, out: Path) -> None:
    path = small_scenario(tmp_path / "ids", geography=user_units(id_column="zone"))

    assert_rejected(
        path,
        out,
        "grid.geojson: has no id column 'zone' (columns found: region)",
        "set the geography's id_column",
    )


def test_far_point_rejected(tmp_path: Path, out: Path) -> None:
    # G10 and G11 span latitudes 38.8..38.9, and the grid's east edge is longitude -97.6.
    # A point at (38.85, -97.4) lies 0.2 degree east of G11: 0.2 * 86.6 = 17.3 km at 38.85.
    accounts = small_accounts()
    accounts.insert(2, account("FAR", 38.85, -97.4))
    path = small_scenario(tmp_path / "far", accounts)

    message = assert_rejected(
        path,
        out,
        "accounts.csv, row 4: account 'FAR' at latitude 38.85, longitude -97.4",
        "the nearest one, 'G11', more than snap_km (5 km)",
        "raise snap_km",
    )
    km = float(re.search(r"is ([\d.]+) km from the nearest one", message).group(1))
    expected = 0.2 * KM_PER_DEGREE * math.cos(math.radians(38.85))
    assert km == pytest.approx(expected, abs=0.1)


def test_swapped_kansas_point_rejected(tmp_path: Path, out: Path, capsys) -> None:
    # Kansas longitudes are beyond -90, so the swapped latitude fails when the table is read.
    accounts = small_accounts()
    accounts[1] = account("G01-0", -97.65, 38.75)
    path = small_scenario(tmp_path / "swapped", accounts)

    assert_cli_rejected(
        path,
        out,
        capsys,
        "accounts.csv, row 3, column 'latitude': value '-97.65' is outside [-90, 90] degrees",
        "check that latitude and longitude are not swapped",
    )


def test_swapped_point_named_by_join(tmp_path: Path, out: Path) -> None:
    # In Ohio both orders are valid coordinates, so the join itself detects the swap. The
    # point (-83.95, 39.05) is far from every unit, and (39.05, -83.95) lies in G00.
    write_units(tmp_path / "ohio" / "grid.geojson", grid_ids(2, 2), origin=OHIO)
    accounts = small_accounts(OHIO)
    accounts[3] = account("G11-0", -83.95, 39.05)
    reps = [rep("R1", 39.05, -83.95), rep("R2", 39.15, -83.85)]
    path = write_scenario(tmp_path / "ohio", accounts, reps, field_role(user_units()))

    assert_rejected(
        path,
        out,
        "accounts.csv, row 5: account 'G11-0' at latitude -83.95, longitude 39.05",
        "Latitude and longitude look swapped: latitude 39.05, longitude -83.95 lies in unit 'G00'",
        "swap the latitude and longitude of this row",
    )


def test_code_join_missing_code_rejected(tmp_path: Path, out: Path, capsys) -> None:
    accounts = [{**a, "region": unit_of(a["account_id"])} for a in small_accounts()]
    accounts[2]["region"] = None
    geography = user_units(join="code")
    path = small_scenario(tmp_path / "code", accounts, geography, columns={"unit": "region"})

    assert_cli_rejected(
        path,
        out,
        capsys,
        "accounts.csv, row 4, column 'region': value '' has no unit code",
        "joins its accounts to grid.geojson by code",
        "set roles.FIELD.geography.join to auto or point",
    )


def test_unknown_unit_code_rejected(tmp_path: Path, out: Path) -> None:
    accounts = [{**a, "region": unit_of(a["account_id"])} for a in small_accounts()]
    accounts[1]["region"] = "G99"
    geography = user_units(join="code")
    path = small_scenario(tmp_path / "code", accounts, geography, columns={"unit": "region"})

    assert_rejected(
        path,
        out,
        "accounts.csv, row 3, column 'region': value 'G99' is not a unit id",
        "use a unit id of grid.geojson",
    )


# The file is written without a CRS on purpose, which pyogrio warns about.
@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
@pytest.mark.parametrize("file", ["grid.gpkg", "grid.shp"])
def test_file_without_crs_rejected(tmp_path: Path, out: Path, file: str) -> None:
    folder = tmp_path / "nocrs"
    path = small_scenario(folder, geography=user_units(file))
    write_units(folder / file, grid_ids(2, 2), crs=None)

    assert_rejected(
        path,
        out,
        f"{file}: has no CRS",
        "write the CRS into the file",
        "or set the geography's crs in the scenario",
    )


# -- repaired polygons and points on borders ------------------------------------------------


def bow_tie(row: int, col: int) -> shapely.Polygon:
    """Return square ``G<row><col>`` drawn as a bow-tie, whose ring crosses itself at the centre.

    Repair keeps two triangles, one on the west edge and one on the east edge.
    """
    west, south, east, north = square(row, col).bounds
    return shapely.Polygon([(west, south), (east, north), (east, south), (west, north)])


def test_bow_tie_unit_repaired(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A 1 x 3 strip whose middle square G01 is a bow-tie, with one account in each of its
    # triangles. The repaired G01 still shares its west and east edges with G00 and G02.
    folder = tmp_path / "bow"
    write_units(folder / "grid.geojson", grid_ids(1, 3), shapes={"G01": bow_tie(0, 1)})
    accounts = [
        account("G00-0", 38.75, -97.75),
        account("G01-0", 38.75, -97.69),
        account("G01-1", 38.75, -97.61),
        account("G02-0", 38.75, -97.55),
    ]
    reps = [rep("R1", 38.75, -97.75), rep("R2", 38.75, -97.55)]
    path = write_scenario(folder, accounts, reps, field_role(user_units(), tolerance=None))

    with caplog.at_level(logging.WARNING, logger="solver.units"):
        plan = solve_scenario(path, tmp_path / "out")

    repaired = [r.getMessage() for r in caplog.records if "make_valid" in r.getMessage()]
    assert len(repaired) == 1
    assert "grid.geojson: repaired 1 invalid polygons" in repaired[0]
    assert "(ids: G01)" in repaired[0]
    owners = read_owners(plan.folder)
    assert set(owners) == {"G00-0", "G01-0", "G01-1", "G02-0"}
    assert owners["G01-0"] == owners["G01-1"]
    assert plan.summary["violations"] == []


@pytest.mark.parametrize("order", [["G00", "G01"], ["G01", "G00"]])
def test_border_point_joins_smaller_id(tmp_path: Path, order: list[str]) -> None:
    # G00 spans longitudes -97.8..-97.7 and G01 -97.7..-97.6 at latitudes 38.7..38.8.
    # B sits on their shared edge at longitude -97.7. R1 lives at W, R2 0.01 degree east
    # of B. Per degree of longitude at 38.75: 86.7 km.
    #   B alone would go to R2: 0.01 deg = 0.87 km, against 0.09 deg = 7.80 km to R1.
    #   If B joins G00, unit {W, B} costs 0 + 7.80 = 7.80 km with R1 and
    #   0.09 + 0.01 deg = 8.67 + 0.87 = 9.54 km with R2, so B goes with W to R1.
    #   If B joined G01, unit {E, B} would go to R2 (E is 0.04 deg from R2, 0.14 from R1).
    # Both file orders must give the same join, because ties go to the smallest id.
    folder = tmp_path / "border"
    write_units(folder / "grid.geojson", order)
    accounts = [
        account("W", 38.75, -97.79),
        account("B", 38.75, -97.7),
        account("E", 38.75, -97.65),
    ]
    reps = [rep("R1", 38.75, -97.79), rep("R2", 38.75, -97.69)]
    path = write_scenario(folder, accounts, reps, field_role(user_units(), tolerance=None))

    plan = solve_scenario(path, tmp_path / "out")

    assert read_owners(plan.folder) == {"W": "R1", "B": "R1", "E": "R2"}
    # assignments.csv names each account's unit, so the join itself is visible too.
    joined = pd.read_csv(plan.folder / "assignments.csv", dtype=str)
    assert dict(zip(joined["account_id"], joined["unit_id"], strict=True)) == {
        "W": "G00",
        "B": "G00",
        "E": "G01",
    }


def test_lost_fips_zeros_warned_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Three Kansas counties and Alabama's 01001 written '1001', all given by FIPS only.
    # The lost zero is padded when the account is placed and again when it joins its
    # county, but the warning about it is logged once.
    accounts = [
        {"account_id": a, "latitude": None, "longitude": None, "fips": code, "potential": 10.0}
        for a, code in (("K1", "20169"), ("K2", "20143"), ("K3", "20041"), ("A1", "1001"))
    ]
    geography = {"units": "counties", "join": "code"}
    path = small_scenario(tmp_path / "fips", accounts, geography, columns={"county_fips": "fips"})

    with caplog.at_level(logging.WARNING):
        plan = solve_scenario(path, tmp_path / "out")

    padded = [r for r in caplog.records if "leading zeros were lost" in r.getMessage()]
    assert len(padded) == 1
    joined = pd.read_csv(plan.folder / "assignments.csv", dtype=str)
    assert dict(zip(joined["account_id"], joined["unit_id"], strict=True))["A1"] == "01001"
