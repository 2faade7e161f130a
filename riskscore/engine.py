"""The flow of one attempt: enrich, featurize, score, decide, record.

``RiskEngine`` is thread-safe. ``evaluate`` does the CPU work and the store's
reads; ``commit`` and ``submit_outcome`` return futures that resolve once the
store and the auth-event log hold the result durably, so the async service
awaits them without blocking its loop. Every dependency comes in through the
constructor; ``service/factory.py`` wires the real ones.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from riskscore.core.attempt import Attempt, EventType, Outcome
from riskscore.core.enrichment import Enrichment
from riskscore.core.features import Observation, observe
from riskscore.core.result import Assessment, Decision, Reason, RiskLevel
from riskscore.core.scorer import Scorer
from riskscore.enrich.breach.base import BreachCorpus, BreachResult
from riskscore.events.metrics import CognitoFacts, Metrics, NullMetrics
from riskscore.events.recorder import AuthEventRecorder, EventNames, NullEventSink
from riskscore.futures import both, done, then
from riskscore.notify.notifier import Notifier
from riskscore.policy.config import AdvancedSecurityMode
from riskscore.policy.decide import PolicyDecision, PolicyInputs, decide
from riskscore.policy.notify import NotifyConfiguration
from riskscore.policy.source import PolicySource, StaticPolicySource
from riskscore.stores.base import (
    DEFAULT_HISTORY_RETENTION,
    AttemptRecord,
    Feedback,
    FeedbackResult,
    FeedbackValue,
    HistoryPage,
    OutcomeResult,
    ProfileStore,
)

# Cognito checks credentials on these events by default (EventFilter absent = all).
DEFAULT_BREACH_EVENTS: frozenset[EventType] = frozenset(
    {EventType.SIGN_IN, EventType.SIGN_UP, EventType.PASSWORD_CHANGE}
)


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
    client_id: str = ""
    decision_rule: str = ""
    # Cognito's Notify for the level's action, and the pool's email templates.
    notify: bool = False
    notify_configuration: NotifyConfiguration | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything behind a decision, for ExplainDecision (and evaluate)."""

    assessment: Assessment
    policy: PolicyDecision
    # What ENFORCED would decide (``policy`` itself in ENFORCED mode).
    enforced: PolicyDecision
    mode: AdvancedSecurityMode
    configuration_source: str
    compromised: bool
    observation: Observation
    notify_configuration: NotifyConfiguration | None = None


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
        events: AuthEventRecorder | None = None,
        breach: BreachCorpus | None = None,
        breach_events: frozenset[EventType] = DEFAULT_BREACH_EVENTS,
        policy: PolicySource | None = None,
        history_retention: timedelta = DEFAULT_HISTORY_RETENTION,
        notifier: Notifier | None = None,
    ) -> None:
        self._enricher = enricher
        self._store = store
        self._scorer = scorer
        self._clock = clock or SystemClock()
        self._metrics = metrics or NullMetrics()
        self._event_ids = event_ids
        self.outcome_window = outcome_window
        self.history_retention = history_retention
        self._events = events or AuthEventRecorder(NullEventSink(), EventNames(), self._clock.now)
        self._breach = breach
        self._breach_events = breach_events
        self._policy = policy or StaticPolicySource()
        self._notifier = notifier

    def check_breach(self, event_type: EventType, password_sha1: str) -> BreachResult | None:
        """Look the password hash up (may block on a remote range API); None when not checked.

        The hash is only ever passed to the corpus: never stored, logged or echoed.
        """
        if self._breach is None or not password_sha1 or event_type not in self._breach_events:
            return None
        return self._breach.lookup(password_sha1)

    @property
    def model_version(self) -> str:
        """The scorer's version."""
        return self._scorer.model_version

    def evaluate(self, attempt: Attempt, breach: BreachResult | None = None) -> Scored:
        """Enrich, featurize, score and decide; reads the store, writes nothing."""
        started = time.perf_counter()
        explained = self._explain(attempt, breach, with_enforced=False)
        assessment = explained.assessment
        decision = explained.policy.effective_action
        record = AttemptRecord(
            event_id=self._event_ids(),
            pool_id=attempt.pool_id,
            username=attempt.username,
            event_type=attempt.event_type,
            created=self._clock.now(),
            observation=explained.observation,
            risk_score=assessment.risk_score,
            risk_level=assessment.risk_level,
            decision=decision,
            compromised=explained.compromised,
        )
        verdict = Verdict(record.event_id, assessment, decision, explained.compromised)
        return Scored(
            verdict,
            record,
            started,
            attempt.client_id,
            explained.policy.rule,
            notify=explained.policy.notify,
            notify_configuration=explained.notify_configuration,
        )

    def explain(self, attempt: Attempt, breach: BreachResult | None = None) -> Explanation:
        """What Score would answer and why, with what ENFORCED and each level would do.

        Like ``evaluate`` it only reads; unlike it, no event id is drawn and
        nothing is ever committed or counted.
        """
        return self._explain(attempt, breach, with_enforced=True)

    def _explain(
        self, attempt: Attempt, breach: BreachResult | None, *, with_enforced: bool
    ) -> Explanation:
        config, mode = self._policy.effective(attempt.pool_id, attempt.client_id)
        enrichment = self._enricher.enrich(attempt)
        obs = observe(attempt, enrichment)
        if mode is AdvancedSecurityMode.OFF and not with_enforced:
            # Cognito's OFF: no risk evaluation. The observation is still kept, so
            # proven sign-ins keep the profile warm for when protection is turned on.
            assessment = _not_scored(self._scorer.model_version)
            breach = None
        else:
            snapshot = self._store.snapshot(attempt.pool_id, attempt.username, obs)
            assessment = self._scorer.assess(obs, snapshot)
        compromised = breach is not None and breach.found
        if breach is not None:
            assessment = _with_breach_reason(assessment, breach)
        inputs = PolicyInputs(
            event_type=attempt.event_type,
            ip_address=attempt.ip_address,
            risk_level=assessment.risk_level,
            risk_score=assessment.risk_score,
            compromised=breach.found if breach is not None and breach.available else None,
            mfa_configured=attempt.mfa_configured,
        )
        # With mfa_configured unknown this is the configured action, for the auth server to apply.
        policy = decide(inputs, config, mode)
        if policy.audit_only:
            assessment = replace(assessment, reasons=(_audit_reason(policy), *assessment.reasons))
        if not with_enforced:
            enforced = policy
        elif policy.enforced is not None:
            enforced = policy.enforced
        else:
            enforced = decide(inputs, config, AdvancedSecurityMode.ENFORCED)
        return Explanation(
            assessment,
            policy,
            enforced,
            mode,
            config.source,
            compromised,
            obs,
            config.account_takeover.notify_configuration,
        )

    def commit(self, scored: Scored) -> Future[None]:
        """Record a scored attempt in the store and the event log; durable once resolved."""
        event = self._events.scored(
            scored.record,
            scored.verdict.assessment,
            client_id=scored.client_id,
            decision_rule=scored.decision_rule,
            compromised=scored.verdict.compromised_credentials,
        )
        future = both(self._store.submit_attempt(scored.record), event)
        if scored.notify and self._notifier is not None:
            notifier = self._notifier

            def notify(done: Future[None]) -> None:
                # Queued once the attempt is durable; it never delays the answer.
                if done.exception() is None:
                    notifier.submit(
                        scored.record, scored.verdict.decision, scored.notify_configuration
                    )

            future.add_done_callback(notify)

        def count(done: Future[None]) -> None:
            if done.exception() is None:
                r = scored.record
                self._metrics.observe_score(
                    r.event_type.value,
                    r.risk_level.value,
                    r.decision.value,
                    time.perf_counter() - scored.started,
                )
                self._metrics.observe_cognito(
                    r.pool_id,
                    r.event_type.value,
                    CognitoFacts(
                        r.risk_level.value,
                        scored.verdict.compromised_credentials,
                        scored.decision_rule,
                    ),
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
        """Close a scored attempt without waiting; only SUCCEEDED teaches the profile.

        The outcome's event is logged once the store has accepted it.
        """

        def log(result: OutcomeResult) -> Future[None]:
            if result.already_recorded:
                return done(None)
            return self._events.outcome(result.record, outcome)

        stored = self._store.submit_outcome(event_id, outcome, at or self._clock.now())
        future = then(stored, log)

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
        """Forget attempts whose outcome window has passed, and history past its retention.

        Returns how many attempts were forgotten.
        """
        now = self._clock.now()
        self._store.purge_auth_events(now - self.history_retention)
        return self._store.purge_attempts(now - self.outcome_window)

    def list_auth_events(
        self, pool_id: str, username: str, limit: int, before: tuple[datetime, str] | None
    ) -> HistoryPage:
        """A page of the user's auth event history, newest first."""
        return self._store.list_auth_events(pool_id, username, limit, before)

    def submit_feedback(
        self, pool_id: str, username: str, event_id: str, value: FeedbackValue, provider: str
    ) -> Future[FeedbackResult]:
        """Record feedback on an event (durable once resolved) and log it.

        Valid teaches the profile with the attempt (once); Invalid marks its
        IP, ASN and device as the attacker's (signals/feedback.py reads them).
        Repeating an event's current value changes and logs nothing.
        """
        feedback = Feedback(value, provider, self._clock.now())
        stored = self._store.submit_feedback(pool_id, username, event_id, feedback)

        def log(result: FeedbackResult) -> Future[None]:
            return self._events.feedback(result.event) if result.changed else done(None)

        return then(stored, log)


def _not_scored(model_version: str) -> Assessment:
    return Assessment(
        risk_score=0.0,
        risk_level=RiskLevel.LOW,
        reasons=(
            Reason(
                "PROTECTION_OFF",
                "Threat protection is off for this pool: the attempt was not scored.",
                0.0,
                {"mode": AdvancedSecurityMode.OFF.value},
            ),
        ),
        model_version=model_version,
        raw_risk=0.0,
    )


def _audit_reason(policy: PolicyDecision) -> Reason:
    enforced = policy.enforced
    would = enforced.effective_action.value if enforced is not None else Decision.NO_ACTION.value
    return Reason(
        "AUDIT_MODE",
        f"Threat protection is in audit mode: no action taken; enforced, it would be {would}.",
        0.0,
        {"would_decide": would, "rule": enforced.rule if enforced is not None else policy.rule},
    )


def _with_breach_reason(assessment: Assessment, breach: BreachResult) -> Assessment:
    if breach.found:
        reason = Reason(
            "COMPROMISED_CREDENTIALS",
            "The password is in a list of leaked or commonly guessed passwords.",
            0.0,
            {"source": breach.source, "times_seen": str(breach.count or "")},
        )
    elif not breach.available:
        reason = Reason(
            "BREACH_CHECK_UNAVAILABLE",
            "The compromised-credentials source did not answer; the check was skipped (fail-open).",
            0.0,
            {"source": breach.source},
        )
    else:
        return assessment
    return replace(assessment, reasons=(reason, *assessment.reasons))
