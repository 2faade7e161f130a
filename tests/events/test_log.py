"""EventLog: durability modes, PutLogEvents, rotation, retention, torn tails, back-pressure."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from riskscore.errors import InvalidArgumentError, NotFoundError
from riskscore.events import log_format as fmt
from riskscore.events.log import Durability, EventLog
from riskscore.events.log_limits import (
    EventLogBusyError,
    EventLogClosedError,
    EventRejectedError,
    ResourceAlreadyExistsError,
)
from riskscore.events.reader import FileLogQuery

T0 = 1_800_000_000_000
HOUR = 3_600_000
DAY = 24 * HOUR


class FakeClock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def messages(root: Path, group: str = "g", stream: str = "s") -> list[str]:
    return [e.message for e in FileLogQuery(root).read(group, stream).events]


def segment_files(root: Path, group: str = "g", stream: str = "s") -> list[Path]:
    d = root / fmt.encode_name(group) / fmt.encode_name(stream)
    return [d / fmt.segment_name(n) for n in fmt.segment_numbers(d)]


@pytest.mark.parametrize("durability", ["fsync", "flush", "none"])
def test_submit_is_readable_after_the_future_resolves(
    tmp_path: Path, durability: Durability
) -> None:
    clock = FakeClock()
    log = EventLog(tmp_path, durability=durability, clock=clock)
    try:
        futures = [log.submit("g", "s", T0 + i, f'{{"n":{i}}}') for i in range(50)]
        for f in futures:
            f.result(timeout=5)
        if durability != "none":
            # Written before the future resolved: visible to another reader already.
            assert len(messages(tmp_path)) == 50
        fsyncs = log.stats.fsyncs
    finally:
        log.close()
    assert messages(tmp_path) == [f'{{"n":{i}}}' for i in range(50)]
    assert (fsyncs > 0) == (durability == "fsync")


def test_none_durability_acknowledges_before_writing(tmp_path: Path) -> None:
    gate = threading.Event()
    log = EventLog(tmp_path, durability="none", metrics=_Blocking(gate))
    try:
        assert log.submit("g", "s", _now(), "a").done()
    finally:
        gate.set()
        log.close()
    assert messages(tmp_path) == ["a"]


def _now() -> int:
    import time

    return time.time_ns() // 1_000_000


class _Blocking:
    """Metrics whose queue-depth hook holds the writer until released."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        self.fsyncs = 0
        self.rejected: dict[str, int] = {}

    def observe_queue_depth(self, events: int) -> None:
        self.gate.wait(10)

    def observe_fsync(self, seconds: float, files: int) -> None:
        self.fsyncs += files

    def observe_rejected(self, reason: str, count: int) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + count


def test_concurrent_submits_share_fsyncs(tmp_path: Path) -> None:
    gate = threading.Event()
    metrics = _Blocking(gate)
    log = EventLog(tmp_path, metrics=metrics)
    first = log.submit("g", "s", _now(), "first")
    while log.stats.pending:
        threading.Event().wait(0.01)
    futures = [log.submit("g", "s", _now(), f"m{i}") for i in range(20)]
    gate.set()
    for f in [first, *futures]:
        f.result(timeout=5)
    log.close()
    # The 20 queued while the writer was busy went out in one batch: one fsync.
    assert log.stats.batches == 2
    assert metrics.fsyncs == 2


def test_back_pressure_blocks_then_raises_busy(tmp_path: Path) -> None:
    gate = threading.Event()
    log = EventLog(tmp_path, max_queue=2, submit_timeout=0.1, metrics=_Blocking(gate))
    taken = log.submit("g", "s", _now(), "taken by the writer")
    # Wait until the writer holds the first event, so the queue is empty.
    while log.stats.pending:
        threading.Event().wait(0.01)
    queued = [log.submit("g", "s", _now(), f"q{i}") for i in range(2)]
    with pytest.raises(EventLogBusyError, match="queue full"):
        log.submit("g", "s", _now(), "one too many")
    gate.set()
    for f in [taken, *queued]:
        f.result(timeout=5)
    log.close()
    assert messages(tmp_path) == ["taken by the writer", "q0", "q1"]


