"""Tests for solver.export.files: CSV cell text, RFC 4180 quoting, parts, BOM and read-back."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from solver.export.files import (
    FORMULA_PREFIXES,
    csv_text,
    neutralise,
    read_back,
    sha256,
    write_csv_parts,
)


def _records(path: Path) -> list[bytes]:
    """Return the lines after the header of a file without quoted line breaks."""
    return path.read_bytes().split(b"\r\n")[1:-1]


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_neutralise_each_formula_prefix(prefix: str) -> None:
    text = prefix + "HYPERLINK(1)"

    assert prefix in FORMULA_PREFIXES
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["Acme Corp", "a=b", "'=already quoted", " =space first", ""])
def test_neutralise_harmless_text_unchanged(text: str) -> None:
    assert neutralise(text) == text


def test_csv_text_neutralises_text_not_numbers() -> None:
    frame = pd.DataFrame(
        {
            "name": ['=HYPERLINK("x")', "-2+3", "@SUM(A1)", "Acme"],
            "delta": [-5, 0, 7, -12],
            "share": [-0.5, 0.25, -3.0, 1.0],
        }
    )

    # Text cells get an apostrophe; the first one also contains quotes, so it is quoted with
    # its inner quotes doubled. Negative integers and floats are written as plain numbers.
    expected = (
        "name,delta,share\r\n"
        '"\'=HYPERLINK(""x"")",-5,-0.5\r\n'
        "'-2+3,0,0.25\r\n"
        "'@SUM(A1),7,-3\r\n"
        "Acme,-12,1\r\n"
    )
    assert csv_text(frame) == expected


def test_csv_text_header_not_neutralised() -> None:
    frame = pd.DataFrame({"-delta": [1], "=name": ["x"]})

    assert csv_text(frame) == "-delta,=name\r\n1,x\r\n"


def test_write_quotes_per_rfc_4180(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "name": ["Smith, John", 'The "Best" Co', "line1\nline2", "cr\rhere", "plain"],
            "n": [1, 2, 3, 4, 5],
        }
    )

    [path] = write_csv_parts(frame, tmp_path, "accounts")

    # Only fields with a comma, a quote, CR or LF are quoted, and inner quotes are doubled.
    expected = (
        b"name,n\r\n"
        b'"Smith, John",1\r\n'
        b'"The ""Best"" Co",2\r\n'
        b'"line1\nline2",3\r\n'
        b'"cr\rhere",4\r\n'
        b"plain,5\r\n"
    )
    assert path == tmp_path / "accounts.csv"
    assert path.read_bytes() == expected


def test_lines_end_with_crlf() -> None:
    frame = pd.DataFrame({"id": ["A1", "A2"], "n": [1, 2]})

    text = csv_text(frame)

    assert text.endswith("\r\n")
    assert text.count("\r\n") == 3
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")


def test_cells_by_dtype() -> None:
    frame = pd.DataFrame(
        {
            "active": [True, False, True],
            "count": [0, 1019309500, -5],
            "value": [1019309500.0, 0.1234567, np.nan],
            "small": [1e-6, -1e-7, 2.5],
            "label": ["x", None, np.nan],
        }
    )

    # 0.1234567 rounds to 0.123457. -1e-7 rounds to -0.0, written as 0. 1e-6 stays
    # positional, where repr would give 1e-06. Integral floats lose their ".0".
    expected = (
        "active,count,value,small,label\r\n"
        "true,0,1019309500,0.000001,x\r\n"
        "false,1019309500,0.123457,0,\r\n"
        "true,-5,,2.5,\r\n"
    )
    assert csv_text(frame) == expected


def test_nullable_and_mixed_columns() -> None:
    frame = pd.DataFrame(
        {
            "ints": pd.array([1, None, -3], dtype="Int64"),
            "flags": pd.array([True, None, False], dtype="boolean"),
            "mixed": pd.Series([-5, 2.0, "-x"], dtype=object),
        }
    )

    # In the object column the numbers are written as numbers and not neutralised, the
    # text "-x" is neutralised.
    expected = "ints,flags,mixed\r\n1,true,-5\r\n,,2\r\n-3,false,'-x\r\n"
    assert csv_text(frame) == expected


def test_infinite_float_raises() -> None:
    frame = pd.DataFrame({"ramp_factor": [1.0, np.inf]})

    with pytest.raises(ValueError, match="column 'ramp_factor': inf is not a finite number"):
        csv_text(frame)


def test_frame_without_columns_raises() -> None:
    with pytest.raises(ValueError, match="frame without columns"):
        csv_text(pd.DataFrame(index=[0, 1]))


def test_leading_zeros_kept(tmp_path: Path) -> None:
    frame = pd.DataFrame({"zip": ["02134", "00501"], "county_fips": ["01001", "06001"]})

    paths = write_csv_parts(frame, tmp_path, "accounts")

    assert paths[0].read_bytes() == b"zip,county_fips\r\n02134,01001\r\n00501,06001\r\n"
    back = read_back(paths)
    assert back["zip"].tolist() == ["02134", "00501"]
    assert back["county_fips"].tolist() == ["01001", "06001"]


def test_bom_on_and_off(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["A1"]})

    [with_bom] = write_csv_parts(frame, tmp_path / "bom", "accounts", bom=True)
    [without_bom] = write_csv_parts(frame, tmp_path / "plain", "accounts")

    assert codecs.BOM_UTF8 == b"\xef\xbb\xbf"
    assert with_bom.read_bytes() == b"\xef\xbb\xbfid\r\nA1\r\n"
    assert without_bom.read_bytes() == b"id\r\nA1\r\n"
    assert read_back([with_bom]).columns.tolist() == ["id"]


def test_bom_on_every_part(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["A1", "A2", "A3"]})

    paths = write_csv_parts(frame, tmp_path, "accounts", max_rows=2, bom=True)

    # max_rows=2 leaves one record per part: three parts.
    assert len(paths) == 3
    for path in paths:
        assert path.read_bytes().startswith(b"\xef\xbb\xbfid\r\n")


def test_split_by_rows(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [f"A{i}" for i in range(1, 8)]})

    paths = write_csv_parts(frame, tmp_path, "accounts", max_rows=3)

    # max_rows=3 counts the header, so 2 records per part: 7 records give 2, 2, 2, 1.
    assert [path.name for path in paths] == [
        "accounts_part001.csv",
        "accounts_part002.csv",
        "accounts_part003.csv",
        "accounts_part004.csv",
    ]
    assert not (tmp_path / "accounts.csv").exists()
    for path in paths:
        assert path.read_bytes().startswith(b"id\r\n")
    assert [_records(path) for path in paths] == [
        [b"A1", b"A2"],
        [b"A3", b"A4"],
        [b"A5", b"A6"],
        [b"A7"],
    ]


def test_rows_fit_one_file(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["A1", "A2"]})

    paths = write_csv_parts(frame, tmp_path, "accounts", max_rows=3, max_bytes=12)

    # Header + 2 records = 3 rows, and 4 + 4 + 4 = 12 bytes: both limits are met exactly,
    # so there is one file without a part number.
    assert paths == [tmp_path / "accounts.csv"]
    assert paths[0].read_bytes() == b"id\r\nA1\r\nA2\r\n"


def test_split_by_bytes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "bb", "ccc", "éé", "e"]})

    paths = write_csv_parts(frame, tmp_path, "accounts", max_bytes=12)

    # Header "id\r\n" is 4 bytes, leaving 8 per part. Row sizes with CRLF: a=3, bb=4,
    # ccc=5, éé=6 (é is 2 bytes in UTF-8) and e=3. Filling greedily:
    #   part 1: a + bb = 7, and adding ccc would make 12 > 8.
    #   part 2: ccc = 5, and adding éé would make 11 > 8.
    #   part 3: éé = 6, and adding e would make 9 > 8 (counting characters, 4 + 3 = 7 fits).
    #   part 4: e = 3.
    # Files: 4+7=11, 4+5=9, 4+6=10 and 4+3=7 bytes.
    assert [_records(path) for path in paths] == [
        [b"a", b"bb"],
        [b"ccc"],
        ["éé".encode()],
        [b"e"],
    ]
    assert [path.stat().st_size for path in paths] == [11, 9, 10, 7]
    for path in paths:
        assert path.stat().st_size <= 12


def test_split_by_bytes_counts_bom(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "bb", "ccc", "éé", "e"]})

    paths = write_csv_parts(frame, tmp_path, "accounts", max_bytes=15, bom=True)

    # BOM 3 + header 4 = 7 bytes, leaving 8 per part as in the test without BOM, so the
    # parts are the same and each file is 3 bytes larger: 14, 12, 13, 10.
    assert [_records(path) for path in paths] == [
        [b"a", b"bb"],
        [b"ccc"],
        ["éé".encode()],
        [b"e"],
    ]
    assert [path.stat().st_size for path in paths] == [14, 12, 13, 10]


def test_split_by_rows_and_bytes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c", "dddddd"]})

    paths = write_csv_parts(frame, tmp_path, "accounts", max_rows=3, max_bytes=14)

    # The header is 4 bytes, leaving 10. a, b and c are 3 bytes each, and dddddd is 8.
    # max_rows allows two records, so part 1 is [a, b]. Part 2 starts with c = 3, and
    # adding dddddd would make 11 > 10, so dddddd gets part 3.
    assert [_records(path) for path in paths] == [[b"a", b"b"], [b"c"], [b"dddddd"]]


def test_row_too_large_raises(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "ccccc"]})

    # Header 4 bytes + "ccccc\r\n" 7 bytes = 11 bytes, over the limit of 8.
    message = r"row 2 \(index 1\) needs 11 bytes with the header, more than max_bytes=8"
    with pytest.raises(ValueError, match=message):
        write_csv_parts(frame, tmp_path, "accounts", max_bytes=8)
    assert list(tmp_path.iterdir()) == []


def test_header_too_large_raises(tmp_path: Path) -> None:
    frame = pd.DataFrame({"account_id": []}, dtype=str)

    # "account_id\r\n" is 12 bytes.
    with pytest.raises(ValueError, match="header alone is 12 bytes, more than max_bytes=11"):
        write_csv_parts(frame, tmp_path, "accounts", max_bytes=11)


@pytest.mark.parametrize("max_rows", [1, 0])
def test_max_rows_below_two_raises(tmp_path: Path, max_rows: int) -> None:
    frame = pd.DataFrame({"id": ["A1"]})

    with pytest.raises(ValueError, match=f"max_rows must be at least 2.*got {max_rows}"):
        write_csv_parts(frame, tmp_path, "accounts", max_rows=max_rows)


def test_stem_with_folder_raises(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["A1"]})

    with pytest.raises(ValueError, match="stem must be a plain file name"):
        write_csv_parts(frame, tmp_path, "sub/accounts")


def test_empty_frame_writes_header(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": pd.Series([], dtype=str), "n": pd.Series([], dtype=int)})

    paths = write_csv_parts(frame, tmp_path, "accounts", max_rows=2, max_bytes=100)

    assert paths == [tmp_path / "accounts.csv"]
    assert paths[0].read_bytes() == b"id,n\r\n"
    assert read_back(paths).columns.tolist() == ["id", "n"]
    assert len(read_back(paths)) == 0


def test_read_back_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "name": ["Nestlé", "東京", "=cmd|' /C calc'!A0", 'Smith, "J"\r\nLtd', ""],
            "zip": ["01001", "02134", "", "10001", "99501"],
            "count": [1, -2, 3, 4, 5],
        }
    )

    paths = write_csv_parts(frame, tmp_path, "accounts", max_rows=3, bom=True)
    back = read_back(paths)

    # Five records at two per part give three parts, concatenated in order. The formula
    # comes back with its apostrophe, the count as text.
    assert len(paths) == 3
    expected = pd.DataFrame(
        {
            "name": ["Nestlé", "東京", "'=cmd|' /C calc'!A0", 'Smith, "J"\r\nLtd', ""],
            "zip": ["01001", "02134", "", "10001", "99501"],
            "count": ["1", "-2", "3", "4", "5"],
        }
    )
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


def test_read_back_keeps_empty_single_column_row(tmp_path: Path) -> None:
    frame = pd.DataFrame({"note": ["", "x"]})

    paths = write_csv_parts(frame, tmp_path, "notes")

    # An empty sole field is written as "" so the line is not blank and is not skipped.
    assert paths[0].read_bytes() == b'note\r\n""\r\nx\r\n'
    assert read_back(paths)["note"].tolist() == ["", "x"]


def test_read_back_without_paths_raises() -> None:
    with pytest.raises(ValueError, match="at least one CSV path"):
        read_back([])


def test_sha256_known_digests(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    abc = tmp_path / "abc"
    abc.write_bytes(b"abc")

    # Well-known SHA-256 digests of the empty input and of "abc".
    assert sha256(empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256(abc) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_same_frame_same_bytes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": [f"A{i}" for i in range(10)],
            "name": ["Nestlé", "東京", "-x", "a,b", 'q"q', "n\nl", "", "z", "y", "w"],
            "value": [i / 3 for i in range(10)],
        }
    )

    first = write_csv_parts(frame, tmp_path / "first", "accounts", max_bytes=60)
    second = write_csv_parts(frame, tmp_path / "second", "accounts", max_bytes=60)

    assert [path.name for path in first] == [path.name for path in second]
    assert len(first) > 1
    for first_path, second_path in zip(first, second, strict=True):
        assert first_path.read_bytes() == second_path.read_bytes()
        assert sha256(first_path) == sha256(second_path)
