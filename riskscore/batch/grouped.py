"""Grouped running counts over a time-sorted log: "how many before this row".

Every per-row history the online store answers with a lookup (how often this
user proved this IP, how many distinct browsers the pool has seen, ...) is,
over a sorted log, an *exclusive* running sum within a group. pandas' grouped
cumsum does that in one hashed pass, without sorting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Ints = NDArray[np.int64]


def codes_of(values: pd.Series | NDArray[Any]) -> Ints:
    """Dense integer codes of a column's values (first appearance order)."""
    codes, _ = pd.factorize(np.asarray(values), sort=False)
    return codes.astype(np.int64, copy=False)


def pair_codes(a: Ints, b: Ints) -> Ints:
    """Dense codes of (a, b) pairs of non-negative codes."""
    width = int(b.max()) + 1 if len(b) else 1
    return codes_of(a * width + b)


def running_before(groups: Ints | None, x: NDArray[np.int64] | NDArray[np.bool_]) -> Ints:
    """Per row, the sum of ``x`` over the earlier rows of its group (all rows when None)."""
    counts = np.asarray(x, dtype=np.int64)
    if groups is None:
        return np.cumsum(counts) - counts
    summed = pd.Series(counts).groupby(groups, sort=False).cumsum().to_numpy(np.int64)
    return summed - counts


def running_before_many(groups: Ints, columns: Sequence[NDArray[np.int64]]) -> list[Ints]:
    """``running_before`` for several columns with one grouping pass."""
    frame = pd.DataFrame({i: np.asarray(c, dtype=np.int64) for i, c in enumerate(columns)})
    summed = frame.groupby(groups, sort=False).cumsum()
    return [summed[i].to_numpy(np.int64) - frame[i].to_numpy() for i in range(len(columns))]


def previous_where(groups: Ints, mask: NDArray[np.bool_]) -> Ints:
    """Per row, the position of the latest earlier row of its group with ``mask`` (-1: none)."""
    positions = np.where(mask, np.arange(len(mask), dtype=np.int64), -1)
    latest = pd.Series(positions).groupby(groups, sort=False).cummax().to_numpy(np.int64)
    # cummax includes the row itself; step back to strictly earlier rows.
    before = pd.Series(latest).groupby(groups, sort=False).shift(1, fill_value=-1)
    return np.asarray(before.to_numpy(), dtype=np.int64)


class Groups:
    """Rows grouped by a code, sorted once, for many running sums over a group's earlier rows."""

    def __init__(self, codes: Ints) -> None:
        n = len(codes)
        self.order = np.argsort(codes, kind="stable")
        ordered = codes[self.order]
        start = np.ones(n, dtype=bool)
        start[1:] = ordered[1:] != ordered[:-1]
        # Sorted position of each sorted row's group start.
        self.first = np.maximum.accumulate(np.where(start, np.arange(n, dtype=np.int64), 0))

    def before(self, columns: Sequence[NDArray[np.bool_]]) -> NDArray[np.int32]:
        """(k, n): per column and row, how many earlier rows of the row's group are True."""
        n = len(self.order)
        ordered = np.empty((len(columns), n), dtype=np.int32)
        for i, col in enumerate(columns):
            ordered[i] = col[self.order]
        # Rows are contiguous in memory, so each cumsum streams.
        excl = np.cumsum(ordered, axis=1, dtype=np.int32) - ordered
        excl -= excl[:, self.first]
        out = np.empty_like(excl)
        out[:, self.order] = excl
        return out

    def previous(self, mask: NDArray[np.bool_]) -> Ints:
        """Per row, the position of the latest earlier row of its group with ``mask`` (-1: none)."""
        n = len(self.order)
        at = np.arange(n, dtype=np.int64)
        latest = np.maximum.accumulate(np.where(mask[self.order], at, -1))
        prev = np.full(n, -1, dtype=np.int64)
        prev[1:] = latest[:-1]
        prev[(prev < self.first) | (at == self.first)] = -1
        out = np.full(n, -1, dtype=np.int64)
        found = prev >= 0
        out[self.order] = np.where(found, self.order[np.maximum(prev, 0)], -1)
        return out
