"""Prometheus metrics of scoring, behind a seam with a null implementation."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics(Protocol):
    """What the engine and servicer count."""

    def observe_score(self, event_type: str, level: str, decision: str, seconds: float) -> None:
        """One scored attempt."""
        ...

    def observe_outcome(self, outcome: str) -> None:
        """One reported outcome."""
        ...

    def observe_error(self, method: str, code: str) -> None:
        """One failed call, by gRPC status code name."""
        ...


class NullMetrics:
    """Counts nothing."""

    def observe_score(self, event_type: str, level: str, decision: str, seconds: float) -> None:
        """Ignore."""

    def observe_outcome(self, outcome: str) -> None:
        """Ignore."""

    def observe_error(self, method: str, code: str) -> None:
        """Ignore."""


class PrometheusMetrics:
    """Counters and a latency histogram in a registry of the server's own."""

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

    def observe_score(self, event_type: str, level: str, decision: str, seconds: float) -> None:
        """One scored attempt."""
        self._scores.labels(event_type, level, decision).inc()
        self._latency.observe(seconds)

    def observe_outcome(self, outcome: str) -> None:
        """One reported outcome."""
        self._outcomes.labels(outcome).inc()

    def observe_error(self, method: str, code: str) -> None:
        """One failed call."""
        self._errors.labels(method, code).inc()
