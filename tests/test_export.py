"""End-to-end tests of `territory export`: tiny solved plans, exported and read back.

The base instance has six accounts and two fully ramped reps, R1 at home in Boston and R2
in Seattle. R3 left before the design date, so the plan gives them no territory.

```
Boston  (Census region Northeast)   A1 42.30  A2 42.35  A3 42.40   R1 home 42.35
Seattle (Census region West)        A4 47.55  A5 47.60  A6 47.65   R2 home 47.60
```

Every account has potential 10, so each rep's target is 30 and the +/-10 % band is 27 to
33. Each territory contains exactly three accounts. Any other plan puts an account about
4,000 km from its rep's home, so the optimum is R1 = {A1, A2, A3} and R2 = {A4, A5, A6}.
The hierarchy is role FIELD, then the regions FIELD_Northeast and FIELD_West, then one
territory each: five Territory2 records in three levels.

Every expectation comes from the plan files (``assignments.csv``, ``territories.csv``) or
from hand-written tables below, never from the export code's own output.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from email_validator import validate_email
from instances import write_instance

from solver.cli import main
from solver.errors import InputError
from solver.export.files import neutralise, read_back
from solver.export.ids import is_developer_name, salesforce_id18
from solver.export.run import export_plan
from solver.pipeline import solve_scenario

ALL_TARGETS = ["salesforce", "hubspot", "dynamics", "csv"]

NAME = "tiny_us"

#: Salesforce Account ids as the ids file gives them, and their 18-character forms.
#: A1 is a published pair. The others have no upper-case letter, so every 5-character
#: chunk has case bits 0, which the checksum alphabet maps to 'A'.
ACCOUNT_SF = {
    "A1": "001A0000006Vm9r",
    "A2": "001000000000002AAA",
    "A3": "001000000000003AAA",
    "A4": "001000000000004AAA",
    "A5": "001000000000005AAA",
    "A6": "001000000000006AAA",
}
ACCOUNT_SF18 = {**ACCOUNT_SF, "A1": "001A0000006Vm9rIAC"}

#: Salesforce User ids. R1's 18-character form is derived by hand. Chunk '005Dn' has 'D' at
#: position 3, bit value 8 -> 'I'. Chunk '00000' has no upper-case letter, 0 -> 'A'. Chunk
#: '0AbCd' has 'A' at position 1 and 'C' at position 3, 2 + 8 = 10 -> 'K'. So the suffix is
#: 'IAK'.
USER_SF = {"R1": "005Dn000000AbCd", "R2": "005000000000002AAA"}
USER_SF18 = {**USER_SF, "R1": "005Dn000000AbCdIAK"}

EMAILS = {"R1": "ana.lopez@example.com", "R2": "ben.ode@example.com"}
HUBSPOT_IDS = {f"A{n}": str(100 + n) for n in range(1, 7)}
DYNAMICS_IDS = {f"A{n}": f"3f2504e0-4f89-11d3-9a0c-0305e82c33{n:02d}" for n in range(1, 7)}

#: Columns of the ids file. ``_id_rows`` puts A1..A6 on spreadsheet rows 2 to 7, R1 on
#: row 8 and R2 on row 9.
ID_COLUMNS = ["kind", "id", "salesforce_id", "hubspot_id", "dynamics_id", "email"]


@dataclass(frozen=True)
class Instance:
    """A solved instance copied into one test's folder: scenario, tables, ids and plan."""

    folder: Path

    @property
    def scenario(self) -> Path:
        """Path of the scenario file."""
        return self.folder / "scenario.yaml"

    @property
    def plan(self) -> Path:
        """Folder of the solved plan."""
        return self.folder / "out" / NAME

    @property
    def ids(self) -> Path:
        """Path of the ids file that the scenario names."""
        return self.folder / "ids.csv"


# -- building and solving the instances ---------------------------------------------------


def _account(n: int, name: str, latitude: float, longitude: float, zip_code: str) -> dict:
    return {
        "account_id": f"A{n}",
        "name": name,
        "latitude": latitude,
        "longitude": longitude,
        "potential": 10,
        "zip": zip_code,
    }


ACCOUNTS = [
    _account(1, "Harbor Tools", 42.30, -71.06, "02110"),
    _account(2, "Beacon Labs", 42.35, -71.06, "02111"),
    _account(3, "Charles Freight", 42.40, -71.06, "02114"),
    _account(4, "Pike Roasters", 47.55, -122.33, "98101"),
    _account(5, "Rainier Cloud", 47.60, -122.33, "98104"),
    _account(6, "Sound Marine", 47.65, -122.33, "98109"),
]


def _rep(rep_id: str, name: str, latitude: float, longitude: float, end: str = "") -> dict:
    return {
        "rep_id": rep_id,
        "name": name,
        "role": "FIELD",
        "start_date": "2020-01-06",
        "end_date": end,
        "home_latitude": latitude,
        "home_longitude": longitude,
    }


REPS = [
    _rep("R1", "Ana Lopez", 42.35, -71.06),
    _rep("R2", "Ben Ode", 47.60, -122.33),
    _rep("R3", "Cy Gone", 42.35, -71.06, end="2026-12-31"),
]

ROLES = {
    "FIELD": {
        "ramp": [1.0],
        "balance": [{"metric": "potential", "tolerance": 0.1}],
        "centres": "rep_home",
    }
}


def _set(scenario: Path, key: str, value: Any) -> None:
    """Set the dotted ``key`` of a scenario file to ``value``."""
    data = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    scenario.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _id_rows(reps: tuple[str, ...] = ("R1", "R2")) -> list[dict[str, str]]:
    rows = [
        {
            "kind": "account",
            "id": account,
            "salesforce_id": ACCOUNT_SF[account],
            "hubspot_id": HUBSPOT_IDS[account],
            "dynamics_id": DYNAMICS_IDS[account],
        }
        for account in ACCOUNT_SF
    ]
    rows += [
        {"kind": "rep", "id": rep, "salesforce_id": USER_SF[rep], "email": EMAILS[rep]}
        for rep in reps
    ]
    return rows


def _write_ids(path: Path, rows: list[dict[str, str]]) -> None:
    pd.DataFrame(rows, columns=ID_COLUMNS).to_csv(path, index=False)


