"""The SQLite store's auth event history, feedback and profile teaching.

Every function here runs inside one of the group-commit writer's jobs (or on
a reader connection, for listing), so a history row is written in the same
transaction as its attempt, its outcome or its feedback.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from typing import Any, Final, cast

from riskscore.core.attempt import EventType, Outcome
from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import NotFoundError
from riskscore.stores import sqlite_schema as sql
from riskscore.stores.base import (
    AttemptRecord,
    AuthEvent,
    Feedback,
    FeedbackResult,
    FeedbackValue,
    HistoryPage,
    attacker_marks,
    taught_values,
)
from riskscore.stores.codec import from_micros, observation_from_json
from riskscore.stores.codec import to_micros as micros

__all__ = [
    "SAVE_AUTH_EVENT",
    "apply_feedback",
    "event_of",
    "history_row",
    "list_events",
    "outcome_teaches",
    "purge_history",
    "record_outcome",
    "teach",
]

# The statements on the history tables (schema in sqlite_schema.SCHEMA, version 5).
_EVENT_COLUMNS: Final = (
    "event_id, pool_id, username, event_type, created_us, observation, risk_score,"
    " risk_level, decision, outcome, outcome_at_us, compromised, taught, feedback_value,"
    " feedback_provider, feedback_us"
)
SAVE_AUTH_EVENT: Final = (
    f"INSERT OR IGNORE INTO auth_events ({_EVENT_COLUMNS})"  # noqa: S608
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, NULL)"
)
LOAD_AUTH_EVENT: Final = (
    f"SELECT {_EVENT_COLUMNS} FROM auth_events"  # noqa: S608
    " WHERE event_id = ? AND pool_id = ? AND username = ?"
)
LOAD_TAUGHT: Final = "SELECT taught FROM auth_events WHERE event_id = ?"
# Keyset paging, newest first: ?3/?4 are the (created_us, event_id) of the
# last event already returned.
LIST_AUTH_EVENTS: Final = (
    f"SELECT {_EVENT_COLUMNS} FROM auth_events"  # noqa: S608
    " WHERE pool_id = ?1 AND username = ?2 AND created_us <= ?3"
    " AND (created_us < ?3 OR event_id < ?4)"
    " ORDER BY created_us DESC, event_id DESC LIMIT ?5"
)
SET_EVENT_OUTCOME: Final = (
    "UPDATE auth_events SET outcome = ?, outcome_at_us = ?, taught = max(taught, ?)"
    " WHERE event_id = ?"
)
SET_FEEDBACK: Final = (
    "UPDATE auth_events SET feedback_value = ?, feedback_provider = ?, feedback_us = ?,"
    " taught = ? WHERE event_id = ?"
)
MARK_USER: Final = (
    "INSERT INTO user_attacker_marks (pool_id, username, kind, value, reported_us, event_id)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pool_id, username, kind, value) DO UPDATE"
    " SET reported_us = excluded.reported_us, event_id = excluded.event_id"
)
UNMARK_USER: Final = (
    "DELETE FROM user_attacker_marks WHERE pool_id = ? AND username = ? AND event_id = ?"
)
MARK_POOL: Final = (
    "INSERT INTO pool_attacker_marks (pool_id, kind, value, reports, reported_us)"
    " VALUES (?, ?, ?, 1, ?) ON CONFLICT (pool_id, kind, value) DO UPDATE"
    " SET reports = reports + 1, reported_us = max(reported_us, excluded.reported_us)"
)
PURGE_AUTH_EVENTS: Final = "DELETE FROM auth_events WHERE created_us < ?"
PURGE_USER_MARKS: Final = "DELETE FROM user_attacker_marks WHERE reported_us < ?"
PURGE_POOL_MARKS: Final = "DELETE FROM pool_attacker_marks WHERE reported_us < ?"

# Above any real time: the first page's cursor.
_NEWEST: Final = 2**63 - 1


def history_row(attempt_row: tuple[Any, ...], compromised: bool) -> tuple[Any, ...]:
    """SAVE_AUTH_EVENT's parameters from SAVE_ATTEMPT's and the breach verdict."""
    return (*attempt_row, int(compromised))


def event_of(row: Any) -> AuthEvent:
    """An AuthEvent from a row of sql._EVENT_COLUMNS."""
    event_id, pool_id, username, event_type, created_us, obs, score, level, decision = row[:9]
    outcome, outcome_at_us, compromised, taught, fb_value, fb_provider, fb_us = row[9:]
    record = AttemptRecord(
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
        compromised=bool(compromised),
    )
    feedback = None
    if fb_value is not None:
        feedback = Feedback(cast(FeedbackValue, fb_value), fb_provider, from_micros(fb_us))
    return AuthEvent(record, taught=bool(taught), feedback=feedback)


def list_events(
    conn: sqlite3.Connection,
    pool_id: str,
    username: str,
    limit: int,
    before: tuple[datetime, str] | None,
) -> HistoryPage:
    """Up to ``limit`` events older than ``before``, newest first."""
    created_us, event_id = (micros(before[0]), before[1]) if before is not None else (_NEWEST, "")
    rows = conn.execute(
        LIST_AUTH_EVENTS, (pool_id, username, created_us, event_id, limit + 1)
    ).fetchall()
    return HistoryPage(tuple(event_of(r) for r in rows[:limit]), more=len(rows) > limit)


def outcome_teaches(conn: sqlite3.Connection, event_id: str, outcome: Outcome) -> bool:
    """Whether a SUCCEEDED outcome still has to teach (Valid feedback may have already)."""
    if outcome is not Outcome.SUCCEEDED:
        return False
    found = conn.execute(LOAD_TAUGHT, (event_id,)).fetchone()
    return found is None or not found[0]


def record_outcome(
    conn: sqlite3.Connection, record: AttemptRecord, at_us: int, *, taught: bool
) -> None:
    """Carry an outcome into the history row (EventResponse, ChallengeResponses)."""
    outcome = record.outcome.value if record.outcome is not None else None
    conn.execute(SET_EVENT_OUTCOME, (outcome, at_us, int(taught), record.event_id))


def apply_feedback(
    pool_id: str, username: str, event_id: str, feedback: Feedback, conn: sqlite3.Connection
) -> FeedbackResult:
    """Record feedback; Valid teaches once, Invalid marks the attempt's IP, ASN and device."""
    row = conn.execute(LOAD_AUTH_EVENT, (event_id, pool_id, username)).fetchone()
    if row is None:
        raise NotFoundError(f"user {username!r} has no auth event {event_id!r}")
    event = event_of(row)
    if event.feedback is not None and event.feedback.value == feedback.value:
        return FeedbackResult(event, changed=False, profile_updated=False)
    valid = feedback.value == "Valid"
    teach_now = valid and not event.taught
    taught = event.taught or teach_now
    at_us = micros(feedback.date)
    conn.execute(SET_FEEDBACK, (feedback.value, feedback.provider, at_us, int(taught), event_id))
    obs = event.record.observation
    if valid:
        if teach_now:
            teach(conn, event.record)
        # The user vouched for it: drop the marks this event put on them.
        conn.execute(UNMARK_USER, (pool_id, username, event_id))
    else:
        user_marks = attacker_marks(obs, pool=False)
        conn.executemany(
            MARK_USER, [(pool_id, username, k, v, at_us, event_id) for k, v in user_marks]
        )
        conn.executemany(
            MARK_POOL, [(pool_id, k, v, at_us) for k, v in attacker_marks(obs, pool=True)]
        )
    updated = replace(event, taught=taught, feedback=feedback)
    return FeedbackResult(updated, changed=True, profile_updated=teach_now)


