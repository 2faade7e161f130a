"""An append-only, CloudWatch Logs-shaped event log on local disk, written by one thread.

Callers (the scoring path, a PutLogEvents API) hand events to :class:`EventLog`
and get a future; one writer thread drains whatever has queued up, appends it
to the stream segment files, makes it durable with one fsync per touched file
and only then resolves the futures. Concurrent callers therefore share an
fsync (group commit, as :mod:`riskscore.stores.sqlite_writer` does for SQLite)
and scoring never waits for another request's disk write, only for its own.
The file format lives in :mod:`riskscore.events.log_format`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from riskscore.errors import InvalidArgumentError, NotFoundError
from riskscore.events import log_format as fmt
from riskscore.events.log_limits import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    EventLogClosedError,
    EventLogError,
    EventRejectedError,
    InputLogEvent,
    PutResult,
    RejectReason,
    ResourceAlreadyExistsError,
    check_batch,
    check_group_name,
    check_retention,
    check_stream_name,
    classify,
)
from riskscore.events.log_queue import Item, WriteQueue
from riskscore.events.log_segments import Segment, SegmentFiles

__all__ = [
    "Durability",
    "EventLog",
    "EventLogMetrics",
    "EventLogStats",
    "NullEventLogMetrics",
    "wall_clock_ms",
]

_log = logging.getLogger(__name__)

Durability = Literal["fsync", "flush", "none"]
_DURABILITIES: Final = ("fsync", "flush", "none")
# One writer batch is at most this many events (ten full PutLogEvents calls).
_MAX_WRITE_BATCH: Final = 100_000


def wall_clock_ms() -> int:
    """The machine's clock in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class EventLogMetrics(Protocol):
    """What the event log reports about itself."""

    def observe_queue_depth(self, events: int) -> None:
        """Events waiting for the writer when it takes a batch."""
        ...

    def observe_fsync(self, seconds: float, files: int) -> None:
        """One batch made durable: its fsync time and how many files it touched."""
        ...

    def observe_rejected(self, reason: str, count: int) -> None:
        """Events rejected as tooNew / tooOld / expired."""
        ...


class NullEventLogMetrics:
    """Reports nothing."""

    def observe_queue_depth(self, events: int) -> None:
        """Ignore."""

    def observe_fsync(self, seconds: float, files: int) -> None:
        """Ignore."""

    def observe_rejected(self, reason: str, count: int) -> None:
        """Ignore."""


@dataclass(frozen=True, slots=True)
class EventLogStats:
    """Counters since the log was opened."""

    written: int
    batches: int
    fsyncs: int
    largest_batch: int
    pending: int
    rejected_too_new: int
    rejected_too_old: int
    rejected_expired: int