def _build(folder: Path, reps: list[dict], id_reps: tuple[str, ...] = ("R1", "R2")) -> Path:
    """Write and solve the base instance in ``folder`` and return the plan folder."""
    scenario = write_instance(folder, ACCOUNTS, reps, ROLES, name=NAME)
    _set(scenario, "inputs.accounts.columns.name", "name")
    _set(scenario, "inputs.accounts.columns.zip", "zip")
    _set(scenario, "inputs.reps.columns.name", "name")
    _set(scenario, "inputs.reps.columns.end_date", "end_date")
    _set(scenario, "export", {"ids_file": "ids.csv"})
    _set(scenario, "export.salesforce.model_developer_name", "Tiny_FY2027")
    _write_ids(folder / "ids.csv", _id_rows(id_reps))
    return solve_scenario(scenario, folder / "out").folder


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Solve the base instance once per module, so that tests export copies of it."""
    folder = tmp_path_factory.mktemp("solved")
    _build(folder, REPS)
    return folder


@pytest.fixture
def base(solved: Path, tmp_path: Path) -> Instance:
    """Return a fresh copy of the solved base instance."""
    return Instance(Path(shutil.copytree(solved, tmp_path / "base")))


# -- reading plans and exports back -------------------------------------------------------


def _plan_rows(plan: Path) -> pd.DataFrame:
    return pd.read_csv(plan / "assignments.csv", dtype=str, keep_default_na=False)


def _territory_of_rep(plan: Path) -> dict[str, str]:
    territories = pd.read_csv(plan / "territories.csv", dtype=str, keep_default_na=False)
    return dict(zip(territories["rep_id"], territories["territory_id"], strict=True))


def _developer(territory_id: str) -> str:
    # Plan ids such as 'FIELD-T01' contain only letters, digits and hyphens, and a
    # DeveloperName turns each hyphen into an underscore: 'FIELD_T01'.
    return territory_id.replace("-", "_")


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _paths(folder: Path, name: str) -> list[Path]:
    """Return the files of load file ``name`` (step prefix and part suffix aside), in order."""
    pattern = re.compile(rf"\d\d_{re.escape(name)}(_part\d{{3}})?\.csv")
    return [folder / e["file"] for e in _manifest(folder)["files"] if pattern.fullmatch(e["file"])]


def _read(folder: Path, name: str) -> pd.DataFrame:
    paths = _paths(folder, name)
    assert paths, f"no file {name} in {folder}"
    return read_back(paths)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def exported(base: Instance) -> dict[str, Path]:
    """Export the base plan to every target."""
    return export_plan(base.plan, ALL_TARGETS)


# -- every account once, in its plan territory --------------------------------------------


def test_salesforce_accounts_in_plan_territory(base: Instance, exported: dict[str, Path]) -> None:
    plan = _plan_rows(base.plan)
    associations = _read(exported["salesforce"], "ObjectTerritory2Association")
    account_of = {object_id: account for account, object_id in ACCOUNT_SF18.items()}

    assert sorted(associations["ObjectId"].map(account_of)) == sorted(plan["account_id"])
    expected = {
        ACCOUNT_SF18[account]: _developer(territory)
        for account, territory in zip(plan["account_id"], plan["territory_id"], strict=True)
    }
    got = dict(zip(associations["ObjectId"], associations["Territory2.DeveloperName"], strict=True))
    assert got == expected
    assert set(associations["AssociationCause"]) == {"Territory2Manual"}


def test_hubspot_companies_in_plan_territory(base: Instance, exported: dict[str, Path]) -> None:
    plan = _plan_rows(base.plan)
    companies = _read(exported["hubspot"], "companies")
    account_of = {record: account for account, record in HUBSPOT_IDS.items()}

    assert sorted(companies["Record ID"].map(account_of)) == sorted(plan["account_id"])
    by_account = companies.set_index(companies["Record ID"].map(account_of))
    for account, territory, rep in plan[["account_id", "territory_id", "rep_id"]].itertuples(
        index=False
    ):
        assert by_account.loc[account, "Territory"] == territory
        assert by_account.loc[account, "Company owner"] == EMAILS[rep]


def test_dynamics_accounts_in_plan_territory(base: Instance, exported: dict[str, Path]) -> None:
    plan = _plan_rows(base.plan)
    accounts = _read(exported["dynamics"], "accounts")
    account_of = {guid: account for account, guid in DYNAMICS_IDS.items()}

    assert sorted(accounts["Account"].map(account_of)) == sorted(plan["account_id"])
    by_account = accounts.set_index(accounts["Account"].map(account_of))
    for account, territory, rep in plan[["account_id", "territory_id", "rep_id"]].itertuples(
        index=False
    ):
        # Dynamics names a territory '<role label> <territory id>', and FIELD has no label.
        assert by_account.loc[account, "Territory"] == f"FIELD {territory}"
        assert by_account.loc[account, "Owner"] == EMAILS[rep]


def test_csv_assignments_match_plan(base: Instance, exported: dict[str, Path]) -> None:
    plan = _plan_rows(base.plan)
    table = _read(exported["csv"], "assignments")

    assert sorted(table["account_id"]) == sorted(plan["account_id"])
    columns = ["account_id", "territory_id", "rep_id"]
    got = table[columns].sort_values("account_id").reset_index(drop=True)
    expected = plan[columns].sort_values("account_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_csv_parquet_equals_csv(exported: dict[str, Path]) -> None:
    folder = exported["csv"]
    table = _read(folder, "assignments")
    parquet = pd.read_parquet(next(folder.glob("*_assignments.parquet")))

    assert list(parquet.columns) == list(table.columns)
    assert len(parquet) == len(table)
    for column in parquet.columns:
        values = parquet[column]
        if pd.api.types.is_numeric_dtype(values):
            assert pd.to_numeric(table[column]).tolist() == values.tolist(), column
        else:
            # The CSV writes a missing cell as '' and neutralises formula-like text.
            text = [neutralise(str(v)) if v is not None else "" for v in values]
            assert table[column].tolist() == text, column


# -- valid ids, DeveloperNames and emails -------------------------------------------------


def _salesforce_files(folder: Path) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    for entry in _manifest(folder)["files"]:
        yield entry, read_back([folder / entry["file"]])


def test_salesforce_ids_are_18_characters(exported: dict[str, Path]) -> None:
    prefixes = {"ObjectId": "001", "UserId": "005"}
    seen = set()
    for _, frame in _salesforce_files(exported["salesforce"]):
        for column, prefix in prefixes.items():
            if column not in frame.columns:
                continue
            seen.add(column)
            for value in frame[column]:
                assert len(value) == 18, value
                assert salesforce_id18(value) == value
                assert value.startswith(prefix), value
    assert seen == {"ObjectId", "UserId"}


def test_salesforce_developer_names_valid(exported: dict[str, Path]) -> None:
    names: dict[str, list[str]] = {}
    for entry, frame in _salesforce_files(exported["salesforce"]):
        if "DeveloperName" in frame.columns:
            names.setdefault(entry["object"], []).extend(frame["DeveloperName"])
        for column in frame.columns:
            if column.endswith(".DeveloperName"):
                assert all(is_developer_name(v) for v in frame[column] if v), column

    assert set(names) == {"Territory2Type", "Territory2Model", "Territory2"}
    for object_name, values in names.items():
        assert all(is_developer_name(v) for v in values), values
        assert len(values) == len(set(values)), f"{object_name}: {values}"
    # One role node, two region nodes (Northeast and West) and two territories.
    assert len(names["Territory2"]) == 5


def test_exported_emails_valid(exported: dict[str, Path]) -> None:
    columns = [
        (exported["hubspot"], "companies", "Company owner"),
        (exported["dynamics"], "accounts", "Owner"),
        (exported["dynamics"], "territories_level3", "Manager"),
        (exported["csv"], "assignments", "rep_email"),
    ]
    for folder, name, column in columns:
        values = _read(folder, name)[column]
        assert set(values) == set(EMAILS.values()), (name, column)
        for value in values:
            assert validate_email(value, check_deliverability=False).normalized == value


# -- 15-character ids come out with 18 characters -----------------------------------------


def test_salesforce_15_character_ids_converted(exported: dict[str, Path]) -> None:
    folder = exported["salesforce"]
    object_ids = set(_read(folder, "ObjectTerritory2Association")["ObjectId"])
    user_ids = set(_read(folder, "UserTerritory2Association")["UserId"])

    assert "001A0000006Vm9rIAC" in object_ids
    assert "001A0000006Vm9r" not in object_ids
    assert "005Dn000000AbCdIAK" in user_ids
    assert "005Dn000000AbCd" not in user_ids


def test_csv_export_salesforce_ids_18(exported: dict[str, Path]) -> None:
    # The CSV export is opened in spreadsheets, which compare text without case, so it
    # needs the 18-character form as much as the Salesforce load files do.
    table = _read(exported["csv"], "assignments").set_index("account_id")

    assert table.loc["A1", "salesforce_id"] == "001A0000006Vm9rIAC"
    assert table["salesforce_id"].to_dict() == ACCOUNT_SF18


# -- load order and manifest --------------------------------------------------------------


def test_salesforce_load_order(exported: dict[str, Path]) -> None:
    files = _manifest(exported["salesforce"])["files"]
    steps = [entry["step"] for entry in files]
    stems = [re.sub(r"^\d\d_|\.csv$", "", entry["file"]) for entry in files]

    assert steps == sorted(set(steps))
    assert stems == [
        "Territory2Type",
        "Territory2Model",
        "Territory2_level1",
        "Territory2_level2",
        "Territory2_level3",
        "UserTerritory2Association",
        "ObjectTerritory2Association",
    ]


def test_salesforce_parents_in_earlier_level(exported: dict[str, Path]) -> None:
    folder = exported["salesforce"]
    earlier: set[str] = set()
    for level in (1, 2, 3):
        frame = _read(folder, f"Territory2_level{level}")
        if level == 1:
            assert set(frame["ParentTerritory2Id"]) == {""}
        else:
            parents = set(frame["ParentTerritory2.DeveloperName"])
            assert parents <= earlier, (level, parents, earlier)
        earlier |= set(frame["DeveloperName"])

    # Every association names a territory that an earlier step loads.
    for name in ("UserTerritory2Association", "ObjectTerritory2Association"):
        assert set(_read(folder, name)["Territory2.DeveloperName"]) <= earlier


def test_salesforce_hierarchy_names(base: Instance, exported: dict[str, Path]) -> None:
    folder = exported["salesforce"]
    territory = _territory_of_rep(base.plan)

    assert _read(folder, "Territory2_level1")["DeveloperName"].tolist() == ["FIELD"]
    level2 = _read(folder, "Territory2_level2")
    assert sorted(level2["DeveloperName"]) == ["FIELD_Northeast", "FIELD_West"]
    # R1's centre is Boston (Northeast) and R2's is Seattle (West).
    level3 = _read(folder, "Territory2_level3")
    parent = dict(
        zip(level3["DeveloperName"], level3["ParentTerritory2.DeveloperName"], strict=True)
    )
    assert parent == {
        _developer(territory["R1"]): "FIELD_Northeast",
        _developer(territory["R2"]): "FIELD_West",
    }


def _row_count(path: Path) -> int:
    if path.suffix == ".parquet":
        return len(pd.read_parquet(path))
    return len(read_back([path]))


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_manifest_matches_files(exported: dict[str, Path], target: str) -> None:
    folder = exported[target]
    manifest = _manifest(folder)
    listed = {entry["file"] for entry in manifest["files"]}

    assert listed == {p.name for p in folder.iterdir()} - {"manifest.json"}
    for entry in manifest["files"]:
        path = folder / entry["file"]
        data = path.read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["file"]
        assert entry["bytes"] == len(data), entry["file"]
        assert entry["rows"] == _row_count(path), entry["file"]


# -- limits -------------------------------------------------------------------------------


def test_hubspot_row_limit_splits(base: Instance) -> None:
    folders = export_plan(base.plan, ["hubspot"], limits={"hubspot_max_rows": 3})
    folder = folders["hubspot"]
    entries = _manifest(folder)["files"]

    # A part contains at most 3 rows with the header, so 2 records: 6 accounts make 3 parts.
    assert [e["file"] for e in entries] == [f"01_companies_part00{n}.csv" for n in (1, 2, 3)]
    assert [e["rows"] for e in entries] == [2, 2, 2]
    assert [e.get("part_of") for e in entries] == [3, 3, 3]
    header = "Record ID,Company name,Company owner,Territory"
    for entry in entries:
        assert (folder / entry["file"]).read_bytes().startswith(header.encode() + b"\r\n")
    assert sorted(_read(folder, "companies")["Record ID"]) == sorted(HUBSPOT_IDS.values())


def test_dynamics_byte_limit_splits(base: Instance) -> None:
    # The header 'Account,Account Name,Owner,Territory' is 38 bytes with CRLF, and each
    # account line 87 to 92 bytes: a 36-character GUID, a name of 11 to 15 characters, an
    # email of 19 or 21, 'FIELD FIELD-T0n' and 3 commas and CRLF. A part of 200 bytes
    # contains the header and one line (at most 130 bytes), never two (at least 212 bytes).
    limit = 200
    folders = export_plan(base.plan, ["dynamics"], limits={"dynamics_max_bytes": limit})
    folder = folders["dynamics"]

    for entry in _manifest(folder)["files"]:
        assert (folder / entry["file"]).stat().st_size <= limit, entry["file"]
    parts = _paths(folder, "accounts")
    assert len(parts) == 6
    accounts = read_back(parts)
    assert sorted(accounts["Account"]) == sorted(DYNAMICS_IDS.values())


def test_salesforce_territory_limit_rejected(base: Instance) -> None:
    _set(base.scenario, "export.salesforce.territory_limit", 4)

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, ["salesforce"])

    # 1 role + 2 regions + 2 territories = 5 records, 3 of them parents.
    message = str(caught.value)
    assert "5 territories (3 of them role and region parents)" in message
    assert "limit of 4" in message
    assert "1,000" in message
    assert "Fix:" in message
    assert "export.salesforce.territory_limit" in message
    assert "--allow territory-limit" in message


def test_salesforce_territory_limit_allowed(base: Instance) -> None:
    _set(base.scenario, "export.salesforce.territory_limit", 4)

    folders = export_plan(base.plan, ["salesforce"], allow=["territory-limit"])

    levels = [_read(folders["salesforce"], f"Territory2_level{n}") for n in (1, 2, 3)]
    assert sum(len(frame) for frame in levels) == 5
    assert _manifest(folders["salesforce"])["allowed"] == ["territory-limit"]


# -- changes against today's assignment ---------------------------------------------------


def _set_current_owner(instance: Instance, owners: dict[str, str]) -> None:
    """Add column owner_today to the accounts table and map it as current_owner."""
    path = instance.folder / "accounts.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table["owner_today"] = table["account_id"].map(owners)
    table.to_csv(path, index=False)
    _set(instance.scenario, "inputs.accounts.columns.current_owner", "owner_today")


def _expected_changes(plan: Path, rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Return the changes table for ``(account, from_owner, to_owner, reason)`` rows."""
    territory = _territory_of_rep(plan)
    names = {a["account_id"]: a["name"] for a in ACCOUNTS}
    return pd.DataFrame(
        [
            {
                "account_id": account,
                "account_name": names[account],
                "role": "FIELD",
                "from_owner": old,
                "from_territory": territory.get(old, ""),
                "to_owner": new,
                "to_territory": territory[new],
                "reason": reason,
            }
            for account, old, new, reason in rows
        ]
    )


