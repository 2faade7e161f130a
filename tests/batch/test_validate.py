"""Typing raw chunks into canonical rows, rejecting bad ones with exact row numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.batch import columns as c
from riskscore.batch import validate as v
from riskscore.batch.categories import concat_frames
from riskscore.batch.columns import BatchInputError, parse_mapping
from riskscore.batch.io import chunk_from_frame, read_all, read_log
from riskscore.batch.rba import observation_from_row
from riskscore.batch.validate import (
    Validated,
    sort_by_time,
    time_sorted,
    validate,
)
from riskscore.core import features as f
from riskscore.enrich.geo import packaged_city_database
from riskscore.learn.simulate import simulate, write_log
from riskscore.learn.world import build_world

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "rba-sample-100k.csv.gz"
TYPES = {
    "row": "int64",
    "index": "int64",
    "timestamp": "datetime64[ns, UTC]",
    "ts_ns": "int64",
    "user": "category",
    "ip": "category",
    "success": "bool",
    "rtt_ms": "float64",
    "country": "category",
    "region": "category",
    "city": "category",
    "asn": "Int64",
    "user_agent": "category",
    "browser": "category",
    "os": "category",
    "device_type": "category",
    "device_key": "category",
}


@pytest.fixture(scope="module")
def head() -> pd.DataFrame:
    """The sample's first 2,000 rows exactly as text."""
    return pd.read_csv(SAMPLE, nrows=2000, dtype=str, keep_default_na=False)


@pytest.fixture
def small(head: pd.DataFrame) -> pd.DataFrame:
    return head.iloc[:30].copy()


def _checked(frame: pd.DataFrame, on_error: v.OnError = "skip", **kw: bool) -> Validated:
    return validate(chunk_from_frame(frame), on_error, **kw)


