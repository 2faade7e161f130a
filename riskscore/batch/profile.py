"""Every row's profile snapshot, vectorized: what the store would have answered.

The online store keeps counts over proven sign-ins (riskscore/stores/memory.py
is the reference); here the same numbers come from running sums over the
time-sorted log, each row seeing only the rows before it. Only successful
rows teach; failures feed the failure counters. Columns follow
``core.features``: counts for the lookup columns, totals and distinct counts
for the Freeman hierarchies' columns (the only ones the scorer reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch.grouped import Groups, Ints, pair_codes, running_before
from riskscore.core import features as f
from riskscore.core.freeman import DEFAULT_HIERARCHIES

# Columns whose user and population (count, total, distinct) the scorer reads.
HIERARCHY_COLUMNS = tuple(col for h in DEFAULT_HIERARCHIES for col, _ in h.levels)
# Further user-only counts the signals and reasons read.
USER_COUNT_COLUMNS = (f.DEVICE, f.DEVICE_KEY, f.NETWORK_TYPE)


@dataclass(frozen=True, slots=True)
class Stats:
    """A ColumnStats per row: count of the row's value, total, distinct."""

    count: Ints
    total: Ints
    distinct: Ints


@dataclass(frozen=True, slots=True)
class Profiles:
    """The snapshot of every row, as arrays."""

    user: dict[str, Stats] = field(default_factory=dict)
    population: dict[str, Stats] = field(default_factory=dict)
    user_logins: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    population_logins: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    users: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    # Position of the user's latest earlier successful row (-1: none).
    last_login: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    failures_since_success: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    # (24, n) sign-ins per UTC hour before each row.
    hours: NDArray[np.int64] = field(default_factory=lambda: np.zeros((24, 0), np.int64))


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


def population(frame: pd.DataFrame, codes: dict[str, Ints]) -> Population:
    """Pool counts over proven sign-ins before each row (all rows, time-sorted)."""
    success = frame["success"].to_numpy(bool)
    stats: dict[str, Stats] = {}
    for col in HIERARCHY_COLUMNS:
        missing = frame[col].to_numpy(object) == f.MISSING
        taught = success & ~missing
        count = running_before(codes[col], taught)
        first = taught & (count == 0)
        count[missing] = 0
        stats[col] = Stats(count, running_before(None, taught), running_before(None, first))
    first_login = success & (Groups(codes["user"]).previous(success) < 0)
    return Population(stats, running_before(None, success), running_before(None, first_login))


def profiles(
    frame: pd.DataFrame, codes: dict[str, Ints], pool: Population | None = None
) -> Profiles:
    """Snapshots for a time-sorted observation frame; ``codes`` holds each column's codes.

    ``pool`` is the pool-wide part computed over the whole log, when ``frame``
    holds only some users' rows (every row of each of them): batch/dask_engine.py.
    """
    success = frame["success"].to_numpy(bool)
    users = Groups(codes["user"])
    user: dict[str, Stats] = {}
    per_user: list[NDArray[np.bool_]] = [success, ~success]
    for col in (*HIERARCHY_COLUMNS, *USER_COUNT_COLUMNS):
        values = frame[col].to_numpy(object)
        missing = values == f.MISSING
        taught = success & ~missing
        count = running_before(pair_codes(codes["user"], codes[col]), taught)
        count[missing] = 0
        user[col] = Stats(count, count, count)
        if col in HIERARCHY_COLUMNS:
            per_user += [taught, taught & (count == 0)]
    hour_ints = utc_hours(frame["ts_ns"].to_numpy(np.int64))
    per_user += [success & (hour_ints == h) for h in range(24)]
    summed = users.before(per_user).astype(np.int64)
    for i, col in enumerate(HIERARCHY_COLUMNS):
        user[col] = Stats(user[col].count, summed[2 + 2 * i], summed[3 + 2 * i])
    user_logins, failed = summed[0], summed[1]
    last = users.previous(success)
    at_last = np.where(last >= 0, failed[np.maximum(last, 0)], 0)
    pool = pool if pool is not None else population(frame, codes)
    return Profiles(
        user=user,
        population=pool.stats,
        user_logins=user_logins,
        population_logins=pool.logins,
        users=pool.users,
        last_login=last,
        failures_since_success=failed - at_last,
        hours=summed[-24:],
    )
