"""Velocity windows over a time-sorted log, as the stores count them live.

The stores (riskscore/stores/memory.py is the reference) count, per key, the
attempts and failures in whole minutes ``[m - W + 1, m]`` before an attempt,
and the distinct users whose latest attempt from that key falls in that
range. Over a sorted log these are range counts within each key's rows:

* attempts and failures: the key's rows from the first one inside the window
  up to (not including) this row, found with ``searchsorted``;
* distinct users: an earlier row ``j`` of user ``u`` is ``u``'s latest until
  ``u``'s next row from the key, and stays in the window until minute
  ``m_j + W - 1``; so ``j`` adds one to the contiguous run of rows
  ``(j, min(next_j, last_j)]``: a difference array and one cumsum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from riskscore.batch.grouped import Ints, pair_keys
from riskscore.core.velocity import MEMBER_CAP


@dataclass(frozen=True, slots=True)
class KeyWindows:
    """Window counts for one kind of key, one value per row."""

    attempts: Ints
    failures: Ints
    users: Ints


def key_windows(
    keys: Ints,
    minutes: Ints,
    failed: NDArray[np.bool_],
    users: Ints | None,
    window_minutes: int,
) -> KeyWindows:
    """Counts for rows keyed by ``keys`` (-1: the row has no key and counts nothing)."""
    n = len(keys)
    zero = np.zeros(n, dtype=np.int64)
    keyed = keys >= 0
    if not keyed.any():
        return KeyWindows(zero, zero.copy(), zero.copy())
    # Rows in key order, time order within a key (the log is time-sorted, sort is stable).
    order = np.argsort(np.where(keyed, keys, -1), kind="stable")
    order = order[keyed[order]]
    k, m = keys[order], minutes[order]
    span = int(m.max() - m.min()) + window_minutes + 2
    composite = k * span + (m - m.min())
    q = np.arange(len(order), dtype=np.int64)
    lo = np.searchsorted(composite, composite - window_minutes + 1, side="left")
    fails = np.concatenate(([0], np.cumsum(failed[order].astype(np.int64))))
    attempts = zero.copy()
    failures = zero.copy()
    attempts[order] = q - lo
    failures[order] = fails[q] - fails[lo]
    distinct = zero.copy()
    if users is not None:
        distinct[order] = _distinct_users(k, composite, users[order], window_minutes)
    return KeyWindows(attempts, failures, distinct)


def _distinct_users(keys: Ints, composite: Ints, users: Ints, window_minutes: int) -> Ints:
    """Distinct users of earlier rows in the window, for rows already in key order."""
    n = len(composite)
    pairs = pair_keys(keys, users)
    # Next row of the same (key, user), in this order.
    order = np.argsort(pairs, kind="stable")
    nxt = np.full(n, n, dtype=np.int64)
    same = pairs[order][1:] == pairs[order][:-1]
    nxt[order[:-1][same]] = order[1:][same]
    # Last row of the key still inside this row's window.
    last = np.searchsorted(composite, composite + window_minutes - 1, side="right") - 1
    end = np.minimum(nxt, last)
    starts = np.arange(1, n + 1, dtype=np.int64)
    live = end >= starts
    diff = np.bincount(starts[live], minlength=n + 2) - np.bincount(end[live] + 1, minlength=n + 2)
    return np.minimum(np.cumsum(diff[:n]), MEMBER_CAP)
