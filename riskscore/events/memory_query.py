"""An in-memory :class:`LogQuery` for tests: groups -> streams -> events in stored order.

A position is ``Position(0, index)``: the cursor just before the event at
``index`` of its stream, so ``Position(0, len(events))`` is the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from riskscore.errors import NotFoundError
from riskscore.events.filter_pattern import compile_pattern
from riskscore.events.query import (
    EventPage,
    LogEvent,
    LogGroupInfo,
    LogQuery,
    LogStreamInfo,
    Position,
    StreamOrder,
    merge_streams,
    within,
)

__all__ = ["MemoryLogQuery", "StoredEvent"]

# (timestamp, message, ingestion_time), as the constructor takes them.
StoredEvent = tuple[int, str, int]


@dataclass(slots=True)
class _Stream:
    name: str
    creation_time: int
    events: list[StoredEvent] = field(default_factory=list)

    def info(self) -> LogStreamInfo:
        stamps = [timestamp for timestamp, _, _ in self.events]
        return LogStreamInfo(
            name=self.name,
            creation_time=self.creation_time,
            first_event_timestamp=min(stamps, default=None),
            last_event_timestamp=max(stamps, default=None),
            last_ingestion_time=max((ingested for _, _, ingested in self.events), default=None),
            stored_bytes=sum(len(message.encode()) for _, message, _ in self.events),
        )

    def event(self, index: int) -> LogEvent:
        timestamp, message, ingestion_time = self.events[index]
        return LogEvent(
            stream=self.name,
            timestamp=timestamp,
            ingestion_time=ingestion_time,
            message=message,
            position=Position(0, index),
            next_position=Position(0, index + 1),
        )


@dataclass(slots=True)
class _Group:
    name: str
    creation_time: int
    streams: dict[str, _Stream] = field(default_factory=dict)


class MemoryLogQuery:
    """Log groups held in dicts; what unit tests read through the LogQuery seam."""

    def __init__(
        self,
        groups: Mapping[str, Mapping[str, Iterable[StoredEvent]]] | None = None,
        *,
        creation_time: int = 0,
    ) -> None:
        self._creation_time = creation_time
        self._groups: dict[str, _Group] = {}
        for group, streams in (groups or {}).items():
            self.add_group(group)
            for stream, events in streams.items():
                self.add_stream(group, stream)
                for timestamp, message, ingestion_time in events:
                    self.add(group, stream, timestamp, message, ingestion_time)

    def add_group(self, group: str) -> None:
        """Create an empty log group (no-op when it exists)."""
        self._groups.setdefault(group, _Group(group, self._creation_time))

    def add_stream(self, group: str, stream: str) -> None:
        """Create an empty stream, and its group if needed."""
        self.add_group(group)
        self._groups[group].streams.setdefault(stream, _Stream(stream, self._creation_time))

    def add(
        self, group: str, stream: str, timestamp: int, message: str, ingestion_time: int
    ) -> None:
        """Append one event to a stream, creating the group and stream if needed."""
        self.add_stream(group, stream)
        self._groups[group].streams[stream].events.append((timestamp, message, ingestion_time))

    def groups(self, prefix: str = "") -> list[LogGroupInfo]:
        """Log groups whose names start with ``prefix``, sorted by name."""
        return [
            LogGroupInfo(
                name=group.name,
                creation_time=group.creation_time,
                retention_days=None,
                stored_bytes=sum(s.info().stored_bytes for s in group.streams.values()),
            )
            for name, group in sorted(self._groups.items())
            if name.startswith(prefix)
        ]

    def streams(
        self, group: str, prefix: str = "", order_by: StreamOrder = "LogStreamName"
    ) -> list[LogStreamInfo]:
        """Streams of a group (ascending); raises NotFoundError for an unknown group."""
        infos = [s.info() for s in self._group(group).streams.values() if s.name.startswith(prefix)]
        if order_by == "LastEventTime":
            # Streams without events sort first, as the oldest.
            return sorted(infos, key=lambda s: (s.last_event_timestamp or 0, s.name))
        return sorted(infos, key=lambda s: s.name)

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
        """Events of one stream with start <= timestamp < end, in stored order."""
        found = self._group(group).streams.get(stream)
        if found is None:
            raise NotFoundError(f"log stream {stream!r} does not exist in {group!r}")
        size = len(found.events)
        if before is not None:
            stop = min(before.offset, size) if before.segment == 0 else size
            indexes = [i for i in range(stop) if within(found.events[i][0], start, end)]
            indexes = indexes[-limit:] if limit > 0 else []
            cursor = before
        else:
            cursor = after or Position(0, 0)
            first = cursor.offset if cursor.segment == 0 else size
            indexes = []
            for i in range(first, size):
                if len(indexes) >= limit:
                    break
                if within(found.events[i][0], start, end):
                    indexes.append(i)
        events = [found.event(i) for i in indexes]
        return EventPage.of(events, cursor)

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
        """Matching events of several streams, sorted by timestamp, then ingestion time."""
        matches = compile_pattern(pattern)
        known = self._group(group).streams
        names = [
            name
            for name in sorted(known)
            if (streams is None or name in streams) and name.startswith(stream_prefix)
        ]
        cursors = {name: (resume or {}).get(name, Position(0, 0)) for name in names}

        def candidates(stream: _Stream) -> Iterator[LogEvent]:
            first = cursors[stream.name].offset
            for i in range(first, len(stream.events)):
                timestamp, message, _ = stream.events[i]
                if within(timestamp, start, end) and matches(message):
                    yield stream.event(i)

        return merge_streams({name: candidates(known[name]) for name in names}, cursors, limit)

    def _group(self, name: str) -> _Group:
        found = self._groups.get(name)
        if found is None:
            raise NotFoundError(f"log group {name!r} does not exist")
        return found


# mypy proves the in-memory reader fits the seam.
_check: LogQuery = MemoryLogQuery()