def test_rba_head_parses_with_zero_rejects(head: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "head.csv.gz"
    head.to_csv(path, index=False)
    out = validate(read_all(path), "fail")
    assert out.rejects.empty
    assert {k: str(t) for k, t in out.frame.dtypes.items()} == TYPES
    assert out.frame["row"].tolist() == list(range(1, 2001))
    assert out.frame["index"].tolist() == list(range(100000, 102000))
    assert out.labels.dtypes.astype(str).to_dict() == {
        "is_attack_ip": "boolean",
        "is_takeover": "boolean",
    }
    assert out.labels["is_attack_ip"].sum() == (head["Is Attack IP"] == "True").sum()
    # The same values as the per-row reader the service path uses (rba.py).
    for at in range(0, 2000, 97):
        obs = observation_from_row({str(k): str(x) for k, x in head.iloc[at].items()})
        row = out.frame.iloc[at]
        assert row["timestamp"] == obs.timestamp
        assert row["ts_ns"] == pd.Timestamp(obs.timestamp).value
        assert (row["country"], row["region"], row["city"]) == (
            obs.place.country,
            obs.place.region,
            obs.place.city,
        )
        assert f.asn_key(int(row["asn"])) == obs.values[f.ASN]
        assert row["ip"] == obs.ip_address
        assert (obs.rtt_ms is None) == bool(np.isnan(row["rtt_ms"]))


BAD = [
    ("Login Timestamp", "yesterday", v.NOT_A_TIMESTAMP),
    ("Login Timestamp", "", v.NOT_A_TIMESTAMP),
    ("Login Timestamp", "2020-02-30 10:00:00", v.NOT_A_TIMESTAMP),
    ("Login Timestamp", "2020-02-04 17:14:40 CET", v.NOT_A_TIMESTAMP),
    ("Login Timestamp", "3000-01-01 00:00:00", v.OUT_OF_RANGE),
    ("User ID", "  ", v.EMPTY_USER),
    ("IP Address", "999.1.1.1", v.NOT_AN_IP),
    ("IP Address", "01.2.3.4", v.NOT_AN_IP),
    ("IP Address", "", v.NOT_AN_IP),
    ("IP Address", "1.2.3.4/24", v.NOT_AN_IP),
    ("Login Successful", "yes", v.NOT_A_BOOLEAN),
    ("Login Successful", "", v.NOT_A_BOOLEAN),
    ("Round-Trip Time [ms]", "-1", v.NEGATIVE_RTT),
    ("Round-Trip Time [ms]", "fast", v.NOT_A_NUMBER),
    ("Round-Trip Time [ms]", "inf", v.NOT_A_NUMBER),
    ("ASN", "12.5", v.NOT_AN_ASN),
    ("ASN", "-1", v.NOT_AN_ASN),
    ("ASN", "4294967296", v.NOT_AN_ASN),
    ("ASN", "Telenor", v.NOT_AN_ASN),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD)
def test_each_bad_value_is_rejected_with_row_column_and_reason(
    small: pd.DataFrame, column: str, value: str, reason: str
) -> None:
    small.loc[16, column] = value
    out = _checked(small)
    assert out.rejects.to_dict("records") == [
        {"row": 17, "index": "100016", "column": column, "value": value, "reason": reason}
    ]
    assert len(out.frame) == 29
    assert 17 not in out.frame["row"].tolist()
    assert len(out.labels) == 29
    assert out.frame.index.equals(pd.RangeIndex(29))


@pytest.mark.parametrize(("column", "value", "reason"), BAD)
def test_fail_mode_raises_on_the_bad_row(
    small: pd.DataFrame, column: str, value: str, reason: str
) -> None:
    small.loc[16, column] = value
    with pytest.raises(BatchInputError) as caught:
        _checked(small, "fail")
    assert str(caught.value) == f"row 17 (index 100016), column {column!r}: {reason}: {value!r}"
    assert (caught.value.row, caught.value.column, caught.value.value) == (17, column, value)


def test_fail_mode_names_the_first_bad_row_in_file_order(small: pd.DataFrame) -> None:
    small.loc[9, "ASN"] = "x"
    small.loc[4, "IP Address"] = "999.1.1.1"
    small.loc[20, "Login Timestamp"] = "soon"
    with pytest.raises(BatchInputError, match=r"^row 5 \(index 100004\), column 'IP Address'"):
        _checked(small, "fail")


def test_a_row_with_several_bad_fields_is_rejected_once(small: pd.DataFrame) -> None:
    small.loc[3, ["ASN", "IP Address", "Login Timestamp"]] = ["x", "y", "z"]
    small.loc[5, ["Round-Trip Time [ms]", "Login Successful"]] = ["-5", "maybe"]
    out = _checked(small)
    assert out.rejects[["row", "column"]].to_dict("records") == [
        {"row": 4, "column": "Login Timestamp"},
        {"row": 6, "column": "Login Successful"},
    ]


def test_rejects_keep_absolute_row_numbers_across_chunks(
    head: pd.DataFrame, tmp_path: Path
) -> None:
    bad = head.copy()
    bad.loc[[0, 299, 300, 1234, 1999], "IP Address"] = "nope"
    bad.loc[700, "Login Successful"] = "?"
    path = tmp_path / "log.csv.gz"
    bad.to_csv(path, index=False)
    whole = validate(read_all(path), "skip")
    parts = [validate(ch, "skip") for ch in read_log(path, chunk_rows=300)]
    assert whole.rejects["row"].tolist() == [1, 300, 301, 701, 1235, 2000]
    assert whole.rejects["index"].tolist() == [
        str(99999 + r) for r in (1, 300, 301, 701, 1235, 2000)
    ]
    for name in ("frame", "labels", "rejects"):
        joined = concat_frames([getattr(p, name) for p in parts])
        pd.testing.assert_frame_equal(joined, getattr(whole, name))


GOOD = [
    ("IP Address", "::ffff:1.2.3.4", c.IP, "1.2.3.4"),
    ("IP Address", "::ffff:0102:0304", c.IP, "1.2.3.4"),
    ("IP Address", "2001:DB8:0:0::1", c.IP, "2001:db8::1"),
    ("IP Address", " 10.0.0.1 ", c.IP, "10.0.0.1"),
    ("Login Timestamp", "2020-02-04T18:00:00+01:00", c.TIMESTAMP, "2020-02-04 17:00:00Z"),
    ("Login Timestamp", "2020-02-04T17:00:00Z", c.TIMESTAMP, "2020-02-04 17:00:00Z"),
    ("Login Timestamp", "2020-02-04", c.TIMESTAMP, "2020-02-04 00:00:00Z"),
    ("Login Timestamp", " 2020-02-04 17:00:00.5", c.TIMESTAMP, "2020-02-04 17:00:00.5Z"),
    ("Login Successful", "true", c.SUCCESS, True),
    ("Login Successful", "1.0", c.SUCCESS, True),
    ("Login Successful", "FALSE", c.SUCCESS, False),
    ("Login Successful", "0", c.SUCCESS, False),
    ("Round-Trip Time [ms]", "540.5", c.RTT_MS, 540.5),
    ("Round-Trip Time [ms]", "0", c.RTT_MS, 0.0),
    ("ASN", "132676.0", c.ASN, 132676),
    ("ASN", "AS15169", c.ASN, 15169),
    ("ASN", "-", c.ASN, None),
    ("Region", "-", c.REGION, ""),
    ("Region", "nan", c.REGION, ""),
    ("Region", "  Viken ", c.REGION, "Viken"),
    ("User ID", " u1 ", c.USER, "u1"),
]


@pytest.mark.parametrize(("column", "value", "field", "expected"), GOOD)
def test_good_values_are_canonicalised(
    small: pd.DataFrame, column: str, value: str, field: str, expected: object
) -> None:
    small.loc[16, column] = value
    out = _checked(small, "fail")
    got = out.frame[field].iloc[16]
    if field == c.TIMESTAMP:
        assert got == pd.Timestamp(str(expected))
        assert out.frame["ts_ns"].iloc[16] == pd.Timestamp(str(expected)).value
    elif expected is None:
        assert got is pd.NA
    else:
        assert got == expected


def test_missing_rtt_and_asn_are_missing_not_zero(small: pd.DataFrame) -> None:
    small.loc[[1, 2], "Round-Trip Time [ms]"] = ["", "nan"]
    small.loc[3, "ASN"] = ""
    out = _checked(small, "fail")
    assert out.frame["rtt_ms"].iloc[1:3].isna().all()
    assert out.frame["asn"].iloc[3] is pd.NA


def test_nanosecond_timestamps_are_kept_exactly(small: pd.DataFrame) -> None:
    small.loc[0, "Login Timestamp"] = "2020-02-04 17:14:40.123456789"
    small.loc[1, "Login Timestamp"] = "2020-02-04 17:14:40.123456789+00:00"
    ts = _checked(small, "fail").frame["ts_ns"]
    assert ts.iloc[0] == ts.iloc[1] == 1580836480123456789


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from([" ", "T"]),
)
def test_fast_and_general_timestamp_parsers_agree(when: list[datetime], sep: str) -> None:
    text = [w.isoformat(sep=sep) for w in when]
    plain = v._timestamps(pd.Series(text, dtype="str"))[0]
    # One offset value sends the whole column through pandas' general parser.
    mixed = v._timestamps(pd.Series([*text, "2020-01-01T00:00:00+01:00"], dtype="str"))[0]
    expected = [pd.Timestamp(w.replace(tzinfo=UTC)) for w in when]
    assert plain.tolist() == expected
    assert mixed.tolist()[:-1] == expected


