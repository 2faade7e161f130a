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
# pack(): the low id gets 32 bits, the high one the other 31.
PACK_SHIFT = 32


def codes_of(values: pd.Series | NDArray[Any]) -> Ints:
    """Dense integer codes of a column's values (first appearance order)."""
    codes, _ = pd.factorize(np.asarray(values), sort=False)
    return codes.astype(np.int64, copy=False)


def column_codes_of(column: pd.Series) -> Ints:
    """codes_of a frame's column; a categorical's own codes when already numbered so."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes: Ints = np.asarray(column.cat.codes, dtype=np.int64)
        return codes if numbered_by_appearance(codes) else codes_of(codes)
    return codes_of(column.to_numpy(object))


def missing_of(column: pd.Series, missing: str) -> NDArray[np.bool_]:
    """Per row, whether a text column holds ``missing`` (a categorical is tested per category)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        absent = np.append(np.asarray(column.cat.categories == missing, dtype=bool), True)
        return absent[np.asarray(column.cat.codes, dtype=np.intp)]
    return np.asarray(column.to_numpy(object) == missing, dtype=bool)


def numbered_by_appearance(codes: Ints) -> bool:
    """Whether ``codes`` are 0, 1, 2, ... in order of first appearance (as codes_of numbers)."""
    if not len(codes):
        return True
    highest = np.maximum.accumulate(codes)
    return bool(codes[0] == 0 and (np.diff(highest) <= 1).all() and codes.min() >= 0)


def run_starts(ordered: NDArray[Any]) -> Ints:
    """Where each run of equal values begins in a sorted array (0 first, if any)."""
    if not len(ordered):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))


def pair_keys(a: Ints, b: Ints) -> Ints:
    """One int64 per (a, b) pair of non-negative codes: equal pairs, equal keys; not dense."""
    width = int(b.max()) + 1 if len(b) else 1
    return a * width + b


def pair_codes(a: Ints, b: Ints) -> Ints:
    """Dense codes of (a, b) pairs of non-negative codes."""
    return codes_of(pair_keys(a, b))


def running_before(groups: Ints | None, x: NDArray[np.int64] | NDArray[np.bool_]) -> Ints:
    """Per row, the sum of ``x`` over the earlier rows of its group (all rows when None)."""
    counts = np.asarray(x, dtype=np.int64)
    if groups is None:
        return np.cumsum(counts) - counts
    summed = pd.Series(counts).groupby(groups, sort=False).cumsum().to_numpy(np.int64)
    return summed - counts


class Groups:
    """Rows grouped by a code, sorted once, for many running sums over a group's earlier rows."""

    def __init__(self, codes: Ints) -> None:
        n = len(codes)
        self.order = np.argsort(codes, kind="stable")
        self.starts = run_starts(codes[self.order])
        self.sizes = np.diff(np.append(self.starts, n))
        # Sorted position of each sorted row's group start.
        self.first = np.repeat(self.starts, self.sizes)
        # Each row's sorted position: gathering back streams its writes, scattering would not.
        self.position = np.empty(n, dtype=np.intp)
        self.position[self.order] = np.arange(n)

    def before(self, columns: Sequence[NDArray[np.bool_]]) -> NDArray[np.int32]:
        """(k, n): per column and row, how many earlier rows of the row's group are True.

        int32: a chunk holds fewer than 2**31 rows.
        """
        n = len(self.order)
        out = np.empty((len(columns), n), dtype=np.int32)
        # A column at a time: its sorted copy and running sum stay in cache.
        for i, col in enumerate(columns):
            if not col.any():
                out[i] = 0
                continue
            ordered = col[self.order]
            excl = np.cumsum(ordered, dtype=np.int32)
            excl -= ordered
            excl -= np.repeat(excl[self.starts], self.sizes)
            out[i] = excl[self.position]
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


def first_rows(codes: Ints) -> Ints:
    """Each code's first row, for dense codes numbered in order of first appearance (codes_of)."""
    fresh = np.ones(len(codes), dtype=bool)
    # A code is new where it exceeds every code before it.
    fresh[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return np.flatnonzero(fresh)


def values_of(values: NDArray[Any], codes: Ints) -> NDArray[Any]:
    """The value of each code (codes_of's ``codes`` of ``values``), in code order."""
    return values[first_rows(codes)]


def pack(high: Ints, low: Ints) -> Ints:
    """One sortable int64 per (high, low) pair of non-negative ids (low < 2**32)."""
    return (high << PACK_SHIFT) | low


def unpack(keys: Ints) -> tuple[Ints, Ints]:
    """The (high, low) ids of packed keys."""
    return keys >> PACK_SHIFT, keys & ((1 << PACK_SHIFT) - 1)


def lookup(keys: Ints, values: Ints, query: Ints) -> Ints:
    """``values`` of the sorted unique ``keys`` equal to each query key; 0 where absent."""
    if not len(keys):
        return np.zeros(len(query), dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[at] == query, values[at], 0)


def add_counts(keys: Ints, counts: Ints, more: Ints) -> tuple[Ints, Ints]:
    """A count table (sorted unique ``keys``) plus one for each key in ``more``."""
    new, times = np.unique(more, return_counts=True)
    merged = np.concatenate((keys, new))
    summed = np.concatenate((counts, times.astype(np.int64)))
    # Two sorted runs: the stable sort (timsort) merges them in linear time.
    order = np.argsort(merged, kind="stable")
    merged, summed = merged[order], summed[order]
    if not len(merged):
        return merged, summed
    start = run_starts(merged)
    return merged[start], np.add.reduceat(summed, start)
