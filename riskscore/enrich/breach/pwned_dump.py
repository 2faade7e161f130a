"""Importer and reader for a local Pwned Passwords dump (SHA-1, ``SUFFIX:COUNT`` lines).

The official download (haveibeenpwned.com/Passwords, or the PwnedPasswordsDownloader
tool) is one text line ``SHA1HEX:COUNT`` per password, ordered by hash, about a
billion lines. :func:`import_pwned_dump` streams it once into a kind-2
:mod:`~riskscore.enrich.breach.hashfile` file (24-byte records, prefix index),
so a lookup is one index read plus a binary search over a few hundred records.

Order is verified while streaming, never assumed: records go straight to disk
while they ascend; at the first one out of order, the rest is cut into sorted
runs of ``chunk_records`` and all runs are merged (heapq.merge), so memory
stays bounded by one chunk whatever the input size.
"""

from __future__ import annotations

import binascii
import heapq
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Final

from riskscore.enrich.breach.base import (
    DIGEST_SIZE,
    BreachDataError,
    BreachResult,
    sha1_digest,
)
from riskscore.enrich.breach.hashfile import (
    KIND_COUNTED,
    MAX_COUNT,
    RECORD_SIZES,
    HashFileWriter,
    MappedCorpus,
    atomic_output,
    publish,
    sync,
)

PWNED_DUMP_SOURCE: Final = "pwned-dump"
DEFAULT_INDEX_BITS: Final = 20
# About 90 MB of Python bytes objects per chunk while sorting a run.
DEFAULT_CHUNK_RECORDS: Final = 1_000_000
# Merging more runs at once would need more open files than a default ulimit allows.
MAX_MERGE_FANIN: Final = 128

_RECORD: Final = RECORD_SIZES[KIND_COUNTED]
_U32: Final = struct.Struct(">I")
_PROGRESS_EVERY: Final = 1 << 20
_MAX_COUNT_DIGITS: Final = 12
_COLON: Final = ord(":")
_READ_RECORDS: Final = 8192

Progress = Callable[[int], None]


class DumpFormatError(BreachDataError):
    """A dump line is not ``40 hex digits:decimal count``; names the line, never its text."""

    def __init__(self, source: Path, line_number: int) -> None:
        super().__init__(
            f"{source}: line {line_number}: expected 40 hex digits, ':' and a decimal count"
        )
        self.line_number = line_number


@dataclass(frozen=True, slots=True)
class DumpImportReport:
    """What :func:`import_pwned_dump` read and wrote."""

    path: Path
    lines: int
    records: int
    duplicates: int
    zero_counts: int
    sorted_input: bool
    runs: int
    bytes_read: int
    index_bits: int
    provenance: str


@dataclass(slots=True)
class _Tally:
    lines: int = 0
    duplicates: int = 0
    zero_counts: int = 0
    bytes_read: int = 0


def _read_dump(source: Path, tally: _Tally, progress: Progress | None) -> Iterator[bytes]:
    """Yield 24-byte records (digest + u32 count) in file order; counts are clamped."""
    unreported = 0
    with source.open("rb", buffering=_PROGRESS_EVERY) as handle:
        for number, line in enumerate(handle, start=1):
            unreported += len(line)
            if unreported >= _PROGRESS_EVERY:
                tally.bytes_read += unreported
                if progress is not None:
                    progress(unreported)
                unreported = 0
            text = line.rstrip(b"\r\n")
            if not text:
                continue
            count_text = text[41:]
            if (
                len(text) < 42
                or text[40] != _COLON
                or not count_text.isdigit()
                or len(count_text) > _MAX_COUNT_DIGITS
            ):
                raise DumpFormatError(source, number)
            try:
                # a2b_hex, unlike bytes.fromhex, rejects the spaces a corrupt line could carry.
                digest = binascii.a2b_hex(text[:40])
            except binascii.Error:
                raise DumpFormatError(source, number) from None
            tally.lines += 1
            count = int(count_text)
            if count == 0:
                # Zero-count rows are range-API padding, never a sighting.
                tally.zero_counts += 1
                continue
            yield digest + _U32.pack(min(count, MAX_COUNT))
    tally.bytes_read += unreported
    if progress is not None and unreported:
        progress(unreported)


def _write_merged(records: Iterable[bytes], writer: HashFileWriter, tally: _Tally) -> None:
    """Write ascending records, merging equal digests (keeping the largest count)."""
    last = b""
    last_count = 0
    for record in records:
        digest = record[:DIGEST_SIZE]
        count: int = _U32.unpack_from(record, DIGEST_SIZE)[0]
        if digest == last:
            tally.duplicates += 1
            last_count = max(last_count, count)
            continue
        if last:
            writer.add(last, last_count)
        last, last_count = digest, count
    if last:
        writer.add(last, last_count)


def _take_while_sorted(
    records: Iterator[bytes], writer: HashFileWriter, tally: _Tally
) -> bytes | None:
    """Write records while they ascend; return the first one out of order, else None."""
    last = b""
    last_count = 0
    for record in records:
        digest = record[:DIGEST_SIZE]
        if digest > last:
            if last:
                writer.add(last, last_count)
            last = digest
            last_count = _U32.unpack_from(record, DIGEST_SIZE)[0]
        elif digest == last:
            tally.duplicates += 1
            last_count = max(last_count, _U32.unpack_from(record, DIGEST_SIZE)[0])
        else:
            if last:
                writer.add(last, last_count)
            return record
    if last:
        writer.add(last, last_count)
    return None


