"""SIGKILL `riskscore serve` under load: every acknowledged Score's event is in the log."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import grpc

from riskscore.events.reader import FileLogQuery
from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.test_cli import Served

POOL = "crash"
GROUP = f"/riskscore/{POOL}/user-activity"


def test_sigkill_under_load_loses_no_acknowledged_event(tmp_path: Path, asn_db: Path) -> None:
    conf = tmp_path / "riskscore.toml"
    conf.write_text(
        f'[server]\ngrpc_address = "127.0.0.1:0"\n\n[geo]\nasn_db = "{asn_db}"\n'
        '\n[events]\nstream = "crash-test"\n',
        encoding="utf-8",
    )
    served = Served(conf, tmp_path / "data")
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{served.port}") as channel:
            stub = risk_pb2_grpc.RiskServiceStub(channel)
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    resp = stub.Score(
                        risk_pb2.ScoreRequest(
                            pool_id=POOL,
                            username=f"u{worker}-{n % 50}",
                            event_type=risk_pb2.SIGN_IN,
                            ip_address=f"84.208.{worker}.{n % 250 + 1}",
                            user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
                        ),
                        timeout=5,
                    )
                except grpc.RpcError:
                    return  # the server died under us: nothing acknowledged
                with lock:
                    acknowledged.append(resp.event_id)

    try:
        workers = [threading.Thread(target=load, args=(w,)) for w in range(8)]
        for t in workers:
            t.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 400 and time.monotonic() < deadline:
            time.sleep(0.05)
        served.proc.send_signal(signal.SIGKILL)
        served.proc.wait(10)
        stop.set()
        for t in workers:
            t.join(10)
    finally:
        served.close()

    assert len(acknowledged) >= 400
    query = FileLogQuery(tmp_path / "data" / "logs")
    (stream,) = query.streams(GROUP)
    logged: set[str] = set()
    page = query.read(GROUP, stream.name)
    while page.events:
        for event in page.events:
            logged.add(json.loads(event.message)["message"]["eventId"])  # no torn record
        page = query.read(GROUP, stream.name, after=page.forward)
    missing = set(acknowledged) - logged
    assert not missing, f"{len(missing)} acknowledged events lost"
