"""The embedded ProfileStore: one SQLite file in WAL mode.

Reads run on a connection per thread and never wait for the writer (a WAL
reader sees the last committed state). Writes go through one
:class:`GroupCommitWriter` thread, so concurrent callers share a commit and
its fsync. Schema and statements are in :mod:`riskscore.stores.sqlite_schema`.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from riskscore.core import features as f
from riskscore.core.attempt import EventType, Outcome
from riskscore.core.enrichment import Place
from riskscore.core.features import Observation
from riskscore.core.profile import (
    AttackerMark,
    ColumnStats,
    History,
    LastLogin,
    ProfileSnapshot,
    hours_histogram,
)
from riskscore.core.result import Decision, RiskLevel
from riskscore.core.velocity import (
    MEMBER_CAP,
    WindowCounts,
    counts_from,
    minute_of,
    window_keys,
)
from riskscore.errors import NotFoundError, StoreUnavailableError
from riskscore.stores import sqlite_history as history
from riskscore.stores import sqlite_schema as sql
from riskscore.stores.base import (
    DEFAULT_WINDOW,
    AttemptRecord,
    Feedback,
    FeedbackResult,
    HistoryPage,
    OutcomeResult,
    check_outcome,
)
from riskscore.stores.codec import from_micros, observation_from_json, observation_to_json
from riskscore.stores.codec import to_micros as micros
from riskscore.stores.risk_configs import SqliteRiskConfigStore
from riskscore.stores.sqlite_writer import GroupCommitWriter, WriterStats

__all__ = ["Durability", "SqliteProfileStore", "WriterStats"]

Durability = Literal["fsync", "flush", "none"]

# In WAL mode FULL syncs the log at every commit (a commit survives power
# loss), NORMAL only at checkpoints (survives a process kill), OFF never.
_SYNCHRONOUS: Final[dict[str, str]] = {"fsync": "FULL", "flush": "NORMAL", "none": "OFF"}
_MAX_PENDING: Final = 10_000
T = TypeVar("T")


class SqliteProfileStore:
    """A ProfileStore in one SQLite file; see the module docstring for the design."""

    def __init__(
        self,
        path: Path,
        *,
        durability: Durability = "fsync",
        max_batch: int = 512,
        max_delay_s: float = 0.002,
        busy_timeout_s: float = 5.0,
        window: timedelta = DEFAULT_WINDOW,
    ) -> None:
        if durability not in _SYNCHRONOUS:
            raise ValueError(
                f"durability must be one of {sorted(_SYNCHRONOUS)}, not {durability!r}"
            )
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if max_delay_s < 0 or busy_timeout_s < 0:
            raise ValueError("max_delay_s and busy_timeout_s must not be negative")
        self.path = Path(path)
        self._window_minutes = max(int(window.total_seconds() // 60), 1)
        self.durability: Durability = durability
        self._busy_timeout_s = busy_timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError(f"cannot open profile store {self.path}: {exc}") from exc
        try:
            _prepare(conn, self.path, durability)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreUnavailableError(f"cannot open profile store {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        self._writer = GroupCommitWriter(
            conn, max_batch=max_batch, max_delay_s=max_delay_s, max_pending=_MAX_PENDING
        )
        self._local = threading.local()
        self._readers: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @property
    def stats(self) -> WriterStats:
        """The writer's counters: jobs, commits, largest batch, queue depth."""
        return self._writer.stats

    def snapshot(self, pool_id: str, username: str, obs: Observation) -> ProfileSnapshot:
        """What the user's and the pool's history say about this observation."""
        if self._closed:
            raise StoreUnavailableError("profile store is closed")
        # Population lookups first: the statement asks the pool for the first n_pool pairs.
        pool = [(col, v) for col in f.POPULATION_LOOKUPS if (v := obs.get(col))]
        user_only = [
            (col, v) for col in f.USER_LOOKUPS[len(f.POPULATION_LOOKUPS) :] if (v := obs.get(col))
        ]
        asked = pool + user_only
        params: list[Any] = [pool_id, username]
        for pair in asked:
            params.extend(pair)
        now = minute_of(obs.timestamp)
        params.extend(
            (
                now - self._window_minutes + 1,
                now,
                obs.ip_address,
                obs.get(f.ASN),
                MEMBER_CAP,
                obs.get(f.DEVICE),
            )
        )
        try:
            statement = sql.snapshot_sql(len(asked), len(pool))
            rows = self._reader().execute(statement, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"profile store read failed: {exc}") from exc
        return _snapshot_of(obs, rows)

    def save_attempt(self, record: AttemptRecord) -> None:
        """Persist a scored attempt so its outcome can be reported later."""
        self.submit_attempt(record).result()

    def submit_attempt(self, record: AttemptRecord) -> Future[None]:
        """Queue a scored attempt; the future resolves once it is durable."""
        row = (
            record.event_id,
            record.pool_id,
            record.username,
            record.event_type.value,
            micros(record.created),
            observation_to_json(record.observation),
            record.risk_score,
            record.risk_level.value,
            record.decision.value,
            record.outcome.value if record.outcome is not None else None,
            micros(record.outcome_at) if record.outcome_at is not None else None,
        )
        counts = _window_rows(record, failure=False)
        event = history.history_row(row, record.compromised)
        return self._writer.submit_nowait(functools.partial(_save_attempt, row, event, counts))

    def apply_outcome(self, event_id: str, outcome: Outcome, at: datetime) -> OutcomeResult:
        """Close an attempt; SUCCEEDED teaches the profile in the same transaction."""
        return self.submit_outcome(event_id, outcome, at).result()

    def submit_outcome(
        self, event_id: str, outcome: Outcome, at: datetime
    ) -> Future[OutcomeResult]:
        """Queue an outcome; the future resolves (or fails) once it is committed."""
        job = functools.partial(_apply_outcome, event_id, outcome, at, micros(at))
        return self._writer.submit_nowait(job)

    def purge_attempts(self, created_before: datetime) -> int:
        """Forget attempts created before a time; returns how many."""
        return self._writer.submit(functools.partial(_purge, micros(created_before)))

    def list_auth_events(
        self, pool_id: str, username: str, limit: int, before: tuple[datetime, str] | None
    ) -> HistoryPage:
        """Up to ``limit`` history events, newest first, older than ``before``."""
        try:
            return history.list_events(self._checked_reader(), pool_id, username, limit, before)
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"auth event history read failed: {exc}") from exc

    def submit_feedback(
        self, pool_id: str, username: str, event_id: str, feedback: Feedback
    ) -> Future[FeedbackResult]:
        """Queue feedback; the future resolves (or fails) once it is committed."""
        job = functools.partial(history.apply_feedback, pool_id, username, event_id, feedback)
        return self._writer.submit_nowait(job)

    def purge_auth_events(self, created_before: datetime) -> int:
        """Forget history events and attacker marks older than a time."""
        return self._writer.submit(functools.partial(history.purge_history, micros(created_before)))

    def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job(conn)`` in the writer's transaction, under its own savepoint, once committed.

        For one-off bulk writes (riskscore/batch/warm.py): an exception in the
        job undoes all of its writes and is raised here.
        """
        return self._writer.submit(job)

    def risk_configs(self) -> SqliteRiskConfigStore:
        """The admin RPCs' RiskConfigStore in this file, sharing its writer and readers."""
        return SqliteRiskConfigStore(self._writer, self._checked_reader)

    def _checked_reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailableError("profile store is closed")
        return self._reader()

    def close(self) -> None:
        """Commit what is queued, stop the writer and close every connection."""
        with self._readers_lock:
            if self._closed:
                return
            self._closed = True
            readers, self._readers = self._readers, []
        for _, conn in readers:
            conn.close()
        self._writer.close()

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread is off because close() closes every connection
        # from its own thread; each is otherwise used by one thread only.
        return sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=256,
        )

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = self._connect()
        conn.execute("PRAGMA query_only = ON")
        with self._readers_lock:
            if self._closed:
                conn.close()
                raise StoreUnavailableError("profile store is closed")
            live = []
            for thread, other in self._readers:
                if thread.is_alive():
                    live.append((thread, other))
                else:
                    other.close()
            live.append((threading.current_thread(), conn))
            self._readers = live
        self._local.conn = conn
        return conn