def test_labels_are_apart_and_never_change_the_scoring_frame(small: pd.DataFrame) -> None:
    small["attack_kind"] = ""
    small.loc[2, "attack_kind"] = "bot"
    small.loc[5, "Is Attack IP"] = ""
    small.loc[6, "Is Attack IP"] = "perhaps"
    small.loc[7, "Is Account Takeover"] = "1"
    out = _checked(small)
    assert out.rejects.empty
    assert out.labels["is_attack_ip"].iloc[5] is pd.NA
    assert out.labels["is_attack_ip"].iloc[6] is pd.NA
    assert out.labels["is_takeover"].iloc[7]
    assert out.labels["attack_kind"].iloc[2] == "bot"
    assert not set(out.labels.columns) & set(out.frame.columns)
    unlabelled = small.drop(columns=["Is Attack IP", "Is Account Takeover", "attack_kind"])
    without = _checked(unlabelled)
    pd.testing.assert_frame_equal(out.frame, without.frame)
    assert without.labels.columns.empty
    assert len(without.labels) == len(without.frame)


def test_strict_labels_reject_bad_label_values_only(small: pd.DataFrame) -> None:
    small.loc[5, "Is Attack IP"] = ""
    small.loc[6, "Is Attack IP"] = "perhaps"
    out = _checked(small, strict_labels=True)
    assert out.rejects.to_dict("records") == [
        {
            "row": 7,
            "index": "100006",
            "column": "Is Attack IP",
            "value": "perhaps",
            "reason": v.NOT_A_BOOLEAN,
        }
    ]
    assert out.labels["is_attack_ip"].isna().sum() == 1


