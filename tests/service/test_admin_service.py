"""RiskAdminService through real stubs: Set/Describe, modes, Explain, access control."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from riskscore.config import AdminConfig, Config
from riskscore.events.reader import FileLogQuery
from riskscore.service.auth import NOT_CONFIGURED
from riskscore.v1 import admin_pb2, admin_pb2_grpc, risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread, service_config

POOL = "eu-north-1_Admin"
TOKEN = "s3cret-admin-token-for-tests"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0"
GOLDEN = Path(__file__).parents[1] / "policy" / "fixtures" / "describe_risk_configuration.json"
ACTIONS = {
    "LowAction": {"Notify": False, "EventAction": "NO_ACTION"},
    "MediumAction": {"Notify": False, "EventAction": "MFA_REQUIRED"},
    "HighAction": {"Notify": False, "EventAction": "BLOCK"},
}
LENIENT = {
    "LowAction": {"Notify": False, "EventAction": "NO_ACTION"},
    "MediumAction": {"Notify": False, "EventAction": "NO_ACTION"},
    "HighAction": {"Notify": False, "EventAction": "NO_ACTION"},
}


def admin_config(tmp_path: Path, asn_db: Path, **admin: Any) -> Config:
    config = service_config(tmp_path / "data", asn_db)
    return replace(config, admin=AdminConfig(**{"token": TOKEN, **admin})).validate()


@pytest.fixture
def service(tmp_path: Path, asn_db: Path) -> Iterator[ServerThread]:
    with ServerThread(admin_config(tmp_path, asn_db)) as running:
        yield running


@pytest.fixture
def channel(service: ServerThread) -> Iterator[grpc.Channel]:
    with service.channel() as ch:
        yield ch


@pytest.fixture
def admin(channel: grpc.Channel) -> admin_pb2_grpc.RiskAdminServiceStub:
    return admin_pb2_grpc.RiskAdminServiceStub(channel)


@pytest.fixture
def risk(channel: grpc.Channel) -> risk_pb2_grpc.RiskServiceStub:
    return risk_pb2_grpc.RiskServiceStub(channel)


def set_config(
    admin: admin_pb2_grpc.RiskAdminServiceStub,
    doc: dict[str, Any],
    mode: admin_pb2.AdvancedSecurityMode.ValueType = admin_pb2.ADVANCED_SECURITY_MODE_UNSPECIFIED,
) -> admin_pb2.RiskConfigurationResponse:
    request = admin_pb2.SetRiskConfigurationRequest(
        risk_configuration_json=json.dumps(doc), advanced_security_mode=mode
    )
    return admin.SetRiskConfiguration(request, metadata=AUTH, timeout=10)


def describe(
    admin: admin_pb2_grpc.RiskAdminServiceStub, pool: str = POOL, client: str = ""
) -> admin_pb2.RiskConfigurationResponse:
    request = admin_pb2.DescribeRiskConfigurationRequest(user_pool_id=pool, client_id=client)
    return admin.DescribeRiskConfiguration(request, metadata=AUTH, timeout=10)


def score_request(username: str, **kw: Any) -> risk_pb2.ScoreRequest:
    fields: dict[str, Any] = {
        "pool_id": POOL,
        "username": username,
        "event_type": risk_pb2.SIGN_IN,
        "ip_address": "84.208.0.1",
        "user_agent": FIREFOX,
    }
    fields.update(kw)
    return risk_pb2.ScoreRequest(**fields)


def score(risk: risk_pb2_grpc.RiskServiceStub, username: str, **kw: Any) -> risk_pb2.ScoreResponse:
    return risk.Score(score_request(username, **kw), timeout=10)


def violation(err: grpc.RpcError) -> str:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    detail = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(detail)
    return str(detail.field_violations[0].field)


def test_set_then_describe_round_trips_the_aws_cli_document(
    admin: admin_pb2_grpc.RiskAdminServiceStub,
) -> None:
    golden = json.loads(GOLDEN.read_text())
    before = time.time()
    answer = admin.SetRiskConfiguration(
        admin_pb2.SetRiskConfigurationRequest(risk_configuration_json=GOLDEN.read_text()),
        metadata=AUTH,
        timeout=10,
    )
    described = describe(admin, "us-west-2_aaaaaaaaa")
    for response in (answer, described):
        body = json.loads(response.risk_configuration_json)
        modified = body.pop("LastModifiedDate")
        assert body == golden["RiskConfiguration"]
        assert before - 1 <= modified <= time.time() + 1
        assert response.last_modified_date.ToDatetime().timestamp() == pytest.approx(modified)
        assert response.effective_source == "pool"
        assert response.advanced_security_mode == admin_pb2.ENFORCED


def test_describe_of_a_pool_never_configured_is_the_default_not_an_error(
    admin: admin_pb2_grpc.RiskAdminServiceStub,
) -> None:
    response = describe(admin, "eu-west-1_Nobody")
    assert json.loads(response.risk_configuration_json) == {"UserPoolId": "eu-west-1_Nobody"}
    assert response.effective_source == "riskscore-default"
    effective = json.loads(response.effective_configuration_json)
    actions = effective["AccountTakeoverRiskConfiguration"]["Actions"]
    assert actions["HighAction"]["EventAction"] == "BLOCK"
    assert not response.HasField("last_modified_date")


def test_client_override_changes_score_and_resets_follow_cognito(
    admin: admin_pb2_grpc.RiskAdminServiceStub, risk: risk_pb2_grpc.RiskServiceStub
) -> None:
    takeover = {"AccountTakeoverRiskConfiguration": {"Actions": ACTIONS}}
    set_config(admin, {"UserPoolId": POOL, **takeover})
    lenient = {"AccountTakeoverRiskConfiguration": {"Actions": LENIENT}}
    set_config(admin, {"UserPoolId": POOL, "ClientId": "app1", **lenient})

    pool_answer = score(risk, "ana")
    assert pool_answer.risk_level == risk_pb2.MEDIUM  # first-seen user
    assert pool_answer.decision == risk_pb2.MFA_REQUIRED
    assert score(risk, "bo", client_id="app1").decision == risk_pb2.NO_ACTION
    assert describe(admin, client="app1").effective_source == "client:app1"

    # UserPoolId + ClientId only: the client inherits the pool again.
    reset = set_config(admin, {"UserPoolId": POOL, "ClientId": "app1"})
    body = json.loads(reset.risk_configuration_json)
    assert set(body) == {"UserPoolId", "ClientId", "LastModifiedDate"}
    assert reset.effective_source == "pool"
    assert score(risk, "cy", client_id="app1").decision == risk_pb2.MFA_REQUIRED

    # UserPoolId only: the pool goes back to Cognito's defaults (block at every level).
    reset = set_config(admin, {"UserPoolId": POOL})
    assert set(json.loads(reset.risk_configuration_json)) == {"UserPoolId", "LastModifiedDate"}
    assert reset.effective_source == "pool"
    assert score(risk, "di").decision == risk_pb2.BLOCK


def test_audit_mode_set_by_rpc_changes_the_answer(
    admin: admin_pb2_grpc.RiskAdminServiceStub, risk: risk_pb2_grpc.RiskServiceStub
) -> None:
    takeover = {"AccountTakeoverRiskConfiguration": {"Actions": ACTIONS}}
    set_config(admin, {"UserPoolId": POOL, **takeover})
    assert score(risk, "ed").decision == risk_pb2.MFA_REQUIRED
    answer = set_config(admin, {"UserPoolId": POOL, **takeover}, admin_pb2.AUDIT)
    assert answer.advanced_security_mode == admin_pb2.AUDIT
    audited = score(risk, "fay")
    assert audited.decision == risk_pb2.NO_ACTION
    assert any(r.code == "AUDIT_MODE" for r in audited.reasons)
    # Leaving the mode unspecified keeps it.
    set_config(admin, {"UserPoolId": POOL, **takeover})
    assert describe(admin).advanced_security_mode == admin_pb2.AUDIT


def _attempt_rows(service: ServerThread) -> int:
    conn = sqlite3.connect(f"file:{service.config.store_path}?mode=ro", uri=True)
    try:
        (n,) = conn.execute("SELECT count(*) FROM attempts").fetchone()
    finally:
        conn.close()
    return int(n)


def _logged_bytes(service: ServerThread) -> int:
    logs = FileLogQuery(service.config.data_dir / "logs")
    return sum(group.stored_bytes for group in logs.groups())


def test_explain_returns_alternatives_and_records_nothing(
    service: ServerThread,
    admin: admin_pb2_grpc.RiskAdminServiceStub,
    risk: risk_pb2_grpc.RiskServiceStub,
) -> None:
    takeover = {"AccountTakeoverRiskConfiguration": {"Actions": ACTIONS}}
    set_config(admin, {"UserPoolId": POOL, **takeover}, admin_pb2.AUDIT)
    scored = score(risk, "gus")
    rows, logged = _attempt_rows(service), _logged_bytes(service)
    assert rows == 1
    assert logged > 0

    explained = admin.ExplainDecision(score_request("gus"), metadata=AUTH, timeout=10)

    assert explained.risk_score == pytest.approx(scored.risk_score)
    assert explained.risk_level == risk_pb2.MEDIUM
    assert explained.decision == risk_pb2.NO_ACTION
    assert explained.audit_only
    assert explained.advanced_security_mode == admin_pb2.AUDIT
    assert explained.enforced_decision == risk_pb2.MFA_REQUIRED
    assert explained.enforced_rule == "account-takeover:MEDIUM->MFA_REQUIRED"
    assert explained.decision_rule.startswith("mode:AUDIT")
    assert explained.configuration_source == "pool"
    assert [(a.risk_level, a.configured_action) for a in explained.alternatives] == [
        (risk_pb2.LOW, risk_pb2.NO_ACTION),
        (risk_pb2.MEDIUM, risk_pb2.MFA_REQUIRED),
        (risk_pb2.HIGH, risk_pb2.BLOCK),
    ]
    assert {r.code for r in explained.reasons} >= {"AUDIT_MODE", "FIRST_SEEN_USER"}
    assert _attempt_rows(service) == rows
    assert _logged_bytes(service) == logged


def test_explain_in_enforced_mode_names_the_rule(
    admin: admin_pb2_grpc.RiskAdminServiceStub,
) -> None:
    doc = {
        "UserPoolId": POOL,
        "RiskExceptionConfiguration": {"BlockedIPRangeList": ["198.51.100.0/24"]},
    }
    set_config(admin, doc)
    explained = admin.ExplainDecision(
        score_request("hal", ip_address="198.51.100.7"), metadata=AUTH, timeout=10
    )
    assert explained.decision == risk_pb2.BLOCK
    assert explained.decision_rule == "exception:BlockedIPRangeList 198.51.100.0/24"
    assert explained.risk_decision == "Block"
    assert not explained.audit_only


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (
            {
                "UserPoolId": POOL,
                "AccountTakeoverRiskConfiguration": {
                    "Actions": {**ACTIONS, "HighAction": {"Notify": False, "EventAction": "BLOK"}}
                },
            },
            "AccountTakeoverRiskConfiguration.Actions.HighAction.EventAction",
        ),
        (
            {"UserPoolId": POOL, "RiskExceptionConfiguration": {"BlockedIPRangeList": ["nope"]}},
            "RiskExceptionConfiguration.BlockedIPRangeList",
        ),
        ({"UserPoolId": "no pool"}, "UserPoolId"),
        ({"ClientId": "app1"}, "UserPoolId"),
    ],
)
def test_invalid_configuration_names_the_cognito_field(
    admin: admin_pb2_grpc.RiskAdminServiceStub, doc: dict[str, Any], field: str
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        set_config(admin, doc)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violation(err.value).startswith(field)


def test_malformed_requests_name_the_request_field(
    admin: admin_pb2_grpc.RiskAdminServiceStub,
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        admin.SetRiskConfiguration(
            admin_pb2.SetRiskConfigurationRequest(risk_configuration_json="{not json"),
            metadata=AUTH,
            timeout=10,
        )
    assert violation(err.value) == "risk_configuration_json"
    with pytest.raises(grpc.RpcError) as err:
        set_config(admin, {"UserPoolId": POOL, "ClientId": "app1"}, admin_pb2.OFF)
    assert violation(err.value) == "advanced_security_mode"
    with pytest.raises(grpc.RpcError) as err:
        describe(admin, "bad pool")
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violation(err.value) == "UserPoolId"


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer wrong-token-of-some-length"),), (("authorization", TOKEN),)],
    ids=["missing", "wrong", "not-bearer"],
)
def test_admin_calls_need_the_token(
    admin: admin_pb2_grpc.RiskAdminServiceStub, metadata: tuple[tuple[str, str], ...]
) -> None:
    request = admin_pb2.DescribeRiskConfigurationRequest(user_pool_id=POOL)
    with pytest.raises(grpc.RpcError) as err:
        admin.DescribeRiskConfiguration(request, metadata=metadata, timeout=10)
    assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as err:
        admin.ExplainDecision(score_request("ivy"), metadata=metadata, timeout=10)
    assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert describe(admin).effective_source == "riskscore-default"  # the right token works


def test_without_a_configured_token_admin_calls_are_refused(tmp_path: Path, asn_db: Path) -> None:
    config = service_config(tmp_path / "data", asn_db)
    with ServerThread(config) as running, running.channel() as ch:
        admin = admin_pb2_grpc.RiskAdminServiceStub(ch)
        with pytest.raises(grpc.RpcError) as err:
            describe(admin)
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert err.value.details() == NOT_CONFIGURED
        assert "[admin] token" in NOT_CONFIGURED
        # Scoring stays open by default.
        assert score(risk_pb2_grpc.RiskServiceStub(ch), "jo").event_id


def test_protect_scoring_applies_the_token_to_risk_service(tmp_path: Path, asn_db: Path) -> None:
    config = admin_config(tmp_path, asn_db, protect_scoring=True)
    with ServerThread(config) as running, running.channel() as ch:
        risk = risk_pb2_grpc.RiskServiceStub(ch)
        with pytest.raises(grpc.RpcError) as err:
            score(risk, "kim")
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert risk.Score(score_request("kim"), metadata=AUTH, timeout=10).event_id
        health = health_pb2_grpc.HealthStub(ch)
        check = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert check.status == health_pb2.HealthCheckResponse.SERVING


def test_a_set_configuration_survives_a_restart(tmp_path: Path, asn_db: Path) -> None:
    config = admin_config(tmp_path, asn_db)
    takeover = {"AccountTakeoverRiskConfiguration": {"Actions": ACTIONS}}
    with ServerThread(config) as first, first.channel() as ch:
        stored = set_config(
            admin_pb2_grpc.RiskAdminServiceStub(ch), {"UserPoolId": POOL, **takeover}, admin_pb2.OFF
        )
    with ServerThread(config) as second, second.channel() as ch:
        again = describe(admin_pb2_grpc.RiskAdminServiceStub(ch))
        assert again.risk_configuration_json == stored.risk_configuration_json
        assert again.advanced_security_mode == admin_pb2.OFF
        assert score(risk_pb2_grpc.RiskServiceStub(ch), "lu").decision == risk_pb2.NO_ACTION


def test_health_and_reflection_know_the_admin_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    check = health.Check(
        health_pb2.HealthCheckRequest(service="riskscore.v1.RiskAdminService"), timeout=10
    )
    assert check.status == health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = refl.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert "riskscore.v1.RiskAdminService" in names
