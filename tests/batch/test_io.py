"""Reading logs in chunks or whole, and writing outputs that appear only on success."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscore.batch import columns as c
from riskscore.batch.columns import BatchInputError, parse_mapping
from riskscore.batch.io import (
    REJECT_COLUMNS,
    LogFormat,
    OutputWriter,
    RejectsWriter,
    chunk_from_frame,
    log_format,
    read_all,
    read_header,
    read_log,
    rejects_path_for,
)

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "rba-sample-100k.csv.gz"


@pytest.fixture(scope="module")
def head() -> pd.DataFrame:
    """The sample's first 2,000 rows exactly as text."""
    return pd.read_csv(SAMPLE, nrows=2000, dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", ["log.csv", "log.csv.gz", "log.parquet"])
def test_read_all_gives_the_text_of_mapped_columns(
    head: pd.DataFrame, tmp_path: Path, name: str
) -> None:
    path = _write(head, tmp_path / name)
    chunk = read_all(path)
    assert chunk.first_row == 1
    assert list(chunk.frame.columns) == chunk.columns.canonical
    assert c.IS_ATTACK_IP in chunk.columns.labels
    # Text kept exactly: "" stays "" (keep_default_na=False), "-" and ids untouched.
    assert chunk.frame[c.USER].tolist() == head["User ID"].tolist()
    assert chunk.frame[c.REGION].tolist() == head["Region"].tolist()
    assert chunk.frame[c.RTT_MS].tolist() == head["Round-Trip Time [ms]"].tolist()
    assert chunk.frame[c.USER_AGENT].tolist() == head["User Agent String"].tolist()


@pytest.mark.parametrize("name", ["log.csv.gz", "log.parquet"])
@pytest.mark.parametrize("rows", [1, 7, 500, 1999, 2000, 5000])
def test_chunks_concatenate_to_the_whole_with_absolute_row_numbers(
    head: pd.DataFrame, tmp_path: Path, name: str, rows: int
) -> None:
    n = 30 if rows < 10 else len(head)  # thousands of one-row chunks would only be slow
    path = _write(head.iloc[:n], tmp_path / name)
    chunks = list(read_log(path, chunk_rows=rows))
    assert [ch.first_row for ch in chunks] == list(range(1, n + 1, rows))
    assert all(len(ch.frame) == rows for ch in chunks[:-1])
    joined = pd.concat([ch.frame for ch in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(joined, read_all(path).frame)


def test_only_mapped_columns_are_read(head: pd.DataFrame, tmp_path: Path) -> None:
    path = _write(head.assign(Secret="x"), tmp_path / "log.csv")
    mapping = parse_mapping("country=,user_agent=")
    chunk = read_all(path, mapping, labels=False)
    assert c.COUNTRY not in chunk.frame
    assert c.USER_AGENT not in chunk.frame
    assert "Secret" not in chunk.frame
    assert not set(c.LABELS) & set(chunk.frame.columns)


def test_missing_required_column_fails_before_any_data_is_read(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    # The body is not even CSV of the header's width: reading it would fail differently.
    path.write_text('when,who,IP Address,Login Successful\n"unterminated,1,2,3,4,5\n')
    with pytest.raises(BatchInputError) as caught:
        read_log(path)  # raises at the call, not at the first next()
    assert "'Login Timestamp'" in str(caught.value)
    assert "--columns timestamp=" in str(caught.value)


def test_a_remapped_header_is_read_through_columns(head: pd.DataFrame, tmp_path: Path) -> None:
    renamed = head.rename(columns={"Login Timestamp": "when", "User ID": "who"})
    path = _write(renamed, tmp_path / "log.csv")
    with pytest.raises(BatchInputError):
        read_log(path)
    mapping = parse_mapping("timestamp=when,user=who")
    chunk = next(read_log(path, mapping))
    assert chunk.columns.source(c.TIMESTAMP) == "when"
    assert chunk.frame[c.USER].tolist()[:3] == head["User ID"].tolist()[:3]


def test_typed_parquet_columns_become_the_same_text_as_csv(tmp_path: Path) -> None:
    typed = pd.DataFrame(
        {
            "Login Timestamp": np.array(["2020-02-04T17:14:40.001", "2020-02-04"], "M8[ms]"),
            "User ID": np.array([-4324475583306591935, 7], dtype=np.int64),
            "Round-Trip Time [ms]": [np.nan, 540.0],
            "IP Address": ["10.0.0.1", "::1"],
            "ASN": [132676, 29695],
            "Login Successful": [True, False],
            "Is Attack IP": pd.array([True, None], dtype="boolean"),
        }
    )
    path = _write(typed, tmp_path / "log.parquet")
    frame = read_all(path).frame
    assert frame[c.USER].tolist() == ["-4324475583306591935", "7"]
    assert frame[c.SUCCESS].tolist() == ["true", "false"]
    assert frame[c.ASN].tolist() == ["132676", "29695"]
    assert frame[c.IS_ATTACK_IP].tolist() == ["true", ""]
    assert frame[c.RTT_MS].tolist()[1] == "540"
    assert frame[c.TIMESTAMP].tolist()[0].startswith("2020-02-04 17:14:40.001")
    pd.testing.assert_frame_equal(chunk_from_frame(typed).frame, frame)


def test_quoted_newlines_and_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(
        b"\xef\xbb\xbfLogin Timestamp,User ID,IP Address,Login Successful,User Agent String\n"
        b'2020-02-04 17:14:40,u1,1.2.3.4,True,"two\nlines"\n'
    )
    assert read_header(path)[0] == "Login Timestamp"
    assert read_all(path).frame[c.USER_AGENT].tolist() == ["two\nlines"]


def test_a_malformed_csv_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("Login Timestamp,User ID,IP Address,Login Successful\n1,2,3,4,5,6\n")
    with pytest.raises(BatchInputError, match=r"log\.csv"):
        read_all(path)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", LogFormat.CSV),
        ("a.CSV.GZ", LogFormat.CSV_GZ),
        ("a.b.parquet", LogFormat.PARQUET),
    ],
)
def test_format_by_extension(name: str, fmt: LogFormat) -> None:
    assert log_format(Path(name)) is fmt


def test_unknown_extension_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BatchInputError, match=r"--input: cannot tell the format.*\.parquet"):
        read_log(tmp_path / "log.json")
    with pytest.raises(BatchInputError, match="--output"):
        OutputWriter(tmp_path / "out.xlsx")


def _scores(start: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    return pd.DataFrame(
        {
            "index": np.arange(start, start + n, dtype=np.int64),
            "risk_score": rng.random(n),
            "risk_level": rng.choice(["low", "medium", "high"], n),
            "reasons": ["NEW_DEVICE,NEW_COUNTRY"] * n,
        }
    )


def _read(path: Path) -> pd.DataFrame:
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False)


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.parquet"])
def test_output_round_trips_over_chunks(tmp_path: Path, name: str) -> None:
    parts = [_scores(0, 5), _scores(5, 0), _scores(5, 3)]
    path = tmp_path / name
    with OutputWriter(path) as out:
        for part in parts:
            out.write(part)
    assert out.rows == 8
    back = _read(path)
    expected = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False, check_exact=False)
    assert back["risk_score"].tolist() == pytest.approx(expected["risk_score"].tolist())
    assert [p.name for p in tmp_path.iterdir()] == [name]
    if name.endswith(".gz"):
        assert gzip.decompress(path.read_bytes()).count(b"risk_score") == 1