def _changes(folder: Path) -> pd.DataFrame:
    return read_back([folder / "changes.csv"]).sort_values("account_id").reset_index(drop=True)


#: Today's owners in the accounts table, against the plan R1 = {A1, A2, A3},
#: R2 = {A4, A5, A6}. Books today: R1 {A1, A2} = 20, R2 {A3, A4} = 20, R3 {A6} = 10.
OWNERS_IN_TABLE = {"A1": "R1", "A2": "R1", "A3": "R2", "A4": "R2", "A5": "", "A6": "R3"}

#: The changes those owners give, with reasons from the rules in solver.export.changes.
CHANGES_IN_TABLE = [
    # R2 is in the plan and R1 owns accounts today. R2's book of 20 is not above the band
    # maximum 33, but R1's 20 is below the minimum 27: balance.
    ("A3", "R2", "R1", "balance"),
    # No owner today: unowned.
    ("A5", "", "R2", "unowned"),
    # R3 is a FIELD rep of the table without a territory in the plan (left): attrition.
    ("A6", "R3", "R2", "attrition"),
]


def test_changes_from_owner_column(base: Instance) -> None:
    _set_current_owner(base, OWNERS_IN_TABLE)

    folders = export_plan(base.plan, ALL_TARGETS, changes_only=True)

    expected = _expected_changes(base.plan, CHANGES_IN_TABLE)
    for target, folder in folders.items():
        pd.testing.assert_frame_equal(_changes(folder), expected, obj=target)
        manifest = _manifest(folder)
        assert manifest["changes_only"] is True
        assert manifest["changes"]["file"] == "changes.csv"
        assert manifest["changes"]["rows"] == 3
        digest = hashlib.sha256((folder / "changes.csv").read_bytes()).hexdigest()
        assert manifest["changes"]["sha256"] == digest


