"""Tests for solver.export.ids: Salesforce ids, DeveloperNames and email addresses."""

import math

import pandas as pd
import pytest

from solver.errors import InputError
from solver.export.ids import (
    developer_name,
    developer_names,
    emails,
    is_developer_name,
    salesforce_id18,
    salesforce_ids,
)

#: Published 15-character ids and their 18-character forms.
KNOWN_IDS = [
    ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
    ("003A0000005QB3A", "003A0000005QB3AIAW"),
    ("003A0000008qb1s", "003A0000008qb1sIAA"),
    ("006E200000aIb6Z", "006E200000aIb6ZIAS"),
    # Derived by hand. Chunk 'ABCDE' is all upper case: bits 0-4 set, 31 -> '5'.
    # Chunks 'abcde' and '12345' have no upper case: 0 -> 'A'.
    ("ABCDEabcde12345", "ABCDEabcde12345" + "5AA"),
    # Derived by hand. 'aBcDe': B (bit 1) + D (bit 3) = 2 + 8 = 10 -> 'K'.
    # 'FgHiJ': F (bit 0) + H (bit 2) + J (bit 4) = 1 + 4 + 16 = 21 -> 'V'.
    # 'kLmNo': L (bit 1) + N (bit 3) = 10 -> 'K'.
    ("aBcDeFgHiJkLmNo", "aBcDeFgHiJkLmNo" + "KVK"),
]


# -- salesforce_id18 ------------------------------------------------------------------------


@pytest.mark.parametrize(("id15", "id18"), KNOWN_IDS)
def test_id18_from_15_characters(id15: str, id18: str) -> None:
    assert salesforce_id18(id15) == id18


@pytest.mark.parametrize(("id15", "id18"), KNOWN_IDS)
def test_id18_accepts_correct_18(id15: str, id18: str) -> None:
    assert salesforce_id18(id18) == id18


def test_id18_strips_whitespace() -> None:
    assert salesforce_id18("  001A0000006Vm9r\t") == "001A0000006Vm9rIAC"


def test_id18_rejects_wrong_suffix() -> None:
    with pytest.raises(ValueError, match="ends in 'IAD' but its case checksum is 'IAC'"):
        salesforce_id18("001A0000006Vm9rIAD")


def test_id18_suffix_case_insensitive() -> None:
    # The suffix only encodes the case of the body, so its own case carries nothing. A
    # lower-case suffix that matches is accepted and returned in upper case.
    assert salesforce_id18("001A0000006Vm9riac") == "001A0000006Vm9rIAC"


def test_id18_body_case_sensitive() -> None:
    # Lower-casing the body gives another id: '001a0000006vm9r' has no upper-case letter,
    # so its checksum is 'AAA', and the old suffix 'IAC' no longer matches.
    with pytest.raises(ValueError, match="ends in 'IAC' but its case checksum is 'AAA'"):
        salesforce_id18("001a0000006vm9rIAC")

    # An id lower-cased as a whole (as some spreadsheets do) is rejected the same way.
    with pytest.raises(ValueError, match="ends in 'iac' but its case checksum is 'AAA'"):
        salesforce_id18("001a0000006vm9riac")


def test_id18_body_case_changes_checksum() -> None:
    # 'x' and 'X' in the body are different ids. '001A0000006Vm9R' adds R at bit 4 of
    # chunk 3: 2 + 16 = 18 -> 'S', so the suffix is 'IAS' instead of 'IAC'.
    assert salesforce_id18("001A0000006Vm9R") == "001A0000006Vm9RIAS"


@pytest.mark.parametrize(
    ("value", "length"),
    [("001A0000006Vm9", 14), ("001A0000006Vm9rI", 16), ("001A0000006Vm9rIACX", 19), ("", 0)],
)
def test_id18_rejects_wrong_length(value: str, length: int) -> None:
    with pytest.raises(ValueError, match=f"has {length} characters, but a Salesforce id has 15"):
        salesforce_id18(value)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("001A-000006Vm9r", "'-'"),
        ("001A 000006Vm9r", "' '"),
        ("001Ä0000006Vm9r", "'Ä'"),
        ("ana@example.com", "'.', '@'"),
    ],
)
def test_id18_rejects_bad_characters(value: str, shown: str) -> None:
    with pytest.raises(ValueError, match=f"contains {shown}, but a Salesforce id has only"):
        salesforce_id18(value)


# -- salesforce_ids -------------------------------------------------------------------------


def test_ids_column_converted() -> None:
    values = pd.Series(["001A0000006Vm9r", None, "", "  ", math.nan, "003A0000005QB3AIAW"])
    values.name = "account_id"

    result = salesforce_ids(values, file="accounts.csv", column="account_id")

    assert result.tolist() == [
        "001A0000006Vm9rIAC",
        None,
        None,
        None,
        None,
        "003A0000005QB3AIAW",
    ]
    assert result.index.equals(values.index)
    assert result.name == "account_id"


