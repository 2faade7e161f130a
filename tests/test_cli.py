"""The ``riskscore`` command as a person runs it: real processes, real signals."""

from __future__ import annotations

import gzip
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from riskscore.cli import main
from riskscore.v1 import admin_pb2, admin_pb2_grpc, risk_pb2, risk_pb2_grpc


def test_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--config", "--grpc-address", "--metrics-address", "--data-dir", "--tls-cert"):
        assert flag in out


def test_bad_config_is_reported_by_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text('[server]\nshutdown_grace_seconds = "long"\n')
    assert main(["serve", "--config", str(conf), "--data-dir", str(tmp_path)]) == 2
    assert "server.shutdown_grace_seconds" in capsys.readouterr().err


def test_unparseable_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text("[server\n")
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--config", str(conf)])
    assert "not valid TOML" in str(exit_.value.code)


class Served:
    """`riskscore serve` in a child process; learns its port from the log."""

    def __init__(self, config: Path, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "riskscore", "serve", "--config", str(config)),
                *("--data-dir", str(data_dir), "--metrics-address", "", "--http-address", ""),
            ],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.port = int(self.wait_for(r"serving gRPC on port (\d+)").group(1))

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in log: {''.join(self.log)}") from None
            self.log.append(line)
            if m := re.search(pattern, line):
                return m

    def stub(self, channel: grpc.Channel) -> risk_pb2_grpc.RiskServiceStub:
        return risk_pb2_grpc.RiskServiceStub(channel)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._pump_thread.join(10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@pytest.fixture
def config_file(tmp_path: Path, asn_db: Path) -> Path:
    conf = tmp_path / "riskscore.toml"
    conf.write_text(
        f'[server]\ngrpc_address = "127.0.0.1:0"\n\n[geo]\nasn_db = "{asn_db}"\n',
        encoding="utf-8",
    )
    return conf


@pytest.fixture
def served(config_file: Path, tmp_path: Path) -> Iterator[Served]:
    s = Served(config_file, tmp_path / "data")
    yield s
    s.close()


def _score(stub: risk_pb2_grpc.RiskServiceStub, user: str = "carol") -> risk_pb2.ScoreResponse:
    return stub.Score(
        risk_pb2.ScoreRequest(
            pool_id="cli", username=user, event_type=risk_pb2.SIGN_IN, ip_address="84.208.0.1"
        ),
        timeout=10,
    )


def test_sigterm_stops_cleanly(served: Served) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{served.port}") as channel:
        assert _score(served.stub(channel)).event_id
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 0
    served.wait_for("stopped")


def test_acknowledged_outcome_survives_sigkill(
    served: Served, config_file: Path, tmp_path: Path
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{served.port}") as channel:
        stub = served.stub(channel)
        event = _score(stub).event_id
        stub.ReportOutcome(
            risk_pb2.OutcomeRequest(event_id=event, outcome=risk_pb2.SUCCEEDED), timeout=10
        )
        pending = _score(stub, user="dave").event_id
    served.proc.kill()
    served.proc.wait(10)

    again = Served(config_file, tmp_path / "data")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{again.port}") as channel:
            stub = again.stub(channel)
            codes = [r.code for r in _score(stub).reasons]
            assert "FIRST_SEEN_USER" not in codes
            # An attempt scored before the kill can still be reported on.
            out = stub.ReportOutcome(
                risk_pb2.OutcomeRequest(event_id=pending, outcome=risk_pb2.SUCCEEDED),
                timeout=10,
            )
            assert out.profile_updated
        again.proc.send_signal(signal.SIGTERM)
        assert again.proc.wait(30) == 0
    finally:
        again.close()


def test_admin_token_from_the_environment(config_file: Path, tmp_path: Path) -> None:
    token = "env-admin-token-0123456789"
    served = Served(config_file, tmp_path / "data", env={"RISKSCORE_ADMIN_TOKEN": token})
    try:
        with grpc.insecure_channel(f"127.0.0.1:{served.port}") as channel:
            admin = admin_pb2_grpc.RiskAdminServiceStub(channel)
            request = admin_pb2.DescribeRiskConfigurationRequest(user_pool_id="cli_Pool1")
            answer = admin.DescribeRiskConfiguration(
                request, metadata=(("authorization", f"Bearer {token}"),), timeout=10
            )
            assert json.loads(answer.risk_configuration_json)["UserPoolId"] == "cli_Pool1"
            with pytest.raises(grpc.RpcError) as err:
                admin.DescribeRiskConfiguration(
                    request, metadata=(("authorization", "Bearer wrong-token-000000"),), timeout=10
                )
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        served.close()


def test_simulate_writes_a_labelled_log(tmp_path: Path) -> None:
    out = tmp_path / "sim.csv.gz"
    data = str(tmp_path / "data")
    code = main(
        ["simulate", "--rows", "3000", "--seed", "7", "--output", str(out), "--data-dir", data]
    )
    assert code == 0
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
        rows = sum(1 for _ in fh)
    assert header[:2] == ["index", "Login Timestamp"]
    assert header[-1] == "attack_kind"
    assert rows >= 3000


def test_simulate_rejects_a_naive_start(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--output", str(tmp_path / "x.csv"), "--start", "2026-01-01T00:00"])
    assert "time zone" in str(exit_.value.code)
