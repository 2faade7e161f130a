"""``riskscore batch warm``: load a saved batch state into the service's SQLite profiles.

Issue #7 keeps the state ``batch score --state-out`` saves (batch/state.py) so
the online service can start warm from history. This writes it into the
tables riskscore/stores/sqlite.py reads, as the live store would hold them
after the same log had been scored and its outcomes reported (the memory store,
riskscore/stores/memory.py, is the reference):

* ``users``: sign-ins, failures since the last proven one, and the last proven
  sign-in's time, IP, country, city, coordinates, accuracy and network type;
* ``user_values`` / ``user_columns`` and ``pool_values`` / ``pool_columns``:
  the counts of every column batch counts (state.VALUE_COLUMNS: the Freeman
  hierarchies' columns, device, device_key, network_type) with their totals
  and distinct counts, and the hour-of-day column (``hour``: "00".."23") built
  from the users' hour histograms, the pool's being their sum;
* ``pools``: sign-ins and users with at least one;
* ``window_counts`` / ``window_members``: the velocity windows of the state's
  tail, per minute, as ``save_attempt`` and a failed outcome count them live.

Not carried, because the state does not keep them: the ``region`` and ``city``
value counts (no signal or model reads them today; snapshots report their
totals as 0 until live sign-ins teach them) and the last sign-in's region
(written empty; the travel signal reads coordinates, city and country);
sign-up windows (a login log has sign-ins only); pending attempts, the auth
event history, feedback and its attacker marks (a log has no event ids or
feedback). Risk configurations and pool modes are the admin RPCs' and stay.

Everything is written in one transaction of the store's writer, so with its
durability (``store.durability``, fsync by default) it is all there or none.
A pool that already has profiles is refused unless ``replace``, which deletes
its profile rows (not its history or marks) in that same transaction.
"""

from __future__ import annotations

import argparse
import functools
import math
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import chain, repeat
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch.grouped import Ints, unpack
from riskscore.batch.state import HOURS, LAST, VALUE_COLUMNS, ReplayState, Texts
from riskscore.config import Config
from riskscore.core import features as f
from riskscore.errors import ConfigError, ConflictError
from riskscore.stores.sqlite import SqliteProfileStore

__all__ = [
    "CARRIED_COLUMNS",
    "PROFILE_TABLES",
    "Warmed",
    "run_warm",
    "store_rows",
    "warm",
]

Row = tuple[Any, ...]
# The store's profile columns (core.features.PROFILE_COLUMNS) a state fills.
CARRIED_COLUMNS: Final = (*VALUE_COLUMNS, f.HOUR)
# A pool's rows in these tables are its profiles; --replace deletes them.
PROFILE_TABLES: Final = (
    "users",
    "pools",
    "user_values",
    "user_columns",
    "pool_values",
    "pool_columns",
    "window_counts",
    "window_members",
)
# One statement per table, columns in store_rows' tuple order.
INSERTS: Final = {
    "users": "INSERT INTO users (pool_id, username, logins, failures_since_success, last_at_us,"
    " last_ip, last_country, last_region, last_city, last_latitude, last_longitude,"
    " last_accuracy_km, last_network_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "pools": "INSERT INTO pools (pool_id, logins, users) VALUES (?, ?, ?)",
    "user_values": "INSERT INTO user_values (pool_id, username, col, value, count)"
    " VALUES (?, ?, ?, ?, ?)",
    "user_columns": "INSERT INTO user_columns (pool_id, username, col, total, distinct_count)"
    " VALUES (?, ?, ?, ?, ?)",
    "pool_values": "INSERT INTO pool_values (pool_id, col, value, count) VALUES (?, ?, ?, ?)",
    "pool_columns": "INSERT INTO pool_columns (pool_id, col, total, distinct_count)"
    " VALUES (?, ?, ?, ?)",
    "window_counts": "INSERT INTO window_counts (pool_id, kind, key, minute, attempts, failures)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "window_members": "INSERT INTO window_members (pool_id, kind, key, member, minute)"
    " VALUES (?, ?, ?, ?, ?)",
}
_MINUTE_NS: Final = 60_000_000_000
_NS_PER_US: Final = 1000
# Rows turned into Python tuples at a time.
_SLICE: Final = 65_536