def test_ids_duplicates_allowed() -> None:
    # The 15- and 18-character forms of one id give the same result, which is not an error.
    values = pd.Series(["001A0000006Vm9r", "001A0000006Vm9rIAC"])

    result = salesforce_ids(values, file="accounts.csv", column="account_id")

    assert result.tolist() == ["001A0000006Vm9rIAC", "001A0000006Vm9rIAC"]


def test_ids_error_names_row_and_value() -> None:
    # Index 1 is spreadsheet row 3 (header row 1, first data row 2).
    values = pd.Series(["001A0000006Vm9r", "001A0000006Vm9rX", "003A0000005QB3A"])

    with pytest.raises(InputError) as caught:
        salesforce_ids(values, file="accounts.csv", column="sf_id")

    message = str(caught.value)
    assert message.startswith("accounts.csv, row 3, column 'sf_id':")
    assert "'001A0000006Vm9rX'" in message
    assert "has 16 characters, but a Salesforce id has 15 or 18" in message
    assert "Fix: copy the 15- or 18-character id from Salesforce" in message
    assert "other row" not in message


def test_ids_error_counts_other_rows() -> None:
    # Rows 3, 4 and 6 are rejected: the message shows row 3 and counts the other 2.
    values = pd.Series(["001A0000006Vm9r", "bad-id", "001A0000006Vm9rIAD", "", "x"])

    with pytest.raises(InputError) as caught:
        salesforce_ids(values, file="accounts.csv", column="sf_id")

    message = str(caught.value)
    assert "row 3," in message
    assert "'bad-id'" in message
    assert "(2 other rows have a rejected value in this column)" in message


def test_ids_error_counts_one_other_row() -> None:
    values = pd.Series(["bad-id", "x"])

    with pytest.raises(InputError, match=r"\(1 other row has a rejected value in this column\)"):
        salesforce_ids(values, file="accounts.csv", column="sf_id")


def test_ids_prefix_accepted() -> None:
    values = pd.Series(["001A0000006Vm9r", None])

    result = salesforce_ids(values, file="a.csv", column="sf_id", prefix="001", what="account")

    assert result.tolist() == ["001A0000006Vm9rIAC", None]


def test_ids_prefix_rejected() -> None:
    # Row 2 contains a Contact id (prefix 003) in a column of Account ids (prefix 001).
    values = pd.Series(["003A0000005QB3A", "001A0000006Vm9r"])

    with pytest.raises(InputError) as caught:
        salesforce_ids(values, file="a.csv", column="sf_id", prefix="001", what="account")

    message = str(caught.value)
    assert "row 2," in message
    assert "'003A0000005QB3A'" in message
    assert "is not an account id (account ids start with 001)" in message
    assert "Fix:" in message


def test_ids_prefix_default_what() -> None:
    values = pd.Series(["001A0000006Vm9r"])

    with pytest.raises(InputError, match=r"is not a record id \(record ids start with 005\)"):
        salesforce_ids(values, file="reps.csv", column="user_id", prefix="005")


def test_ids_prefix_case_sensitive() -> None:
    # Key prefixes are part of the case-sensitive id, so '00q' does not match '00Q'.
    values = pd.Series(["00QA0000006Vm9r"])

    with pytest.raises(InputError, match="lead ids start with 00q"):
        salesforce_ids(values, file="a.csv", column="id", prefix="00q", what="lead")


@pytest.mark.parametrize("prefix", ["01", "0011", "00-"])
def test_ids_bad_prefix_argument(prefix: str) -> None:
    with pytest.raises(ValueError, match="is not a 3-character Salesforce key prefix"):
        salesforce_ids(pd.Series(["001A0000006Vm9r"]), file="a.csv", column="id", prefix=prefix)


# -- developer_name -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("ENT-T01", "ENT_T01"),
        ("Enterprise / West", "Enterprise_West"),
        ("Zürich Nord", "Zurich_Nord"),  # ü decomposes to u + a combining mark
        ("Ñandú", "Nandu"),
        ("Straße", "Strae"),  # ß has no decomposition and is dropped
        ("2027 plan", "X2027_plan"),
        ("", "X"),
        ("---", "X"),
        ("日本", "X"),  # nothing ASCII remains
        ("a__b", "a_b"),
        ("a _ - b", "a_b"),
        ("West_", "West"),
        ("_West", "West"),
        ("  West  ", "West"),
        ("_9 lives", "X9_lives"),
    ],
)
def test_developer_name_cases(label: str, expected: str) -> None:
    assert developer_name(label) == expected


def test_developer_name_cut_to_80() -> None:
    assert developer_name("a" * 100) == "a" * 80


def test_developer_name_cut_strips_underscore() -> None:
    # 79 letters, then '-b': the name is 'aaa...a_b' (81 characters), cut to 80 it ends in
    # '_', which is stripped, leaving 79 letters.
    assert developer_name("a" * 79 + "-b") == "a" * 79