def test_changes_only_account_files(base: Instance) -> None:
    _set_current_owner(base, OWNERS_IN_TABLE)
    moved = ["A3", "A5", "A6"]

    folders = export_plan(base.plan, ALL_TARGETS, changes_only=True)

    salesforce = folders["salesforce"]
    assert [e["object"] for e in _manifest(salesforce)["files"]] == ["ObjectTerritory2Association"]
    object_ids = _read(salesforce, "ObjectTerritory2Association")["ObjectId"]
    assert sorted(object_ids) == [ACCOUNT_SF18[a] for a in moved]
    assert sorted(_read(folders["hubspot"], "companies")["Record ID"]) == [
        HUBSPOT_IDS[a] for a in moved
    ]
    dynamics = folders["dynamics"]
    assert [e["object"] for e in _manifest(dynamics)["files"]] == ["account"]
    assert sorted(_read(dynamics, "accounts")["Account"]) == [DYNAMICS_IDS[a] for a in moved]
    assert sorted(_read(folders["csv"], "assignments")["account_id"]) == moved


def _write_current(path: Path, rows: list[dict[str, str]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_changes_from_current_file(base: Instance) -> None:
    # Books today: R1 {A1, A2, A4} = 30, R2 {A3, A6} = 20, and R9, who is in no table.
    owners = {"A1": "R1", "A2": "R1", "A3": "R2", "A4": "R1", "A5": "R9", "A6": "R2"}
    current = _write_current(
        base.folder / "today.csv", [{"account_id": a, "owner": o} for a, o in owners.items()]
    )

    folders = export_plan(base.plan, ["csv"], current=current)

    expected = _expected_changes(
        base.plan,
        [
            # R2's 20 is not above 33 and R1's 30 is not below 27: compactness.
            ("A3", "R2", "R1", "compactness"),
            # R2's book of 20 is below the minimum 27: balance.
            ("A4", "R1", "R2", "balance"),
            # R9 is not a rep of the reps table: unowned.
            ("A5", "R9", "R2", "unowned"),
        ],
    )
    pd.testing.assert_frame_equal(_changes(folders["csv"]), expected)
    assert _manifest(folders["csv"])["current_assignment"] == "today.csv"
    # Without --changes-only every account is written.
    assert len(_read(folders["csv"], "assignments")) == 6


def test_changes_new_hire(base: Instance) -> None:
    # R2 owns everything today and R1 nothing, so R1's new accounts go to a new hire.
    current = _write_current(
        base.folder / "today.csv", [{"rep_id": "R2", "account_id": f"A{n}"} for n in range(1, 7)]
    )

    folders = export_plan(base.plan, ["csv"], current=current)

    expected = _expected_changes(
        base.plan, [(a, "R2", "R1", "new_hire") for a in ("A1", "A2", "A3")]
    )
    pd.testing.assert_frame_equal(_changes(folders["csv"]), expected)


def test_changes_only_needs_current(base: Instance) -> None:
    with pytest.raises(InputError, match="--changes-only needs today's assignment. Fix:"):
        export_plan(base.plan, ["csv"], changes_only=True)


def _association_id(n: int) -> str:
    # 15-character ObjectTerritory2Association ids '0R0' + 12 digits. Only the first chunk
    # '0R000' has an upper-case letter, R at position 1 (bit value 2 -> 'C'), so the
    # 18-character form ends in 'CAA'.
    return f"0R0{n:012d}"


def test_salesforce_delete_then_insert(base: Instance) -> None:
    territory = _territory_of_rep(base.plan)
    today = {"A1": "R1", "A2": "R1", "A3": "R2", "A4": "R1", "A6": "R2"}
    # A Salesforce export of ObjectTerritory2Association. A5 has no association today.
    rows = [
        {
            "Id": _association_id(int(account[1])),
            "ObjectId": ACCOUNT_SF18[account],
            "Territory2.DeveloperName": _developer(territory[rep]),
        }
        for account, rep in today.items()
    ]
    current = _write_current(base.folder / "associations.csv", rows)

    folders = export_plan(base.plan, ["salesforce"], current=current)

    folder = folders["salesforce"]
    stems = [re.sub(r"^\d\d_|\.csv$", "", e["file"]) for e in _manifest(folder)["files"]]
    assert stems.index("ObjectTerritory2Association_delete") < stems.index(
        "ObjectTerritory2Association"
    )
    # A3 and A4 moved territory and have an association to delete, but A5 has none.
    delete = _read(folder, "ObjectTerritory2Association_delete")
    assert sorted(delete["Id"]) == [f"0R0{3:012d}CAA", f"0R0{4:012d}CAA"]
    insert = _read(folder, "ObjectTerritory2Association")
    got = dict(zip(insert["ObjectId"], insert["Territory2.DeveloperName"], strict=True))
    assert got == {
        ACCOUNT_SF18["A3"]: _developer(territory["R1"]),
        ACCOUNT_SF18["A4"]: _developer(territory["R2"]),
        ACCOUNT_SF18["A5"]: _developer(territory["R2"]),
    }
    reasons = dict(zip(_changes(folder)["account_id"], _changes(folder)["reason"], strict=True))
    assert reasons == {"A3": "compactness", "A4": "balance", "A5": "unowned"}


def test_changes_from_territories_only(base: Instance) -> None:
    territory = _territory_of_rep(base.plan)
    # Only territories are known today: A4 sits in R1's territory, the rest where planned.
    today = {"A1": "R1", "A2": "R1", "A3": "R1", "A4": "R1", "A5": "R2", "A6": "R2"}
    rows = [
        {"account_id": account, "Territory2.DeveloperName": _developer(territory[rep])}
        for account, rep in today.items()
    ]
    current = _write_current(base.folder / "territories.csv", rows)

    folders = export_plan(base.plan, ["csv"], current=current)

    changes = _changes(folders["csv"])
    assert changes["account_id"].tolist() == ["A4"]
    # Today's owner is the rep of today's territory, and the territory is in the plan's
    # id form, like to_territory.
    assert changes["from_owner"].tolist() == ["R1"]
    assert changes["from_territory"].tolist() == [territory["R1"]]
    assert changes["to_territory"].tolist() == [territory["R2"]]
    # R1's book today is 40, above the maximum 33: balance.
    assert changes["reason"].tolist() == ["balance"]


def test_unknown_owner_logged(base: Instance, caplog: pytest.LogCaptureFixture) -> None:
    owners = {"A1": "R1", "A2": "R1", "A3": "R1", "A4": "X99", "A5": "R2", "A6": "R2"}
    current = _write_current(
        base.folder / "today.csv", [{"account_id": a, "owner": o} for a, o in owners.items()]
    )

    with caplog.at_level("WARNING"):
        export_plan(base.plan, ["csv"], current=current)

    assert "1 row with an owner that is not in the reps table" in caplog.text
    assert "X99" in caplog.text


# -- records that exist in Salesforce already ---------------------------------------------

# Hand-made 18-character ids. In '0M5', '0MA' and '0MI' the upper-case letters sit at
# positions 1 and 2 of the first chunk: M alone gives 2 -> 'C', M and A or I give
# 2 + 4 = 6 -> 'G'. The other chunks are digits, 'A'.
TYPE_IDS = {"Role_Group": "0M5000000000001CAA", "Region": "0M5000000000002CAA"}
TYPE_IDS["FIELD_Territory"] = "0M5000000000003CAA"
MODEL_ID = "0MA000000000001GAA"


def _territory_ids(plan: Path) -> dict[str, str]:
    territory = _territory_of_rep(plan)
    names = ["FIELD", "FIELD_Northeast", "FIELD_West"]
    names += [_developer(territory["R1"]), _developer(territory["R2"])]
    return {name: f"0MI{n:012d}GAA" for n, name in enumerate(names, start=1)}


def _write_known(path: Path, territories: dict[str, str]) -> Path:
    rows = [("Territory2Type", i, n) for n, i in TYPE_IDS.items()]
    rows.append(("Territory2Model", MODEL_ID, "Tiny_FY2027"))
    rows += [("Territory2", i, n) for n, i in territories.items()]
    frame = pd.DataFrame(rows, columns=["object", "Id", "DeveloperName"])
    frame.to_csv(path, index=False)
    return path


def test_salesforce_ids_known_structure(base: Instance) -> None:
    territories = _territory_ids(base.plan)
    known = _write_known(base.folder / "known.csv", territories)

    folders = export_plan(base.plan, ["salesforce"], salesforce_ids=known)

    folder = folders["salesforce"]
    entries = _manifest(folder)["files"]
    assert all(e["ready"] for e in entries), entries
    assert all("waits_for" not in e for e in entries)
    objects = [e["object"] for e in entries]
    assert "Territory2Model" not in objects
    # Every type and territory exists, so none is inserted again.
    for entry in entries:
        if entry["object"] in ("Territory2Type", "Territory2"):
            assert entry["rows"] == 0, entry
    territory = _territory_of_rep(base.plan)
    users = _read(folder, "UserTerritory2Association")
    assert dict(zip(users["UserId"], users["Territory2Id"], strict=True)) == {
        USER_SF18["R1"]: territories[_developer(territory["R1"])],
        USER_SF18["R2"]: territories[_developer(territory["R2"])],
    }
    plan = _plan_rows(base.plan)
    expected = {
        ACCOUNT_SF18[a]: territories[_developer(t)]
        for a, t in zip(plan["account_id"], plan["territory_id"], strict=True)
    }
    objects_file = _read(folder, "ObjectTerritory2Association")
    assert (
        dict(zip(objects_file["ObjectId"], objects_file["Territory2Id"], strict=True)) == expected
    )


def test_salesforce_ids_repeated_record(base: Instance) -> None:
    known = _write_known(base.folder / "known.csv", {})
    # A second row for the model, with another id: the file is ambiguous.
    with known.open("a", encoding="utf-8") as handle:
        handle.write("Territory2Model,0MA000000000002GAA,Tiny_FY2027\n")

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, ["salesforce"], salesforce_ids=known)

    message = str(caught.value)
    rows = len(TYPE_IDS) + 3  # header, the types, the model, then the repeated model row
    assert f"known.csv, row {rows}" in message
    assert "'Tiny_FY2027'" in message
    assert "Fix:" in message


def test_salesforce_ids_unknown_object(base: Instance) -> None:
    known = _write_known(base.folder / "known.csv", {})
    frame = pd.read_csv(known, dtype=str)
    frame.loc[len(TYPE_IDS), "object"] = "Territory"  # the model row
    frame.to_csv(known, index=False)

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, ["salesforce"], salesforce_ids=known)

    message = str(caught.value)
    assert f"known.csv, row {len(TYPE_IDS) + 2}" in message
    assert "'Territory'" in message
    assert "Territory2Type, Territory2Model, Territory2" in message


