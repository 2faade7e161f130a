"""Rows per second of `simulate` for 1M rows (world built once and cached, not timed).

Run: .venv/bin/python benchmarks/bench_simulate.py [--asn PATH] [--cache PATH]
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from riskscore.enrich.geo import packaged_city_database
from riskscore.learn.simulate import simulate
from riskscore.learn.world import load_or_build_world


def main() -> None:
    """Time one 1M-row simulation and print rows/s."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--asn", type=Path, default=None, help="built ASN mmdb (asn_build)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/riskscore-world.npz"))
    args = parser.parse_args()
    began = time.perf_counter()
    world = load_or_build_world(args.cache, packaged_city_database(), seed=1, asn_path=args.asn)
    print(
        f"world: {len(world)} networks, {int(world.hosting.sum())} hosting, "
        f"{time.perf_counter() - began:.1f} s (build or load)"
    )
    began = time.perf_counter()
    frame = simulate(args.rows, seed=1, start=datetime(2020, 2, 1), days=90, world=world)
    elapsed = time.perf_counter() - began
    print(f"simulate: {len(frame)} rows in {elapsed:.2f} s = {len(frame) / elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main()
