"""MemoryLogQuery: the in-memory LogQuery the API tests stand on."""

from __future__ import annotations

import pytest

from riskscore.errors import InvalidArgumentError, NotFoundError
from riskscore.events.memory_query import MemoryLogQuery
from riskscore.events.query import Position


@pytest.fixture
def query() -> MemoryLogQuery:
    return MemoryLogQuery(
        {
            "/riskscore/auth": {
                "a": [(100, "alpha ERROR", 101), (300, "gamma", 301), (500, "epsilon", 501)],
                "b": [(200, "beta ERROR", 201), (400, "delta", 401)],
            },
            "/riskscore/empty": {},
        }
    )


def test_groups_are_sorted_and_filtered_by_prefix(query: MemoryLogQuery) -> None:
    assert [g.name for g in query.groups()] == ["/riskscore/auth", "/riskscore/empty"]
    assert [g.name for g in query.groups("/riskscore/e")] == ["/riskscore/empty"]
    assert query.groups("/nope") == []


def test_streams_describe_their_events(query: MemoryLogQuery) -> None:
    a, b = query.streams("/riskscore/auth")
    assert (a.name, a.first_event_timestamp, a.last_event_timestamp) == ("a", 100, 500)
    assert (b.last_ingestion_time, b.stored_bytes) == (401, len("beta ERROR") + len("delta"))
    query.add("/riskscore/auth", "c", 50, "zeta", 51)
    ordered = query.streams("/riskscore/auth", order_by="LastEventTime")
    assert [s.name for s in ordered] == ["c", "b", "a"]


def test_unknown_group_or_stream_is_not_found(query: MemoryLogQuery) -> None:
    with pytest.raises(NotFoundError):
        query.streams("/nope")
    with pytest.raises(NotFoundError):
        query.read("/riskscore/auth", "zz")


def test_read_forward_and_backward_with_cursors(query: MemoryLogQuery) -> None:
    first = query.read("/riskscore/auth", "a", limit=2)
    assert [e.timestamp for e in first.events] == [100, 300]
    assert first.forward == Position(0, 2)
    assert first.backward == Position(0, 0)
    rest = query.read("/riskscore/auth", "a", after=first.forward, limit=2)
    assert [e.timestamp for e in rest.events] == [500]
    end = query.read("/riskscore/auth", "a", after=rest.forward)
    assert end.events == []
    assert end.forward == end.backward == rest.forward
    tail = query.read("/riskscore/auth", "a", before=Position(0, 3), limit=2)
    assert [e.timestamp for e in tail.events] == [300, 500]
    head = query.read("/riskscore/auth", "a", before=tail.backward, limit=2)
    assert [e.timestamp for e in head.events] == [100]
    assert query.read("/riskscore/auth", "a", before=head.backward).events == []


def test_read_window_is_start_inclusive_end_exclusive(query: MemoryLogQuery) -> None:
    page = query.read("/riskscore/auth", "a", start=300, end=500)
    assert [e.timestamp for e in page.events] == [300]


def test_search_interleaves_streams_and_resumes(query: MemoryLogQuery) -> None:
    events, resume = query.search("/riskscore/auth", limit=3)
    assert [e.timestamp for e in events] == [100, 200, 300]
    assert resume is not None
    more, done = query.search("/riskscore/auth", resume=resume, limit=3)
    assert [e.timestamp for e in more] == [400, 500]
    assert done is None
    assert len({e.event_id for e in events + more}) == 5


def test_search_filters_by_pattern_streams_and_time(query: MemoryLogQuery) -> None:
    events, _ = query.search("/riskscore/auth", pattern="ERROR")
    assert [e.message for e in events] == ["alpha ERROR", "beta ERROR"]
    events, _ = query.search("/riskscore/auth", ["b"], start=0, end=400)
    assert [e.timestamp for e in events] == [200]
    events, _ = query.search("/riskscore/auth", stream_prefix="a", start=300)
    assert [e.timestamp for e in events] == [300, 500]


def test_search_rejects_bad_pattern_and_unknown_group(query: MemoryLogQuery) -> None:
    with pytest.raises(InvalidArgumentError):
        query.search("/riskscore/auth", pattern="{ $.a = ")
    with pytest.raises(NotFoundError):
        query.search("/nope")
