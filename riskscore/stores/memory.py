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
    AttackerMark,
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
    AuthEvent,
    Feedback,
    FeedbackResult,
    HistoryPage,
    OutcomeResult,
    attacker_marks,
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
# (pool, user, kind, value) -> (reported, event id); (pool, kind, value) -> (latest, reports).
UserMarkKey = tuple[str, str, str, str]
PoolMarkKey = tuple[str, str, str]


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
        self._history: dict[str, AuthEvent] = {}
        self._user_marks: dict[UserMarkKey, tuple[datetime, str]] = {}
        self._pool_marks: dict[PoolMarkKey, tuple[datetime, int]] = {}

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
                attacker_marks=self._marks(pool_id, username, obs),
            )

    def _marks(self, pool_id: str, username: str, obs: Observation) -> tuple[AttackerMark, ...]:
        marks = []
        for kind, value in attacker_marks(obs, pool=False):
            if (found := self._user_marks.get((pool_id, username, kind, value))) is not None:
                marks.append(AttackerMark("user", kind, value, found[0]))
        for kind, value in attacker_marks(obs, pool=True):
            if (pooled := self._pool_marks.get((pool_id, kind, value))) is not None:
                marks.append(AttackerMark("pool", kind, value, pooled[0], pooled[1]))
        return tuple(marks)

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
            self._history.setdefault(record.event_id, AuthEvent(record))

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
            event = self._history.get(event_id)
            teach = outcome is Outcome.SUCCEEDED and (event is None or not event.taught)
            if event is not None:
                self._history[event_id] = replace(
                    event,
                    record=replace(event.record, outcome=outcome, outcome_at=at),
                    taught=event.taught or teach,
                )
            if teach:
                self._teach(record)
            elif outcome.is_failure:
                user = self._users.setdefault((record.pool_id, record.username), _User())
                user.failures_since_success += 1
                self._count(record, failure=True)
            return OutcomeResult(record, already_recorded=False, profile_updated=teach)

    def _teach(self, record: AttemptRecord) -> None:
        """What a proven sign-in teaches the user's and the pool's counts."""
        user = self._users.setdefault((record.pool_id, record.username), _User())
        if user.scope.logins == 0:
            self._pool_users[record.pool_id] += 1
        values = taught_values(record.observation)
        user.scope.teach(values)
        self._pools[record.pool_id].teach(values)
        obs = record.observation
        if user.last_login is None or obs.timestamp >= user.last_login.timestamp:
            user.last_login = LastLogin(obs.timestamp, obs.ip_address, obs.place, obs.network_type)
        user.failures_since_success = 0

    def list_auth_events(
        self, pool_id: str, username: str, limit: int, before: tuple[datetime, str] | None
    ) -> HistoryPage:
        """Up to ``limit`` history events, newest first, older than ``before``."""
        with self._lock:
            mine = [
                e
                for e in self._history.values()
                if e.record.pool_id == pool_id and e.record.username == username
            ]
        mine.sort(key=lambda e: (e.record.created, e.event_id), reverse=True)
        if before is not None:
            mine = [e for e in mine if (e.record.created, e.event_id) < before]
        return HistoryPage(tuple(mine[:limit]), more=len(mine) > limit)

    def submit_feedback(
        self, pool_id: str, username: str, event_id: str, feedback: Feedback
    ) -> Future[FeedbackResult]:
        """Apply feedback now; the returned future is already done."""
        return _done(self._feedback, pool_id, username, event_id, feedback)

    def _feedback(
        self, pool_id: str, username: str, event_id: str, feedback: Feedback
    ) -> FeedbackResult:
        with self._lock:
            event = self._history.get(event_id)
            if event is None or (event.record.pool_id, event.record.username) != (
                pool_id,
                username,
            ):
                raise NotFoundError(f"user {username!r} has no auth event {event_id!r}")
            if event.feedback is not None and event.feedback.value == feedback.value:
                return FeedbackResult(event, changed=False, profile_updated=False)
            teach = feedback.value == "Valid" and not event.taught
            event = replace(event, feedback=feedback, taught=event.taught or teach)
            self._history[event_id] = event
            obs = event.record.observation
            if feedback.value == "Valid":
                if teach:
                    self._teach(event.record)
                # The user vouched for it: drop the marks this event put on them.
                for key, (_, marked_by) in list(self._user_marks.items()):
                    if key[:2] == (pool_id, username) and marked_by == event_id:
                        del self._user_marks[key]
            else:
                for kind, value in attacker_marks(obs, pool=False):
                    self._user_marks[(pool_id, username, kind, value)] = (feedback.date, event_id)
                for kind, value in attacker_marks(obs, pool=True):
                    _, reports = self._pool_marks.get((pool_id, kind, value), (feedback.date, 0))
                    self._pool_marks[(pool_id, kind, value)] = (feedback.date, reports + 1)
            return FeedbackResult(event, changed=True, profile_updated=teach)

    def purge_auth_events(self, created_before: datetime) -> int:
        """Forget history events, and attacker marks reported, before a time."""
        with self._lock:
            old = [k for k, e in self._history.items() if e.record.created < created_before]
            for k in old:
                del self._history[k]
            for key, (reported, _) in list(self._user_marks.items()):
                if reported < created_before:
                    del self._user_marks[key]
            for pkey, (latest, _) in list(self._pool_marks.items()):
                if latest < created_before:
                    del self._pool_marks[pkey]
            return len(old)

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
