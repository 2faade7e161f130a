"""The flow of one attempt: enrich, featurize, score, decide, record.

``RiskEngine`` is blocking and thread-safe; the gRPC servicer (and later the
embedded user pool) call it from worker threads. Every dependency comes in
through the constructor; ``service/factory.py`` wires the real ones.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from riskscore.core.attempt import Attempt, Outcome
from riskscore.core.enrichment import Enrichment
from riskscore.core.features import observe
from riskscore.core.levels import default_decision
from riskscore.core.result import Assessment, Decision
from riskscore.core.scorer import Scorer
from riskscore.events.metrics import Metrics, NullMetrics
from riskscore.stores.base import AttemptRecord, OutcomeResult, ProfileStore


class Enricher(Protocol):
    """Looks up everything the attempt itself does not say."""

    def enrich(self, attempt: Attempt) -> Enrichment:
        """Geo, network and device facts for one attempt."""
        ...


class Clock(Protocol):
    """The time source (injected so tests and replays control it)."""

    def now(self) -> datetime:
        """Current time, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's answer to Score."""

    event_id: str
    assessment: Assessment
    decision: Decision
    compromised_credentials: bool = False


@dataclass(frozen=True, slots=True)
class Scored:
    """An evaluated attempt not yet recorded."""

    verdict: Verdict
    record: AttemptRecord
    started: float


def new_event_id() -> str:
    """A fresh event id (UUID4, as Cognito's EventId)."""
    return str(uuid.uuid4())


class RiskEngine:
    """Scores attempts and learns from their proven outcomes."""

    def __init__(
        self,
        enricher: Enricher,
        store: ProfileStore,
        scorer: Scorer,
        *,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
        event_ids: Callable[[], str] = new_event_id,
        outcome_window: timedelta = timedelta(hours=24),
    ) -> None:
        self._enricher = enricher
        self._store = store
        self._scorer = scorer
        self._clock = clock or SystemClock()
        self._metrics = metrics or NullMetrics()
        self._event_ids = event_ids
        self.outcome_window = outcome_window

    @property
    def model_version(self) -> str:
        """The scorer's version."""
        return self._scorer.model_version

    def evaluate(self, attempt: Attempt) -> Scored:
        """Enrich, featurize, score and decide; reads the store, writes nothing."""
        started = time.perf_counter()
        enrichment = self._enricher.enrich(attempt)
        obs = observe(attempt, enrichment)
        snapshot = self._store.snapshot(attempt.pool_id, attempt.username, obs)
        assessment = self._scorer.assess(obs, snapshot)
        decision = default_decision(assessment.risk_level)
        record = AttemptRecord(
            event_id=self._event_ids(),
            pool_id=attempt.pool_id,
            username=attempt.username,
            event_type=attempt.event_type,
            created=self._clock.now(),
            observation=obs,
            risk_score=assessment.risk_score,
            risk_level=assessment.risk_level,
            decision=decision,
        )
        return Scored(Verdict(record.event_id, assessment, decision), record, started)

    def commit(self, scored: Scored) -> Future[None]:
        """Record a scored attempt; the future resolves once it is durable (and counted)."""
        future = self._store.submit_attempt(scored.record)

        def count(done: Future[None]) -> None:
            if done.exception() is None:
                r = scored.record
                self._metrics.observe_score(
                    r.event_type.value,
                    r.risk_level.value,
                    r.decision.value,
                    time.perf_counter() - scored.started,
                )

        future.add_done_callback(count)
        return future

    def score(self, attempt: Attempt) -> Verdict:
        """Score one attempt and record it durably for its outcome; teaches nothing."""
        scored = self.evaluate(attempt)
        self.commit(scored).result()
        return scored.verdict

    def submit_outcome(
        self, event_id: str, outcome: Outcome, at: datetime | None = None
    ) -> Future[OutcomeResult]:
        """Close a scored attempt without waiting; only SUCCEEDED teaches the profile."""
        future = self._store.submit_outcome(event_id, outcome, at or self._clock.now())

        def count(done: Future[OutcomeResult]) -> None:
            if done.exception() is None and not done.result().already_recorded:
                self._metrics.observe_outcome(outcome.value)

        future.add_done_callback(count)
        return future

    def report_outcome(
        self, event_id: str, outcome: Outcome, at: datetime | None = None
    ) -> OutcomeResult:
        """Close a scored attempt and wait for the commit."""
        return self.submit_outcome(event_id, outcome, at).result()

    def purge_expired(self) -> int:
        """Forget attempts whose outcome window has passed."""
        return self._store.purge_attempts(self._clock.now() - self.outcome_window)