def test_absent_optional_columns(small: pd.DataFrame) -> None:
    mapping = parse_mapping("index=,country=,asn=,rtt_ms=")
    out = validate(chunk_from_frame(small, mapping), "fail")
    assert not {c.INDEX, c.COUNTRY, c.ASN, c.RTT_MS, c.DEVICE_KEY} & out.present
    assert {c.TIMESTAMP, c.REGION, c.USER_AGENT} <= out.present
    assert out.frame["index"].tolist() == list(range(1, 31))
    assert out.frame["index"].dtype == np.int64
    assert (out.frame["country"] == "").all()
    assert out.frame["asn"].isna().all()
    assert out.frame["rtt_ms"].isna().all()
    assert (out.frame["device_key"] == "").all()
    small.loc[4, "IP Address"] = "x"
    with pytest.raises(BatchInputError, match=r"^row 5, column 'IP Address'"):
        validate(chunk_from_frame(small, mapping), "fail")


def test_non_integer_index_is_kept_as_text(small: pd.DataFrame) -> None:
    small["index"] = [f"evt-{i}" for i in range(30)]
    out = _checked(small, "fail")
    assert out.frame["index"].tolist()[:2] == ["evt-0", "evt-1"]
    assert str(out.frame["index"].dtype) == "str"


def test_empty_chunk(small: pd.DataFrame) -> None:
    out = _checked(small.iloc[:0])
    assert out.frame.empty
    assert out.rejects.empty
    assert {k: str(t) for k, t in out.frame.dtypes.items()} == TYPES
    assert list(out.rejects.columns) == ["row", "index", "column", "value", "reason"]


def test_on_error_must_be_known(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="on_error"):
        validate(chunk_from_frame(small), "ignore")  # type: ignore[arg-type]


def test_time_order_is_stable_and_labels_follow(small: pd.DataFrame) -> None:
    base = datetime(2020, 2, 4, 12)
    minutes = [3, 1, 3, 2, 1, 0] * 5
    small["Login Timestamp"] = [str(base + timedelta(minutes=m)) for m in minutes]
    small["Is Attack IP"] = [str(i % 2 == 0) for i in range(30)]
    out = _checked(small, "fail")
    assert not time_sorted(out.frame)
    ordered = out.sorted_by_time()
    assert time_sorted(ordered.frame)
    assert ordered.present == out.present
    expected = sorted(range(1, 31), key=lambda r: (minutes[r - 1], r))
    assert ordered.frame["row"].tolist() == expected
    assert ordered.labels["is_attack_ip"].tolist() == [(r - 1) % 2 == 0 for r in expected]
    assert sort_by_time(out.frame)["row"].tolist() == expected


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    world = build_world(packaged_city_database(), seed=7, probes=20_000, max_networks=300)
    return simulate(3000, seed=5, start=datetime(2020, 2, 1), days=3, world=world)


@pytest.mark.parametrize("name", ["sim.csv", "sim.csv.gz", "sim.parquet"])
def test_simulated_logs_parse_alike_from_every_format(
    simulated: pd.DataFrame, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    write_log(simulated, path)
    out = validate(read_all(path), "fail", strict_labels=True)
    in_memory = validate(chunk_from_frame(simulated), "fail", strict_labels=True)
    pd.testing.assert_frame_equal(out.frame, in_memory.frame)
    pd.testing.assert_frame_equal(out.labels, in_memory.labels)
    assert out.frame["timestamp"].tolist() == [
        pd.Timestamp(t, tz="UTC") for t in simulated["Login Timestamp"]
    ]
    assert out.frame["user"].tolist() == simulated["User ID"].astype(str).tolist()
    assert out.labels["is_attack_ip"].tolist() == simulated["Is Attack IP"].tolist()
    assert out.labels["attack_kind"].tolist() == simulated["attack_kind"].tolist()
    assert out.frame["rtt_ms"].isna().tolist() == simulated["Round-Trip Time [ms]"].isna().tolist()
    assert time_sorted(out.frame)
