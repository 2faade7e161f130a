"""Score throughput and latency under concurrent load, against a bare echo servicer.

Both servers run the same way (grpc.aio, one process of their own, port 0);
the load generator is a grpc.aio client in this process keeping CONCURRENCY
calls in flight. The result that matters is the ratio Score / echo measured
in the same run, since the machines are shared and noisy.

    python benchmarks/bench_score.py [--seconds 15] [--concurrency 64] [--repeat 1]

Score is measured twice per repeat, with the store and the event log at
``durability = "fsync"`` and at ``"none"``; the cost of durability is
``1 - rps_fsync / rps_none`` (target: at most 20% at 64 calls in flight).

It also prints where a Score call spends its time (engine stages, measured
in-process) and a cProfile top list of the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import multiprocessing as mp
import platform
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from riskscore.v1 import risk_pb2, risk_pb2_grpc  # noqa: E402

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
]


class EchoServicer(risk_pb2_grpc.RiskServiceServicer):
    """Answers every Score with a fixed response: the floor of gRPC cost."""

    RESPONSE = risk_pb2.ScoreResponse(
        event_id="00000000-0000-0000-0000-000000000000",
        risk_score=0.1,
        risk_level=risk_pb2.LOW,
        decision=risk_pb2.NO_ACTION,
        reasons=[risk_pb2.Reason(code="NEW_IP", message="m", weight=1.0, evidence={"a": "b"})],
        model_version="echo",
    )

    async def Score(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.RESPONSE


def _run_server(kind: str, data_dir: str, asn_db: str, port_q: Any, durability: str) -> None:
    async def main() -> None:
        if kind == "echo":
            server = grpc.aio.server()
            risk_pb2_grpc.add_RiskServiceServicer_to_server(EchoServicer(), server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
        else:
            from riskscore.config import (
                Config,
                EventsConfig,
                GeoConfig,
                ServerConfig,
                StoreConfig,
            )
            from riskscore.service.server import create_server

            config = Config(
                data_dir=Path(data_dir),
                server=ServerConfig(
                    grpc_address="127.0.0.1:0", metrics_address="", http_address=""
                ),
                geo=GeoConfig(asn_db=Path(asn_db)),
                store=StoreConfig(durability=durability),  # type: ignore[arg-type]
                events=EventsConfig(durability=durability),  # type: ignore[arg-type]
            ).validate()
            risk, port = create_server(config)
            await risk.start()
        port_q.put(port)
        await asyncio.Event().wait()

    asyncio.run(main())


def _requests(n: int) -> list[risk_pb2.ScoreRequest]:
    return [
        risk_pb2.ScoreRequest(
            pool_id="bench",
            username=f"user{i % 5000}",
            event_type=risk_pb2.SIGN_IN,
            ip_address=f"84.{208 + i % 3}.{i % 250}.{(i * 7) % 250 + 1}",
            user_agent=USER_AGENTS[i % len(USER_AGENTS)],
        )
        for i in range(n)
    ]


async def _load(port: int, seconds: float, concurrency: int) -> dict[str, float]:
    reqs = _requests(20_000)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = risk_pb2_grpc.RiskServiceStub(channel)
        for r in reqs[:50]:  # warm-up
            await stub.Score(r)

        async def worker(w: int) -> None:
            nonlocal errors
            i = w
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    await stub.Score(reqs[i % len(reqs)], timeout=10)
                except grpc.aio.AioRpcError:
                    errors += 1
                latencies.append(time.perf_counter() - t)
                i += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "calls": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
    }


def measure(
    kind: str,
    seconds: float,
    concurrency: int,
    asn_db: str,
    durability: str = "fsync",
) -> dict[str, float]:
    """Start one server process of ``kind`` (store and event log at ``durability``), load it."""
    ctx = mp.get_context("spawn")
    port_q = ctx.Queue()
    with tempfile.TemporaryDirectory() as data_dir:
        proc = ctx.Process(target=_run_server, args=(kind, data_dir, asn_db, port_q, durability))
        proc.start()
        try:
            port = port_q.get(timeout=120)
            return asyncio.run(_load(port, seconds, concurrency))
        finally:
            proc.terminate()
            proc.join(30)


def stage_breakdown(asn_db: str, n: int = 3000) -> dict[str, float]:
    """Mean microseconds per engine stage, in-process, SQLite with fsync."""
    from datetime import UTC, datetime

    from riskscore.config import Config, GeoConfig
    from riskscore.core.attempt import Attempt, EventType
    from riskscore.core.features import observe
    from riskscore.service.factory import build_engine

    with tempfile.TemporaryDirectory() as data_dir:
        config = Config(data_dir=Path(data_dir), geo=GeoConfig(asn_db=Path(asn_db))).validate()
        wiring = build_engine(config)
        engine = wiring.engine
        attempts = [
            Attempt(
                pool_id="bench",
                username=r.username,
                event_type=EventType.SIGN_IN,
                ip_address=r.ip_address,
                timestamp=datetime.now(UTC),
                user_agent=r.user_agent,
            )
            for r in _requests(n)
        ]
        for a in attempts[:200]:  # teach some history
            engine.report_outcome(engine.score(a).event_id, _succeeded())
        stages: dict[str, list[float]] = {k: [] for k in ("enrich", "snapshot", "assess", "total")}
        enricher = engine._enricher
        store = wiring.store
        scorer = engine._scorer
        for a in attempts:
            t0 = time.perf_counter()
            enr = enricher.enrich(a)
            t1 = time.perf_counter()
            obs = observe(a, enr)
            snap = store.snapshot(a.pool_id, a.username, obs)
            t2 = time.perf_counter()
            scorer.assess(obs, snap)
            t3 = time.perf_counter()
            engine.score(a)
            t4 = time.perf_counter()
            stages["enrich"].append(t1 - t0)
            stages["snapshot"].append(t2 - t1)
            stages["assess"].append(t3 - t2)
            stages["total"].append(t4 - t3)
        profile = cProfile.Profile()
        profile.enable()
        for a in attempts[:1000]:
            engine.score(a)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(12)
        wiring.store.close()
    print(out.getvalue())
    return {k: 1e6 * statistics.mean(v) for k, v in stages.items()}


def _succeeded() -> Any:
    from riskscore.core.attempt import Outcome

    return Outcome.SUCCEEDED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1, help="fsync/none pairs to run")
    parser.add_argument("--asn-db", help="ASN .mmdb (default: build into a temp dir)")
    parser.add_argument("--skip-stages", action="store_true", help="no in-process breakdown")
    args = parser.parse_args()

    asn_db = args.asn_db
    tmp = None
    if asn_db is None:
        from riskscore.enrich.asn_build import build_asn_database

        tmp = tempfile.TemporaryDirectory()
        asn_db = str(Path(tmp.name) / "asn.mmdb")
        build_asn_database(Path(asn_db))

    echo = measure("echo", args.seconds, args.concurrency, asn_db)
    runs: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        # Back to back, so drift in the shared machine's load hits both alike.
        fsync = measure("score", args.seconds, args.concurrency, asn_db, "fsync")
        none = measure("score", args.seconds, args.concurrency, asn_db, "none")
        runs.append({"fsync": fsync, "none": none, "fsync_cost": 1 - fsync["rps"] / none["rps"]})
    stages = None if args.skip_stages else stage_breakdown(asn_db)
    rps_fsync = statistics.mean(r["fsync"]["rps"] for r in runs)
    rps_none = statistics.mean(r["none"]["rps"] for r in runs)
    cost = 1 - rps_fsync / rps_none
    result = {
        "machine": f"{platform.node()} {platform.machine()} {mp.cpu_count()} cores",
        "python": platform.python_version(),
        "grpc": grpc.__version__,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "echo": echo,
        "runs": runs,
        "ratio_rps_fsync_echo": rps_fsync / echo["rps"],
        "ratio_rps_none_echo": rps_none / echo["rps"],
        "fsync_cost": cost,
        "fsync_cost_target_met": cost <= 0.20,
        "stages_us": stages,
    }
    print(json.dumps(result, indent=2))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