def test_salesforce_ids_object_any_case(base: Instance) -> None:
    known = _write_known(base.folder / "known.csv", {})
    frame = pd.read_csv(known, dtype=str)
    frame["object"] = frame["object"].str.lower()
    frame.to_csv(known, index=False)

    folders = export_plan(base.plan, ["salesforce"], salesforce_ids=known)

    objects = [e["object"] for e in _manifest(folders["salesforce"])["files"]]
    assert "Territory2Model" not in objects


def test_salesforce_ids_known_model_only(base: Instance) -> None:
    known = _write_known(base.folder / "known.csv", {})

    folders = export_plan(base.plan, ["salesforce"], salesforce_ids=known)

    folder = folders["salesforce"]
    ready = {
        re.sub(r"^\d\d_|\.csv$", "", e["file"]): e["ready"] for e in _manifest(folder)["files"]
    }
    # Level 1 refers only to the model and types, whose ids are known. Level 2 refers to
    # level 1 parents, which do not exist yet.
    assert ready == {
        "Territory2Type": True,
        "Territory2_level1": True,
        "Territory2_level2": False,
        "Territory2_level3": False,
        "UserTerritory2Association": False,
        "ObjectTerritory2Association": False,
    }
    level1 = _read(folder, "Territory2_level1")
    assert level1["Territory2ModelId"].tolist() == [MODEL_ID]
    assert level1["Territory2TypeId"].tolist() == [TYPE_IDS["Role_Group"]]


