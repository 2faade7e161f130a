"""The SQLite store's schema and statements.

Counts are kept pre-aggregated per scope (a user's, a pool's), keyed by their
primary keys, so a snapshot is a handful of point lookups rather than a scan:
``*_values`` hold how often each value was seen, ``*_columns`` each column's
total and number of distinct values. Datetimes are integer microseconds
(riskscore.stores.codec).
"""

from __future__ import annotations

import functools
from typing import Final, Literal

__all__ = [
    "ADD_LAST_NETWORK_TYPE",
    "COUNT_FAILURE",
    "COUNT_WINDOW",
    "COUNT_WINDOW_MEMBER",
    "DELETE_RISK_CONFIGURATION",
    "LAST_NETWORK_TYPE_COLUMN",
    "LOAD_ATTEMPT",
    "LOAD_POOL_MODE",
    "LOAD_RISK_CONFIGURATION",
    "PRUNE_WINDOW_COUNTS",
    "PRUNE_WINDOW_MEMBERS",
    "PURGE",
    "SAVE_ATTEMPT",
    "SAVE_POOL_MODE",
    "SAVE_RISK_CONFIGURATION",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SET_LAST_LOGIN",
    "SET_OUTCOME",
    "TEACH_POOL",
    "TEACH_USER",
    "count_columns_sql",
    "count_values_sql",
    "snapshot_sql",
]

Scope = Literal["user", "pool"]