def _prepare(conn: sqlite3.Connection, path: Path, durability: Durability) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > sql.SCHEMA_VERSION:
        raise StoreUnavailableError(
            f"profile store {path} has schema version {version}, newer than version "
            f"{sql.SCHEMA_VERSION} that this riskscore understands; upgrade riskscore "
            "or use another file"
        )
    (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if str(mode).lower() != "wal":
        raise StoreUnavailableError(f"profile store {path} cannot use WAL mode ({mode})")
    conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[durability]}")
    if version == sql.SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in sql.SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        # A new file got the column from SCHEMA; a version 1 or 2 file has not.
        users = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
        if sql.LAST_NETWORK_TYPE_COLUMN not in users:
            conn.execute(sql.ADD_LAST_NETWORK_TYPE)
        conn.execute(f"PRAGMA user_version = {sql.SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _snapshot_of(obs: Observation, rows: list[Any]) -> ProfileSnapshot:
    counts: tuple[dict[str, int], dict[str, int]] = ({}, {})
    columns: tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]] = ({}, {})
    pool_logins = users = logins = failures = 0
    last_login = None
    marks: list[AttackerMark] = []
    window_rows = []
    hour_rows: list[tuple[str, int]] = []
    for row in rows:
        kind, col, a, b = row[0], row[1], row[2], row[3]
        if kind < 2:
            counts[kind][col] = a
        elif kind < 4:
            columns[kind - 2][col] = (a, b)
        elif kind == 4:
            pool_logins, users = a, b
        elif kind == 6:
            window_rows.append((col, a, b, row[4]))
        elif kind == 7:
            hour_rows.append((col, a))
        elif kind == 8:
            marks.append(AttackerMark(row[4], col, row[5], from_micros(a), b))
        else:
            logins, failures = a, b
            at_us, country, region, city, lat, lon, acc, network_type = row[4:12]
            if at_us is not None:
                place = Place(country, region, city, lat, lon, acc)
                last_login = LastLogin(from_micros(at_us), col, place, network_type or "")
    histories = [_columns_of(obs, counts[i], columns[i]) for i in (0, 1)]
    return ProfileSnapshot(
        user=History(logins=logins, columns=histories[0]),
        population=History(logins=pool_logins, columns=histories[1]),
        users=users,
        last_login=last_login,
        failures_since_success=failures,
        window=_window_of(window_rows),
        user_hours=hours_histogram(hour_rows),
        attacker_marks=tuple(marks),
    )


