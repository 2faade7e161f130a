"""Every row's profile snapshot, vectorized: what the store would have answered.

The online store keeps counts over proven sign-ins (riskscore/stores/memory.py
is the reference); here the same numbers come from running sums over the
time-sorted log, each row seeing only the rows before it. Only successful
rows teach; failures feed the failure counters. Columns follow
``core.features``: counts for the lookup columns, totals and distinct counts
for the Freeman hierarchies' columns (the only ones the scorer reads). For
one chunk of a longer log, ``Carried`` adds what the earlier chunks taught.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch.grouped import (
    Groups,
    Ints,
    column_codes_of,
    lookup,
    missing_of,
    pack,
    pair_keys,
    running_before,
)
from riskscore.core import features as f
from riskscore.core.freeman import DEFAULT_HIERARCHIES

# Columns whose user and population (count, total, distinct) the scorer reads.
HIERARCHY_COLUMNS = tuple(col for h in DEFAULT_HIERARCHIES for col, _ in h.levels)
# Further user-only counts the signals and reasons read.
USER_COUNT_COLUMNS = (f.DEVICE, f.DEVICE_KEY, f.NETWORK_TYPE)
# The per-user running sums of ``profiles``, in its order (Carried.users has one row each).
USER_SUMS = (
    "logins",
    "failures",
    *(f"{kind}_{col}" for col in HIERARCHY_COLUMNS for kind in ("total", "distinct")),
    *(f"hour_{h:02d}" for h in range(24)),
)
Bools = NDArray[np.bool_]
# Per-row counts: int64, or int32 where they come from one chunk's rows only.
Counts = NDArray[np.integer[Any]]


@dataclass(frozen=True, slots=True)
class Stats:
    """A ColumnStats per row: count of the row's value, total, distinct."""

    count: Counts
    total: Counts
    distinct: Counts


@dataclass(frozen=True, slots=True)
class Profiles:
    """The snapshot of every row, as arrays."""

    user: dict[str, Stats] = field(default_factory=dict)
    population: dict[str, Stats] = field(default_factory=dict)
    user_logins: Counts = field(default_factory=lambda: np.zeros(0, np.int64))
    population_logins: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    users: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    # Position of the user's latest earlier successful row (-1: none).
    last_login: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    failures_since_success: Counts = field(default_factory=lambda: np.zeros(0, np.int64))
    # (24, n) sign-ins per UTC hour before each row.
    hours: Counts = field(default_factory=lambda: np.zeros((24, 0), np.int64))


@dataclass(frozen=True, slots=True)
class Carried:
    """What earlier chunks left (batch/state.py), per row of a frame led by context rows.

    ``live`` marks the frame's own attempts, the only rows that teach or fail;
    ``anchor`` marks one row per returning user holding its last proven sign-in,
    so ``last_login`` can point at it; other context rows (the velocity
    windows' tail) are inert here. Every count below is the state's, before
    the frame: ``users`` per user code (rows as USER_SUMS, failures meaning
    since the last proven sign-in), ``user_counts`` and ``pool_counts`` per
    row for the row's value.
    """

    live: Bools
    anchor: Bools
    users: NDArray[np.int64]
    user_counts: dict[str, Ints]
    pool_counts: dict[str, Ints]
    pool_totals: dict[str, int]
    pool_distinct: dict[str, int]
    pool_logins: int
    pool_users: int


def carry(
    codes: dict[str, Ints],
    ids: dict[str, Ints],
    users: NDArray[np.int64],
    counts: dict[str, tuple[Ints, Ints]],
    pool: dict[str, Ints],
    live: Bools,
    anchor: Bools,
) -> Carried:
    """The state's counts for each row of a frame led by context rows (batch/state.py).

    ``ids``: per column (and "user"), the state's id of each code (-1: new);
    ``users``: (26, user ids) logins, failures and the 24 hourly sign-ins;
    ``counts``: per column, sorted pack(user id, value id) keys and counts;
    ``pool``: per column, the pool's count by value id.
    """
    user_ids = ids["user"]
    known = user_ids >= 0
    kn = user_ids[known]
    base = np.zeros((len(USER_SUMS), len(user_ids)), dtype=np.int64)
    base[:2, known] = users[:2, kn]
    base[-24:, known] = users[2:, kn]
    row_user = user_ids[codes["user"]]
    user_counts, pool_counts = {}, {}
    for col in (*HIERARCHY_COLUMNS, *USER_COUNT_COLUMNS):
        keys, n = counts[col]
        row_value = ids[col][codes[col]]
        both = np.flatnonzero((row_user >= 0) & (row_value >= 0))
        user_counts[col] = np.zeros(len(row_user), dtype=np.int64)
        user_counts[col][both] = lookup(keys, n, pack(row_user[both], row_value[both]))
        if col not in HIERARCHY_COLUMNS:
            continue
        # A user's total and distinct values: its run of the sorted keys.
        i = 2 + 2 * HIERARCHY_COLUMNS.index(col)
        lo = np.searchsorted(keys, pack(kn, np.zeros_like(kn)))
        hi = np.searchsorted(keys, pack(kn + 1, np.zeros_like(kn)))
        running = np.concatenate(([0], np.cumsum(n)))
        base[i, known], base[i + 1, known] = running[hi] - running[lo], hi - lo
        # Index -1 (a value the pool never proved) reads the appended 0.
        pool_counts[col] = np.append(pool[col], 0)[row_value]
    return Carried(
        live=live,
        anchor=anchor,
        users=base,
        user_counts=user_counts,
        pool_counts=pool_counts,
        pool_totals={c: int(pool[c].sum()) for c in HIERARCHY_COLUMNS},
        pool_distinct={c: len(pool[c]) for c in HIERARCHY_COLUMNS},
        pool_logins=int(users[0].sum()),
        pool_users=int((users[0] > 0).sum()),
    )