# 1: profiles and attempts; 2: adds the velocity windows; 3: adds the network
# type of the last proven sign-in (users.last_network_type); 4: adds the
# RiskConfigurations and modes set through the admin RPCs (new tables only,
# so SCHEMA's CREATE TABLE IF NOT EXISTS migrates older files in place); 5:
# adds the auth event history and the attacker marks of Invalid feedback
# (new tables only, migrated the same way; older attempts have no history).
SCHEMA_VERSION: Final = 5

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS attempts (
    event_id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    username TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    observation TEXT NOT NULL,
    risk_score REAL NOT NULL,
    risk_level TEXT NOT NULL,
    decision TEXT NOT NULL,
    outcome TEXT,
    outcome_at_us INTEGER
);
CREATE INDEX IF NOT EXISTS attempts_by_created ON attempts (created_us);
CREATE TABLE IF NOT EXISTS pools (
    pool_id TEXT PRIMARY KEY,
    logins INTEGER NOT NULL,
    users INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
    pool_id TEXT NOT NULL,
    username TEXT NOT NULL,
    logins INTEGER NOT NULL,
    failures_since_success INTEGER NOT NULL,
    last_at_us INTEGER,
    last_ip TEXT,
    last_country TEXT,
    last_region TEXT,
    last_city TEXT,
    last_latitude REAL,
    last_longitude REAL,
    last_accuracy_km REAL,
    last_network_type TEXT,
    PRIMARY KEY (pool_id, username)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pool_columns (
    pool_id TEXT NOT NULL,
    col TEXT NOT NULL,
    total INTEGER NOT NULL,
    distinct_count INTEGER NOT NULL,
    PRIMARY KEY (pool_id, col)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pool_values (
    pool_id TEXT NOT NULL,
    col TEXT NOT NULL,
    value TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (pool_id, col, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_columns (
    pool_id TEXT NOT NULL,
    username TEXT NOT NULL,
    col TEXT NOT NULL,
    total INTEGER NOT NULL,
    distinct_count INTEGER NOT NULL,
    PRIMARY KEY (pool_id, username, col)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS window_counts (
    pool_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    minute INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    PRIMARY KEY (pool_id, kind, key, minute)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS window_counts_by_minute ON window_counts (minute);
CREATE TABLE IF NOT EXISTS window_members (
    pool_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    member TEXT NOT NULL,
    minute INTEGER NOT NULL,
    PRIMARY KEY (pool_id, kind, key, member)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS window_members_by_minute ON window_members (minute);
CREATE TABLE IF NOT EXISTS risk_configurations (
    pool_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    body TEXT NOT NULL,
    modified_us INTEGER,
    PRIMARY KEY (pool_id, client_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pool_modes (
    pool_id TEXT PRIMARY KEY,
    mode TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_events (
    event_id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    username TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    observation TEXT NOT NULL,
    risk_score REAL NOT NULL,
    risk_level TEXT NOT NULL,
    decision TEXT NOT NULL,
    outcome TEXT,
    outcome_at_us INTEGER,
    compromised INTEGER NOT NULL,
    taught INTEGER NOT NULL DEFAULT 0,
    feedback_value TEXT,
    feedback_provider TEXT,
    feedback_us INTEGER
);
CREATE INDEX IF NOT EXISTS auth_events_by_user
    ON auth_events (pool_id, username, created_us, event_id);
CREATE INDEX IF NOT EXISTS auth_events_by_created ON auth_events (created_us);
CREATE TABLE IF NOT EXISTS user_attacker_marks (
    pool_id TEXT NOT NULL,
    username TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    reported_us INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (pool_id, username, kind, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_attacker_marks_by_reported ON user_attacker_marks (reported_us);
CREATE TABLE IF NOT EXISTS pool_attacker_marks (
    pool_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    reports INTEGER NOT NULL,
    reported_us INTEGER NOT NULL,
    PRIMARY KEY (pool_id, kind, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_values (
    pool_id TEXT NOT NULL,
    username TEXT NOT NULL,
    col TEXT NOT NULL,
    value TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (pool_id, username, col, value)
) WITHOUT ROWID;
"""

SAVE_ATTEMPT: Final = """
INSERT OR REPLACE INTO attempts (
    event_id, pool_id, username, event_type, created_us, observation,
    risk_score, risk_level, decision, outcome, outcome_at_us
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
LOAD_ATTEMPT: Final = """
SELECT event_id, pool_id, username, event_type, created_us, observation,
    risk_score, risk_level, decision, outcome, outcome_at_us
FROM attempts WHERE event_id = ?
"""
# Version 3's column, added in place to files of versions 1 and 2 (CREATE
# TABLE IF NOT EXISTS leaves an existing users table as it was).
LAST_NETWORK_TYPE_COLUMN: Final = "last_network_type"
ADD_LAST_NETWORK_TYPE: Final = "ALTER TABLE users ADD COLUMN last_network_type TEXT"
# RiskConfigurations ("" = the pool's) and pool modes (riskscore/stores/risk_configs.py).
LOAD_RISK_CONFIGURATION: Final = (
    "SELECT body, modified_us FROM risk_configurations WHERE pool_id = ? AND client_id = ?"
)
SAVE_RISK_CONFIGURATION: Final = (
    "INSERT OR REPLACE INTO risk_configurations (pool_id, client_id, body, modified_us)"
    " VALUES (?, ?, ?, ?)"
)
DELETE_RISK_CONFIGURATION: Final = (
    "DELETE FROM risk_configurations WHERE pool_id = ? AND client_id = ?"
)
LOAD_POOL_MODE: Final = "SELECT mode FROM pool_modes WHERE pool_id = ?"
SAVE_POOL_MODE: Final = "INSERT OR REPLACE INTO pool_modes (pool_id, mode) VALUES (?, ?)"
SET_OUTCOME: Final = "UPDATE attempts SET outcome = ?, outcome_at_us = ? WHERE event_id = ?"
PURGE: Final = "DELETE FROM attempts WHERE created_us < ?"

TEACH_USER: Final = """
INSERT INTO users (pool_id, username, logins, failures_since_success) VALUES (?, ?, 1, 0)
ON CONFLICT (pool_id, username) DO UPDATE
SET logins = logins + 1, failures_since_success = 0
RETURNING logins
"""
# A success as new as the stored one or newer replaces it, as in the memory store.
SET_LAST_LOGIN: Final = """
UPDATE users SET last_at_us = ?3, last_ip = ?4, last_country = ?5, last_region = ?6,
    last_city = ?7, last_latitude = ?8, last_longitude = ?9, last_accuracy_km = ?10,
    last_network_type = ?11
WHERE pool_id = ?1 AND username = ?2 AND (last_at_us IS NULL OR last_at_us <= ?3)
"""
COUNT_FAILURE: Final = (
    "INSERT INTO users (pool_id, username, logins, failures_since_success) VALUES (?, ?, 0, 1)"
    " ON CONFLICT (pool_id, username) DO UPDATE"
    " SET failures_since_success = failures_since_success + 1"
)
TEACH_POOL: Final = (
    "INSERT INTO pools (pool_id, logins, users) VALUES (?, 1, ?)"
    " ON CONFLICT (pool_id) DO UPDATE SET logins = logins + 1, users = users + excluded.users"
)


# The builders below interpolate only this module's own identifiers and
# placeholder numbers; every value is bound, hence the S608 waivers.


# Every part of the snapshot statement yields this many columns: (kind, col,
# a, b) for counts, and the user row (kind 5) in the columns after them.
_PAD: Final = ", NULL" * 8


@functools.lru_cache(maxsize=32)
def snapshot_sql(n_values: int, n_pool: int) -> str:
    """One statement for a whole snapshot: ?1 pool, ?2 user, then (column, value) pairs.

    Every pair is looked up in the user's counts, the first ``n_pool`` in the pool's too.

    A single statement reads one consistent state without an explicit read
    transaction, and costs one round trip into SQLite instead of four.
    """
    parts: list[str] = []
    for i in range(n_values):
        col, value = 3 + 2 * i, 4 + 2 * i
        parts.append(
            f"SELECT 0, col, count, 0{_PAD} FROM user_values"  # noqa: S608
            f" WHERE pool_id = ?1 AND username = ?2 AND col = ?{col} AND value = ?{value}"
        )
        if i < n_pool:
            parts.append(
                f"SELECT 1, col, count, 0{_PAD} FROM pool_values"  # noqa: S608
                f" WHERE pool_id = ?1 AND col = ?{col} AND value = ?{value}"
            )
    parts.append(
        f"SELECT 2, col, total, distinct_count{_PAD} FROM user_columns"  # noqa: S608
        " WHERE pool_id = ?1 AND username = ?2"
    )
    parts.append(
        f"SELECT 3, col, total, distinct_count{_PAD} FROM pool_columns"  # noqa: S608
        " WHERE pool_id = ?1"
    )
    parts.append(f"SELECT 4, '', logins, users{_PAD} FROM pools WHERE pool_id = ?1")  # noqa: S608
    parts.append(
        "SELECT 5, last_ip, logins, failures_since_success, last_at_us, last_country,"
        " last_region, last_city, last_latitude, last_longitude, last_accuracy_km,"
        " last_network_type"
        " FROM users WHERE pool_id = ?1 AND username = ?2"
    )
    parts.extend(_window_parts(3 + 2 * n_values))
    parts.extend(_mark_parts(3 + 2 * n_values))
    # The user's sign-ins per hour of day (at most 24 rows), for UNUSUAL_HOUR.
    parts.append(
        f"SELECT 7, value, count, 0{_PAD} FROM user_values"  # noqa: S608
        " WHERE pool_id = ?1 AND username = ?2 AND col = 'hour'"
    )
    return " UNION ALL ".join(parts)


def _window_parts(first: int) -> list[str]:
    """The velocity windows (kind 6): per-kind sums and capped distinct users.

    Parameters from ``first`` on: first minute, last minute, IP, ASN, member cap.
    The user's window is keyed by ?2; distinct users are counted up to the cap
    (core/velocity.py MEMBER_CAP) so a stuffing IP costs no more than a quiet one.
    """
    lo, hi, ip, asn, cap = (f"?{first + i}" for i in range(5))
    in_window = f"pool_id = ?1 AND minute BETWEEN {lo} AND {hi}"
    members = (
        "SELECT 6, '{kind}', 0, 0, count(*){pad} FROM (SELECT 1 FROM window_members"
        " WHERE {in_window} AND kind = '{kind}' AND key = {key} LIMIT {cap})"
    )
    # One indexed range per (kind, key): an OR across kinds would make SQLite
    # scan every window row of the pool.
    counts = (
        "SELECT 6, '{kind}', sum(attempts), sum(failures), 0{pad} FROM window_counts"
        " WHERE pool_id = ?1 AND kind = '{kind}' AND key = {key} AND minute BETWEEN {lo} AND {hi}"
    )
    pad = _PAD[:-6]
    return [
        *(
            counts.format(kind=kind, key=key, pad=pad, lo=lo, hi=hi)
            for kind, key in (("user", "?2"), ("ip", ip), ("asn", asn), ("signup_ip", ip))
        ),
        members.format(kind="ip", key=ip, pad=pad, in_window=in_window, cap=cap),
        members.format(kind="asn", key=asn, pad=pad, in_window=in_window, cap=cap),
    ]


def _mark_parts(first: int) -> list[str]:
    """Invalid feedback matching this attempt (kind 8): scope, kind, value, when, reports.

    Point lookups on the marks' primary keys; parameters as _window_parts',
    plus the device signature at ``first + 5``.
    """
    ip, asn, device = f"?{first + 2}", f"?{first + 3}", f"?{first + 5}"
    pad = _PAD[: -6 * 2]
    user = (
        "SELECT 8, kind, reported_us, 1, 'user', value{pad} FROM user_attacker_marks"
        " WHERE pool_id = ?1 AND username = ?2 AND kind = '{kind}' AND value = {key}"
    )
    pool = (
        "SELECT 8, kind, reported_us, reports, 'pool', value{pad} FROM pool_attacker_marks"
        " WHERE pool_id = ?1 AND kind = '{kind}' AND value = {key}"
    )
    return [
        *(
            user.format(kind=kind, key=key, pad=pad)
            for kind, key in (("ip", ip), ("asn", asn), ("device", device))
        ),
        *(pool.format(kind=kind, key=key, pad=pad) for kind, key in (("ip", ip), ("asn", asn))),
    ]


def _scope_key(scope: Scope) -> tuple[str, str, int]:
    """A scope's key columns, their placeholders, and the first parameter after them."""
    if scope == "user":
        return "pool_id, username", "?1, ?2", 3
    return "pool_id", "?1", 2


@functools.lru_cache(maxsize=64)
def count_values_sql(scope: Scope, n_values: int) -> str:
    """Add one to each (column, value); RETURNING tells which values are new."""
    key, head, first = _scope_key(scope)
    rows = ", ".join(
        f"({head}, ?{first + 2 * i}, ?{first + 2 * i + 1}, 1)" for i in range(n_values)
    )
    return (
        f"INSERT INTO {scope}_values ({key}, col, value, count) VALUES {rows}"  # noqa: S608
        f" ON CONFLICT ({key}, col, value) DO UPDATE SET count = count + 1"
        " RETURNING col, count"
    )


@functools.lru_cache(maxsize=64)
def count_columns_sql(scope: Scope, n_values: int) -> str:
    """Add one to each column's total, and its number of new values to its distinct."""
    key, head, first = _scope_key(scope)
    rows = ", ".join(
        f"({head}, ?{first + 2 * i}, 1, ?{first + 2 * i + 1})" for i in range(n_values)
    )
    return (
        f"INSERT INTO {scope}_columns ({key}, col, total, distinct_count) VALUES {rows}"  # noqa: S608
        f" ON CONFLICT ({key}, col) DO UPDATE SET total = total + 1,"
        " distinct_count = distinct_count + excluded.distinct_count"
    )


COUNT_WINDOW: Final = """
INSERT INTO window_counts (pool_id, kind, key, minute, attempts, failures) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (pool_id, kind, key, minute) DO UPDATE
SET attempts = attempts + excluded.attempts, failures = failures + excluded.failures
"""
COUNT_WINDOW_MEMBER: Final = """
INSERT INTO window_members (pool_id, kind, key, member, minute) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (pool_id, kind, key, member) DO UPDATE SET minute = max(minute, excluded.minute)
"""
PRUNE_WINDOW_COUNTS: Final = "DELETE FROM window_counts WHERE minute < ?"
PRUNE_WINDOW_MEMBERS: Final = "DELETE FROM window_members WHERE minute < ?"
