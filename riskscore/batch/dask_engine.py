"""The Dask engine: the per-user work of batch scoring spread over a dask.distributed cluster.

Two passes, as the pandas engine's maths splits:

1. whole log, in the client: read, type, look up, and the pool-wide part of
   every row's snapshot (pool counts over proven sign-ins, IP/ASN/user
   velocity windows): each needs every earlier row of the pool;
2. per user, on the workers: rows are partitioned by a hash of the user, so
   each partition holds every row of its users in time order; the user's
   history, travel, hours, signals, model and reasons are computed there with
   the pandas engine's own functions, and the rows come back in input order.

The result equals the pandas engine's exactly (tests/batch/test_dask_engine.py).
Pass 1 keeps the whole log in the client's memory; pass 2 is where the
heavy per-row work is, and it scales with workers.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch import observe, replay
from riskscore.batch.columns import BatchInputError
from riskscore.batch.score import BatchSettings, Scored, in_input_order, output_rows
from riskscore.batch.validate import Validated, time_order
from riskscore.config import Config
from riskscore.signals.base import SignalSettings

DEFAULT_PARTITIONS = 8


def _score_partition(
    obs: pd.DataFrame, common: replay.Shared, signals: SignalSettings, model: replay.BatchModel
) -> tuple[NDArray[np.int64], replay.Replayed]:
    """Pass 2 on one worker: every row of some users, in time order."""
    rows = obs.pop("_row").to_numpy(np.int64)
    return rows, replay.replay(obs.reset_index(drop=True), signals, model, common)


def score_log_dask(
    validated: Validated,
    enricher: observe.BatchEnricher | None,
    settings: BatchSettings,
    client: Any,
    partitions: int = DEFAULT_PARTITIONS,
) -> Scored:
    """Score a validated log on a Dask cluster; equal to batch.score.score_log."""
    frame = validated.frame
    order = time_order(frame)
    ordered = frame.take(order).reset_index(drop=True)
    obs = observe.observations(ordered, enricher if settings.enrich else None)
    common = replay.shared(obs, settings.signals)
    users = pd.util.hash_array(obs["user"].to_numpy(object)) % np.uint64(partitions)
    futures = []
    for part in range(partitions):
        rows = np.flatnonzero(users == part)
        if not len(rows):
            continue
        piece = obs.take(rows).reset_index(drop=True)
        piece["_row"] = rows
        futures.append(
            client.submit(
                _score_partition,
                piece,
                common.take(rows),
                settings.signals,
                settings.model,
                pure=False,
            )
        )
    n = len(obs)
    score = np.zeros(n)
    raw = np.zeros(n)
    level = np.empty(n, dtype=object)
    reasons = np.empty(n, dtype=object)
    features: list[pd.DataFrame] = []
    for rows, result in client.gather(futures):
        score[rows], raw[rows] = result.score, result.raw
        level[rows], reasons[rows] = result.level, result.reasons
        features.append(result.features.set_axis(rows))
    merged = pd.concat(features).sort_index().reset_index(drop=True)
    result = replay.Replayed(merged, raw, score, pd.Categorical(level), pd.Categorical(reasons))
    out = output_rows(ordered, obs, result, settings)
    return Scored(in_input_order(out, order), validated.labels.reset_index(drop=True))


def run_dask(args: argparse.Namespace, config: Config) -> int:
    """``batch score --engine dask``: a LocalCluster, or the cluster at --scheduler."""
    from distributed import Client, LocalCluster

    from riskscore.batch.cli_batch import (
        batch_settings,
        needs_enricher,
        open_enricher,
        read_validated,
    )
    from riskscore.batch.io import OutputWriter, rejects_path_for
    from riskscore.batch.score import summarize

    chunked = [
        option
        for option, value in (
            ("--chunk-rows", args.chunk_rows),
            ("--state-in", args.state_in),
            ("--state-out", args.state_out),
        )
        if value is not None
    ]
    if chunked:
        # Pass 1 needs the whole log in the client; nothing is carried between chunks.
        raise BatchInputError(
            f"the Dask engine scores the whole log at once: {', '.join(chunked)} "
            "needs --engine pandas",
            where="--engine dask",
        )
    started = time.perf_counter()
    settings = batch_settings(config, args, features=args.features)
    rejects_path = args.rejects or rejects_path_for(args.output)
    validated, rejected = read_validated(args, rejects_path if args.on_error == "skip" else None)
    enricher = open_enricher(config) if needs_enricher(validated, args) else None
    settings = replace(settings, enrich=enricher is not None)
    # distributed is untyped; Any keeps mypy strict elsewhere.
    make_client: Any = Client
    make_cluster: Any = LocalCluster
    cluster: Any = None
    if args.scheduler:
        client = make_client(args.scheduler)
    else:
        cluster = make_cluster(n_workers=2, threads_per_worker=1, processes=True)
        client = make_client(cluster)
    try:
        print(f"scoring on {client.dashboard_link or args.scheduler}", file=sys.stderr)
        scored = score_log_dask(validated, enricher, settings, client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    with OutputWriter(args.output) as writer:
        writer.write(scored.rows)
    for line in summarize(scored, rejected, time.perf_counter() - started).lines():
        print(line)
    print(f"wrote {args.output}")
    return 0