def test_parquet_later_chunks_are_cast_to_the_first_schema(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    with OutputWriter(path) as out:
        out.write(pd.DataFrame({"risk_score": [0.5], "index": [1]}))
        out.write(pd.DataFrame({"index": [2], "risk_score": [1]}))  # int, other order
    back = pd.read_parquet(path)
    assert back["risk_score"].dtype == np.float64
    assert back["index"].tolist() == [1, 2]


def _write_then(path: Path, *parts: pd.DataFrame, error: Exception | None = None) -> None:
    with OutputWriter(path) as out:
        for part in parts:
            out.write(part)
        if error is not None:
            raise error


def test_an_empty_first_chunk_does_not_fix_the_types(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    empty = pd.DataFrame({"index": pd.Series([], dtype=object), "reasons": []})
    _write_then(path, empty, pd.DataFrame({"index": [7], "reasons": ["NEW_DEVICE"]}))
    assert pd.read_parquet(path).to_dict("list") == {"index": [7], "reasons": ["NEW_DEVICE"]}
    _write_then(path, empty)
    assert list(pd.read_parquet(path).columns) == ["index", "reasons"]


def test_a_chunk_with_other_columns_is_refused(tmp_path: Path) -> None:
    other = _scores(2, 2).drop(columns="reasons")
    with pytest.raises(ValueError, match="differ"):
        _write_then(tmp_path / "o.csv", _scores(0, 2), other)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.parquet"])
def test_a_failed_run_leaves_no_file_under_the_final_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(RuntimeError, match="scoring broke"):
        _write_then(path, _scores(0, 1000), error=RuntimeError("scoring broke"))
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_keeps_the_previous_output(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("previous\n")
    with pytest.raises(RuntimeError):
        _write_then(path, _scores(0, 3), error=RuntimeError())
    assert path.read_text() == "previous\n"
    assert list(tmp_path.iterdir()) == [path]


def test_nothing_exists_until_close(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    out = OutputWriter(path)
    out.write(_scores(0, 2))
    assert not path.exists()
    out.close()
    assert len(pd.read_parquet(path)) == 2
    with pytest.raises(ValueError, match="closed"):
        out.write(_scores(2, 1))


def test_rejects_file_has_a_header_even_when_empty(tmp_path: Path) -> None:
    path = rejects_path_for(tmp_path / "scored.csv.gz")
    assert path == tmp_path / "scored.rejects.csv"
    with RejectsWriter(path) as rejects:
        pass
    assert path.read_text() == ",".join(REJECT_COLUMNS) + "\n"
    assert rejects.rows == 0


def test_rejects_are_appended_per_chunk(tmp_path: Path) -> None:
    path = rejects_path_for(tmp_path / "scored.parquet")
    one = pd.DataFrame(
        {
            "reason": ["not an IP address"],
            "row": [3],
            "index": ["102"],
            "column": ["IP Address"],
            "value": ["999.1.1.1"],
        }
    )
    with RejectsWriter(path) as rejects:
        rejects.write(one)
        rejects.write(one.assign(row=9, value='a, "quoted"\nvalue'))
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back.columns) == list(REJECT_COLUMNS)
    assert back["row"].tolist() == ["3", "9"]
    assert back["value"].tolist() == ["999.1.1.1", 'a, "quoted"\nvalue']
    assert rejects.rows == 2


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("out.csv", "out.rejects.csv"),
        ("x/out.parquet", "x/out.rejects.csv"),
        ("o.v2", "o.v2.rejects.csv"),
    ],
)
def test_rejects_path_beside_the_output(output: str, expected: str) -> None:
    assert rejects_path_for(Path(output)) == Path(expected)
