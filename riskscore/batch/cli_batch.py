"""``riskscore batch score``: score a historic login log as the service would have."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from riskscore.batch import columns as c
from riskscore.batch import replay
from riskscore.batch.categories import concat_frames
from riskscore.batch.cli_args import DEFAULT_CHUNK_ROWS
from riskscore.batch.columns import (
    DEFAULT_MAPPING,
    BatchInputError,
    ColumnMapping,
    parse_mapping,
)
from riskscore.batch.io import Chunk, OutputWriter, RejectsWriter, read_log, rejects_path_for
from riskscore.batch.observe import BatchEnricher
from riskscore.batch.score import BatchSettings, Policy, Step, Tally, score_chunks, score_log
from riskscore.batch.state import ReplayState
from riskscore.batch.validate import OnError, Validated, validate
from riskscore.config import Config
from riskscore.core.learned import LearnedModel
from riskscore.errors import RiskscoreError

# Rows read and typed at a time.
READ_ROWS = 100_000


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
    frame = concat_frames(frames) if frames else pd.concat(frames, ignore_index=True)
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
    """Run ``batch score``: in one pass, or in chunks with carried state (see --chunk-rows)."""
    if args.engine == "dask":
        from riskscore.batch.dask_engine import run_dask

        return run_dask(args, config)
    started = time.perf_counter()
    settings = batch_settings(config, args, features=args.features)
    window = settings.signals.velocity.window_minutes
    # Read first, so a bad state stops the run before any work.
    state_in = ReplayState.load(args.state_in, window) if args.state_in else None
    rejects_path = args.rejects or rejects_path_for(args.output)
    rows = args.chunk_rows or DEFAULT_CHUNK_ROWS
    state = state_in if state_in is not None else ReplayState.empty(window)
    sink = RejectsWriter(rejects_path) if args.on_error == "skip" else None
    tally = Tally()
    with sink if sink is not None else contextlib.nullcontext():
        chunks = read_chunks(args.input, mapping_of(args), rows, args.on_error, sink)
        whole, enrich, log = _peek(chunks, args)
        one_pass = whole and state_in is None and args.state_out is None
        settings = replace(settings, enrich=enrich)
        enricher = open_enricher(config) if enrich else None
        print(f"scoring with {settings.model.version}", file=sys.stderr)
        with OutputWriter(args.output) as writer:
            if one_pass:
                for validated in log:  # the one chunk, if any
                    scored = score_log(validated, enricher, settings)
                    writer.write(scored.rows)
                    tally.add(scored)
            else:
                time_column = mapping_of(args).source(c.TIMESTAMP)
                if sink is not None:
                    log = _in_time_order(log, state.last_ts_ns, sink, time_column)
                steps = score_chunks(log, enricher, settings, state, time_column=time_column)
                index_column = mapping_of(args).source(c.INDEX) or c.INDEX
                state = _write_steps(steps, writer, tally, state, index_column)
        if args.state_out is not None:
            state.save(args.state_out)
    rejected = sink.rows if sink is not None else 0
    for line in tally.summary(rejected, time.perf_counter() - started).lines():
        print(line)
    saved = f"; state in {args.state_out}" if args.state_out else ""
    print(f"wrote {args.output}" + (f"; rejects in {rejects_path}" if rejected else "") + saved)
    return 0


def read_chunks(
    path: Path, mapping: ColumnMapping, rows: int, on_error: OnError, sink: RejectsWriter | None
) -> Iterator[tuple[Validated, bool]]:
    """The log typed in chunks of ``rows`` rows, each with whether rows follow it.

    Read in pieces of at most READ_ROWS rows (one read ahead) and typed a
    chunk at a time, so each distinct value of a chunk is checked once;
    rejects go to ``sink``.
    """
    pieces: list[Chunk] = []
    held = 0
    raws = read_log(path, mapping, chunk_rows=min(rows, READ_ROWS))
    ahead = next(raws, None)
    while ahead is not None:
        rest: Chunk | None = ahead
        ahead = next(raws, None)
        while rest is not None:
            room = rows - held
            piece, rest = (rest, None) if len(rest.frame) <= room else _cut(rest, room)
            held += len(piece.frame)
            pieces.append(piece)
            if held == rows:
                yield _checked(pieces, on_error, sink), rest is not None or ahead is not None
                pieces, held = [], 0
    if pieces:
        yield _checked(pieces, on_error, sink), False


def _cut(chunk: Chunk, at: int) -> tuple[Chunk, Chunk]:
    """``chunk``'s first ``at`` rows and the rest."""
    head, tail = chunk.frame.iloc[:at], chunk.frame.iloc[at:]
    return (
        Chunk(head.reset_index(drop=True), chunk.first_row, chunk.columns),
        Chunk(tail.reset_index(drop=True), chunk.first_row + at, chunk.columns),
    )


