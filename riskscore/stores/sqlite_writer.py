"""One writer thread per SQLite file, committing queued jobs in groups.

SQLite allows one writer at a time and, with ``synchronous=FULL``, each commit
costs an fsync. Funnelling every write through one thread that runs whatever
has queued up in a single transaction lets concurrent callers share that
fsync (group commit, as in PostgreSQL's ``commit_delay``), while each job
keeps its own outcome through a SAVEPOINT.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from riskscore.errors import StoreUnavailableError

__all__ = ["GroupCommitWriter", "WriterStats"]

_log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters of the writer since it started."""

    jobs: int
    commits: int
    failed_batches: int
    largest_batch: int
    pending: int


@dataclass(frozen=True, slots=True)
class _Item:
    run: Job[Any]
    future: Future[Any]
    # A job of one statement needs no savepoint: SQLite undoes a failed
    # statement by itself and keeps the transaction (statement-level abort).
    single_statement: bool = False


_STOP: Final = object()


def _unavailable(message: str, cause: BaseException | None = None) -> StoreUnavailableError:
    error = StoreUnavailableError(message)
    error.__cause__ = cause
    return error


class GroupCommitWriter:
    """Owns a write connection; :meth:`submit` blocks until the job is committed.

    Jobs run in submission order. A job's exception rolls back only that job;
    a failure to begin or commit the transaction fails every job of the batch
    with StoreUnavailableError, and the writer carries on with the next batch.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        max_batch: int,
        max_delay_s: float,
        max_pending: int = 10_000,
        name: str = "riskscore-sqlite-writer",
    ) -> None:
        # Transactions are ours to begin and end (BEGIN IMMEDIATE ... COMMIT).
        conn.isolation_level = None
        self._conn = conn
        self._max_batch = max_batch
        self._max_delay_s = max_delay_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # The queue itself is unbounded; the semaphore bounds it, so a full
        # queue blocks callers (back-pressure) without holding ``_lock``.
        self._slots = threading.BoundedSemaphore(max_pending)
        self._lock = threading.Lock()
        self._closed = False
        self._death: BaseException | None = None
        self._inflight: list[_Item] = []
        self._jobs = 0
        self._commits = 0
        self._failed_batches = 0
        self._largest_batch = 0
        self._last_batch = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def stats(self) -> WriterStats:
        """Counters of the writer (jobs run, commits, queue depth)."""
        return WriterStats(
            jobs=self._jobs,
            commits=self._commits,
            failed_batches=self._failed_batches,
            largest_batch=self._largest_batch,
            pending=self._queue.qsize(),
        )

    def submit(self, job: Job[T]) -> T:
        """Run ``job(conn)`` in the writer's transaction; return once committed."""
        result: T = self.submit_nowait(job).result()
        return result

    def submit_nowait(self, job: Job[T], *, single_statement: bool = False) -> Future[T]:
        """Queue ``job``; the future resolves once its transaction is committed.

        Blocks only while the queue is full (back-pressure), never on the commit.
        ``single_statement`` jobs (one SQL statement) skip the per-job savepoint.
        """
        self._raise_if_stopped()
        item = _Item(job, Future(), single_statement)
        self._slots.acquire()
        with self._lock:
            if self._closed or self._death is not None:
                self._slots.release()
                self._raise_if_stopped()
            self._queue.put(item)
        return item.future

    def close(self) -> None:
        """Commit everything already queued, stop the thread, close the connection."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        self._thread.join()

    def _raise_if_stopped(self) -> None:
        if self._death is not None:
            raise _unavailable(f"profile store writer stopped: {self._death!r}", self._death)
        if self._closed:
            raise _unavailable("profile store is closed")

    def _run(self) -> None:
        try:
            stop = False
            while not stop:
                batch, stop = self._collect()
                if batch:
                    self._inflight = batch
                    self._commit(batch)
                    self._inflight = []
        except BaseException as exc:
            # Not re-raised: callers learn of it through StoreUnavailableError.
            _log.exception("profile store writer died")
            with self._lock:
                self._death = exc
        finally:
            self._shut_down()

    def _collect(self) -> tuple[list[_Item], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch: list[_Item] = [first]
        stop = False
        # Wait for more only while the batch is smaller than the last one: a
        # lone caller then never waits, and N steady callers commit together.
        target = min(self._last_batch, self._max_batch)
        deadline = time.monotonic() + self._max_delay_s
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if len(batch) >= target or remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is _STOP:
                stop = True
                break
            batch.append(item)
        self._slots.release(len(batch))
        return batch, stop

    def _commit(self, batch: list[_Item]) -> None:
        conn = self._conn
        self._jobs += len(batch)
        self._last_batch = len(batch)
        self._largest_batch = max(self._largest_batch, len(batch))
        done: list[tuple[_Item, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            done.extend(self._run_job(conn, item) for item in batch)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._failed_batches += 1
            for item in batch:
                item.future.set_exception(_unavailable(f"profile store write failed: {exc}", exc))
            return
        self._commits += 1
        for item, result, error in done:
            if error is None:
                item.future.set_result(result)
            else:
                item.future.set_exception(error)

    @staticmethod
    def _run_job(conn: sqlite3.Connection, item: _Item) -> tuple[_Item, Any, BaseException | None]:
        if item.single_statement:
            try:
                return item, item.run(conn), None
            except sqlite3.Error as exc:
                return item, None, _unavailable(f"profile store write failed: {exc}", exc)
        conn.execute("SAVEPOINT job")
        try:
            result = item.run(conn)
        except Exception as exc:
            # A failed ROLLBACK TO (the transaction is gone) propagates and
            # fails the whole batch, which is then the truth.
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            if isinstance(exc, sqlite3.Error):
                return item, None, _unavailable(f"profile store write failed: {exc}", exc)
            return item, None, exc
        conn.execute("RELEASE job")
        return item, result, None

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is unusable; the next BEGIN reports it

    def _shut_down(self) -> None:
        with self._lock:
            # Nothing can be queued once this lock is released: submit checks
            # the flags under it.
            if self._death is None and not self._closed:
                self._death = RuntimeError("writer thread exited")
            leftovers = list(self._inflight)
            self._inflight = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not _STOP:
                    self._slots.release()
                    leftovers.append(item)
        reason = self._death or RuntimeError("profile store is closed")
        for item in leftovers:
            if not item.future.done():
                item.future.set_exception(
                    _unavailable(f"profile store writer stopped: {reason!r}", reason)
                )
        self._rollback()
        self._conn.close()
