"""FileLogQuery: paging with positions both ways, time windows, search across streams."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskscore.errors import InvalidArgumentError, NotFoundError
from riskscore.events.log import EventLog
from riskscore.events.query import Position
from riskscore.events.reader import FileLogQuery

T0 = 1_800_000_000_000


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Stream a: 25 events over small segments; stream b: 5 interleaved in time."""
    with EventLog(tmp_path, rotate_bytes=200, clock=lambda: T0 + 1000) as log:
        log.create_group("g", retention_days=30)
        for i in range(25):
            log.submit(
                "g", "a", T0 + 10 * i, f'{{"n":{i},"level":"{"HIGH" if i % 5 == 0 else "LOW"}"}}'
            )
        for i in range(5):
            log.submit("g", "b", T0 + 10 * i + 5, f"b{i} ERROR")
        log.create_stream("g", "empty")
    return tmp_path


def test_forward_paging_visits_every_event_once(root: Path) -> None:
    query = FileLogQuery(root)
    seen: list[str] = []
    cursor: Position | None = None
    while True:
        page = query.read("g", "a", after=cursor, limit=7)
        if not page.events:
            assert page.forward == page.backward == cursor
            break
        seen.extend(e.message for e in page.events)
        assert page.backward == page.events[0].position
        cursor = page.forward
    assert seen == [e.message for e in query.read("g", "a").events]
    assert len(seen) == 25
    segments = {e.position.segment for e in query.read("g", "a").events}
    assert len(segments) > 3


def test_backward_paging_returns_oldest_first(root: Path) -> None:
    query = FileLogQuery(root)
    everything = query.read("g", "a").events
    page = query.read("g", "a", before=Position(2**40, 0), limit=4)
    assert list(page.events) == list(everything[-4:])
    older = query.read("g", "a", before=page.backward, limit=10)
    assert list(older.events) == list(everything[-14:-4])
    assert older.forward == everything[-5].next_position
    head = query.read("g", "a", before=everything[0].position, limit=10)
    assert head.events == []
    assert head.backward == everything[0].position


def test_time_window_is_start_inclusive_end_exclusive(root: Path) -> None:
    events = FileLogQuery(root).read("g", "a", start=T0 + 30, end=T0 + 60).events
    assert [e.timestamp for e in events] == [T0 + 30, T0 + 40, T0 + 50]


def test_unknown_group_or_stream_and_bad_cursors(root: Path) -> None:
    query = FileLogQuery(root)
    with pytest.raises(NotFoundError):
        query.read("nope", "a")
    with pytest.raises(NotFoundError):
        query.read("g", "nope")
    with pytest.raises(NotFoundError):
        query.streams("nope")
    with pytest.raises(NotFoundError):
        query.search("nope")
    with pytest.raises(InvalidArgumentError):
        query.read("g", "a", after=Position(0, 0), before=Position(1, 0))


def test_groups_and_streams_describe_the_files(root: Path) -> None:
    query = FileLogQuery(root)
    [group] = query.groups()
    assert (group.name, group.retention_days, group.creation_time) == ("g", 30, T0 + 1000)
    assert group.stored_bytes > 0
    assert query.groups("x") == []
    streams = {s.name: s for s in query.streams("g")}
    assert list(streams) == ["a", "b", "empty"]
    assert (streams["a"].first_event_timestamp, streams["a"].last_event_timestamp) == (T0, T0 + 240)
    assert streams["a"].last_ingestion_time == T0 + 1000
    assert streams["empty"].last_event_timestamp is None
    by_time = [s.name for s in query.streams("g", order_by="LastEventTime")]
    assert by_time == ["empty", "b", "a"]


def test_search_merges_streams_by_timestamp_and_resumes(root: Path) -> None:
    query = FileLogQuery(root)
    events, cursors = query.search("g", limit=8)
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert {e.stream for e in events} == {"a", "b"}
    collected = list(events)
    while cursors is not None:
        events, cursors = query.search("g", resume=cursors, limit=8)
        collected.extend(events)
    assert len(collected) == 30
    assert len({e.event_id for e in collected}) == 30
    only_b, _ = query.search("g", streams=["b"])
    assert [e.message for e in only_b] == [f"b{i} ERROR" for i in range(5)]


def test_search_with_a_term_pattern(root: Path) -> None:
    pytest.importorskip("riskscore.events.filter_pattern")
    events, cursors = FileLogQuery(root).search("g", pattern="ERROR", start=T0 + 20)
    assert [e.message for e in events] == ["b2 ERROR", "b3 ERROR", "b4 ERROR"]
    assert cursors is None
    high, _ = FileLogQuery(root).search("g", pattern='{ $.level = "HIGH" }')
    assert len(high) == 5


def test_reader_sees_new_events_from_its_cursor(tmp_path: Path) -> None:
    with EventLog(tmp_path) as log:
        log.submit("g", "s", now_ms(), "one").result()
        query = FileLogQuery(tmp_path)
        page = query.read("g", "s")
        log.submit("g", "s", now_ms(), "two").result()
        assert [e.message for e in query.read("g", "s", after=page.forward).events] == ["two"]


def now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000