def _spill_runs(records: Iterable[bytes], work: Path, chunk_records: int) -> list[Path]:
    """Cut ``records`` into sorted run files of at most ``chunk_records`` records."""
    runs: list[Path] = []
    chunk: list[bytes] = []

    def spill() -> None:
        chunk.sort()
        path = work / f"run-{len(runs) + 1:06d}"
        with path.open("wb") as handle:
            handle.write(b"".join(chunk))
        runs.append(path)
        chunk.clear()

    for record in records:
        chunk.append(record)
        if len(chunk) >= chunk_records:
            spill()
    if chunk:
        spill()
    return runs


def _iter_run(handle: BinaryIO, offset: int) -> Iterator[bytes]:
    handle.seek(offset)
    while block := handle.read(_RECORD * _READ_RECORDS):
        for start in range(0, len(block), _RECORD):
            yield block[start : start + _RECORD]


def _merge_runs(runs: list[tuple[Path, int]]) -> Iterator[bytes]:
    """All records of ``runs`` (path, records offset) in order, duplicates kept."""
    with ExitStack() as stack:
        handles = [stack.enter_context(path.open("rb")) for path, _ in runs]
        iterators = [
            _iter_run(handle, offset) for handle, (_, offset) in zip(handles, runs, strict=True)
        ]
        yield from heapq.merge(*iterators)


def _reduce_fanin(runs: list[tuple[Path, int]], work: Path) -> list[tuple[Path, int]]:
    """Merge runs in groups until at most MAX_MERGE_FANIN remain."""
    generation = 0
    while len(runs) > MAX_MERGE_FANIN:
        generation += 1
        merged: list[tuple[Path, int]] = []
        for start in range(0, len(runs), MAX_MERGE_FANIN):
            group = runs[start : start + MAX_MERGE_FANIN]
            path = work / f"merge-{generation}-{start // MAX_MERGE_FANIN:06d}"
            with path.open("wb") as handle:
                for record in _merge_runs(group):
                    handle.write(record)
            for old, _ in group:
                old.unlink()
            merged.append((path, 0))
        runs = merged
    return runs


def import_pwned_dump(
    source: Path,
    output: Path,
    *,
    progress: Progress | None = None,
    index_bits: int = DEFAULT_INDEX_BITS,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    provenance: str | None = None,
    work_dir: Path | None = None,
) -> DumpImportReport:
    """Compile a ``SHA1HEX:COUNT`` dump into a mapped corpus file at ``output``, atomically.

    ``progress`` receives the bytes consumed since its previous call (``tqdm.update``
    fits); ``work_dir`` (default: beside ``output``) holds the sorted runs of an
    unsorted input, which need about the output's size again in free space.
    """
    if chunk_records < 1:
        raise ValueError("chunk_records must be positive")
    if not source.is_file():
        raise BreachDataError(f"{source}: no such dump file")
    if provenance is None:
        provenance = f"Pwned Passwords SHA-1 dump {source.name} ({source.stat().st_size} bytes)"
    output.parent.mkdir(parents=True, exist_ok=True)
    tally = _Tally()
    records = _read_dump(source, tally, progress)
    with tempfile.TemporaryDirectory(
        dir=work_dir or output.parent, prefix=f".{output.name}.import-"
    ) as work_name:
        work = Path(work_name)
        first_run = work / "run-000000"
        with first_run.open("w+b") as handle:
            writer = HashFileWriter(
                handle, kind=KIND_COUNTED, index_bits=index_bits, provenance=provenance
            )
            straggler = _take_while_sorted(records, writer, tally)
            if straggler is None:
                writer.finish()
                sync(handle)
        runs = 1
        if straggler is None:
            publish(first_run, output)
        else:
            spilled = _spill_runs(chain([straggler], records), work, chunk_records)
            run_list = [(first_run, writer.records_offset)] + [(p, 0) for p in spilled]
            runs = len(run_list)
            run_list = _reduce_fanin(run_list, work)
            with atomic_output(output) as out:
                merged = HashFileWriter(
                    out, kind=KIND_COUNTED, index_bits=index_bits, provenance=provenance
                )
                _write_merged(_merge_runs(run_list), merged, tally)
                merged.finish()
                writer = merged
    return DumpImportReport(
        path=output,
        lines=tally.lines,
        records=writer.count,
        duplicates=tally.duplicates,
        zero_counts=tally.zero_counts,
        sorted_input=straggler is None,
        runs=runs,
        bytes_read=tally.bytes_read,
        index_bits=index_bits,
        provenance=provenance,
    )


class PwnedDumpCorpus(MappedCorpus):
    """A memory-mapped imported dump as a BreachCorpus, with counts."""

    def __init__(self, path: Path, *, source: str = PWNED_DUMP_SOURCE) -> None:
        super().__init__(path, kind=KIND_COUNTED, source=source)

    @property
    def index_bits(self) -> int:
        """Bits of the hash prefix the bucket index is keyed by."""
        return self._file.index_bits

    def lookup(self, sha1_hex: str) -> BreachResult:
        """Look up the 40-hex SHA-1 of a password; ``count`` is the dump's."""
        record = self._file.find(sha1_digest(sha1_hex))
        if record < 0:
            return BreachResult(found=False, count=None, source=self.source)
        return BreachResult(found=True, count=self._file.count_at(record), source=self.source)