def _columns_of(
    obs: Observation, counts: dict[str, int], columns: dict[str, tuple[int, int]]
) -> dict[str, ColumnStats]:
    stats = {}
    for col, value in obs.values.items():
        total, distinct = columns.get(col, (0, 0))
        stats[col] = ColumnStats(counts.get(col, 0) if value else 0, total, distinct)
    return stats


def _record_of(row: Any) -> AttemptRecord:
    event_id, pool_id, username, event_type, created_us, obs, score, level, decision = row[:9]
    outcome, outcome_at_us = row[9:]
    return AttemptRecord(
        event_id=event_id,
        pool_id=pool_id,
        username=username,
        event_type=EventType(event_type),
        created=from_micros(created_us),
        observation=observation_from_json(obs),
        risk_score=score,
        risk_level=RiskLevel(level),
        decision=Decision(decision),
        outcome=Outcome(outcome) if outcome is not None else None,
        outcome_at=from_micros(outcome_at_us) if outcome_at_us is not None else None,
    )


def _window_rows(
    record: AttemptRecord, *, failure: bool
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows for window_counts and window_members that one attempt (or failure) adds."""
    minute = minute_of(record.observation.timestamp)
    counts: list[tuple[Any, ...]] = []
    members: list[tuple[Any, ...]] = []
    for kind, key in window_keys(record.username, record.observation, record.event_type):
        if failure and kind == "signup_ip":
            continue
        counts.append((record.pool_id, kind, key, minute, 0 if failure else 1, 1 if failure else 0))
        if not failure and kind in ("ip", "asn"):
            members.append((record.pool_id, kind, key, record.username, minute))
    return counts, members


def _write_window(
    rows: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]], conn: sqlite3.Connection
) -> None:
    conn.executemany(sql.COUNT_WINDOW, rows[0])
    conn.executemany(sql.COUNT_WINDOW_MEMBER, rows[1])


def _window_of(rows: list[Any]) -> WindowCounts:
    attempts: dict[str, int] = {}
    failures: dict[str, int] = {}
    users: dict[str, int] = {}
    for kind, n_attempts, n_failures, n_users in rows:
        attempts[kind] = attempts.get(kind, 0) + int(n_attempts or 0)
        failures[kind] = failures.get(kind, 0) + int(n_failures or 0)
        users[kind] = users.get(kind, 0) + int(n_users or 0)
    return counts_from(attempts, failures, users)


def _save_attempt(
    row: tuple[Any, ...],
    event: tuple[Any, ...],
    window: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
    conn: sqlite3.Connection,
) -> None:
    conn.execute(sql.SAVE_ATTEMPT, row)
    conn.execute(history.SAVE_AUTH_EVENT, event)
    _write_window(window, conn)


def _purge(created_before_us: int, conn: sqlite3.Connection) -> int:
    minute = created_before_us // 60_000_000
    conn.execute(sql.PRUNE_WINDOW_COUNTS, (minute,))
    conn.execute(sql.PRUNE_WINDOW_MEMBERS, (minute,))
    return conn.execute(sql.PURGE, (created_before_us,)).rowcount


def _apply_outcome(
    event_id: str, outcome: Outcome, at: datetime, at_us: int, conn: sqlite3.Connection
) -> OutcomeResult:
    row = conn.execute(sql.LOAD_ATTEMPT, (event_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no attempt with event_id {event_id!r}")
    record = _record_of(row)
    if check_outcome(record, outcome):
        return OutcomeResult(record, already_recorded=True, profile_updated=False)
    conn.execute(sql.SET_OUTCOME, (outcome.value, at_us, event_id))
    record = replace(record, outcome=outcome, outcome_at=at)
    teach = history.outcome_teaches(conn, event_id, outcome)
    history.record_outcome(conn, record, at_us, taught=teach)
    if teach:
        history.teach(conn, record)
    elif outcome.is_failure:
        conn.execute(sql.COUNT_FAILURE, (record.pool_id, record.username))
        _write_window(_window_rows(record, failure=True), conn)
    return OutcomeResult(record, already_recorded=False, profile_updated=teach)
