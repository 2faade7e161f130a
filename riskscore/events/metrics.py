"""Prometheus metrics of the service, behind seams with null implementations.

The engine and servicer count through :class:`Metrics`, the event log through
``EventLogMetrics`` and breach corpora through ``BreachMetrics``;
:class:`ServiceMetrics` is all three, which :class:`PrometheusMetrics` and
:class:`NullMetrics` implement. Names follow the Prometheus conventions:
``riskscore_`` prefix, ``_total`` on counters, seconds as the time unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from riskscore.enrich.breach.base import OUTCOME_FAIL_CLOSED, OUTCOME_FAIL_OPEN, BreachMetrics
from riskscore.events.log import EventLogMetrics

_LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
_RPC_BUCKETS: Final = (*_LATENCY_BUCKETS, 2.5, 5.0, 10.0)
_FSYNC_BUCKETS: Final = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)

# Cognito's CloudWatch `Operation` dimension per event type (cognito.md 3.3).
# Cognito names only SignIn, SignUp and PasswordChange; forgot-password
# attempts are scored too, so they get a value of their own, "ForgotPassword".
COGNITO_OPERATIONS: Final[Mapping[str, str]] = {
    "SIGN_IN": "SignIn",
    "SIGN_UP": "SignUp",
    "PASSWORD_CHANGE": "PasswordChange",
    "FORGOT_PASSWORD": "ForgotPassword",
}
_RISKY_LEVELS: Final = frozenset({"MEDIUM", "HIGH"})


@dataclass(frozen=True, slots=True)
class CognitoFacts:
    """What one durably recorded Score says, in the terms the Cognito metrics need."""

    risk_level: str
    compromised: bool
    decision_rule: str

    @property
    def account_takeover(self) -> bool:
        """The scorer put the attempt at MEDIUM or HIGH (LOW is Cognito's "no risk")."""
        return self.risk_level in _RISKY_LEVELS

    @property
    def override_block(self) -> bool:
        """The pool's BlockedIPRangeList blocked it (policy/decide.py names the rule so)."""
        return self.decision_rule.startswith(OVERRIDE_BLOCK_RULE)

    @property
    def risky(self) -> bool:
        """Cognito's ``Risk``: any of the risks above."""
        return self.account_takeover or self.compromised or self.override_block


OVERRIDE_BLOCK_RULE: Final = "exception:BlockedIPRangeList"


@dataclass(frozen=True, slots=True)
class CognitoMetric:
    """One Cognito threat-protection metric and its Prometheus counter."""

    cognito_name: str
    name: str
    documentation: str
    by_risk_level: bool
    applies: Callable[[CognitoFacts], bool]


# The Cognito threat-protection CloudWatch metrics (cognito.md 3.3, "AWS/Cognito"
# namespace) as counters. Dimensions become labels: UserPoolId -> user_pool_id,
# Operation -> operation, RiskLevel -> risk_level, lowercase as the docs spell
# it ("high (default), medium, or low"). OverrideBlock counts attempts the
# pool's BlockedIPRangeList blocked.
COGNITO_METRICS: Final[tuple[CognitoMetric, ...]] = (
    CognitoMetric(
        "Risk",
        "riskscore_cognito_risk",
        "Requests marked risky (Cognito Risk).",
        False,
        lambda f: f.risky,
    ),
    CognitoMetric(
        "NoRisk",
        "riskscore_cognito_no_risk",
        "Requests with no risk identified (Cognito NoRisk).",
        False,
        lambda f: not f.risky,
    ),
    CognitoMetric(
        "AccountTakeoverRisk",
        "riskscore_cognito_account_takeover_risk",
        "Requests with account-takeover risk, medium or high (Cognito AccountTakeoverRisk).",
        True,
        lambda f: f.account_takeover,
    ),
    CognitoMetric(
        "CompromisedCredentialRisk",
        "riskscore_cognito_compromised_credential_risk",
        "Requests with a leaked password (Cognito CompromisedCredentialRisk).",
        True,
        lambda f: f.compromised,
    ),
    CognitoMetric(
        "OverrideBlock",
        "riskscore_cognito_override_block",
        "Requests blocked by a developer-configured override rule (Cognito OverrideBlock).",
        True,
        lambda f: f.override_block,
    ),
)


def cognito_operation(event_type: str) -> str:
    """Cognito's Operation value for an event type (the event type itself if unknown)."""
    return COGNITO_OPERATIONS.get(event_type, event_type)


class Metrics(Protocol):
    """What the engine and servicer count."""

    def observe_score(self, event_type: str, level: str, decision: str, seconds: float) -> None:
        """One scored attempt, durably recorded."""
        ...

    def observe_cognito(self, pool_id: str, event_type: str, facts: CognitoFacts) -> None:
        """One durably recorded Score, as Cognito's threat-protection metrics count it."""
        ...

    def observe_outcome(self, outcome: str) -> None:
        """One reported outcome."""
        ...

    def observe_error(self, method: str, code: str) -> None:
        """One failed call, by gRPC status code name."""
        ...

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        """One finished call, any outcome."""
        ...

    def observe_store_error(self, operation: str) -> None:
        """The profile store was unavailable to ``operation``."""
        ...


class ServiceMetrics(Metrics, EventLogMetrics, BreachMetrics, Protocol):
    """Every seam the service wires one metrics object into."""


class NullMetrics:
    """Counts nothing."""

    def observe_score(self, event_type: str, level: str, decision: str, seconds: float) -> None:
        """Ignore."""

    def observe_cognito(self, pool_id: str, event_type: str, facts: CognitoFacts) -> None:
        """Ignore."""

    def observe_outcome(self, outcome: str) -> None:
        """Ignore."""

    def observe_error(self, method: str, code: str) -> None:
        """Ignore."""

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        """Ignore."""

    def observe_store_error(self, operation: str) -> None:
        """Ignore."""

    def observe_queue_depth(self, events: int) -> None:
        """Ignore."""

    def observe_fsync(self, seconds: float, files: int) -> None:
        """Ignore."""

    def observe_rejected(self, reason: str, count: int) -> None:
        """Ignore."""

    def observe_breach_check(self, source: str, outcome: str) -> None:
        """Ignore."""


class PrometheusMetrics:
    """Every riskscore metric, in a registry of the server's own."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._scores = Counter(
            "riskscore_score_total",
            "Scored attempts by event type, risk level and decision.",
            ["event_type", "risk_level", "decision"],
            registry=registry,
        )
        self._latency = Histogram(
            "riskscore_score_duration_seconds",
            "Time to score one attempt inside the engine (enrich, score, record).",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self._cognito = {
            m.cognito_name: Counter(
                m.name,
                m.documentation,
                ["user_pool_id", "operation", *(["risk_level"] if m.by_risk_level else [])],
                registry=registry,
            )
            for m in COGNITO_METRICS
        }
        self._outcomes = Counter(
            "riskscore_outcome_total",
            "Reported outcomes of scored attempts.",
            ["outcome"],
            registry=registry,
        )
        self._errors = Counter(
            "riskscore_rpc_errors_total",
            "Failed RPCs by method and gRPC status code.",
            ["method", "code"],
            registry=registry,
        )
        self._rpc = Histogram(
            "riskscore_rpc_duration_seconds",
            "Time the servicer spent on one RPC, by method and gRPC status code.",
            ["method", "code"],
            buckets=_RPC_BUCKETS,
            registry=registry,
        )
        self._store_errors = Counter(
            "riskscore_store_errors_total",
            "Calls that found the profile store unavailable, by RPC method.",
            ["operation"],
            registry=registry,
        )
        self._enrichment_errors = Counter(
            "riskscore_enrichment_errors_total",
            "Enrichment lookups whose source could not answer (failed open or closed).",
            ["source"],
            registry=registry,
        )
        self._breach = Counter(
            "riskscore_breach_checks_total",
            "Compromised-credential checks by source and outcome.",
            ["source", "outcome"],
            registry=registry,
        )
        self._queue_depth = Gauge(
            "riskscore_event_log_queue_depth",
            "Events waiting for the event-log writer when it last took a batch.",
            registry=registry,
        )
        self._fsync = Histogram(
            "riskscore_event_log_fsync_duration_seconds",
            "Time to make one event-log write batch durable (all its fdatasync calls).",
            buckets=_FSYNC_BUCKETS,
            registry=registry,
        )
        self._fsync_files = Counter(
            "riskscore_event_log_fsync_files_total",
            "Segment files the event log fdatasync'ed.",
            registry=registry,
        )
        self._rejected = Counter(
            "riskscore_event_log_rejected_total",
            "Log events rejected, by CloudWatch reason (tooNew, tooOld, expired).",
            ["reason"],
            registry=registry,
        )
        self._model = Info(
            "riskscore_model", "The scoring model in use (value always 1).", registry=registry
        )

    def set_model_version(self, version: str) -> None:
        """Publish ``riskscore_model_info{model_version}``."""
        self._model.info({"model_version": version})

    def observe_score(self, event_type: str, level: str, decision: str, seconds: float) -> None:
        """One scored attempt."""
        self._scores.labels(event_type, level, decision).inc()
        self._latency.observe(seconds)

    def observe_cognito(self, pool_id: str, event_type: str, facts: CognitoFacts) -> None:
        """Count the attempt in every Cognito metric that applies to it."""
        operation = cognito_operation(event_type)
        level = facts.risk_level.lower()
        for m in COGNITO_METRICS:
            if m.applies(facts):
                labels = (pool_id, operation, level) if m.by_risk_level else (pool_id, operation)
                self._cognito[m.cognito_name].labels(*labels).inc()

    def observe_outcome(self, outcome: str) -> None:
        """One reported outcome."""
        self._outcomes.labels(outcome).inc()

    def observe_error(self, method: str, code: str) -> None:
        """One failed call."""
        self._errors.labels(method, code).inc()

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        """One finished call."""
        self._rpc.labels(method, code).observe(seconds)

    def observe_store_error(self, operation: str) -> None:
        """The store was unavailable."""
        self._store_errors.labels(operation).inc()

    def observe_queue_depth(self, events: int) -> None:
        """Events waiting for the writer."""
        self._queue_depth.set(events)

    def observe_fsync(self, seconds: float, files: int) -> None:
        """One durable batch."""
        self._fsync.observe(seconds)
        self._fsync_files.inc(files)

    def observe_rejected(self, reason: str, count: int) -> None:
        """Rejected log events."""
        self._rejected.labels(reason).inc(count)

    def observe_breach_check(self, source: str, outcome: str) -> None:
        """One breach check; a failed one is also an enrichment error of its source."""
        self._breach.labels(source, outcome).inc()
        if outcome.startswith((OUTCOME_FAIL_OPEN, OUTCOME_FAIL_CLOSED)):
            self._enrichment_errors.labels(source).inc()