def column_codes(obs: pd.DataFrame) -> dict[str, Ints]:
    """Integer codes of the columns that group rows."""
    return {c: column_codes_of(obs[c]) for c in ("user", *HIERARCHY_COLUMNS, *USER_COUNT_COLUMNS)}


def utc_hours(ts_ns: Ints) -> Ints:
    """The UTC hour of each timestamp: core.features.hour_key as integers."""
    return (ts_ns // 3_600_000_000_000) % 24


@dataclass(frozen=True, slots=True)
class Population:
    """The pool-wide part of every row's snapshot: it needs the whole log in time order."""

    stats: dict[str, Stats]
    logins: Ints
    users: Ints

    def take(self, rows: Ints) -> Population:
        """The same numbers for a subset of rows (a Dask partition)."""
        return Population(
            {
                c: Stats(s.count[rows], s.total[rows], s.distinct[rows])
                for c, s in self.stats.items()
            },
            self.logins[rows],
            self.users[rows],
        )


def population(
    frame: pd.DataFrame,
    codes: dict[str, Ints],
    carried: Carried | None = None,
    users: Groups | None = None,
) -> Population:
    """Pool counts over proven sign-ins before each row (all rows, time-sorted).

    ``users``: the rows grouped by user, when the caller has them already.
    """
    success = frame["success"].to_numpy(bool)
    proven = success if carried is None else success & carried.live
    stats: dict[str, Stats] = {}
    for col in HIERARCHY_COLUMNS:
        missing = missing_of(frame[col], f.MISSING)
        taught = proven & ~missing
        count = running_before(codes[col], taught)
        total = running_before(None, taught)
        if carried is not None:
            count += carried.pool_counts[col]
            total += carried.pool_totals[col]
        first = taught & (count == 0)
        count[missing] = 0
        distinct = running_before(None, first)
        if carried is not None:
            distinct += carried.pool_distinct[col]
        stats[col] = Stats(count, total, distinct)
    users = users if users is not None else Groups(codes["user"])
    first_login = proven & (users.previous(proven) < 0)
    logins = running_before(None, proven)
    if carried is not None:
        first_login &= carried.users[0][codes["user"]] == 0
        logins += carried.pool_logins
    user_count = running_before(None, first_login)
    if carried is not None:
        user_count += carried.pool_users
    return Population(stats, logins, user_count)


def profiles(
    frame: pd.DataFrame,
    codes: dict[str, Ints],
    pool: Population | None = None,
    carried: Carried | None = None,
) -> Profiles:
    """Snapshots for a time-sorted observation frame; ``codes`` holds each column's codes.

    ``pool`` is the pool-wide part computed over the whole log, when ``frame``
    holds only some users' rows (every row of each of them): batch/dask_engine.py.
    ``carried``: what earlier chunks left, when ``frame`` is one chunk of a log.
    """
    success = frame["success"].to_numpy(bool)
    proven, failed = success, ~success
    if carried is not None:
        proven, failed = success & carried.live, failed & carried.live
    users = Groups(codes["user"])
    user: dict[str, Stats] = {}
    per_user: list[NDArray[np.bool_]] = [proven, failed]
    for col in (*HIERARCHY_COLUMNS, *USER_COUNT_COLUMNS):
        missing = missing_of(frame[col], f.MISSING)
        taught = proven & ~missing
        if taught.any():
            count = running_before(pair_keys(codes["user"], codes[col]), taught)
        else:
            # Nothing taught (a column the log lacks): every count is 0.
            count = np.zeros(len(frame), dtype=np.int64)
        if carried is not None:
            count += carried.user_counts[col]
        count[missing] = 0
        user[col] = Stats(count, count, count)
        if col in HIERARCHY_COLUMNS:
            per_user += [taught, taught & (count == 0)]
    hour_ints = utc_hours(frame["ts_ns"].to_numpy(np.int64))
    per_user += [proven & (hour_ints == h) for h in range(24)]
    summed: NDArray[np.integer[Any]] = users.before(per_user)
    if carried is not None:
        # The state's counts may pass int32's range; the chunk's own cannot.
        summed = summed.astype(np.int64)
        for k in range(len(summed)):
            summed[k] += carried.users[k][codes["user"]]
    for i, col in enumerate(HIERARCHY_COLUMNS):
        user[col] = Stats(user[col].count, summed[2 + 2 * i], summed[3 + 2 * i])
    user_logins, failed_before = summed[0], summed[1]
    if carried is None:
        last = users.previous(success)
        at_last = np.where(last >= 0, failed_before[np.maximum(last, 0)], 0)
    else:
        # An anchor stands for the last proven sign-in: the carried failures came after it.
        last = users.previous(proven | carried.anchor)
        since = np.where(carried.anchor, 0, failed_before)
        at_last = np.where(last >= 0, since[np.maximum(last, 0)], 0)
    pool = pool if pool is not None else population(frame, codes, carried, users)
    return Profiles(
        user=user,
        population=pool.stats,
        user_logins=user_logins,
        population_logins=pool.logins,
        users=pool.users,
        last_login=last,
        failures_since_success=failed_before - at_last,
        hours=summed[-24:],
    )
