"""Build and lookup cost of riskscore.enrich.iptable on a million random CIDRs.

Usage: python benchmarks/bench_iptable.py [--entries 1000000] [--lookups 200000]

Entries are IPv4 prefixes of mixed lengths /8../32 (weighted towards /24../32
as real deny lists are) plus a share of IPv6 /32../128. Lookups mix addresses
inside entries (hits) with uniform random ones (mostly misses). Memory is the
peak traced by tracemalloc during the build and the size of the finished table.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc
from collections.abc import Sequence

from riskscore.enrich.iptable import IPTable, IPTableBuilder
from riskscore.enrich.netlists import format_cidr

_V4_LENGTHS = [8, 12, 16, 20, 22, 24, 24, 26, 28, 29, 30, 32, 32, 32, 32, 32]
_V6_LENGTHS = [32, 40, 48, 56, 64, 64, 96, 128, 128]


def random_cidrs(rng: random.Random, count: int, v6_share: float) -> list[str]:
    """``count`` random CIDRs, a ``v6_share`` of them IPv6."""
    cidrs = []
    for _ in range(count):
        if rng.random() < v6_share:
            length = rng.choice(_V6_LENGTHS)
            address = (0x2000 << 112) | rng.getrandbits(125)
            cidrs.append(format_cidr(6, address >> (128 - length) << (128 - length), length))
        else:
            length = rng.choice(_V4_LENGTHS)
            address = rng.getrandbits(32)
            cidrs.append(format_cidr(4, address >> (32 - length) << (32 - length), length))
    return cidrs


def probe_addresses(rng: random.Random, cidrs: Sequence[str], count: int) -> list[str]:
    """Half hits (the first address of a random entry), half uniform random IPv4."""
    probes = []
    for index in range(count):
        if index % 2:
            probes.append(rng.choice(cidrs).split("/")[0])
        else:
            probes.append(".".join(str(rng.getrandbits(8)) for _ in range(4)))
    return probes


def build(cidrs: Sequence[str], payload: str) -> IPTable[str]:
    """Parse and add every CIDR, then build the table."""
    builder: IPTableBuilder[str] = IPTableBuilder()
    for cidr in cidrs:
        builder.add(cidr, payload)
    return builder.build()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print one line per measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--v6-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    cidrs = random_cidrs(rng, args.entries, args.v6_share)
    probes = probe_addresses(rng, cidrs, args.lookups)
    payload = "bench-list"

    started = time.perf_counter()
    table = build(cidrs, payload)
    built = time.perf_counter()

    retained = peak = 0
    if args.memory:
        # A second build under tracemalloc, which slows allocation-heavy code
        # several times over, so the timings above stay honest.
        del table
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        table = build(cidrs, payload)
        retained, peak = (value - before for value in tracemalloc.get_traced_memory())
        tracemalloc.stop()
    hits = 0
    timings = []
    clock = time.perf_counter_ns
    for ip in probes:
        start = clock()
        match = table.lookup(ip)
        timings.append(clock() - start)
        hits += match is not None
    timings.sort()

    def quantile(q: float) -> float:
        return timings[min(len(timings) - 1, int(q * len(timings)))] / 1000

    print(f"entries            {table.entries:,} ({args.v6_share:.0%} IPv6)")
    print(f"intervals          {table.intervals:,}")
    print(f"build seconds      {built - started:.2f} (parse text, sort, sweep)")
    if args.memory:
        print(f"table memory MiB   {retained / 2**20:.1f} (retained after build)")
        print(f"peak memory MiB    {peak / 2**20:.1f} (during parse + build)")
    print(f"lookups            {len(timings):,} ({hits / len(timings):.0%} hits)")
    print(f"lookup p50 us      {quantile(0.50):.2f}")
    print(f"lookup p99 us      {quantile(0.99):.2f}")
    print(f"lookup mean us     {statistics.fmean(timings) / 1000:.2f}")


if __name__ == "__main__":
    main()