def test_close_drains_everything_and_refuses_more(tmp_path: Path) -> None:
    log = EventLog(tmp_path, durability="none")
    for i in range(2000):
        log.submit("g", f"s{i % 3}", _now(), f"m{i}")
    log.close()
    log.close()
    assert sum(len(messages(tmp_path, "g", f"s{k}")) for k in range(3)) == 2000
    with pytest.raises(EventLogClosedError):
        log.submit("g", "s0", _now(), "late")


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(2 * HOUR + 1, "tooNew"), (-14 * DAY - 1, "tooOld"), (-2 * DAY, "expired")],
)
def test_submit_rejects_out_of_window_events(tmp_path: Path, offset: int, reason: str) -> None:
    metrics = _Blocking(threading.Event())
    metrics.gate.set()
    with EventLog(tmp_path, clock=FakeClock(), retention_days=1, metrics=metrics) as log:
        future = log.submit("g", "s", T0 + offset, "x")
        with pytest.raises(EventRejectedError) as info:
            future.result()
        assert info.value.reason == reason
        assert log.submit("g", "s", T0 + 2 * HOUR, "edge").result(timeout=5) is None
    assert metrics.rejected == {reason: 1}


def test_put_log_events_stores_only_accepted_events_and_counts_rejects(tmp_path: Path) -> None:
    with EventLog(tmp_path, clock=FakeClock()) as log:
        with pytest.raises(NotFoundError):
            log.put_log_events("g", "s", [{"timestamp": T0, "message": "x"}])
        log.create_group("g")
        with pytest.raises(NotFoundError, match="stream"):
            log.put_log_events("g", "s", [{"timestamp": T0, "message": "x"}])
        log.create_stream("g", "s")
        result = log.put_log_events(
            "g",
            "s",
            [
                {"timestamp": T0 - 15 * DAY, "message": "old"},
                {"timestamp": T0 - 1, "message": "a"},
                {"timestamp": T0, "message": "b"},
                {"timestamp": T0 + 3 * HOUR, "message": "new"},
            ],
        )
        assert result.rejected_info() == {
            "tooOldLogEventEndIndex": 1,
            "tooNewLogEventStartIndex": 3,
        }
        with pytest.raises(InvalidArgumentError, match="chronological"):
            log.put_log_events(
                "g", "s", [{"timestamp": T0, "message": "x"}, {"timestamp": T0 - 1, "message": "y"}]
            )
        stats = log.stats
    assert (stats.rejected_too_old, stats.rejected_too_new, stats.rejected_expired) == (1, 1, 0)
    assert messages(tmp_path) == ["a", "b"]
    events = FileLogQuery(tmp_path).read("g", "s").events
    assert [e.ingestion_time for e in events] == [T0, T0]


def test_groups_and_streams_are_created_once_with_cloudwatch_names(tmp_path: Path) -> None:
    with EventLog(tmp_path) as log:
        log.create_group("/aws/cognito/us-west-2_X/userAuthEvents", retention_days=7)
        with pytest.raises(ResourceAlreadyExistsError):
            log.create_group("/aws/cognito/us-west-2_X/userAuthEvents")
        with pytest.raises(InvalidArgumentError):
            log.create_group("bad name")
        with pytest.raises(InvalidArgumentError):
            log.create_stream("/aws/cognito/us-west-2_X/userAuthEvents", "a:b")
        log.create_stream("/aws/cognito/us-west-2_X/userAuthEvents", "host-1/..")
        log.submit("/aws/cognito/us-west-2_X/userAuthEvents", "host-1/..", _now(), "x").result()
    query = FileLogQuery(tmp_path)
    [group] = query.groups("/aws/")
    assert (group.name, group.retention_days) == ("/aws/cognito/us-west-2_X/userAuthEvents", 7)
    assert [s.name for s in query.streams(group.name)] == ["host-1/.."]