def purge_history(created_before_us: int, conn: sqlite3.Connection) -> int:
    """Forget events, and attacker marks reported, before a time; returns how many events."""
    conn.execute(PURGE_USER_MARKS, (created_before_us,))
    conn.execute(PURGE_POOL_MARKS, (created_before_us,))
    return int(conn.execute(PURGE_AUTH_EVENTS, (created_before_us,)).rowcount)


def teach(conn: sqlite3.Connection, record: AttemptRecord) -> None:
    """What a proven sign-in teaches: the user's and the pool's counts and last login."""
    obs, place = record.observation, record.observation.place
    user = (record.pool_id, record.username)
    (logins,) = conn.execute(sql.TEACH_USER, user).fetchone()
    conn.execute(
        sql.SET_LAST_LOGIN,
        (
            *user,
            micros(obs.timestamp),
            obs.ip_address,
            place.country,
            place.region,
            place.city,
            place.latitude,
            place.longitude,
            place.accuracy_radius_km,
            obs.network_type,
        ),
    )
    conn.execute(sql.TEACH_POOL, (record.pool_id, 1 if logins == 1 else 0))
    values = taught_values(obs)
    if not values:
        return
    pairs = [item for pair in values.items() for item in pair]
    scopes: tuple[tuple[sql.Scope, list[str]], ...] = (
        ("user", [record.pool_id, record.username]),
        ("pool", [record.pool_id]),
    )
    for scope, key in scopes:
        counted = conn.execute(sql.count_values_sql(scope, len(values)), key + pairs).fetchall()
        new = {col for col, count in counted if count == 1}
        flags: list[str | int] = [*key]
        for col in values:
            flags += (col, 1 if col in new else 0)
        conn.execute(sql.count_columns_sql(scope, len(values)), flags)