# -- bad input ----------------------------------------------------------------------------


def _violating(instance: Instance) -> None:
    summary_path = instance.plan / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["violations"] = [{"message": "territory 'FIELD-T01': potential 40 above 33"}]
    summary_path.write_text(json.dumps(summary), encoding="utf-8")


def test_violations_rejected(base: Instance) -> None:
    _violating(base)

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, ["csv"])

    message = str(caught.value)
    assert "summary.json" in message
    assert "potential 40 above 33" in message
    assert "Fix:" in message
    assert "--allow violations" in message


def test_violations_allowed(base: Instance) -> None:
    _violating(base)

    folders = export_plan(base.plan, ["csv"], allow=["violations"])

    assert _manifest(folders["csv"])["plan"]["violations"] == 1


def _without(field: str, *plan_ids: str) -> list[dict[str, str]]:
    """Return the ids file rows with ``field`` emptied for ``plan_ids``."""
    rows = _id_rows()
    for row in rows:
        if row["id"] in plan_ids:
            row[field] = ""
    return rows


@pytest.mark.parametrize(
    ("target", "field", "plan_id", "what"),
    [
        ("salesforce", "salesforce_id", "A4", "account"),
        ("salesforce", "salesforce_id", "R2", "rep"),
        ("hubspot", "hubspot_id", "A4", "account"),
        ("hubspot", "email", "R2", "rep"),
        ("dynamics", "email", "R2", "rep"),
        ("dynamics", "dynamics_id", "A4", "account"),
    ],
)
def test_missing_id_rejected(
    base: Instance, target: str, field: str, plan_id: str, what: str
) -> None:
    _write_ids(base.ids, _without(field, plan_id))

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, [target])

    message = str(caught.value)
    assert f"{target} export: 1 {what} without an id" in message
    assert f"({plan_id})" in message
    assert "ids.csv" in message
    assert "Fix:" in message
    assert "--allow missing-ids" in message