@dataclass(frozen=True, slots=True)
class Warmed:
    """What a warm start wrote."""

    users: int
    values: int
    window_rows: int
    replaced: bool


def store_rows(state: ReplayState, pool_id: str) -> dict[str, Iterator[Row]]:
    """The rows ``state`` becomes in each of PROFILE_TABLES (INSERTS' columns), made as read.

    Built lazily, a slice at a time, so a large state is not held twice in memory.
    """
    names = state.users["user"].to_numpy(object)
    parts: dict[str, list[Iterable[Row]]] = {t: [] for t in PROFILE_TABLES}
    parts["users"].append(_user_rows(state.users, pool_id))
    logins = state.users["logins"].to_numpy(np.int64)
    if (logins > 0).any():
        parts["pools"].append([(pool_id, int(logins.sum()), int((logins > 0).sum()))])
    for col in VALUE_COLUMNS:
        text, pool = state.values[col]
        keys, counts = state.counts[col]
        user, value = unpack(keys)
        _add_values(parts, pool_id, col, names, user, text[value], counts, text, pool)
    hours = state.users[list(HOURS)].to_numpy(np.int64)
    labels = np.array([name.removeprefix("hour_") for name in HOURS], dtype=object)
    user, hour = np.nonzero(hours)
    by_hour = hours.sum(axis=0)
    _add_values(
        parts, pool_id, f.HOUR, names, user, labels[hour], hours[user, hour], labels, by_hour
    )
    window_counts, window_members = _window_rows(state.tail, pool_id)
    parts["window_counts"].append(window_counts)
    parts["window_members"].append(window_members)
    return {table: chain.from_iterable(rows) for table, rows in parts.items()}


