"""Every Score and outcome lands in the auth event log, readable with boto3's logs client."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread

POOL = "eu-north-1_Events"
GROUP = f"/riskscore/{POOL}/user-activity"


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest().upper()


@pytest.fixture
def logs(service: ServerThread) -> Iterator[Any]:
    assert service.server is not None
    client = boto3.client(
        "logs",
        endpoint_url=f"http://127.0.0.1:{service.server.http_port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    yield client
    client.close()


def score(stub: risk_pb2_grpc.RiskServiceStub, **kw: Any) -> risk_pb2.ScoreResponse:
    fields: dict[str, Any] = {
        "pool_id": POOL,
        "client_id": "web",
        "username": "frank",
        "event_type": risk_pb2.SIGN_IN,
        "ip_address": "84.208.0.1",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0",
    }
    fields.update(kw)
    return stub.Score(risk_pb2.ScoreRequest(**fields), timeout=10)


def events(logs: Any, pattern: str = "") -> list[dict[str, Any]]:
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=GROUP, filterPattern=pattern
    )
    return [json.loads(e["message"]) for page in pages for e in page["events"]]


def test_score_and_outcome_are_logged(stub: risk_pb2_grpc.RiskServiceStub, logs: Any) -> None:
    resp = score(stub, password_sha1=sha1("correct horse battery staple 42"))
    stub.ReportOutcome(
        risk_pb2.OutcomeRequest(event_id=resp.event_id, outcome=risk_pb2.SUCCEEDED), timeout=10
    )
    records = [r for r in events(logs) if r["message"]["eventId"] == resp.event_id]
    assert [r["message"]["eventResponse"] for r in records] == ["InProgress", "Pass"]
    first = records[0]
    assert first["eventSource"] == "USER_ACTIVITY"
    assert first["message"]["userName"] == "frank"
    assert first["message"]["userPoolId"] == POOL
    assert first["message"]["clientId"] == "web"
    assert first["message"]["ipAddress"] == "84.208.0.1"
    assert first["message"]["city"] == "Oslo"
    assert first["riskscore"]["reasons"][0]["code"] == "FIRST_SEEN_USER"
    assert first["riskscore"]["modelVersion"] == resp.model_version
    text = json.dumps(records)
    assert sha1("correct horse battery staple 42") not in text
    groups = logs.describe_log_groups(logGroupNamePrefix="/riskscore/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [GROUP]
    assert groups[0]["retentionInDays"] == 731


def test_filter_patterns_find_failures(stub: risk_pb2_grpc.RiskServiceStub, logs: Any) -> None:
    for user, outcome in (("a", risk_pb2.FAILED_PASSWORD), ("b", risk_pb2.SUCCEEDED)):
        resp = score(stub, username=user)
        stub.ReportOutcome(risk_pb2.OutcomeRequest(event_id=resp.event_id, outcome=outcome))
    failed = events(logs, '{ $.message.eventResponse = "Fail" }')
    assert [r["message"]["userName"] for r in failed] == ["a"]


def test_compromised_password_is_detected_and_blocked(
    stub: risk_pb2_grpc.RiskServiceStub, logs: Any
) -> None:
    resp = score(stub, password_sha1=sha1("123456"))
    assert resp.compromised_credentials_detected
    assert resp.decision == risk_pb2.BLOCK
    reason = next(r for r in resp.reasons if r.code == "COMPROMISED_CREDENTIALS")
    assert reason.evidence["source"]
    (record,) = [r for r in events(logs) if r["message"]["eventId"] == resp.event_id]
    assert record["message"]["compromisedCredentialDetected"] == "true"
    assert sha1("123456") not in json.dumps(record)


def test_breach_check_follows_the_event_filter(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    # FORGOT_PASSWORD carries no password to check (Cognito's EventFilter has no such type).
    resp = score(stub, event_type=risk_pb2.FORGOT_PASSWORD, password_sha1=sha1("123456"))
    assert not resp.compromised_credentials_detected
    ok = score(stub, event_type=risk_pb2.SIGN_UP, password_sha1=sha1("Tr0ub4dor&3 zebra pond"))
    assert not ok.compromised_credentials_detected