def test_missing_ids_allowed_skipped(base: Instance) -> None:
    _write_ids(base.ids, _without("salesforce_id", "A4", "R2"))

    folders = export_plan(base.plan, ["salesforce"], allow=["missing-ids"])

    folder = folders["salesforce"]
    assert _manifest(folder)["skipped"] == {"accounts": ["A4"], "reps": ["R2"]}
    object_ids = set(_read(folder, "ObjectTerritory2Association")["ObjectId"])
    assert object_ids == {ACCOUNT_SF18[a] for a in ("A1", "A2", "A3", "A5", "A6")}
    assert _read(folder, "UserTerritory2Association")["UserId"].tolist() == [USER_SF18["R1"]]


def test_planned_hire_without_id_noted(tmp_path: Path) -> None:
    # R2's row has no rep id, so R2 is a planned hire named TBH-FIELD-01, without CRM ids.
    reps = [REPS[0], {**REPS[1], "rep_id": ""}, REPS[2]]
    plan = _build(tmp_path, reps, id_reps=("R1",))

    folders = export_plan(plan, ["salesforce", "hubspot"])

    for target in ("salesforce", "hubspot"):
        manifest = _manifest(folders[target])
        assert manifest["skipped"] == {}, target
        assert any("TBH-FIELD-01" in note for note in manifest["notes"]), target
    users = _read(folders["salesforce"], "UserTerritory2Association")
    assert users["UserId"].tolist() == [USER_SF18["R1"]]
    assert len(_read(folders["salesforce"], "ObjectTerritory2Association")) == 6


def _two_roles(folder: Path) -> Path:
    """Write and solve two roles, 'ENT-1' and 'ENT_1', whose DeveloperNames are both ENT_1."""
    accounts = [
        {"account_id": f"B{n}", "segment": s, "latitude": lat, "longitude": lon, "potential": 10}
        for n, s, lat, lon in [
            (1, "a", 42.30, -71.06),
            (2, "a", 42.35, -71.06),
            (3, "b", 47.55, -122.33),
            (4, "b", 47.60, -122.33),
        ]
    ]
    reps = [
        {"rep_id": "E1", "role": "ENT-1", "start_date": "2020-01-06"},
        {"rep_id": "E2", "role": "ENT_1", "start_date": "2020-01-06"},
    ]
    roles = {
        name: {"accounts": {"column": "segment", "values": [segment]}, "ramp": [1.0]}
        for name, segment in (("ENT-1", "a"), ("ENT_1", "b"))
    }
    scenario = write_instance(folder, accounts, reps, roles, name=NAME)
    _set(scenario, "export", {"ids_file": "ids.csv"})
    rows = [
        {"kind": "account", "id": f"B{n}", "salesforce_id": f"001{n:012d}AAA"} for n in (1, 2, 3, 4)
    ]
    rows += [{"kind": "rep", "id": f"E{n}", "salesforce_id": f"005{n:012d}AAA"} for n in (1, 2)]
    _write_ids(folder / "ids.csv", rows)
    return solve_scenario(scenario, folder / "out").folder


def test_shared_accounts_noted(tmp_path: Path) -> None:
    # Both roles cover every account, so each of the 2 accounts is in 2 roles.
    accounts = [
        {"account_id": f"S{n}", "latitude": lat, "longitude": -71.06, "potential": 10}
        for n, lat in ((1, 42.30), (2, 42.35))
    ]
    reps = [
        {"rep_id": "F1", "role": "FIELD", "start_date": "2020-01-06"},
        {"rep_id": "P1", "role": "PARTNER", "start_date": "2020-01-06"},
    ]
    roles = {name: {"ramp": [1.0]} for name in ("FIELD", "PARTNER")}
    scenario = write_instance(tmp_path, accounts, reps, roles, name=NAME)
    _set(scenario, "export", {"ids_file": "ids.csv"})
    rows = [{"kind": "account", "id": f"S{n}", "hubspot_id": str(n)} for n in (1, 2)]
    rows += [{"kind": "rep", "id": r, "email": f"{r.lower()}@example.com"} for r in ("F1", "P1")]
    _write_ids(tmp_path / "ids.csv", rows)
    plan = solve_scenario(scenario, tmp_path / "out").folder

    folders = export_plan(plan, ["hubspot"])

    companies = _read(folders["hubspot"], "companies")
    assert sorted(companies["Record ID"]) == ["1", "1", "2", "2"]
    notes = _manifest(folders["hubspot"])["notes"]
    assert "Accounts in several roles: 2." in " ".join(notes)


def test_duplicate_developer_names_rejected(tmp_path: Path) -> None:
    plan = _two_roles(tmp_path)

    with pytest.raises(InputError) as caught:
        export_plan(plan, ["salesforce"])

    message = str(caught.value)
    assert "territories.csv" in message
    assert "'ENT-1' and 'ENT_1' both give the DeveloperName 'ENT_1'" in message
    assert "Fix:" in message
    assert "--allow duplicate-names" in message


def test_duplicate_developer_names_renamed(tmp_path: Path) -> None:
    plan = _two_roles(tmp_path)

    folders = export_plan(plan, ["salesforce"], allow=["duplicate-names"])

    folder = folders["salesforce"]
    # The first label keeps its name and the second gets the suffix _2.
    roles = _read(folder, "Territory2_level1")
    assert dict(zip(roles["Name"], roles["DeveloperName"], strict=True)) == {
        "ENT-1": "ENT_1",
        "ENT_1": "ENT_1_2",
    }
    for entry, frame in _salesforce_files(folder):
        if "DeveloperName" in frame.columns:
            values = frame["DeveloperName"].tolist()
            assert len(values) == len(set(values)), (entry["file"], values)


@pytest.mark.parametrize("target", ["hubspot", "dynamics", "csv"])
def test_invalid_email_names_row(base: Instance, target: str) -> None:
    rows = _id_rows()
    rows[7]["email"] = "ben.ode@@example.com"
    _write_ids(base.ids, rows)

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, [target])

    # R2 is the eighth data row, so spreadsheet row 9.
    message = str(caught.value)
    assert message.startswith("ids.csv, row 9, column 'email': value 'ben.ode@@example.com'")
    assert "is not a valid email address" in message
    assert "Fix:" in message