def _checked(pieces: list[Chunk], on_error: OnError, sink: RejectsWriter | None) -> Validated:
    """Consecutive raw pieces typed as one chunk; its rejects written to ``sink``."""
    frame = pieces[0].frame if len(pieces) == 1 else pd.concat([p.frame for p in pieces])
    raw = Chunk(frame.reset_index(drop=True), pieces[0].first_row, pieces[0].columns)
    pieces.clear()
    checked = validate(raw, on_error)
    if sink is not None and len(checked.rejects):
        sink.write(checked.rejects)
    return checked


def _peek(
    chunks: Iterator[tuple[Validated, bool]], args: argparse.Namespace
) -> tuple[bool, bool, Iterator[Validated]]:
    """Whether the log is one chunk, whether it needs the service's enricher, and the log."""
    first = next(chunks, None)
    if first is None:
        return True, bool(args.enrich), iter(())
    log = itertools.chain([first[0]], (validated for validated, _ in chunks))
    return not first[1], needs_enricher(first[0], args), log


def _write_steps(
    steps: Iterator[Step],
    writer: OutputWriter,
    tally: Tally,
    state: ReplayState,
    index_column: str = c.INDEX,
) -> ReplayState:
    """Write each chunk's rows as it comes, with a progress bar; the last state."""
    from tqdm import tqdm

    integer_index: bool | None = None
    with tqdm(unit=" rows", unit_scale=True, desc="scoring", file=sys.stderr) as bar:
        for step in steps:
            index = step.scored.rows["index"]
            if integer_index is None:
                integer_index = pd.api.types.is_integer_dtype(index.dtype)
            elif integer_index and not pd.api.types.is_integer_dtype(index.dtype):
                _mixed_index(index, index_column)
            writer.write(step.scored.rows)
            tally.add(step.scored)
            bar.update(len(step.scored.rows))
            state = step.state
    return state


EARLIER_ROW: Final = "earlier than a row of an earlier chunk (chunked scoring needs time order)"


def _in_time_order(
    log: Iterator[Validated], last_ts_ns: int | None, sink: RejectsWriter, column: str
) -> Iterator[Validated]:
    """Chunks without the rows earlier than a row before them, which go to ``sink``.

    With --on-error skip, a row out of time order across chunks is rejected
    like any other bad row instead of stopping the run.
    """
    last = last_ts_ns
    for validated in log:
        frame = validated.frame
        ts = frame["ts_ns"].to_numpy(np.int64)
        if last is not None and (early := ts < last).any():
            sink.write(
                pd.DataFrame(
                    {
                        "row": frame["row"].to_numpy()[early],
                        "index": frame["index"].astype(str).to_numpy()[early],
                        "column": column,
                        "value": frame["timestamp"][early].map(pd.Timestamp.isoformat),
                        "reason": EARLIER_ROW,
                    }
                )
            )
            kept = np.flatnonzero(~early)
            validated = Validated(
                frame.take(kept).reset_index(drop=True),
                validated.labels.take(kept).reset_index(drop=True),
                validated.rejects,
                validated.present,
            )
            ts = ts[kept]
        if len(ts):
            last = max(int(ts.max()), last) if last is not None else int(ts.max())
        yield validated


def _mixed_index(index: pd.Series, column: str) -> None:
    """BatchInputError for a chunk with a text index after chunks of integer ones."""
    text = index.astype(str)
    value = str(text[~text.str.fullmatch(r"[+-]?\d+")].iloc[0])
    raise BatchInputError(
        "not an integer, but every index of the chunks before was one, so the output's "
        "index column is already an integer column; score the log in one chunk "
        "(--chunk-rows above its row count) or give it one kind of index",
        index=value,
        column=column,
        value=value,
    )


__all__ = ["RiskscoreError", "run_batch"]
