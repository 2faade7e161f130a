"""``FileLogQuery``: the :class:`LogQuery` seam over the event log's files.

Reads what :class:`riskscore.events.log.EventLog` writes (format in
``log_format.py``) and may run in another process while the log is being
written: a segment's unterminated last line is left for the next read, and
segments removed by retention are skipped. A position is (segment number,
byte offset of a line start); ``Position(0, 0)`` is the head of any stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from riskscore.errors import InvalidArgumentError, NotFoundError
from riskscore.events import log_format as fmt
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

__all__ = ["FileLogQuery"]

_HEAD = Position(0, 0)


def _event(stream: str, number: int, entry: fmt.Entry) -> LogEvent:
    return LogEvent(
        stream=stream,
        timestamp=entry.timestamp,
        ingestion_time=entry.ingestion_time,
        message=entry.message,
        position=Position(number, entry.offset),
        next_position=Position(number, entry.end),
    )


class FileLogQuery:
    """Reads log groups, streams and events from an event log root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def groups(self, prefix: str = "") -> list[LogGroupInfo]:
        """Log groups whose names start with ``prefix``, sorted by name."""
        found: list[LogGroupInfo] = []
        for group_dir, meta in self._group_dirs():
            name = str(meta["name"])
            if not name.startswith(prefix):
                continue
            stored = sum(_segments_bytes(d) for d, _ in self._stream_dirs(group_dir))
            retention = meta.get("retentionInDays")
            found.append(
                LogGroupInfo(
                    name=name,
                    creation_time=int(meta.get("creationTime", 0)),
                    retention_days=None if retention is None else int(retention),
                    stored_bytes=stored,
                )
            )
        return sorted(found, key=lambda g: g.name)

    def streams(
        self, group: str, prefix: str = "", order_by: StreamOrder = "LogStreamName"
    ) -> list[LogStreamInfo]:
        """Streams of a group (ascending); raises NotFoundError for an unknown group."""
        infos = [
            _stream_info(d, meta)
            for d, meta in self._stream_dirs(self._group_dir(group))
            if str(meta["name"]).startswith(prefix)
        ]
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
        if after is not None and before is not None:
            raise InvalidArgumentError("nextToken", "cannot page forward and backward at once")
        stream_dir = self._stream_dir(group, stream)
        if before is not None:
            cursor = before
            events = _read_backward(stream, stream_dir, before, start, end, limit)
        else:
            cursor = after or _HEAD
            events = []
            if limit > 0:
                for event in _iter_events(stream, stream_dir, cursor):
                    if within(event.timestamp, start, end):
                        events.append(event)
                        if len(events) >= limit:
                            break
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
        """FilterLogEvents: matching events of several streams, sorted by timestamp."""
        # Imported here so the reader works even where filter patterns are not needed.
        from riskscore.events.filter_pattern import compile_pattern

        matches = compile_pattern(pattern)
        chosen = {
            str(meta["name"]): d
            for d, meta in self._stream_dirs(self._group_dir(group))
            if (streams is None or meta["name"] in streams)
            and str(meta["name"]).startswith(stream_prefix)
        }
        names = sorted(chosen)
        cursors = {name: (resume or {}).get(name, _HEAD) for name in names}

        def candidates(name: str) -> Iterator[LogEvent]:
            for event in _iter_events(name, chosen[name], cursors[name]):
                if within(event.timestamp, start, end) and matches(event.message):
                    yield event

        return merge_streams({name: candidates(name) for name in names}, cursors, limit)

    # -- directories ----------------------------------------------------------

    def _group_dirs(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        if not self.root.is_dir():
            return
        for group_dir in sorted(self.root.iterdir()):
            meta = fmt.read_json(group_dir / fmt.GROUP_META)
            if meta is not None and "name" in meta:
                yield group_dir, meta

    def _group_dir(self, group: str) -> Path:
        group_dir = self.root / fmt.encode_name(group)
        if fmt.read_json(group_dir / fmt.GROUP_META) is None:
            raise NotFoundError(f"log group {group!r} does not exist")
        return group_dir

    @staticmethod
    def _stream_dirs(group_dir: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
        for stream_dir in sorted(p for p in group_dir.iterdir() if p.is_dir()):
            meta = fmt.read_json(stream_dir / fmt.STREAM_META)
            if meta is not None and "name" in meta:
                yield stream_dir, meta

    def _stream_dir(self, group: str, stream: str) -> Path:
        stream_dir = self._group_dir(group) / fmt.encode_name(stream)
        if fmt.read_json(stream_dir / fmt.STREAM_META) is None:
            raise NotFoundError(f"log stream {stream!r} does not exist in {group!r}")
        return stream_dir


def _iter_events(stream: str, stream_dir: Path, cursor: Position) -> Iterator[LogEvent]:
    """Events at or after a cursor, in stored order, one segment read at a time."""
    for number in fmt.segment_numbers(stream_dir):
        if number < cursor.segment:
            continue
        offset = cursor.offset if number == cursor.segment else 0
        path = stream_dir / fmt.segment_name(number)
        for entry in fmt.read_segment(path, offset):
            yield _event(stream, number, entry)


def _read_backward(
    stream: str,
    stream_dir: Path,
    before: Position,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[LogEvent]:
    """The last ``limit`` matching events before a cursor, oldest first."""
    if limit <= 0:
        return []
    found: list[LogEvent] = []
    for number in reversed(fmt.segment_numbers(stream_dir)):
        if number > before.segment:
            continue
        stop = before.offset if number == before.segment else None
        path = stream_dir / fmt.segment_name(number)
        chunk = [
            _event(stream, number, entry)
            for entry in fmt.read_segment(path, 0, stop)
            if within(entry.timestamp, start, end)
        ]
        found = chunk + found
        if len(found) >= limit:
            break
    return found[-limit:]


def _segments_bytes(stream_dir: Path) -> int:
    total = 0
    for number in fmt.segment_numbers(stream_dir):
        try:
            total += (stream_dir / fmt.segment_name(number)).stat().st_size
        except FileNotFoundError:
            continue
    return total


def _stream_info(stream_dir: Path, meta: dict[str, Any]) -> LogStreamInfo:
    numbers = fmt.segment_numbers(stream_dir)
    first = last = None
    for number in numbers:
        path = stream_dir / fmt.segment_name(number)
        entries = fmt.read_segment(path, 0, 64 * 1024) or fmt.read_segment(path)
        if entries:
            first = entries[0]
            break
    for number in reversed(numbers):
        last = fmt.last_entry(stream_dir / fmt.segment_name(number))
        if last is not None:
            break
    return LogStreamInfo(
        name=str(meta["name"]),
        creation_time=int(meta.get("creationTime", 0)),
        first_event_timestamp=None if first is None else first.timestamp,
        last_event_timestamp=None if last is None else last.timestamp,
        last_ingestion_time=None if last is None else last.ingestion_time,
        stored_bytes=_segments_bytes(stream_dir),
    )


# mypy proves the file reader fits the seam.
_check: LogQuery = FileLogQuery(Path())
