"""The open segment files of the event log: appending, rotating, syncing, expiring.

Used only by the event log's writer thread (and by retention under the same
lock), so nothing here locks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from riskscore.events import log_format as fmt
from riskscore.events.log_limits import DAY_MS

__all__ = ["Segment", "SegmentFiles"]

_log = logging.getLogger(__name__)

StreamKey = tuple[str, str]


class Segment:
    """An open segment file and its size."""

    __slots__ = ("fd", "number", "path", "size")

    def __init__(self, path: Path, number: int, fd: int, size: int) -> None:
        self.path = path
        self.number = number
        self.fd = fd
        self.size = size


class SegmentFiles:
    """The active segment of each stream, opened on first write."""

    def __init__(self, root: Path, rotate_bytes: int) -> None:
        self._root = root
        self._rotate_bytes = rotate_bytes
        self._active: dict[StreamKey, Segment] = {}
        # Newest ingestion time of sealed segments (they never change again).
        self._sealed_ingestion: dict[Path, int] = {}

    def stream_dir(self, key: StreamKey) -> Path:
        """Where a stream's segments live."""
        return self._root / fmt.encode_name(key[0]) / fmt.encode_name(key[1])

    def append(
        self, key: StreamKey, events: Iterable[tuple[int, str]], ingestion: int
    ) -> list[Segment]:
        """Write a stream's events in order, rotating by size; returns the segments written.

        All but the last returned segment are sealed: the caller syncs and
        closes them. On an OSError the sealed ones are closed here.
        """
        segment = self._active.get(key) or self._open(key)
        written = [segment]
        buf = bytearray()
        try:
            for timestamp, message in events:
                line = fmt.encode_line(timestamp, ingestion, message)
                pending = segment.size + len(buf)
                if pending and pending + len(line) > self._rotate_bytes:
                    _write_all(segment, buf)
                    buf = bytearray()
                    segment = _create(segment.path.parent, segment.number + 1)
                    self._active[key] = segment
                    written.append(segment)
                buf += line
            _write_all(segment, buf)
        except OSError:
            for sealed in written[:-1]:
                os.close(sealed.fd)
            raise
        return written

    def drop(self, key: StreamKey, *, sync: bool = False) -> None:
        """Close a stream's active segment (reopening rescans it and cuts a torn tail)."""
        segment = self._active.pop(key, None)
        if segment is None:
            return
        try:
            if sync:
                os.fdatasync(segment.fd)
        finally:
            os.close(segment.fd)

    def close_all(self) -> None:
        """Sync and close every active segment."""
        for key in list(self._active):
            try:
                self.drop(key, sync=True)
            except OSError:
                _log.exception("event log: closing %s/%s failed", *key)

    def expire(self, now: int) -> int:
        """Delete segments whose newest ingestion time is past their group's retention.

        A stream's newest segment is replaced by an empty successor before it
        is deleted, so segment numbers (and reader positions) are never reused.
        """
        deleted = 0
        for group_dir in sorted(p for p in self._root.iterdir() if p.is_dir()):
            meta = fmt.read_json(group_dir / fmt.GROUP_META)
            days = None if meta is None else meta.get("retentionInDays")
            if meta is None or days is None:
                continue
            cutoff = now - int(days) * DAY_MS
            for stream_dir in sorted(p for p in group_dir.iterdir() if p.is_dir()):
                smeta = fmt.read_json(stream_dir / fmt.STREAM_META)
                if smeta is not None:
                    key = (str(meta["name"]), str(smeta["name"]))
                    deleted += self._expire_stream(key, stream_dir, cutoff)
        return deleted

    def _expire_stream(self, key: StreamKey, stream_dir: Path, cutoff: int) -> int:
        numbers = fmt.segment_numbers(stream_dir)
        deleted = 0
        for number in numbers:
            path = stream_dir / fmt.segment_name(number)
            newest = number == numbers[-1]
            last = self._sealed_ingestion.get(path)
            if last is None:
                entry = fmt.last_entry(path)
                last = None if entry is None else entry.ingestion_time
                if last is not None and not newest:
                    self._sealed_ingestion[path] = last
            if last is None or last >= cutoff:
                continue
            if newest:
                self.drop(key)
                os.close(_create(stream_dir, number + 1).fd)
            fmt.remove_quietly(path)
            self._sealed_ingestion.pop(path, None)
            deleted += 1
        return deleted

    def _open(self, key: StreamKey) -> Segment:
        stream_dir = self.stream_dir(key)
        numbers = fmt.segment_numbers(stream_dir)
        if not numbers:
            segment = _create(stream_dir, 0)
        else:
            path = stream_dir / fmt.segment_name(numbers[-1])
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            size = os.fstat(fd).st_size
            valid = fmt.valid_length(path)
            if valid < size:
                _log.warning("event log: cutting %d torn bytes off %s", size - valid, path)
                os.ftruncate(fd, valid)
                os.fsync(fd)
            segment = Segment(path, numbers[-1], fd, valid)
        self._active[key] = segment
        return segment


def _create(stream_dir: Path, number: int) -> Segment:
    path = stream_dir / fmt.segment_name(number)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    # The new directory entry must survive a crash as much as the data in it.
    fmt.fsync_dir(stream_dir)
    return Segment(path, number, fd, os.fstat(fd).st_size)


def _write_all(segment: Segment, data: bytearray) -> None:
    view = memoryview(data)
    while view:
        n = os.write(segment.fd, view)
        segment.size += n
        view = view[n:]
