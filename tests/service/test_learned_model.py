"""The service on its default configuration scores with the shipped learned model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from riskscore.config import Config, ScoringConfig
from riskscore.errors import ModelError
from riskscore.learn.models import DEFAULT_MODEL, MODELS_DIR, open_model
from riskscore.service.factory import build_engine
from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread, service_config

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)


def _at(when: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


@pytest.fixture(scope="module")
def risk(
    asn_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[risk_pb2_grpc.RiskServiceStub]:
    config = service_config(tmp_path_factory.mktemp("learned"), asn_db, model=DEFAULT_MODEL)
    with ServerThread(config) as server:
        yield risk_pb2_grpc.RiskServiceStub(server.channel())


def _attempt(
    risk: risk_pb2_grpc.RiskServiceStub,
    user: str,
    ip: str,
    when: datetime,
    ok: bool,
    ua: str = CHROME,
) -> risk_pb2.ScoreResponse:
    resp = risk.Score(
        risk_pb2.ScoreRequest(
            pool_id="pool", username=user, event_type=risk_pb2.SIGN_IN,
            ip_address=ip, user_agent=ua, timestamp=_at(when),
        ),
        timeout=10,
    )  # fmt: skip
    outcome = risk_pb2.SUCCEEDED if ok else risk_pb2.FAILED_PASSWORD
    risk.ReportOutcome(risk_pb2.OutcomeRequest(event_id=resp.event_id, outcome=outcome))
    return resp


def test_default_config_reports_the_shipped_model(risk: risk_pb2_grpc.RiskServiceStub) -> None:
    shipped = open_model(DEFAULT_MODEL)
    resp = _attempt(risk, "first", "84.208.20.1", T0, True)
    assert resp.model_version == shipped.version
    assert resp.model_version.startswith("learned/default/")
    assert 0.0 <= resp.risk_score <= 1.0


def test_habit_is_low_and_a_stuffing_burst_is_high(risk: risk_pb2_grpc.RiskServiceStub) -> None:
    for day in range(12):
        _attempt(risk, "kari", "84.208.20.17", T0 + timedelta(days=day), True)
    usual = _attempt(risk, "kari", "84.208.20.17", T0 + timedelta(days=12), True)
    assert usual.risk_level == risk_pb2.LOW
    burst = T0 + timedelta(days=13)
    for i in range(40):
        _attempt(
            risk, f"victim{i}", "52.95.110.1", burst + timedelta(seconds=i), False, "curl/8.4.0"
        )
    attack = _attempt(
        risk, "kari", "52.95.110.1", burst + timedelta(seconds=41), True, "curl/8.4.0"
    )
    assert attack.risk_level == risk_pb2.HIGH
    assert attack.risk_score > usual.risk_score
    codes = {r.code for r in attack.reasons}
    assert {"IP_SPRAY", "BOT_USER_AGENT", "RISK_THRESHOLD"} <= codes


def test_a_missing_or_tampered_model_stops_startup(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, scoring=ScoringConfig(model=str(tmp_path / "nope")))
    with pytest.raises(ModelError, match="no model here"):
        build_engine(config)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("model.json", "README.md"):
        (bad / name).write_bytes((MODELS_DIR / DEFAULT_MODEL / name).read_bytes())
    npz = bytearray((MODELS_DIR / DEFAULT_MODEL / "model.npz").read_bytes())
    npz[len(npz) // 2] ^= 1
    (bad / "model.npz").write_bytes(bytes(npz))
    with pytest.raises(ModelError, match=r"SHA-256|sha256"):
        build_engine(Config(data_dir=tmp_path, scoring=ScoringConfig(model=str(bad))))
