"""/metrics of a running service: the Cognito counters, promtool, and the Grafana dashboard."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from riskscore.enrich.breach import EMBEDDED_SOURCE, sha1_hex
from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread

POOL = "eu-north-1_Metrics"
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "riskscore-dashboard.json"
LEVEL = {risk_pb2.LOW: "low", risk_pb2.MEDIUM: "medium", risk_pb2.HIGH: "high"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(service: ServerThread) -> str:
    assert service.server is not None
    url = f"http://127.0.0.1:{service.server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        text: str = resp.read().decode()
    return text


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def get(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def score(
    stub: risk_pb2_grpc.RiskServiceStub,
    event_type: risk_pb2.EventType.ValueType,
    password: str | None = None,
    user: str = "alice",
) -> risk_pb2.ScoreResponse:
    req = risk_pb2.ScoreRequest(
        pool_id=POOL,
        username=user,
        event_type=event_type,
        ip_address="84.208.0.1",
        password_sha1=sha1_hex(password) if password is not None else "",
    )
    return stub.Score(req, timeout=10)


def test_cognito_counters_rpc_latency_and_breach_checks_in_the_scrape(
    service: ServerThread, stub: risk_pb2_grpc.RiskServiceStub
) -> None:
    sign_in = score(stub, risk_pb2.SIGN_IN)
    leaked = score(stub, risk_pb2.SIGN_UP, "123456", user="bob")
    change = score(stub, risk_pb2.PASSWORD_CHANGE, "Tr0ub4dor&3 zebra pond", user="alice")
    stub.ReportOutcome(
        risk_pb2.OutcomeRequest(event_id=sign_in.event_id, outcome=risk_pb2.SUCCEEDED), timeout=10
    )
    with pytest.raises(grpc.RpcError):
        stub.Score(risk_pb2.ScoreRequest(pool_id=POOL), timeout=10)
    assert leaked.compromised_credentials_detected
    assert leaked.decision == risk_pb2.BLOCK

    found = samples(scrape(service))

    level = LEVEL[leaked.risk_level]
    labels = {"user_pool_id": POOL, "operation": "SignUp"}
    assert (
        get(
            found, "riskscore_cognito_compromised_credential_risk_total", **labels, risk_level=level
        )
        == 1
    )
    assert get(found, "riskscore_cognito_risk_total", **labels) == 1
    assert get(found, "riskscore_cognito_no_risk_total", **labels) == 0
    for resp, operation in ((sign_in, "SignIn"), (change, "PasswordChange")):
        labels = {"user_pool_id": POOL, "operation": operation}
        risky = resp.risk_level in (risk_pb2.MEDIUM, risk_pb2.HIGH)
        assert get(found, "riskscore_cognito_risk_total", **labels) == risky
        assert get(found, "riskscore_cognito_no_risk_total", **labels) == (not risky)
        ato = get(
            found,
            "riskscore_cognito_account_takeover_risk_total",
            **labels,
            risk_level=LEVEL[resp.risk_level],
        )
        assert ato == risky
        assert not get(
            found,
            "riskscore_cognito_compromised_credential_risk_total",
            **labels,
            risk_level="high",
        )
    assert not any(name == "riskscore_cognito_override_block_total" for name, _ in found)

    scored = {"event_type": "SIGN_UP", "risk_level": risk_pb2.RiskLevel.Name(leaked.risk_level)}
    assert get(found, "riskscore_score_total", **scored, decision="BLOCK") == 1
    assert get(found, "riskscore_outcome_total", outcome="SUCCEEDED") == 1
    assert get(found, "riskscore_rpc_duration_seconds_count", method="Score", code="OK") == 3
    assert (
        get(found, "riskscore_rpc_duration_seconds_count", method="ReportOutcome", code="OK") == 1
    )
    assert (
        get(found, "riskscore_rpc_duration_seconds_count", method="Score", code="INVALID_ARGUMENT")
        == 1
    )
    assert get(found, "riskscore_rpc_errors_total", method="Score", code="INVALID_ARGUMENT") == 1
    source = EMBEDDED_SOURCE
    assert get(found, "riskscore_breach_checks_total", source=source, outcome="found") == 1
    assert get(found, "riskscore_breach_checks_total", source=source, outcome="not_found") == 1
    assert get(found, "riskscore_model_info", model_version=sign_in.model_version) == 1
    # The event log is fsync'ed by default: every durable Score and outcome went through it.
    assert get(found, "riskscore_event_log_fsync_duration_seconds_count") >= 1
    assert get(found, "riskscore_event_log_queue_depth") >= 1


def test_scrape_passes_promtool(service: ServerThread, stub: risk_pb2_grpc.RiskServiceStub) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH (Debian package `prometheus`)")
    score(stub, risk_pb2.SIGN_IN)
    score(stub, risk_pb2.SIGN_UP, "123456", user="bob")
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=scrape(service),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def dashboard_metric_names() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    queries = [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return set(re.findall(r"\briskscore_[a-z0-9_]+", " ".join(exprs + queries)))


def test_grafana_dashboard_uses_only_metrics_the_service_exports(service: ServerThread) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36
    assert any(v["type"] == "datasource" for v in dashboard["templating"]["list"])
    text = scrape(service)
    declared = set(re.findall(r"^# TYPE (\S+) (\w+)$", text, re.MULTILINE))
    exported = set()
    for name, kind in declared:
        exported.add(name)
        if kind == "histogram":
            exported |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    used = dashboard_metric_names()
    assert len(used) >= 15
    assert used <= exported, sorted(used - exported)