def test_rotation_splits_segments_and_reads_back_in_order(tmp_path: Path) -> None:
    with EventLog(tmp_path, rotate_bytes=300, clock=FakeClock()) as log:
        for i in range(30):
            log.submit("g", "s", T0 + i, f"message number {i:03d}").result()
    files = segment_files(tmp_path)
    assert len(files) > 5
    assert all(f.stat().st_size <= 300 for f in files)
    events = FileLogQuery(tmp_path).read("g", "s").events
    assert [e.message for e in events] == [f"message number {i:03d}" for i in range(30)]
    assert [e.position for e in events] == sorted(e.position for e in events)
    assert len({e.position.segment for e in events}) == len(files)


def test_retention_deletes_whole_old_segments_and_keeps_numbering(tmp_path: Path) -> None:
    clock = FakeClock()
    # Every line is longer than rotate_bytes: one event per segment.
    log = EventLog(tmp_path, rotate_bytes=50, clock=clock, retention_days=1)
    for i in range(10):
        log.submit("g", "s", clock.now, f"old {i}").result()
    clock.now += 12 * HOUR
    log.submit("g", "s", clock.now, "recent").result()
    before = segment_files(tmp_path)
    clock.now += 13 * HOUR
    # Everything but the segment holding "recent" is past the 1-day window.
    assert log.enforce_retention() == len(before) - 1 == 10
    assert messages(tmp_path) == ["recent"]
    clock.now += 2 * DAY
    assert log.enforce_retention() == 1
    assert messages(tmp_path) == []
    log.submit("g", "s", clock.now, "after").result()
    log.close()
    events = FileLogQuery(tmp_path).read("g", "s").events
    assert [e.message for e in events] == ["after"]
    # Positions never go back: the new segment is numbered after the deleted ones.
    assert events[0].position.segment == int(before[-1].stem) + 1


def test_torn_last_line_is_ignored_then_cut_on_reopen(tmp_path: Path) -> None:
    with EventLog(tmp_path) as log:
        log.submit("g", "s", _now(), "one").result()
        log.submit("g", "s", _now(), "two").result()
    [path] = segment_files(tmp_path)
    good = path.stat().st_size
    whole = fmt.encode_line(_now(), _now(), "three")
    with path.open("ab") as f:
        f.write(whole[:-5])  # a write cut short by a crash
    assert messages(tmp_path) == ["one", "two"]
    with EventLog(tmp_path) as log:
        log.submit("g", "s", _now(), "four").result()
    assert messages(tmp_path) == ["one", "two", "four"]
    assert path.read_bytes()[good:].count(b"\n") == 1


def test_garbage_with_newlines_after_a_crash_is_skipped(tmp_path: Path) -> None:
    with EventLog(tmp_path) as log:
        log.submit("g", "s", _now(), "one").result()
    [path] = segment_files(tmp_path)
    line = bytearray(fmt.encode_line(_now(), _now(), "flipped"))
    line[10] ^= 1
    with path.open("ab") as f:
        f.write(bytes(line) + b"\x00\x00\n{not json}\n")
    assert messages(tmp_path) == ["one"]
    with EventLog(tmp_path) as log:
        log.submit("g", "s", _now(), "two").result()
    assert messages(tmp_path) == ["one", "two"]


def test_message_limits(tmp_path: Path) -> None:
    with EventLog(tmp_path) as log:
        with pytest.raises(InvalidArgumentError):
            log.submit("g", "s", _now(), "")
        with pytest.raises(InvalidArgumentError):
            log.submit("g", "s", _now(), "x" * (1_048_576 - 25))
        line = 'line one\nline two \u2028 "quoted" é'
        log.submit("g", "s", _now(), line).result()
    assert messages(tmp_path) == [line]


def test_unused_future_type_is_concurrent_future(tmp_path: Path) -> None:
    with EventLog(tmp_path) as log:
        assert isinstance(log.submit("g", "s", _now(), "x"), Future)
