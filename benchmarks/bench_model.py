"""Learned model speed: numpy fast path against sklearn, one row and in batch.

Trains the default model (riskscore.learn.train.Boosting) on seeded synthetic
rows, then times ``LearnedModel.probability_one`` against
``CalibratedClassifierCV.predict_proba`` on one row (per-call p50/p99), and
``LearnedModel.probability`` against ``predict_proba`` on 1M rows (rows/s).
The batch probability runs twice, by each tree walk of core/learned.py: the
numba kernel (core/trees_jit.py, what ``probability`` uses from
``JIT_MIN_ROWS`` rows) and the numpy block walk, with seconds per 1M rows and
what the numba path costs a new process (import numba, load the kernel).

Run: .venv/bin/python benchmarks/bench_model.py [--train-rows N] [--batch-rows N] [--threads N]

--threads caps sklearn's OpenMP threads (fit and predict_proba); the numpy
path is single-threaded either way, and numba uses every core unless
NUMBA_NUM_THREADS says otherwise.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from riskscore.core.learned import JIT_MIN_ROWS, LearnedModel
from riskscore.learn.train import Boosting, fit_model, frame_matrix

FEATURES = 30


def synthetic(rows: int, seed: int) -> tuple[pd.DataFrame, NDArray[np.bool_]]:
    """Features shaped like ours (flags, counts, log-ratios, NaN gaps) and ~5% attacks."""
    rng = np.random.default_rng(seed)
    flags = rng.random((rows, 10)) < rng.uniform(0.02, 0.4, 10)
    counts = rng.poisson(rng.uniform(0.2, 8.0, 10), (rows, 10)).astype(np.float64)
    logs = rng.normal(0.0, rng.uniform(0.5, 3.0, 10), (rows, 10))
    logs[rng.random((rows, 10)) < 0.05] = np.nan
    values = np.concatenate((flags.astype(np.float64), counts, logs), axis=1)
    signal = (
        1.5 * flags[:, 0]
        + 0.8 * flags[:, 1] * flags[:, 2]
        + 0.3 * np.log1p(counts[:, 0])
        + 0.6 * np.nan_to_num(logs[:, 0])
        - 0.4 * np.abs(np.nan_to_num(logs[:, 1]))
        + rng.logistic(0.0, 1.0, rows)
    )
    labels = signal > np.quantile(signal, 0.95)
    return pd.DataFrame(values, columns=[f"x{i:02d}" for i in range(FEATURES)]), labels


def per_call_us(call: Callable[[int], object], calls: int) -> NDArray[np.float64]:
    """Microseconds of each of ``calls`` calls (argument: the call's index)."""
    spent = np.empty(calls)
    for i in range(calls):
        began = time.perf_counter_ns()
        call(i)
        spent[i] = (time.perf_counter_ns() - began) / 1000
    return spent


def timed(call: Callable[[], NDArray[np.float64]]) -> tuple[NDArray[np.float64], float]:
    """The call's result and its seconds."""
    began = time.perf_counter()
    result = call()
    return result, time.perf_counter() - began


def walks(model: LearnedModel, batch: NDArray[np.float64]) -> tuple[float, float]:
    """Seconds of each batch walk on ``batch``: the numba kernel, the numpy blocks."""
    walk, calibrate = model.ensemble._walk, model.calibration.apply
    walk.compiled(batch[:JIT_MIN_ROWS])  # warm: a new process's start is jit_start_s
    jit, jit_s = timed(lambda: calibrate(walk.compiled(batch)))
    blocks, blocks_s = timed(lambda: calibrate(walk.blocks(batch)))
    assert np.array_equal(jit, blocks), "the two walks disagree"
    return jit_s, blocks_s


def jit_start_s() -> float:
    """Seconds a fresh process takes to import numba and load (or compile) the kernel."""
    code = "import time; t = time.perf_counter(); import riskscore.core.trees_jit; "
    code += "print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def main() -> None:
    """Train once, then print the one-row and batch table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=None, help="OpenMP threads for sklearn")
    args = parser.parse_args()
    frame, labels = synthetic(args.train_rows, seed=1)
    names = list(frame.columns)
    times = np.arange(len(frame), dtype=np.int64) * 1_000_000_000
    began = time.perf_counter()
    params = Boosting(threads=args.threads)
    trained = fit_model(
        frame, labels, times, feature_names=names, seed=1, name="bench", params=params
    )
    print(f"fit: {len(frame):,} rows x {FEATURES} in {time.perf_counter() - began:.1f} s")
    model, sk = trained.model, trained.estimator
    e = model.ensemble
    print(f"trees {e.roots.size}, nodes {e.leaf.size}, max depth {e.depth}")

    probe, _ = synthetic(args.calls, seed=2)
    one = frame_matrix(probe, names)
    rows = [dict(zip(names, map(float, r), strict=True)) for r in one]
    ours = per_call_us(lambda i: model.probability_one(rows[i]), args.calls)
    with threadpool_limits(limits=args.threads, user_api="openmp"):
        theirs = per_call_us(lambda i: sk.predict_proba(one[i : i + 1]), min(args.calls, 500))
        same = max(
            abs(model.probability_one(rows[i]) - sk.predict_proba(one[i : i + 1])[0, 1])
            for i in range(200)
        )

    big, _ = synthetic(args.batch_rows, seed=3)
    batch = frame_matrix(big, names)
    jit_s, blocks_s = walks(model, batch)
    fast = model.probability(batch)
    began = time.perf_counter()
    with threadpool_limits(limits=args.threads, user_api="openmp"):
        slow = sk.predict_proba(batch)[:, 1]
    slow_s = time.perf_counter() - began

    print()
    print("| path | p50 us | p99 us | rows/s |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| probability_one (numpy) | {np.median(ours):.1f} | {np.percentile(ours, 99):.1f} | |")
    print(
        f"| predict_proba, 1 row (sklearn) | {np.median(theirs):.1f} | "
        f"{np.percentile(theirs, 99):.1f} | |"
    )
    for walk, seconds in (("numba", jit_s), ("numpy blocks", blocks_s)):
        print(f"| probability, {len(batch):,} rows ({walk}) | | | {len(batch) / seconds:,.0f} |")
    print(f"| predict_proba, {len(batch):,} rows (sklearn) | | | {len(batch) / slow_s:,.0f} |")
    print()
    print(f"max |ours - sklearn|: one row {same:.2e}, batch {np.abs(fast - slow).max():.2e}")
    per = 1e6 / len(batch)
    print(
        f"batch s per 1M rows: numba {jit_s * per:.2f}, numpy blocks {blocks_s * per:.2f} "
        f"(bit-identical); a new process's numba start {jit_start_s():.2f} s"
    )


if __name__ == "__main__":
    main()
