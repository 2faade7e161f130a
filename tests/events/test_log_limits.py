"""PutLogEvents validation: limits, ordering, span and the rejected-index semantics."""

from __future__ import annotations

import pytest

from riskscore.errors import InvalidArgumentError
from riskscore.events.log_limits import (
    MAX_BATCH_BYTES,
    InputLogEvent,
    PutResult,
    check_batch,
    check_group_name,
    check_retention,
    check_stream_name,
)

NOW = 1_800_000_000_000
HOUR = 3_600_000
DAY = 24 * HOUR


def ev(ts: int, message: str = "x") -> InputLogEvent:
    return {"timestamp": ts, "message": message}


@pytest.mark.parametrize(
    ("events", "error"),
    [
        ([], "1-10000"),
        ([ev(NOW)] * 10_001, "1-10000"),
        ([ev(NOW, "")], "must not be empty"),
        ([ev(NOW), ev(NOW - 1)], "chronological order"),
        # 26 bytes of overhead per event: one byte over with the overhead counted.
        ([ev(NOW, "a" * (MAX_BATCH_BYTES - 25))], "exceeds"),
        ([ev(NOW, "a" * 500_000), ev(NOW, "b" * (MAX_BATCH_BYTES - 500_000 - 52 + 1))], "exceeds"),
        # UTF-8 bytes, not characters: 'é' is two bytes.
        ([ev(NOW, "é" * ((MAX_BATCH_BYTES - 26) // 2 + 1))], "exceeds"),
        ([ev(NOW - DAY - 1), ev(NOW)], "24 h"),
    ],
)
def test_whole_call_failures(events: list[InputLogEvent], error: str) -> None:
    with pytest.raises(InvalidArgumentError, match=error):
        check_batch(events, NOW, None)


@pytest.mark.parametrize(
    ("events", "retention", "expected"),
    [
        ([ev(NOW)] * 10_000, None, PutResult(10_000, first=0, stop=10_000)),
        # Exactly 1,048,576 bytes once the 26-byte overhead is counted.
        ([ev(NOW, "a" * (MAX_BATCH_BYTES - 26))], None, PutResult(1, first=0, stop=1)),
        (
            [ev(NOW, "a" * 500_000), ev(NOW, "b" * (MAX_BATCH_BYTES - 500_000 - 52))],
            None,
            PutResult(2, first=0, stop=2),
        ),
        ([ev(NOW - DAY), ev(NOW)], None, PutResult(2, first=0, stop=2)),
        (
            [ev(NOW - 15 * DAY), ev(NOW), ev(NOW + 2 * HOUR), ev(NOW + 2 * HOUR + 1)],
            None,
            PutResult(2, too_new_start=3, too_old_end=1, first=1, stop=3),
        ),
        (
            [ev(NOW - 15 * DAY), ev(NOW - 2 * DAY), ev(NOW - 1000)],
            1,
            PutResult(1, too_old_end=1, expired_end=2, first=2, stop=3),
        ),
        ([ev(NOW + 3 * HOUR)], None, PutResult(0, too_new_start=0, first=0, stop=0)),
        ([ev(NOW - 20 * DAY)], None, PutResult(0, too_old_end=1, first=1, stop=1)),
        # Rejected events do not count towards the 24 h span.
        ([ev(NOW - 20 * DAY), ev(NOW)], None, PutResult(1, too_old_end=1, first=1, stop=2)),
        (
            [ev(NOW - 15 * DAY), ev(NOW - 1), ev(NOW)],
            None,
            PutResult(2, too_old_end=1, first=1, stop=3),
        ),
    ],
)
def test_accepted_and_rejected_ranges(
    events: list[InputLogEvent], retention: int | None, expected: PutResult
) -> None:
    assert check_batch(events, NOW, retention) == expected


def test_span_counts_only_accepted_events() -> None:
    # Exactly 24 h between the accepted events is allowed.
    events = [ev(NOW - 15 * DAY), ev(NOW - DAY + HOUR), ev(NOW + HOUR), ev(NOW + 3 * HOUR)]
    assert check_batch(events, NOW, None).accepted == 2
    with pytest.raises(InvalidArgumentError, match="24 h"):
        check_batch([ev(NOW - 2 * DAY), ev(NOW)], NOW, None)


def test_rejected_info_wire_keys() -> None:
    result = PutResult(1, too_new_start=3, too_old_end=1, expired_end=2, first=2, stop=3)
    assert result.rejected_info() == {
        "tooNewLogEventStartIndex": 3,
        "tooOldLogEventEndIndex": 1,
        "expiredLogEventEndIndex": 2,
    }
    assert result.rejected_counts(4) == {"tooNew": 1, "tooOld": 1, "expired": 1}
    assert PutResult(1, first=0, stop=1).rejected_info() is None


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("/aws/cognito/us-west-2_X/userAuthEvents", True),
        ("a.b-c_d#e", True),
        ("x" * 512, True),
        ("x" * 513, False),
        ("", False),
        ("has space", False),
        ("colon:", False),
    ],
)
def test_group_names(name: str, ok: bool) -> None:
    if ok:
        check_group_name(name)
    else:
        with pytest.raises(InvalidArgumentError, match="logGroupName"):
            check_group_name(name)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("i-0abc/2026/01/05 [$LATEST]", True),
        ("ü" * 512, True),
        ("a:b", False),
        ("a*", False),
        ("", False),
    ],
)
def test_stream_names(name: str, ok: bool) -> None:
    if ok:
        check_stream_name(name)
    else:
        with pytest.raises(InvalidArgumentError, match="logStreamName"):
            check_stream_name(name)


def test_retention_values() -> None:
    check_retention(None)
    check_retention(731)
    with pytest.raises(InvalidArgumentError, match="retentionInDays"):
        check_retention(2)