def test_malformed_salesforce_id_names_row(base: Instance) -> None:
    rows = _id_rows()
    rows[2]["salesforce_id"] = "001000000000003A"
    _write_ids(base.ids, rows)

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, ["salesforce"])

    # A3 is the third data row, so spreadsheet row 4.
    message = str(caught.value)
    assert "ids.csv, row 4, column 'salesforce_id'" in message
    assert "value '001000000000003A'" in message
    assert "has 16 characters" in message
    assert "Fix:" in message


def test_user_id_with_account_prefix(base: Instance) -> None:
    rows = _id_rows()
    rows[6]["salesforce_id"] = ACCOUNT_SF18["A2"]
    _write_ids(base.ids, rows)

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, ["salesforce"])

    # R1 is the seventh data row, so spreadsheet row 8.
    message = str(caught.value)
    assert "ids.csv, row 8" in message
    assert "is not a User id (User ids start with 005)" in message


def test_folder_not_a_plan(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()

    with pytest.raises(InputError) as caught:
        export_plan(folder, ["csv"])

    message = str(caught.value)
    assert str(folder) in message
    assert "has no assignments.csv, territories.csv, summary.json" in message
    assert "not a plan folder" in message
    assert "Fix: run `territory solve" in message


def test_plan_path_is_a_file(base: Instance) -> None:
    with pytest.raises(InputError) as caught:
        export_plan(base.scenario, ["csv"])

    message = str(caught.value)
    assert "is a file, so it is not a plan folder" in message


def test_ids_headers_any_case(base: Instance) -> None:
    frame = pd.read_csv(base.ids, dtype=str, keep_default_na=False)
    frame.columns = [c.upper() for c in frame.columns]
    frame.to_csv(base.ids, index=False)

    folders = export_plan(base.plan, ["salesforce"])

    users = _read(folders["salesforce"], "UserTerritory2Association")
    assert sorted(users["UserId"]) == sorted(USER_SF18.values())


def test_ids_unknown_column(base: Instance) -> None:
    frame = pd.read_csv(base.ids, dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"email": "e_mail"})
    frame.to_csv(base.ids, index=False)

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, ["csv"])

    message = str(caught.value)
    assert "ids.csv, column 'e_mail': is not a column of an ids file" in message
    assert "Fix: rename it to one of" in message


def test_scenario_of_another_plan(base: Instance) -> None:
    other = base.folder / "other.yaml"
    shutil.copy(base.scenario, other)
    _set(other, "name", "other")

    with pytest.raises(InputError) as caught:
        export_plan(base.plan, ["csv"], scenario=other)

    message = str(caught.value)
    assert "other.yaml" in message
    assert "is scenario 'other'" in message
    assert f"from scenario '{NAME}'" in message
    assert "Fix:" in message


# -- atomic writes and determinism --------------------------------------------------------


def test_failed_export_keeps_earlier_one(base: Instance) -> None:
    export_plan(base.plan, ALL_TARGETS)
    root = base.plan / "export"
    before = _snapshot(root)
    rows = _id_rows()
    rows[7]["email"] = "not-an-address"
    _write_ids(base.ids, rows)

    with pytest.raises(InputError, match="row 9"):
        export_plan(base.plan, ALL_TARGETS)

    assert _snapshot(root) == before
    assert sorted(p.name for p in root.iterdir()) == sorted(ALL_TARGETS)


def test_export_deterministic(base: Instance) -> None:
    first = export_plan(base.plan, ALL_TARGETS, out=base.folder / "first")
    second = export_plan(base.plan, ALL_TARGETS, out=base.folder / "second")

    for target in ALL_TARGETS:
        digests = [
            [(e["file"], e["sha256"]) for e in _manifest(folders[target])["files"]]
            for folders in (first, second)
        ]
        assert digests[0] == digests[1], target
        assert _snapshot(first[target]) == _snapshot(second[target]), target


# -- text that spreadsheets would misread -------------------------------------------------


def test_formula_names_neutralised(base: Instance) -> None:
    path = base.folder / "accounts.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[table["account_id"] == "A2", "name"] = '=HYPERLINK("x")'
    table.loc[table["account_id"] == "A5", "name"] = "-cmd"
    table.to_csv(path, index=False)

    folders = export_plan(base.plan, ["hubspot", "dynamics", "csv"])

    expected = {"A2": '\'=HYPERLINK("x")', "A5": "'-cmd"}
    companies = _read(folders["hubspot"], "companies")
    names = dict(zip(companies["Record ID"], companies["Company name"], strict=True))
    assert {a: names[HUBSPOT_IDS[a]] for a in expected} == expected
    accounts = _read(folders["dynamics"], "accounts")
    names = dict(zip(accounts["Account"], accounts["Account Name"], strict=True))
    assert {a: names[DYNAMICS_IDS[a]] for a in expected} == expected
    assignments = _read(folders["csv"], "assignments")
    names = dict(zip(assignments["account_id"], assignments["account_name"], strict=True))
    assert {a: names[a] for a in expected} == expected


def test_zip_keeps_leading_zero(exported: dict[str, Path]) -> None:
    table = _read(exported["csv"], "assignments").set_index("account_id")
    parquet = pd.read_parquet(next(exported["csv"].glob("*.parquet"))).set_index("account_id")

    assert table.loc["A1", "zip"] == "02110"
    assert parquet.loc["A1", "zip"] == "02110"
    assert b"A1,Harbor Tools," in (exported["csv"] / "01_assignments.csv").read_bytes()


# -- command line -------------------------------------------------------------------------


def test_cli_exports_all_targets(base: Instance, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", str(base.plan), "--to", "all"])

    printed = capsys.readouterr().out
    assert code == 0
    for target in ALL_TARGETS:
        assert f"{target}: {base.plan / 'export' / target}/" in printed
        assert (base.plan / "export" / target / "manifest.json").is_file()
    assert "07_ObjectTerritory2Association.csv" in printed


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", str(tmp_path / "missing"), "--to", "csv"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ")
    assert "is not a plan folder" in captured.err
    assert captured.out == ""
