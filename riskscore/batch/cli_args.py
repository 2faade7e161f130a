"""The options of ``riskscore batch score``, ``batch warm``, ``train`` and ``evaluate``.

Apart from the code that runs them, so that building the ``riskscore``
parser (every command, ``--help``) imports no pandas, pyarrow or scikit-learn.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# Logs of up to this many rows are scored in one pass (and need not be in time order).
DEFAULT_CHUNK_ROWS = 1_000_000
# The user pool batch scores as (its policy) and warms the service's profiles of.
DEFAULT_POOL_ID = "batch"


def add_batch_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``batch score`` and ``batch warm`` to the ``riskscore`` parser."""
    batch = subparsers.add_parser(
        "batch", help="score historic login logs; start the service warm from them"
    )
    sub = batch.add_subparsers(dest="batch_command", required=True)
    score = sub.add_parser(
        "score",
        help="score every row of a login log as the live service would have",
        description="Score a login log (CSV, CSV.gz or Parquet; the RBA dataset's columns "
        "as they are, others via --columns) in Login Timestamp order, each row from the "
        "rows before it only, with the service's features, model and policy. Label "
        "columns (Is Attack IP, Is Account Takeover, attack_kind) are never features; "
        "when present the summary reports ROC AUC and catch rates. Rows without their "
        "own Country column are enriched from the IP and User-Agent with the service's "
        "geo, ASN, network-type and deny-list data. A log of more than --chunk-rows rows "
        "(or any log with --state-in/--state-out) is scored chunk by chunk with the "
        "profiles carried over, in bounded memory, to the same results: each chunk is "
        "sorted by time, and a row going back before an earlier chunk's is an error (or, "
        "with --on-error skip, a reject).",
    )
    add_input_options(score)
    score.add_argument("--output", type=Path, required=True, help=".parquet, .csv or .csv.gz")
    score.add_argument("--features", action="store_true", help="also write every feature column")
    score.add_argument(
        "--engine",
        choices=("pandas", "dask"),
        default="pandas",
        help="pandas in-process (default) or Dask (see --scheduler)",
    )
    score.add_argument(
        "--scheduler",
        help="dask.distributed scheduler address (default: a local cluster)",
    )
    score.add_argument("--rejects", type=Path, help="rejects file (default <OUT>.rejects.csv)")
    score.add_argument(
        "--chunk-rows",
        type=_positive,
        help=f"rows per chunk (default {DEFAULT_CHUNK_ROWS:,}); a longer log is scored in "
        "chunks, each sorted by time, and a row earlier than an earlier chunk's is an error "
        "(a reject with --on-error skip)",
    )
    score.add_argument(
        "--state-in",
        type=Path,
        help="start from the profile state saved by --state-out (this log must follow it in time)",
    )
    score.add_argument(
        "--state-out",
        type=Path,
        help="save the profile state after the log to this directory (Parquet + state.json); "
        "`riskscore batch warm` loads it into the service's profile store",
    )
    _add_warm_parser(sub)


def _add_warm_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    warm = sub.add_parser(
        "warm",
        help="load a state saved by `batch score --state-out` into the service's profile store",
        description="Write the profile state `batch score --state-out` saved (per-user and "
        "per-pool value counts, last sign-ins, hour histograms, failures since the last "
        "sign-in, the velocity windows' last minutes) into the SQLite profile store "
        "`riskscore serve` opens (store.path, default <data-dir>/profiles.sqlite3), so the "
        "service starts warm: its next attempts score as if it had seen the log. One "
        "transaction, all or nothing. Refuses a damaged state, a state counted over other "
        "velocity windows than scoring.window_minutes, and a pool that already has profiles "
        "(unless --replace). Stop the service while warming a pool it serves.",
    )
    warm.add_argument(
        "--state", type=Path, required=True, help="directory written by batch score --state-out"
    )
    warm.add_argument("--config", type=Path, help="TOML config file (store, scoring)")
    warm.add_argument("--data-dir", type=Path, help="directory holding all state")
    warm.add_argument(
        "--pool-id",
        default=DEFAULT_POOL_ID,
        help=f"user pool whose profiles to write (default {DEFAULT_POOL_ID!r}, batch score's)",
    )
    warm.add_argument(
        "--replace",
        action="store_true",
        help="delete the pool's existing profiles and velocity windows first (same "
        "transaction); without it a pool with profiles is refused",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_input_options(p: argparse.ArgumentParser, *, scoring: bool = True) -> None:
    """Options shared by batch score, train and evaluate."""
    p.add_argument("--input", type=Path, required=True, help=".csv, .csv.gz or .parquet")
    p.add_argument("--config", type=Path, help="TOML config file (scoring, lists, policy)")
    p.add_argument("--data-dir", type=Path, help="directory holding all state")
    if scoring:
        p.add_argument(
            "--model",
            help="model directory or name under models/ (default: scoring.model, else statistical)",
        )
    p.add_argument(
        "--columns",
        help="column mapping, e.g. 'user=User ID,ip=IP Address,timestamp=Login Timestamp' "
        "(canonical names: index timestamp user ip success rtt_ms country region city asn "
        "user_agent browser os device_type device_key is_attack_ip is_takeover attack_kind; "
        "'name=' marks a column absent)",
    )
    p.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        default="fail",
        help="bad rows: stop at the first (default) or write them to the rejects file",
    )
    if scoring:
        p.add_argument("--pool-id", default=DEFAULT_POOL_ID, help="user pool whose policy applies")
    p.add_argument(
        "--enrich",
        action="store_true",
        help="look up geo/ASN/network type from the IP even when the log has Country columns",
    )
