"""core/jit.py: kernels cache on disk where numba can write, and still compile where not."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core.caching import CompileResultCacheImpl

from riskscore.core.jit import njit_cached


def _double(x: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    return x * 2


def test_a_kernel_compiles_without_a_cache_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    # What numba does when neither __pycache__ nor its user-wide cache is writable.
    monkeypatch.setattr(CompileResultCacheImpl, "_locator_classes", [])
    with pytest.warns(RuntimeWarning, match=r"the doubling compiles in every process"):
        kernel = njit_cached(_double, "the doubling")
    assert np.array_equal(kernel(np.arange(3)), [0, 2, 4])


def test_a_kernel_caches_where_it_can() -> None:
    kernel = njit_cached(_double, "the doubling")
    assert np.array_equal(kernel(np.arange(3)), [0, 2, 4])
    assert kernel._cache.cache_path  # a directory numba could write to
