"""The per-user running counts of batch/profile.py in one compiled pass over the rows.

numpy has no grouped "count before this row" but a sort or a hash per
column; over a dozen columns and a million rows that was the replay's
largest cost (about 2 s, much of it first touches of fresh memory). In time
order, each row reads its user's counters and then, if it teaches, bumps
them: one pass, integer arithmetic only, so the counts are exactly those of
the grouped running sums it replaces (tests/batch/test_parity.py and
test_state.py hold batch to the service and to itself bit for bit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from riskscore.core.jit import njit_cached

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
HOURS: Final = 24


def _user_pass(
    user: Ints,
    pairs: Ints,
    offsets: Ints,
    base: Ints,
    taught: Bools,
    missing: Bools,
    proven: Bools,
    failed: Bools,
    hour: Ints,
    mark: Bools,
    n_users: int,
    n_hierarchy: int,
    counts: Ints,
    summed: NDArray[np.int32],
    last: Ints,
) -> None:
    # Row-major (n, k) arrays: one row's columns sit together; per-user
    # counters likewise, one user's in one cache line or two.
    n, k = pairs.shape
    width = summed.shape[1]
    first_hour = 2 + 2 * n_hierarchy
    pair_seen = np.zeros(offsets[-1], dtype=np.int32)
    state = np.zeros((n_users, width), dtype=np.int32)
    latest = np.full(n_users, -1, dtype=np.int64)
    for r in range(n):
        u = user[r]
        summed[r, :] = state[u, :]
        last[r] = latest[u]
        for c in range(k):
            slot = offsets[c] + pairs[r, c]
            before = pair_seen[slot] + base[r, c]
            counts[r, c] = 0 if missing[r, c] else before
            if taught[r, c]:
                pair_seen[slot] += 1
                if c < n_hierarchy:
                    state[u, 2 + 2 * c] += 1
                    if before == 0:
                        state[u, 3 + 2 * c] += 1
        if proven[r]:
            state[u, 0] += 1
            state[u, first_hour + hour[r]] += 1
        if failed[r]:
            state[u, 1] += 1
        if mark[r]:
            latest[u] = r


_KERNEL: Final = njit_cached(_user_pass, "the batch profile pass", nogil=True)


def user_pass(
    user: Ints,
    pairs: list[Ints],
    base: list[Ints] | None,
    taught: list[Bools],
    missing: list[Bools],
    proven: Bools,
    failed: Bools,
    hour: Ints,
    mark: Bools,
    n_hierarchy: int,
) -> tuple[Ints, NDArray[np.int32], Ints]:
    """Per row, before it, within the frame: value counts, running sums and last marked row.

    ``user``: dense user codes; per counted column (the first ``n_hierarchy``
    also get totals and distinct counts): ``pairs`` dense (user, value) codes,
    ``base`` counts the rows start from (a carried state's; None: 0),
    ``taught`` rows that count, ``missing`` rows whose count reads 0.
    Returns ``counts`` (k, n): how often the user had the row's value (plus
    base); ``summed`` (2 + 2 * n_hierarchy + 24, n) as profile.USER_SUMS:
    logins, failures, (total, distinct) per hierarchy column, sign-ins per UTC
    hour; ``last``: the user's latest earlier row in ``mark`` (-1: none).
    A taught row's value is new to its user (distinct) when its count, base
    included, is 0.
    """
    n = len(user)
    k = len(pairs)
    sizes = [int(p.max()) + 1 if len(p) else 0 for p in pairs]
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    counts = np.empty((n, k), dtype=np.int64)
    summed = np.empty((n, 2 + 2 * n_hierarchy + HOURS), dtype=np.int32)
    last = np.empty(n, dtype=np.int64)
    _KERNEL(
        np.ascontiguousarray(user, dtype=np.int64),
        _rows(pairs, np.int64),
        offsets,
        np.zeros((n, k), dtype=np.int64) if base is None else _rows(base, np.int64),
        _rows(taught, np.bool_),
        _rows(missing, np.bool_),
        np.ascontiguousarray(proven, dtype=bool),
        np.ascontiguousarray(failed, dtype=bool),
        np.ascontiguousarray(hour, dtype=np.int64),
        np.ascontiguousarray(mark, dtype=bool),
        int(user.max()) + 1 if n else 0,
        n_hierarchy,
        counts,
        summed,
        last,
    )
    # Back to one contiguous array per column, as the signals read them.
    return np.ascontiguousarray(counts.T), np.ascontiguousarray(summed.T), last


def _rows(columns: Sequence[NDArray[Any]], dtype: type[np.generic]) -> NDArray[Any]:
    """Columns as one (n, k) row-major array."""
    out = np.empty((len(columns[0]), len(columns)), dtype=dtype)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out
