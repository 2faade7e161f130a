"""The read side of the event log: the seam between the log files and its readers.

The CLI (`riskscore logs ...`) and the CloudWatch Logs-compatible HTTP API both
read through :class:`LogQuery`; ``FileLogQuery`` (events/reader.py) reads the
log files, ``MemoryLogQuery`` (events/memory_query.py) serves unit tests.
Filter patterns are compiled by ``events/filter_pattern.py``.

Times are milliseconds since the epoch, as CloudWatch Logs has them. A
*position* is an opaque, totally ordered cursor inside one stream (for files:
segment number and byte offset); readers turn positions into CloudWatch's
``nextForwardToken`` / ``nextBackwardToken`` / ``nextToken`` strings.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

StreamOrder = Literal["LogStreamName", "LastEventTime"]


@dataclass(frozen=True, slots=True)
class LogGroupInfo:
    """A log group, as DescribeLogGroups shows it."""

    name: str
    creation_time: int
    retention_days: int | None
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class LogStreamInfo:
    """A log stream, as DescribeLogStreams shows it."""

    name: str
    creation_time: int
    first_event_timestamp: int | None
    last_event_timestamp: int | None
    last_ingestion_time: int | None
    stored_bytes: int


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A cursor between two events of one stream (before ``offset`` of ``segment``)."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One stored event: its timestamp, the message (one JSON record) and when it was stored."""

    stream: str
    timestamp: int
    ingestion_time: int
    message: str
    # Position of this event and of the one after it, inside its stream.
    position: Position
    next_position: Position

    @property
    def event_id(self) -> str:
        """A stable id, unique within the group (FilterLogEvents' eventId)."""
        return f"{self.stream}:{self.position.segment}:{self.position.offset}"


@dataclass(frozen=True, slots=True)
class EventPage:
    """Events in stream order, and where to continue either way."""

    events: Sequence[LogEvent]
    # Cursor to resume forward (after the last event returned) and backward
    # (before the first); equal to the starting cursor when nothing was read.
    forward: Position
    backward: Position

    @classmethod
    def of(cls, events: Sequence[LogEvent], cursor: Position) -> EventPage:
        """The page of ``events`` read from ``cursor`` (both cursors stay there when empty)."""
        if not events:
            return cls(events=[], forward=cursor, backward=cursor)
        return cls(events=events, forward=events[-1].next_position, backward=events[0].position)


class LogQuery(Protocol):
    """Read access to log groups, streams and events."""

    def groups(self, prefix: str = "") -> list[LogGroupInfo]:
        """Log groups whose names start with ``prefix``, sorted by name."""
        ...

    def streams(
        self, group: str, prefix: str = "", order_by: StreamOrder = "LogStreamName"
    ) -> list[LogStreamInfo]:
        """Streams of a group (ascending); raises NotFoundError for an unknown group."""
        ...

    def read(
        self,
        group: str,
        stream: str,
        *,
        start: int | None = None,
        end: int | None = None,
        after: Position | None = None,
        before: Position | None = None,
        limit: int = 10_000,
    ) -> EventPage:
        """Events of one stream with start <= timestamp < end, in stored order.

        ``after`` reads forward from a cursor; ``before`` reads the ``limit``
        events just before a cursor (still returned oldest first); neither
        reads from the head. Raises NotFoundError for an unknown group/stream.
        """
        ...

    def search(
        self,
        group: str,
        streams: Sequence[str] | None = None,
        stream_prefix: str = "",
        *,
        start: int | None = None,
        end: int | None = None,
        pattern: str = "",
        resume: dict[str, Position] | None = None,
        limit: int = 10_000,
    ) -> tuple[list[LogEvent], dict[str, Position] | None]:
        """FilterLogEvents: matching events of several streams, sorted by timestamp.

        ``pattern`` is a CloudWatch filter pattern. Returns the events and, when
        there may be more, the per-stream cursors to resume from (else None).
        Raises InvalidArgumentError for a bad pattern, NotFoundError for an
        unknown group.
        """
        ...


def within(timestamp: int, start: int | None, end: int | None) -> bool:
    """start <= timestamp < end, either bound optional (CloudWatch's time windows)."""
    return (start is None or timestamp >= start) and (end is None or timestamp < end)


def merge_streams(
    matching: Mapping[str, Iterable[LogEvent]], cursors: dict[str, Position], limit: int
) -> tuple[list[LogEvent], dict[str, Position] | None]:
    """FilterLogEvents' order over several streams' matching events, at most ``limit``.

    Sorted by timestamp, ingestion time, stream and position; ``cursors`` (one
    per stream, where its events start) are advanced past what is returned and
    handed back when there may be more, else None.
    """
    merged = heapq.merge(
        *matching.values(),
        key=lambda e: (e.timestamp, e.ingestion_time, e.stream, e.position),
    )
    taken: list[LogEvent] = []
    for event in merged:
        if len(taken) >= limit:
            return taken, cursors
        taken.append(event)
        cursors[event.stream] = event.next_position
    return taken, None
