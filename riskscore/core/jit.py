"""numba kernels cached on disk where numba can write, compiled in memory where it cannot."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numba
from numba.core.dispatcher import Dispatcher


def njit_cached(fn: Callable[..., Any], what: str, **options: Any) -> Dispatcher[Any]:
    """``numba.njit(cache=True, **options)(fn)``; without the cache if numba has nowhere for it.

    numba raises, not warns, when neither ``__pycache__`` beside ``fn``'s
    module nor its user-wide cache directory is writable (a read-only install
    with an unwritable HOME). The kernel still works then, compiled in every
    process; one RuntimeWarning names ``what`` and the way out.
    """
    try:
        kernel: Dispatcher[Any] = numba.njit(cache=True, **options)(fn)
    except RuntimeError:
        warnings.warn(
            f"numba has no writable cache directory (set NUMBA_CACHE_DIR), so {what} "
            "compiles in every process",
            RuntimeWarning,
            stacklevel=3,
        )
        kernel = numba.njit(**options)(fn)
    return kernel