class EventLog:
    """Log groups of streams of timestamped messages, appended durably in groups.

    Back-pressure: at most ``max_queue`` events (and ``max_queue_bytes`` of
    messages) wait for the writer. A submit that would exceed either blocks
    for up to ``submit_timeout`` seconds for room, then raises
    :class:`EventLogBusyError`; nothing is ever dropped silently and memory
    stays bounded. A single call larger than the bound is admitted only into
    an empty queue.

    Durability: ``fsync`` resolves a future once its event is fsynced
    (fdatasync) to disk; ``flush`` once it is written to the OS (survives a
    process crash, not a power cut); ``none`` at once (a crash may lose what
    is queued). :meth:`close` writes and fsyncs everything queued in any mode.
    """

    def __init__(
        self,
        root: Path,
        *,
        durability: Durability = "fsync",
        max_queue: int = 100_000,
        max_queue_bytes: int = 64 * 1024 * 1024,
        submit_timeout: float = 2.0,
        rotate_bytes: int = 16 * 1024 * 1024,
        retention_days: int | None = None,
        retention_interval: float = 300.0,
        clock: Callable[[], int] = wall_clock_ms,
        metrics: EventLogMetrics | None = None,
    ) -> None:
        if durability not in _DURABILITIES:
            raise InvalidArgumentError("durability", f"must be one of {_DURABILITIES}")
        if max_queue < 1 or max_queue_bytes < 1 or rotate_bytes < 1:
            raise InvalidArgumentError("max_queue", "queue and segment sizes must be positive")
        check_retention(retention_days)
        self.root = root
        self.durability: Durability = durability
        self.retention_days = retention_days
        self._submit_timeout = submit_timeout
        self._retention_interval = retention_interval
        self._clock = clock
        self._metrics = metrics or NullEventLogMetrics()
        root.mkdir(parents=True, exist_ok=True)
        self._queue = WriteQueue(max_queue, max_queue_bytes)
        # Held by the writer while it writes a batch and by enforce_retention,
        # so segment files are never deleted under an append.
        self._io_lock = threading.Lock()
        self._meta_lock = threading.Lock()
        self._retention: dict[str, int | None] = {}
        self._streams: set[tuple[str, str]] = set()
        self._files = SegmentFiles(root, rotate_bytes)
        self._counts = {"written": 0, "batches": 0, "fsyncs": 0, "largest": 0}
        self._rejected = {"tooNew": 0, "tooOld": 0, "expired": 0}
        self._thread = threading.Thread(target=self._run, name="riskscore-event-log", daemon=True)
        self._thread.start()

    # -- groups and streams -------------------------------------------------

    def create_group(
        self, name: str, *, retention_days: int | None = None, exist_ok: bool = False
    ) -> None:
        """CreateLogGroup; raises ResourceAlreadyExistsError unless ``exist_ok``."""
        check_group_name(name)
        check_retention(retention_days)
        with self._meta_lock:
            group_dir = self.root / fmt.encode_name(name)
            meta = fmt.read_json(group_dir / fmt.GROUP_META)
            if meta is not None:
                if not exist_ok:
                    raise ResourceAlreadyExistsError(f"log group {name!r} already exists")
                self._retention[name] = meta.get("retentionInDays")
                return
            group_dir.mkdir(exist_ok=True)
            fmt.fsync_dir(self.root)
            meta = {
                "name": name,
                "creationTime": self._clock(),
                "retentionInDays": retention_days,
            }
            fmt.write_json_atomic(group_dir / fmt.GROUP_META, meta)
            self._retention[name] = retention_days

    def put_retention_policy(self, group: str, retention_days: int | None) -> None:
        """PutRetentionPolicy (None deletes the policy)."""
        check_retention(retention_days)
        with self._meta_lock:
            path = self._group_dir(group) / fmt.GROUP_META
            meta = fmt.read_json(path)
            if meta is None:
                raise NotFoundError(f"log group {group!r} does not exist")
            meta["retentionInDays"] = retention_days
            fmt.write_json_atomic(path, meta)
            self._retention[group] = retention_days

    def create_stream(self, group: str, name: str, *, exist_ok: bool = False) -> None:
        """CreateLogStream; raises NotFoundError for an unknown group."""
        check_stream_name(name)
        with self._meta_lock:
            group_dir = self._group_dir(group)
            if fmt.read_json(group_dir / fmt.GROUP_META) is None:
                raise NotFoundError(f"log group {group!r} does not exist")
            stream_dir = group_dir / fmt.encode_name(name)
            if fmt.read_json(stream_dir / fmt.STREAM_META) is not None:
                if not exist_ok:
                    raise ResourceAlreadyExistsError(f"log stream {name!r} already exists")
                self._streams.add((group, name))
                return
            stream_dir.mkdir(exist_ok=True)
            fmt.fsync_dir(group_dir)
            fmt.write_json_atomic(
                stream_dir / fmt.STREAM_META, {"name": name, "creationTime": self._clock()}
            )
            self._streams.add((group, name))

    # -- writing --------------------------------------------------------------

    def submit(self, group: str, stream: str, timestamp_ms: int, message: str) -> Future[None]:
        """Append one event, creating its group and stream if needed.

        The future resolves once the event is durable per ``durability``; it
        fails with EventRejectedError when the timestamp is more than 2 h ahead,
        more than 14 days old or older than the group's retention. Raises
        EventLogBusyError when the queue stays full (see the class docstring).
        """
        if not message:
            raise InvalidArgumentError("message", "must not be empty")
        if len(message.encode("utf-8")) + EVENT_OVERHEAD_BYTES > MAX_BATCH_BYTES:
            raise InvalidArgumentError("message", "event exceeds 1,048,576 bytes")
        key = (group, stream)
        if key not in self._streams:
            self.create_group(group, retention_days=self.retention_days, exist_ok=True)
            self.create_stream(group, stream, exist_ok=True)
        now = self._clock()
        reason = classify(timestamp_ms, now, self._retention.get(group))
        future: Future[None] = Future()
        if reason is not None:
            self._count_rejected(reason, 1)
            future.set_exception(EventRejectedError(reason, timestamp_ms, now))
            return future
        self._enqueue(Item(group, stream, ((timestamp_ms, message),), future))
        return future

    def submit_log_events(
        self, group: str, stream: str, events: Sequence[InputLogEvent]
    ) -> tuple[PutResult, Future[None]]:
        """PutLogEvents without waiting: what was accepted, and a future for its durability."""
        if (group, stream) not in self._streams:
            self._require_stream(group, stream)
        result = check_batch(events, self._clock(), self._retention.get(group))
        for reason, count in result.rejected_counts(len(events)).items():
            if count:
                self._count_rejected(reason, count)
        future: Future[None] = Future()
        accepted = tuple((e["timestamp"], e["message"]) for e in events[result.first : result.stop])
        if not accepted:
            future.set_result(None)
        else:
            self._enqueue(Item(group, stream, accepted, future))
        return result, future

    def put_log_events(self, group: str, stream: str, events: Sequence[InputLogEvent]) -> PutResult:
        """PutLogEvents: validate, append, and return once durable per ``durability``."""
        result, future = self.submit_log_events(group, stream, events)
        future.result()
        return result

    def close(self) -> None:
        """Write and fsync everything queued, then stop the writer; idempotent."""
        self._queue.close()
        self._thread.join()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> EventLogStats:
        """Counters since the log was opened."""
        c = self._counts
        return EventLogStats(
            written=c["written"],
            batches=c["batches"],
            fsyncs=c["fsyncs"],
            largest_batch=c["largest"],
            pending=self._queue.depth()[0],
            rejected_too_new=self._rejected["tooNew"],
            rejected_too_old=self._rejected["tooOld"],
            rejected_expired=self._rejected["expired"],
        )

    def enforce_retention(self) -> int:
        """Delete whole segments whose newest event was stored before the retention window.

        A segment's age is its last ingestion time, so no event still inside
        its group's window is deleted. Returns how many segments went.
        """
        with self._io_lock:
            return self._files.expire(self._clock())

    # -- internals ------------------------------------------------------------

    def _group_dir(self, group: str) -> Path:
        return self.root / fmt.encode_name(group)

    def _require_stream(self, group: str, stream: str) -> None:
        group_dir = self._group_dir(group)
        meta = fmt.read_json(group_dir / fmt.GROUP_META)
        if meta is None:
            raise NotFoundError(f"log group {group!r} does not exist")
        if fmt.read_json(group_dir / fmt.encode_name(stream) / fmt.STREAM_META) is None:
            raise NotFoundError(f"log stream {stream!r} does not exist")
        with self._meta_lock:
            self._retention.setdefault(group, meta.get("retentionInDays"))
            self._streams.add((group, stream))

    def _count_rejected(self, reason: RejectReason, n: int) -> None:
        with self._meta_lock:
            self._rejected[reason] += n
        self._metrics.observe_rejected(reason, n)

    def _enqueue(self, item: Item) -> None:
        if self.durability == "none":
            # Acknowledged now; the writer's result is only logged.
            ack = item.future
            item = Item(item.group, item.stream, item.events, Future())
            self._queue.put(item, self._submit_timeout)
            ack.set_result(None)
            return
        self._queue.put(item, self._submit_timeout)

    def _run(self) -> None:
        next_retention = time.monotonic()
        batch: list[Item] = []
        try:
            stop = False
            while not stop:
                wait = max(0.0, next_retention - time.monotonic())
                batch, stop, depth = self._queue.take(wait, _MAX_WRITE_BATCH)
                if batch:
                    self._metrics.observe_queue_depth(depth)
                    self._write(batch)
                batch = []
                if time.monotonic() >= next_retention:
                    next_retention = time.monotonic() + self._retention_interval
                    try:
                        self.enforce_retention()
                    except OSError:
                        _log.exception("event log retention failed")
        except BaseException as exc:
            _log.exception("event log writer died")
            error = EventLogClosedError(f"event log writer died: {exc!r}")
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(error)
            self._queue.fail_all(error)
        finally:
            with self._io_lock:
                self._files.close_all()

    def _write(self, batch: list[Item]) -> None:
        with self._io_lock:
            ingestion = self._clock()
            by_stream: dict[tuple[str, str], list[Item]] = {}
            for item in batch:
                by_stream.setdefault((item.group, item.stream), []).append(item)
            failed: dict[tuple[str, str], BaseException] = {}
            touched: dict[tuple[str, str], list[Segment]] = {}
            for key, items in by_stream.items():
                events = (event for item in items for event in item.events)
                try:
                    touched[key] = self._files.append(key, events, ingestion)
                except OSError as exc:
                    failed[key] = exc
            started = time.perf_counter()
            files = 0
            for key, segments in touched.items():
                try:
                    for segment in segments:
                        if self.durability == "fsync" or segment is not segments[-1]:
                            os.fdatasync(segment.fd)
                            files += 1
                except OSError as exc:
                    failed[key] = exc
                for segment in segments[:-1]:
                    os.close(segment.fd)
            if files:
                self._counts["fsyncs"] += files
                self._metrics.observe_fsync(time.perf_counter() - started, files)
            for key, error in failed.items():
                _log.error("event log write to %s/%s failed: %s", key[0], key[1], error)
                with contextlib.suppress(OSError):
                    self._files.drop(key)
            n = sum(len(item.events) for item in batch)
            self._counts["written"] += n
            self._counts["batches"] += 1
            self._counts["largest"] = max(self._counts["largest"], n)
        for key, items in by_stream.items():
            cause = failed.get(key)
            for item in items:
                if cause is None:
                    item.future.set_result(None)
                else:
                    item.future.set_exception(
                        EventLogError(f"event log write to {key[0]}/{key[1]} failed: {cause}")
                    )
