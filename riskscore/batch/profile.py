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

from riskscore.batch.grouped import (
    Ints,
    codes_of,
    pair_codes,
    previous_where,
    running_before,
    running_before_many,
)
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
    # (n, 24) sign-ins per UTC hour before each row.
    hours: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 24), np.int64))


def profiles(frame: pd.DataFrame, user_codes: Ints) -> Profiles:
    """Snapshots for a time-sorted observation frame (see batch/observe.py)."""
    success = frame["success"].to_numpy(bool)
    user: dict[str, Stats] = {}
    population: dict[str, Stats] = {}
    totals: list[NDArray[np.int64]] = []
    firsts: list[NDArray[np.int64]] = []
    pop_logins = running_before(None, success)
    for col in (*HIERARCHY_COLUMNS, *USER_COUNT_COLUMNS):
        values = frame[col].to_numpy(object)
        taught = success & (values != f.MISSING)
        codes = codes_of(values)
        count = running_before(pair_codes(user_codes, codes), taught)
        count[values == f.MISSING] = 0
        if col in HIERARCHY_COLUMNS:
            totals.append(taught.astype(np.int64))
            firsts.append((taught & (count == 0)).astype(np.int64))
            pcount = running_before(codes, taught)
            pfirst = taught & (pcount == 0)
            pcount[values == f.MISSING] = 0
            population[col] = Stats(
                pcount, running_before(None, taught), running_before(None, pfirst)
            )
        user[col] = Stats(count, np.zeros(0, np.int64), np.zeros(0, np.int64))
    summed = running_before_many(user_codes, totals + firsts)
    k = len(totals)
    for i, col in enumerate(HIERARCHY_COLUMNS):
        user[col] = Stats(user[col].count, summed[i], summed[k + i])
    user_logins = running_before(user_codes, success)
    first_login = success & (user_logins == 0)
    last = previous_where(user_codes, success)
    failed = running_before(user_codes, ~success)
    at_last = np.where(last >= 0, failed[np.maximum(last, 0)], 0)
    hour = frame[f.HOUR].to_numpy(object)
    hour_ints = np.where(hour == f.MISSING, -1, pd.to_numeric(hour, errors="coerce"))
    by_hour = [(success & (hour_ints == h)).astype(np.int64) for h in range(24)]
    hours = np.stack(running_before_many(user_codes, by_hour), axis=1)
    return Profiles(
        user=user,
        population=population,
        user_logins=user_logins,
        population_logins=pop_logins,
        users=running_before(None, first_login),
        last_login=last,
        failures_since_success=failed - at_last,
        hours=hours,
    )
