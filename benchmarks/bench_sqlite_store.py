"""Benchmark of the SQLite profile store: snapshot latency and write throughput.

Loads a synthetic pool (users with a few IPs, devices and countries each),
then measures ``snapshot()`` latency on the warm file and ``save_attempt``
throughput with several writer threads in the given durability.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_sqlite_store.py --users 50000 --successes 200000
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from riskscore.core import features as f
from riskscore.core.attempt import EventType, Outcome
from riskscore.core.enrichment import Place
from riskscore.core.features import Observation
from riskscore.core.result import Decision, RiskLevel
from riskscore.stores.base import AttemptRecord
from riskscore.stores.sqlite import Durability, SqliteProfileStore

POOL = "eu-west-1_bench"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
COUNTRIES = ["NO", "SE", "DK", "DE", "FR", "GB", "US", "NL", "PL", "ES"]
BROWSERS = ["Firefox 120.0", "Chrome 121.0", "Safari 17.2", "Edge 121.0"]
SYSTEMS = ["Windows 10", "Mac OS X 14", "iOS 17", "Android 14", "Linux"]


def observation(rng: random.Random, user: int, at: datetime, fresh: bool = False) -> Observation:
    """One sign-in of a user: mostly from their few habitual networks and devices."""
    habit = random.Random(user)
    choice = rng.randrange(1 << 30) if fresh else rng.randrange(3)
    ip = f"10.{habit.randrange(256)}.{habit.randrange(256)}.{(choice * 7) % 256}"
    country = COUNTRIES[(habit.randrange(10) + (choice == 2)) % len(COUNTRIES)]
    browser = BROWSERS[(habit.randrange(4) + choice) % len(BROWSERS)]
    os_ = SYSTEMS[habit.randrange(len(SYSTEMS))]
    values = {
        f.IP: ip,
        f.ASN: f"AS{habit.randrange(2000)}",
        f.COUNTRY: country,
        f.REGION: f.region_key(country, "R1"),
        f.CITY: f.city_key(country, "R1", f"C{habit.randrange(50)}"),
        f.UA: f"Mozilla/5.0 ({os_}) {browser}",
        f.BROWSER: browser,
        f.OS: os_,
        f.DEVICE_TYPE: "desktop",
        f.DEVICE: f.device_key_of(browser.split()[0], os_.split()[0], "desktop"),
        f.DEVICE_KEY: f"dk-{user}-{choice % 2}",
    }
    place = Place(country, "R1", "C", 59.9, 10.7, 20.0)
    return Observation(values=values, place=place, timestamp=at, ip_address=ip)


def record(event_id: str, user: int, obs: Observation) -> AttemptRecord:
    """A scored attempt around an observation."""
    return AttemptRecord(
        event_id=event_id,
        pool_id=POOL,
        username=f"user{user}",
        event_type=EventType.SIGN_IN,
        created=obs.timestamp,
        observation=obs,
        risk_score=0.1,
        risk_level=RiskLevel.LOW,
        decision=Decision.NO_ACTION,
    )


def run_threads(threads: int, work: Callable[[int], int]) -> tuple[int, float]:
    """Run ``work(thread_index)`` on each thread; total of their results and wall time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(work, range(threads)))
    return total, time.perf_counter() - start


def load(path: Path, users: int, successes: int, threads: int) -> float:
    """Teach the store ``successes`` sign-ins spread over ``users`` users."""
    store = SqliteProfileStore(path, durability="none")
    per_thread = successes // threads

    def work(t: int) -> int:
        rng = random.Random(t)
        for i in range(per_thread):
            n = t * per_thread + i
            user = n % users
            obs = observation(rng, user, T0 + timedelta(seconds=n))
            store.save_attempt(record(f"load-{n}", user, obs))
            store.apply_outcome(f"load-{n}", Outcome.SUCCEEDED, obs.timestamp)
        return per_thread

    _, elapsed = run_threads(threads, work)
    store.close()
    return elapsed


def snapshot_latency(store: SqliteProfileStore, users: int, samples: int) -> list[float]:
    """Microseconds per snapshot of random users, half with habitual values, half new."""
    rng = random.Random(7)
    asks = [
        (f"user{u}", observation(rng, u, T0, fresh=rng.random() < 0.5))
        for u in (rng.randrange(users) for _ in range(samples))
    ]
    for username, obs in asks[:1000]:
        store.snapshot(POOL, username, obs)
    timings = []
    clock = time.perf_counter_ns
    for username, obs in asks:
        start = clock()
        store.snapshot(POOL, username, obs)
        timings.append((clock() - start) / 1000)
    return timings


def write_throughput(
    store: SqliteProfileStore, threads: int, seconds: float, tag: str
) -> tuple[float, float]:
    """save_attempt calls per second with ``threads`` callers, and mean batch size."""
    before = store.stats
    deadline = time.perf_counter() + seconds
    obs = observation(random.Random(1), 1, T0)

    def work(t: int) -> int:
        n = 0
        while time.perf_counter() < deadline:
            store.save_attempt(record(f"{tag}-{t}-{n}", 1, obs))
            n += 1
        return n

    done, elapsed = run_threads(threads, work)
    after = store.stats
    commits = max(after.commits - before.commits, 1)
    return done / elapsed, (after.jobs - before.jobs) / commits


def main() -> None:
    """Parse arguments, load, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--successes", type=int, default=200_000)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="per write measurement")
    parser.add_argument("--threads", default="1,8,32", help="writer thread counts")
    parser.add_argument("--durability", default="fsync", choices=["fsync", "flush", "none"])
    parser.add_argument(
        "--db", type=Path, default=None, help="keep the loaded file here (reused when it exists)"
    )
    args = parser.parse_args()
    durability: Durability = args.durability

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "profiles.sqlite3"
        if not path.exists():
            load_s = load(path, args.users, args.successes, threads=8)
            print(f"loaded {args.successes} successes of {args.users} users in {load_s:.1f} s")
        size_mb = path.stat().st_size / 1e6
        print(f"file {size_mb:.0f} MB, SQLite {sqlite3.sqlite_version}")
        store = SqliteProfileStore(path, durability=durability)
        try:
            timings = snapshot_latency(store, args.users, args.samples)
            q = statistics.quantiles(timings, n=100)
            print()
            print("| measurement | value |")
            print("| --- | --- |")
            print(f"| snapshot p50 | {q[49]:.0f} us |")
            print(f"| snapshot p99 | {q[98]:.0f} us |")
            print(f"| snapshot mean | {statistics.fmean(timings):.0f} us |")
            for threads in (int(t) for t in args.threads.split(",")):
                rate, batch = write_throughput(store, threads, args.seconds, f"w{threads}")
                print(
                    f"| save_attempt, {threads} thread(s), {durability} "
                    f"| {rate:,.0f}/s (mean batch {batch:.1f}) |"
                )
        finally:
            store.close()


if __name__ == "__main__":
    main()
