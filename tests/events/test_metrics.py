"""The Prometheus metrics: names, labels and the Cognito threat-protection mapping."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from riskscore.enrich.breach.base import BreachMetrics
from riskscore.events.log import EventLogMetrics
from riskscore.events.metrics import (
    COGNITO_METRICS,
    COGNITO_OPERATIONS,
    CognitoFacts,
    Metrics,
    NullMetrics,
    PrometheusMetrics,
    ServiceMetrics,
    cognito_operation,
)

POOL = "us-east-1_test"


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> PrometheusMetrics:
    return PrometheusMetrics(registry)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    got = registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


def test_null_and_prometheus_conform_to_every_seam(metrics: PrometheusMetrics) -> None:
    # mypy checks the conformance; calling through the seams checks nothing raises.
    for each in (NullMetrics(), metrics):
        service: ServiceMetrics = each
        engine: Metrics = each
        log: EventLogMetrics = each
        breach: BreachMetrics = each
        engine.observe_cognito(
            POOL,
            "SIGN_IN",
            CognitoFacts("HIGH", True, "exception:BlockedIPRangeList 203.0.113.0/24"),
        )
        service.observe_rpc("Score", "OK", 0.001)
        log.observe_fsync(0.001, 1)
        breach.observe_breach_check("embedded", "found")


@pytest.mark.parametrize(
    ("event_type", "operation"),
    [
        ("SIGN_IN", "SignIn"),
        ("SIGN_UP", "SignUp"),
        ("PASSWORD_CHANGE", "PasswordChange"),
        ("FORGOT_PASSWORD", "ForgotPassword"),
    ],
)
def test_operation_values_are_cognitos(event_type: str, operation: str) -> None:
    assert cognito_operation(event_type) == operation


def test_cognito_table_covers_the_five_cloudwatch_metrics() -> None:
    assert [m.cognito_name for m in COGNITO_METRICS] == [
        "Risk",
        "NoRisk",
        "AccountTakeoverRisk",
        "CompromisedCredentialRisk",
        "OverrideBlock",
    ]
    assert set(COGNITO_OPERATIONS) == {"SIGN_IN", "SIGN_UP", "PASSWORD_CHANGE", "FORGOT_PASSWORD"}


# (level, compromised, rule) -> the Cognito metrics it counts in.
CASES = [
    ("LOW", False, "default:LOW->NO_ACTION", {"NoRisk"}),
    ("MEDIUM", False, "default:MEDIUM->MFA_IF_CONFIGURED", {"Risk", "AccountTakeoverRisk"}),
    ("HIGH", False, "default:HIGH->MFA_REQUIRED", {"Risk", "AccountTakeoverRisk"}),
    ("LOW", True, "compromised-credentials:BLOCK", {"Risk", "CompromisedCredentialRisk"}),
    (
        "HIGH",
        True,
        "compromised-credentials:BLOCK",
        {"Risk", "AccountTakeoverRisk", "CompromisedCredentialRisk"},
    ),
    ("LOW", False, "exception:BlockedIPRangeList 203.0.113.0/24", {"Risk", "OverrideBlock"}),
]


@pytest.mark.parametrize(("level", "compromised", "rule", "expected"), CASES)
def test_which_cognito_metrics_an_attempt_counts_in(
    registry: CollectorRegistry,
    metrics: PrometheusMetrics,
    level: str,
    compromised: bool,
    rule: str,
    expected: set[str],
) -> None:
    metrics.observe_cognito(POOL, "PASSWORD_CHANGE", CognitoFacts(level, compromised, rule))
    counted = set()
    for m in COGNITO_METRICS:
        labels = {"user_pool_id": POOL, "operation": "PasswordChange"}
        if m.by_risk_level:
            labels["risk_level"] = level.lower()
        n = value(registry, f"{m.name}_total", **labels)
        assert n in (0.0, 1.0)
        if n:
            counted.add(m.cognito_name)
    assert counted == expected


def test_cognito_counters_carry_pool_operation_and_lowercase_level(
    registry: CollectorRegistry, metrics: PrometheusMetrics
) -> None:
    metrics.observe_cognito("pool-a", "SIGN_IN", CognitoFacts("HIGH", False, "default"))
    metrics.observe_cognito("pool-a", "SIGN_IN", CognitoFacts("HIGH", False, "default"))
    metrics.observe_cognito("pool-b", "SIGN_UP", CognitoFacts("LOW", False, "default"))
    text = generate_latest(registry).decode()
    assert (
        'riskscore_cognito_account_takeover_risk_total{operation="SignIn",'
        'risk_level="high",user_pool_id="pool-a"} 2.0'
    ) in text
    assert 'riskscore_cognito_risk_total{operation="SignIn",user_pool_id="pool-a"} 2.0' in text
    assert 'riskscore_cognito_no_risk_total{operation="SignUp",user_pool_id="pool-b"} 1.0' in text
    # Declared even before the first override rule exists.
    assert "# TYPE riskscore_cognito_override_block_total counter" in text


def test_rpc_event_log_breach_and_store_metrics(
    registry: CollectorRegistry, metrics: PrometheusMetrics
) -> None:
    metrics.observe_rpc("Score", "OK", 0.003)
    metrics.observe_rpc("Score", "UNAVAILABLE", 0.2)
    metrics.observe_store_error("Score")
    metrics.observe_queue_depth(17)
    metrics.observe_fsync(0.004, 2)
    metrics.observe_rejected("tooOld", 3)
    metrics.observe_breach_check("range-api", "found")
    metrics.observe_breach_check("range-api", "fail_open_timeout")
    metrics.observe_breach_check("range-api", "fail_closed_http_status")
    metrics.set_model_version("freeman-2016/v1")

    assert value(registry, "riskscore_rpc_duration_seconds_count", method="Score", code="OK") == 1
    assert (
        value(
            registry, "riskscore_rpc_duration_seconds_bucket", method="Score", code="OK", le="0.005"
        )
        == 1
    )
    assert value(registry, "riskscore_store_errors_total", operation="Score") == 1
    assert value(registry, "riskscore_event_log_queue_depth") == 17
    assert value(registry, "riskscore_event_log_fsync_duration_seconds_count") == 1
    assert value(registry, "riskscore_event_log_fsync_files_total") == 2
    assert value(registry, "riskscore_event_log_rejected_total", reason="tooOld") == 3
    assert (
        value(registry, "riskscore_breach_checks_total", source="range-api", outcome="found") == 1
    )
    # Only the failed checks are enrichment errors.
    assert value(registry, "riskscore_enrichment_errors_total", source="range-api") == 2
    assert value(registry, "riskscore_model_info", model_version="freeman-2016/v1") == 1


def test_every_metric_is_prefixed_and_counters_end_in_total(registry: CollectorRegistry) -> None:
    PrometheusMetrics(registry)
    families = list(registry.collect())
    assert len(families) >= 15
    for family in families:
        assert family.name.startswith("riskscore_"), family.name
        for sample in family.samples:
            if family.type == "counter" and not sample.name.endswith("_created"):
                assert sample.name.endswith("_total"), sample.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
