"""The batch tree walk compiled by numba: each row follows its own path.

numpy cannot vectorise a walk whose next node depends on the last, so the
numpy block walk (core/learned.py) gathers a whole level of (trees x rows)
per step and pays for every temporary; compiled, a block of rows walks each
tree with its doubled rows in cache, and blocks run in parallel (``prange``,
all cores). Each row adds its trees' leaves one by one in boosting order, so
scores equal the numpy path's, and sklearn's ``decision_function``, bit for
bit.

Only ``TreeEnsemble.raw_predict`` imports this module, lazily and for large
matrices, so the online path never loads numba. Importing it loads the
kernel from numba's cache (``__pycache__`` here, else numba's user-wide
cache directory) or compiles it into that cache once.

numba runs ``prange`` on TBB, else OpenMP, else its own workqueue. GNU
OpenMP is not fork-safe: a process forked (not spawned) from one that has
run this kernel is terminated if it runs it too. Dask starts its worker
processes by spawning (distributed's default), as do the benchmarks' pools.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final

import numba
import numpy as np
from numba.core.dispatcher import Dispatcher
from numpy.typing import NDArray

from riskscore.core.jit import njit_cached

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]
Kernel = Callable[[Floats, Ints, Floats, Ints, Floats, Ints, Ints, int], Floats]

# Rows per parallel task. Small blocks reach their leaves together sooner (a
# block stops walking a tree when none of its rows moves): 8-16 rows were
# about 25% faster than 64 on the shipped model's 1M-row features.
BLOCK_ROWS: Final = 16


def _walk(
    matrix: Floats,
    column: Ints,
    cut: Floats,
    first: Ints,
    value: Floats,
    start: Ints,
    depth: Ints,
    block_rows: int,
) -> Floats:
    """The kernel :func:`walk` calls, compiled; block ``b`` of rows is one parallel task."""
    rows, width = matrix.shape
    out = np.empty(rows)
    for b in numba.prange((rows + block_rows - 1) // block_rows):
        lo = b * block_rows
        m = min(rows, lo + block_rows) - lo
        # The doubled row of _Walk: NaN read as +inf, then NaN read as -inf.
        x = np.empty((m, 2 * width))
        for i in range(m):
            for j in range(width):
                v = matrix[lo + i, j]
                x[i, j] = np.inf if np.isnan(v) else v
                x[i, width + j] = -np.inf if np.isnan(v) else v
        # -0.0 + v is v for every v (0.0 + -0.0 is not), so the first tree's
        # leaf passes through unchanged, as it heads np.cumsum in _Walk.
        total = np.full(m, -0.0)
        node = np.empty(m, dtype=np.intp)
        for t in range(start.shape[0]):
            node[:] = start[t]
            for _ in range(depth[t]):
                # A leaf steps to itself: once no row of the block moves, all are at leaves
                # (most paths are far shorter than their tree's deepest).
                moved = 0
                for i in range(m):
                    k = node[i]
                    step = first[k] + (x[i, column[k]] > cut[k])
                    moved += step != k
                    node[i] = step
                if moved == 0:
                    break
            for i in range(m):
                total[i] += value[node[i]]
        out[lo : lo + m] = total
    return out


def _dispatcher() -> Dispatcher[Kernel]:
    """The kernel's dispatcher, caching to disk when numba finds a writable directory."""
    return njit_cached(_walk, "the batch tree walk", parallel=True, nogil=True)


def compiled() -> Kernel:
    """The kernel for its one signature, loaded from numba's cache or compiled."""
    kernel = _dispatcher()
    # Read-only C arrays: writable ones convert to them, so this one signature
    # serves every call; never compiling again keeps the cache a single entry.
    floats = numba.types.Array(numba.float64, 1, "C", readonly=True)
    ints = numba.types.Array(numba.intp, 1, "C", readonly=True)
    matrix = numba.types.Array(numba.float64, 2, "C", readonly=True)
    kernel.compile(numba.float64[::1](matrix, ints, floats, ints, floats, ints, ints, numba.intp))
    kernel.disable_compile()
    return kernel


_KERNEL: Final = compiled()
# numba's workqueue threading layer (the fallback without TBB or OpenMP)
# aborts the process when two threads launch parallel kernels at once, and a
# call already uses every core, so concurrent calls take turns.
_ONE_AT_A_TIME: Final = threading.Lock()


def walk(
    matrix: Floats,
    *,
    column: Ints,
    cut: Floats,
    first: Ints,
    value: Floats,
    start: Ints,
    depth: Ints,
) -> Floats:
    """Raw scores of an (n, k) matrix from the tables of core/learned.py's ``_Walk``.

    ``column`` indexes the doubled row (k + k columns), a step is
    ``first[node] + (x > cut[node])``, leaves step to themselves, and
    ``depth`` is each tree's number of steps, trees in boosting order. Each
    row's total adds the trees' leaf values one by one in that order, as
    ``np.cumsum(...)[-1]`` does on the numpy path and sklearn does, so the
    scores are bit-identical to both.
    """
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    # The kernel does not check bounds: a narrower matrix would be read past its rows.
    if matrix.ndim != 2 or (column.size and int(column.max()) >= 2 * matrix.shape[1]):
        raise ValueError(f"a matrix of shape {matrix.shape} is narrower than the splits")
    with _ONE_AT_A_TIME:
        return _KERNEL(matrix, column, cut, first, value, start, depth, BLOCK_ROWS)
