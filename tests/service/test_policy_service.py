"""Cognito's modes and RiskConfiguration applied by the running service."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from riskscore.config import PolicyConfig
from riskscore.errors import ConfigError
from riskscore.service.server import create_server
from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread, service_config

POOL = "eu-north-1_Policy"
CURL = "curl/8.4.0"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0"
PASSWORD_123456 = hashlib.sha1(b"123456").hexdigest().upper()


def write_policy(tmp_path: Path, **parts: Any) -> Path:
    doc = {"RiskConfiguration": {"UserPoolId": POOL, **parts}}
    path = tmp_path / "risk-configuration.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def serve(tmp_path: Path, asn_db: Path, policy: PolicyConfig) -> ServerThread:
    config = service_config(tmp_path / "data", asn_db)
    return ServerThread(replace(config, policy=policy).validate())


def score(stub: risk_pb2_grpc.RiskServiceStub, **kw: Any) -> risk_pb2.ScoreResponse:
    fields: dict[str, Any] = {
        "pool_id": POOL,
        "username": "nina",
        "event_type": risk_pb2.SIGN_IN,
        "ip_address": "84.208.0.1",
        "user_agent": FIREFOX,
    }
    fields.update(kw)
    return stub.Score(risk_pb2.ScoreRequest(**fields), timeout=10)


ACTIONS = {
    "LowAction": {"Notify": False, "EventAction": "NO_ACTION"},
    "MediumAction": {"Notify": False, "EventAction": "MFA_REQUIRED"},
    "HighAction": {"Notify": False, "EventAction": "MFA_REQUIRED"},
}


def test_audit_mode_answers_no_action_and_says_what_it_would_do(
    tmp_path: Path, asn_db: Path
) -> None:
    with (
        serve(tmp_path, asn_db, PolicyConfig(mode="AUDIT")) as service,
        service.channel() as channel,
    ):
        resp = score(risk_pb2_grpc.RiskServiceStub(channel), user_agent=CURL)
    assert resp.decision == risk_pb2.NO_ACTION
    audit = next(r for r in resp.reasons if r.code == "AUDIT_MODE")
    assert audit.evidence["would_decide"] in {"MFA_IF_CONFIGURED", "BLOCK"}
    assert resp.risk_level in (risk_pb2.MEDIUM, risk_pb2.HIGH)


def test_off_mode_takes_no_action(tmp_path: Path, asn_db: Path) -> None:
    with (
        serve(tmp_path, asn_db, PolicyConfig(mode="OFF")) as service,
        service.channel() as channel,
    ):
        resp = score(
            risk_pb2_grpc.RiskServiceStub(channel), user_agent=CURL, password_sha1=PASSWORD_123456
        )
    assert resp.decision == risk_pb2.NO_ACTION


def test_pool_configuration_is_applied(tmp_path: Path, asn_db: Path) -> None:
    path = write_policy(
        tmp_path,
        AccountTakeoverRiskConfiguration={"Actions": ACTIONS},
        CompromisedCredentialsRiskConfiguration={"Actions": {"EventAction": "NO_ACTION"}},
        RiskExceptionConfiguration={"BlockedIPRangeList": ["198.51.100.0/24"]},
    )
    policy = PolicyConfig(configurations=(str(path),))
    with serve(tmp_path, asn_db, policy) as service, service.channel() as channel:
        stub = risk_pb2_grpc.RiskServiceStub(channel)
        first = score(stub)  # a first-seen user is MEDIUM by default calibration
        assert first.risk_level == risk_pb2.MEDIUM
        assert first.decision == risk_pb2.MFA_REQUIRED
        leaked = score(stub, username="omar", password_sha1=PASSWORD_123456)
        assert leaked.compromised_credentials_detected
        assert leaked.decision != risk_pb2.BLOCK  # compromised action is NO_ACTION
        blocked = score(stub, username="pia", ip_address="198.51.100.9")
        assert blocked.decision == risk_pb2.BLOCK
        other = score(stub, pool_id="eu-north-1_Other", user_agent=CURL)
        assert other.decision in (risk_pb2.MFA_IF_CONFIGURED, risk_pb2.BLOCK)


def test_a_bad_configuration_file_stops_the_start_naming_the_field(
    tmp_path: Path, asn_db: Path
) -> None:
    bad = dict(ACTIONS, HighAction={"Notify": False, "EventAction": "BLOK"})
    path = write_policy(tmp_path, AccountTakeoverRiskConfiguration={"Actions": bad})
    config = replace(
        service_config(tmp_path / "data", asn_db),
        policy=PolicyConfig(configurations=(str(path),)),
    ).validate()
    with pytest.raises(ConfigError) as err:
        create_server(config)
    assert err.value.key == "policy.configurations"
    assert "HighAction.EventAction" in str(err.value)