def test_developer_name_prefix_counts_in_80() -> None:
    # '1' then 85 letters: 'X1' plus 78 letters fills the 80 characters.
    assert developer_name("1" + "a" * 85) == "X1" + "a" * 78


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("ENT_T01", True),
        ("X", True),
        ("a" * 80, True),
        ("a" * 81, False),
        ("", False),
        ("1abc", False),
        ("_abc", False),
        ("abc_", False),
        ("a__b", False),
        ("a-b", False),
        ("Zürich", False),
        ("abc\n", False),
    ],
)
def test_is_developer_name_cases(name: str, valid: bool) -> None:
    assert is_developer_name(name) is valid


@pytest.mark.parametrize(
    "label",
    ["", "  ", "__", "1", "ENT-T01", "Zürich / Genève", "a" * 79 + "-b", "9" * 200, "__x__"],
)
def test_developer_name_always_valid(label: str) -> None:
    assert is_developer_name(developer_name(label))


# -- developer_names ------------------------------------------------------------------------


def test_developer_names_distinct() -> None:
    names = developer_names(["ENT-T01", "SMB-T02"], what="territory", source="plan.yaml")

    assert names == ["ENT_T01", "SMB_T02"]


def test_developer_names_duplicate_rejected() -> None:
    labels = ["ENT-T01", "SMB-T02", "ENT T01"]

    with pytest.raises(InputError) as caught:
        developer_names(labels, what="territory", source="plan.yaml")

    message = str(caught.value)
    assert message.startswith("plan.yaml: ")
    assert "territory labels 'ENT-T01' and 'ENT T01' both give the DeveloperName 'ENT_T01'" in (
        message
    )
    assert "Fix: rename one of them, or pass --allow duplicate-names" in message


def test_developer_names_duplicates_renamed() -> None:
    labels = ["ENT-T01", "ENT T01", "SMB", "ENT/T01"]

    names = developer_names(labels, what="territory", source="plan.yaml", rename=True)

    assert names == ["ENT_T01", "ENT_T01_2", "SMB", "ENT_T01_3"]


def test_developer_names_rename_keeps_natural_names() -> None:
    # 'a!' collides with 'a'. Its first suffix would be 'a_2', but the later label 'a_2'
    # gives that name without a suffix, so 'a!' gets 'a_3'.
    names = developer_names(["a", "a!", "a_2"], what="territory", source="p.yaml", rename=True)

    assert names == ["a", "a_3", "a_2"]


def test_developer_names_rename_cuts_stem() -> None:
    # Both labels give 80 letters. The suffix '_2' needs 2 characters, so the stem keeps 78.
    labels = ["a" * 80, "a" * 80 + "!"]

    names = developer_names(labels, what="territory", source="p.yaml", rename=True)

    assert names == ["a" * 80, "a" * 78 + "_2"]


def test_developer_names_rename_stem_underscore() -> None:
    # Both labels give 77 letters + '_bc' (80 characters). Cut to 78 for the suffix, the
    # stem ends in '_', which is stripped so that the name has no '__': 77 letters + '_2'.
    labels = ["a" * 77 + " bc", "a" * 77 + "-bc"]

    names = developer_names(labels, what="territory", source="p.yaml", rename=True)

    assert names == ["a" * 77 + "_bc", "a" * 77 + "_2"]
    assert all(is_developer_name(name) for name in names)


def test_developer_names_repeated_label_bug() -> None:
    with pytest.raises(ValueError, match="territory label 'ENT-T01' is given more than once"):
        developer_names(["ENT-T01", "SMB", "ENT-T01"], what="territory", source="p.yaml")


# -- emails ---------------------------------------------------------------------------------


def test_emails_normalized() -> None:
    # email-validator lower-cases the domain and keeps the case of the local part.
    values = pd.Series(["Ana.Lopez@Example.COM", None, "", "  bo@example.org  "], name="email")

    result = emails(values, file="reps.csv", column="email")

    assert result.tolist() == ["Ana.Lopez@example.com", None, None, "bo@example.org"]
    assert result.name == "email"


def test_emails_international_domain() -> None:
    values = pd.Series(["jose@exämple.com"])

    assert emails(values, file="reps.csv", column="email").tolist() == ["jose@exämple.com"]


def test_emails_invalid_names_row() -> None:
    # Index 2 is spreadsheet row 4. Row 5 is invalid too and is counted.
    values = pd.Series(["ana@example.com", "bo@example.org", "carla.example.com", "d@@x.com"])

    with pytest.raises(InputError) as caught:
        emails(values, file="reps.csv", column="email")

    message = str(caught.value)
    assert message.startswith("reps.csv, row 4, column 'email':")
    assert "'carla.example.com'" in message
    assert "is not a valid email address (An email address must have an @-sign)" in message
    assert "(1 other row has a rejected value in this column)" in message
    assert "Fix: write the address as name@domain" in message


@pytest.mark.parametrize(
    "address", ["a..b@example.com", "ana@localhost", "ana@example.test", "ana lopez@example.com"]
)
def test_emails_invalid_forms(address: str) -> None:
    with pytest.raises(InputError, match="is not a valid email address"):
        emails(pd.Series([address]), file="reps.csv", column="email")