def _user_rows(users: pd.DataFrame, pool_id: str) -> Iterator[Row]:
    """``users`` rows; a user without a proven sign-in has no last one (NULLs)."""
    last = ("ts_ns", f.IP, "place_country", "place_city", "lat", "lon", "radius", f.NETWORK_TYPE)
    columns = ("user", "logins", "failures", *(LAST[c] for c in last))
    rows = _rows_of(*(users[c].to_numpy() for c in columns))
    for name, logins, failures, ts, ip, country, city, lat, lon, radius, network in rows:
        if logins == 0:
            yield (pool_id, name, 0, failures, *repeat(None, 9))
        else:
            place = (country, "", city, _real(lat), _real(lon), _real(radius))
            yield (pool_id, name, logins, failures, ts // _NS_PER_US, ip, *place, network)


def _real(x: float) -> float | None:
    return None if math.isnan(x) else x


def _add_values(
    parts: dict[str, list[Iterable[Row]]],
    pool_id: str,
    col: str,
    names: Texts,
    user: Ints,
    value: Texts,
    counts: Ints,
    text: Texts,
    pool: Ints,
) -> None:
    """One column's rows: per (user, value) ``counts``, and the pool's count per ``text``."""
    parts["user_values"].append(_rows_of(pool_id, names[user], col, value, counts))
    total = np.zeros(len(names), np.int64)
    np.add.at(total, user, counts)
    distinct = np.bincount(user, minlength=len(names))
    has = distinct > 0
    parts["user_columns"].append(_rows_of(pool_id, names[has], col, total[has], distinct[has]))
    seen = pool > 0
    parts["pool_values"].append(_rows_of(pool_id, col, text[seen], pool[seen]))
    if seen.any():
        parts["pool_columns"].append([(pool_id, col, int(pool.sum()), int(seen.sum()))])


def _window_rows(tail: pd.DataFrame, pool_id: str) -> tuple[list[Row], list[Row]]:
    """window_counts and window_members rows of the tail (stores/sqlite.py ``_window_rows``).

    Every attempt counts for its user, IP and (when known) ASN in its minute,
    a failure once more as a failure; its user is a member of its IP's and
    ASN's windows at its latest minute. Sign-up windows: none in a login log.
    """
    user = tail["user"].to_numpy(object)
    asn = tail[f.ASN].to_numpy(object)
    minute = tail["ts_ns"].to_numpy(np.int64) // _MINUTE_NS
    failed = ~tail["success"].to_numpy(bool)
    keyed = [("user", user, None), ("ip", tail[f.IP].to_numpy(object), None)]
    keyed.append(("asn", asn, asn != f.MISSING))
    parts = []
    for kind, key, keep in keyed:
        rows = slice(None) if keep is None else keep
        columns = {"key": key[rows], "member": user[rows], "minute": minute[rows]}
        parts.append(pd.DataFrame({"kind": kind, **columns, "failed": failed[rows]}))
    frame = pd.concat(parts, ignore_index=True)
    if frame.empty:
        return [], []
    by_minute = frame.groupby(["kind", "key", "minute"], sort=True)["failed"]
    counts = by_minute.agg(["size", "sum"]).reset_index()
    members = frame[frame["kind"] != "user"].groupby(["kind", "key", "member"], sort=True)
    latest = members["minute"].max().reset_index()
    count_columns = (counts[c].to_numpy() for c in ("kind", "key", "minute", "size", "sum"))
    member_columns = (latest[c].to_numpy() for c in ("kind", "key", "member", "minute"))
    return list(_rows_of(pool_id, *count_columns)), list(_rows_of(pool_id, *member_columns))


def _rows_of(*columns: str | NDArray[Any]) -> Iterator[Row]:
    """Rows of columns: a str repeats (pool id, column name), an array gives one value a row."""
    n = min(len(c) for c in columns if not isinstance(c, str))
    for start in range(0, n, _SLICE):
        cells = (
            repeat(c) if isinstance(c, str) else c[start : start + _SLICE].tolist() for c in columns
        )
        yield from zip(*cells, strict=False)


def _write(
    rows: dict[str, Iterator[Row]], pool_id: str, replace: bool, conn: sqlite3.Connection
) -> Warmed:
    """The writer job: refuse or clear the pool, then insert every table's rows."""
    held = [t for t in PROFILE_TABLES if _has_rows(conn, t, pool_id)]
    if held and not replace:
        raise ConflictError(
            f"the profile store already has profiles for pool {pool_id!r} (in {', '.join(held)}); "
            "refusing to merge a batch state into them: --replace deletes them first"
        )
    for table in held:
        conn.execute(f"DELETE FROM {table} WHERE pool_id = ?", (pool_id,))  # noqa: S608
    written = {t: conn.executemany(INSERTS[t], rows[t]).rowcount for t in INSERTS}
    return Warmed(
        users=written["users"],
        values=written["user_values"] + written["pool_values"],
        window_rows=written["window_counts"] + written["window_members"],
        replaced=bool(held),
    )


def _has_rows(conn: sqlite3.Connection, table: str, pool_id: str) -> bool:
    # Only PROFILE_TABLES' names are interpolated; the pool id is bound.
    statement = f"SELECT 1 FROM {table} WHERE pool_id = ? LIMIT 1"  # noqa: S608
    return conn.execute(statement, (pool_id,)).fetchone() is not None


def warm(
    store: SqliteProfileStore, state: ReplayState, pool_id: str, *, replace: bool = False
) -> Warmed:
    """Write ``state`` into ``store`` as pool ``pool_id``, in one durable transaction."""
    return store.write(functools.partial(_write, store_rows(state, pool_id), pool_id, replace))


def run_warm(args: argparse.Namespace, config: Config) -> int:
    """Run ``batch warm``: check the state and the config, then warm the configured store."""
    from riskscore.service.validation import pool_id_of

    pool_id = pool_id_of("--pool-id", args.pool_id)
    if config.store.backend != "sqlite":
        raise ConfigError(
            "store.backend",
            f"is {config.store.backend!r}: only a SQLite profile store can be warmed",
        )
    window = config.scoring.window_minutes
    # load() checks every file's SHA-256 and the state's invariants, and refuses a
    # state whose velocity windows are not the config's scoring.window_minutes.
    state = ReplayState.load(args.state, window)
    store = SqliteProfileStore(
        config.store_path,
        durability=config.store.durability,
        window=timedelta(minutes=window),
    )
    try:
        done = warm(store, state, pool_id, replace=args.replace)
    finally:
        store.close()
    replaced = "; replaced its earlier profiles" if done.replaced else ""
    print(
        f"warmed pool {pool_id!r} in {config.store_path} from {args.state} "
        f"({state.rows} log rows): {done.users} users, {done.values} value counts, "
        f"{done.window_rows} window rows{replaced}"
    )
    return 0
