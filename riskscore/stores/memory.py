"""An in-memory ProfileStore: the reference semantics, used by unit tests."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from riskscore.core import features as f
from riskscore.core.attempt import Outcome
from riskscore.core.features import Observation
from riskscore.core.profile import (
    ColumnStats,
    History,
    LastLogin,
    ProfileSnapshot,
    hours_histogram,
)
from riskscore.core.velocity import (
    WindowCounts,
    WindowKind,
    counts_from,
    minute_of,
    window_keys,
)
from riskscore.errors import NotFoundError
from riskscore.stores.base import (
    DEFAULT_WINDOW,
    AttemptRecord,
    OutcomeResult,
    check_outcome,
    taught_values,
)

T = TypeVar("T")


def _done(fn: Callable[..., T], *args: object) -> Future[T]:
    future: Future[T] = Future()
    try:
        future.set_result(fn(*args))
    except Exception as exc:
        future.set_exception(exc)
    return future


@dataclass
class _Scope:
    logins: int = 0
    counts: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    totals: Counter[str] = field(default_factory=Counter)

    def history(self, obs: Observation, lookups: tuple[str, ...]) -> History:
        columns = {
            col: ColumnStats(
                count=self.counts[col][value] if value and col in lookups else 0,
                total=self.totals[col],
                distinct=len(self.counts[col]),
            )
            for col, value in obs.values.items()
        }
        return History(logins=self.logins, columns=columns)

    def teach(self, values: dict[str, str]) -> None:
        self.logins += 1
        for col, value in values.items():
            self.counts[col][value] += 1
            self.totals[col] += 1


@dataclass
class _User:
    scope: _Scope = field(default_factory=_Scope)
    last_login: LastLogin | None = None
    failures_since_success: int = 0


WindowKey = tuple[str, WindowKind, str]


class MemoryProfileStore:
    """Keeps everything in dictionaries behind one lock; nothing survives a restart."""

    def __init__(self, *, window: timedelta = DEFAULT_WINDOW) -> None:
        self._window_minutes = int(window.total_seconds() // 60)
        # Per window key: minute -> [attempts, failures]; member -> latest minute.
        self._buckets: defaultdict[WindowKey, dict[int, list[int]]] = defaultdict(dict)
        self._members: defaultdict[WindowKey, dict[str, int]] = defaultdict(dict)
        self._lock = threading.Lock()
        self._users: dict[tuple[str, str], _User] = {}
        self._pools: defaultdict[str, _Scope] = defaultdict(_Scope)
        self._pool_users: Counter[str] = Counter()
        self._attempts: dict[str, AttemptRecord] = {}

    def snapshot(self, pool_id: str, username: str, obs: Observation) -> ProfileSnapshot:
        """What the user's and the pool's history say about this observation."""
        with self._lock:
            user = self._users.get((pool_id, username)) or _User()
            return ProfileSnapshot(
                user=user.scope.history(obs, f.USER_LOOKUPS),
                population=self._pools[pool_id].history(obs, f.POPULATION_LOOKUPS),
                users=self._pool_users[pool_id],
                last_login=user.last_login,
                failures_since_success=user.failures_since_success,
                window=self._window(pool_id, username, obs),
                user_hours=hours_histogram(user.scope.counts[f.HOUR].items()),
            )

    def _window(self, pool_id: str, username: str, obs: Observation) -> WindowCounts:
        now = minute_of(obs.timestamp)
        first = now - self._window_minutes + 1
        keys: list[tuple[WindowKind, str]] = [("user", username), ("ip", obs.ip_address)]
        if obs.get(f.ASN):
            keys.append(("asn", obs.get(f.ASN)))
        keys.append(("signup_ip", obs.ip_address))
        attempts: dict[str, int] = {}
        failures: dict[str, int] = {}
        users: dict[str, int] = {}
        for kind, key in keys:
            buckets = self._buckets.get((pool_id, kind, key), {})
            live = [b for m, b in buckets.items() if first <= m <= now]
            attempts[kind] = sum(b[0] for b in live)
            failures[kind] = sum(b[1] for b in live)
            members = self._members.get((pool_id, kind, key), {})
            users[kind] = sum(1 for m in members.values() if first <= m <= now)
        return counts_from(attempts, failures, users)

    def _count(self, record: AttemptRecord, *, failure: bool) -> None:
        minute = minute_of(record.observation.timestamp)
        for kind, key in window_keys(record.username, record.observation, record.event_type):
            if failure and kind == "signup_ip":
                continue
            wkey = (record.pool_id, kind, key)
            bucket = self._buckets[wkey].setdefault(minute, [0, 0])
            bucket[1 if failure else 0] += 1
            if not failure and kind in ("ip", "asn"):
                members = self._members[wkey]
                members[record.username] = max(members.get(record.username, minute), minute)

    def save_attempt(self, record: AttemptRecord) -> None:
        """Keep a scored attempt."""
        with self._lock:
            if record.event_id not in self._attempts:
                self._count(record, failure=False)
            self._attempts[record.event_id] = record

    def submit_attempt(self, record: AttemptRecord) -> Future[None]:
        """Keep a scored attempt; the returned future is already done."""
        return _done(self.save_attempt, record)

    def submit_outcome(
        self, event_id: str, outcome: Outcome, at: datetime
    ) -> Future[OutcomeResult]:
        """Apply an outcome now; the returned future is already done."""
        return _done(self.apply_outcome, event_id, outcome, at)

    def apply_outcome(self, event_id: str, outcome: Outcome, at: datetime) -> OutcomeResult:
        """Close an attempt; SUCCEEDED teaches the user's and the pool's counts."""
        with self._lock:
            record = self._attempts.get(event_id)
            if record is None:
                raise NotFoundError(f"no attempt with event_id {event_id!r}")
            if check_outcome(record, outcome):
                return OutcomeResult(record, already_recorded=True, profile_updated=False)
            record = replace(record, outcome=outcome, outcome_at=at)
            self._attempts[event_id] = record
            key = (record.pool_id, record.username)
            user = self._users.setdefault(key, _User())
            if outcome is Outcome.SUCCEEDED:
                if user.scope.logins == 0:
                    self._pool_users[record.pool_id] += 1
                values = taught_values(record.observation)
                user.scope.teach(values)
                self._pools[record.pool_id].teach(values)
                obs = record.observation
                if user.last_login is None or obs.timestamp >= user.last_login.timestamp:
                    user.last_login = LastLogin(
                        obs.timestamp, obs.ip_address, obs.place, obs.network_type
                    )
                user.failures_since_success = 0
            elif outcome.is_failure:
                user.failures_since_success += 1
                self._count(record, failure=True)
            return OutcomeResult(
                record, already_recorded=False, profile_updated=outcome is Outcome.SUCCEEDED
            )

    def purge_attempts(self, created_before: datetime) -> int:
        """Forget attempts created before a time."""
        with self._lock:
            old = [k for k, r in self._attempts.items() if r.created < created_before]
            for k in old:
                del self._attempts[k]
            self._prune_windows(minute_of(created_before))
            return len(old)

    def _prune_windows(self, before_minute: int) -> None:
        for wkey in list(self._buckets):
            kept = {m: b for m, b in self._buckets[wkey].items() if m >= before_minute}
            if kept:
                self._buckets[wkey] = kept
            else:
                del self._buckets[wkey]
        for wkey in list(self._members):
            members = {u: m for u, m in self._members[wkey].items() if m >= before_minute}
            if members:
                self._members[wkey] = members
            else:
                del self._members[wkey]

    def close(self) -> None:
        """Nothing to flush."""
