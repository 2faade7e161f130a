"""``riskscore batch score``: score a historic login log as the service would have."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import pandas as pd

from riskscore.batch import replay
from riskscore.batch.columns import DEFAULT_MAPPING, ColumnMapping, parse_mapping
from riskscore.batch.io import OutputWriter, RejectsWriter, read_log, rejects_path_for
from riskscore.batch.observe import BatchEnricher
from riskscore.batch.score import BatchSettings, Policy, score_log, summarize
from riskscore.batch.validate import Validated, validate
from riskscore.config import Config
from riskscore.core.learned import LearnedModel
from riskscore.errors import RiskscoreError


def add_batch_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``batch score`` to the ``riskscore`` parser."""
    batch = subparsers.add_parser("batch", help="score historic login logs")
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
        "geo, ASN, network-type and deny-list data.",
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


def add_input_options(p: argparse.ArgumentParser) -> None:
    """Options shared by batch score, train and evaluate."""
    p.add_argument("--input", type=Path, required=True, help=".csv, .csv.gz or .parquet")
    p.add_argument("--config", type=Path, help="TOML config file (scoring, lists, policy)")
    p.add_argument("--data-dir", type=Path, help="directory holding all state")
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
    p.add_argument("--pool-id", default="batch", help="user pool whose policy applies")
    p.add_argument(
        "--enrich",
        action="store_true",
        help="look up geo/ASN/network type from the IP even when the log has Country columns",
    )


def mapping_of(args: argparse.Namespace) -> ColumnMapping:
    """The --columns mapping over the RBA defaults."""
    return parse_mapping(args.columns) if args.columns else DEFAULT_MAPPING


def read_validated(
    args: argparse.Namespace, rejects_path: Path | None, *, strict_labels: bool = False
) -> tuple[Validated, int]:
    """Read and type the whole input with a progress bar; rejects go to their file."""
    from tqdm import tqdm

    frames, labels = [], []
    rejected = 0
    present: frozenset[str] = frozenset()
    sink = RejectsWriter(rejects_path) if rejects_path is not None else None
    with (
        sink if sink is not None else contextlib.nullcontext(),
        tqdm(unit=" rows", unit_scale=True, desc="reading", file=sys.stderr) as bar,
    ):
        for chunk in read_log(args.input, mapping_of(args)):
            checked = validate(chunk, args.on_error, strict_labels=strict_labels)
            frames.append(checked.frame)
            labels.append(checked.labels)
            present = checked.present
            if len(checked.rejects) and sink is not None:
                sink.write(checked.rejects)
            rejected += len(checked.rejects)
            bar.update(len(chunk.frame))
    frame = pd.concat(frames, ignore_index=True)
    validated = Validated(frame, pd.concat(labels, ignore_index=True), pd.DataFrame(), present)
    return validated, rejected


def batch_model(config: Config, name: str | None) -> replay.BatchModel:
    """The model batch scores with: --model, else scoring.model, else the statistical one."""
    from riskscore.learn.models import open_model

    s = config.scoring
    chosen = name if name is not None else s.model
    if not chosen:
        return replay.Statistical(s.thresholds())
    model = open_model(chosen, medium=s.model_medium, high=s.model_high)
    if isinstance(model, LearnedModel):
        return replay.Learned(model)
    return replay.Statistical(model.thresholds)


def batch_settings(
    config: Config, args: argparse.Namespace, *, features: bool = False
) -> BatchSettings:
    """Model, policy and signal settings from config and options."""
    from riskscore.service.factory import open_policy, signals_of

    source = open_policy(config)
    effective, mode = source.effective(args.pool_id, "")
    return BatchSettings(
        model=batch_model(config, args.model),
        policy=Policy(effective, mode),
        signals=signals_of(config),
        enrich=args.enrich,
        features=features,
    )


def open_enricher(config: Config) -> BatchEnricher:
    """The service's enricher (geo, ASN, UA, network type, deny lists) from config."""
    from riskscore.engine import SystemClock
    from riskscore.enrich.enricher import AttemptEnricher
    from riskscore.enrich.useragent import UaParserAdapter
    from riskscore.service.factory import open_geo, open_lists

    if not config.asn_db_path.is_file() and config.geo.asn_db is None:
        # As `serve` does on first start: build the packaged ASN database once.
        from riskscore.enrich.asn_build import build_asn_database

        print(f"building the ASN database at {config.asn_db_path} (once)", file=sys.stderr)
        build_asn_database(config.asn_db_path)
    networks, reputation = open_lists(config, SystemClock())
    return AttemptEnricher(
        open_geo(config), UaParserAdapter(), networks=networks, reputation=reputation
    )


def needs_enricher(validated: Validated, args: argparse.Namespace) -> bool:
    """Whether the log lacks its own lookups (or --enrich asks for the service's)."""
    return bool(args.enrich) or "country" not in validated.present


def run_batch(args: argparse.Namespace, config: Config) -> int:
    """Run ``batch score``."""
    if args.engine == "dask":
        from riskscore.batch.dask_engine import run_dask

        return run_dask(args, config)
    started = time.perf_counter()
    settings = batch_settings(config, args, features=args.features)
    rejects_path = args.rejects or rejects_path_for(args.output)
    validated, rejected = read_validated(args, rejects_path if args.on_error == "skip" else None)
    enricher = open_enricher(config) if needs_enricher(validated, args) else None
    if enricher is not None:
        settings = BatchSettings(
            settings.model, settings.policy, settings.signals, True, settings.features
        )
    print(f"scoring {len(validated.frame):,} rows with {settings.model.version}", file=sys.stderr)
    scored = score_log(validated, enricher, settings)
    with OutputWriter(args.output) as writer:
        writer.write(scored.rows)
    summary = summarize(scored, rejected, time.perf_counter() - started)
    for line in summary.lines():
        print(line)
    print(f"wrote {args.output}" + (f"; rejects in {rejects_path}" if rejected else ""))
    return 0


__all__ = ["RiskscoreError", "add_batch_parser", "run_batch"]
