"""The ProfileStore seam and the records that cross it."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from riskscore.core.attempt import EventType, Outcome
from riskscore.core.features import Observation
from riskscore.core.profile import AttackerMark, ProfileSnapshot
from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import ConflictError

__all__ = [
    "DEFAULT_HISTORY_RETENTION",
    "DEFAULT_WINDOW",
    "AttackerMark",
    "AttemptRecord",
    "AuthEvent",
    "Feedback",
    "FeedbackResult",
    "FeedbackValue",
    "HistoryPage",
    "OutcomeResult",
    "ProfileStore",
    "attacker_marks",
    "check_outcome",
    "taught_values",
]

# How far back the velocity windows look (core/velocity.py).
DEFAULT_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """A scored attempt, kept until its outcome is reported (or it expires)."""

    event_id: str
    pool_id: str
    username: str
    event_type: EventType
    created: datetime
    observation: Observation
    risk_score: float
    risk_level: RiskLevel
    decision: Decision
    outcome: Outcome | None = None
    outcome_at: datetime | None = None
    # Kept in the auth event history (CompromisedCredentialsDetected), not in attempts.
    compromised: bool = False


FeedbackValue = Literal["Valid", "Invalid"]
# Cognito keeps a user's auth event history for two years (cognito.md 2.1).
DEFAULT_HISTORY_RETENTION = timedelta(days=731)


@dataclass(frozen=True, slots=True)
class Feedback:
    """Feedback on an event (AdminUpdateAuthEventFeedback; cognito.md 2.2)."""

    value: FeedbackValue
    provider: str
    date: datetime


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """One entry of a user's auth event history (AdminListUserAuthEvents).

    Kept for the history's retention (two years by default), long after the
    attempt's outcome window: feedback may come weeks later and needs the
    attempt's observation to teach the profile or mark the attacker.
    """

    record: AttemptRecord
    # True once the profile learned this attempt (a SUCCEEDED outcome or Valid feedback).
    taught: bool = False
    feedback: Feedback | None = None

    @property
    def event_id(self) -> str:
        """The attempt's event id."""
        return self.record.event_id


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Newest first; ``more`` when older events remain after the last one."""

    events: tuple[AuthEvent, ...]
    more: bool


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What applying feedback did."""

    event: AuthEvent
    # False when the event already had this feedback value (nothing changed).
    changed: bool
    profile_updated: bool


def attacker_marks(obs: Observation, *, pool: bool) -> list[tuple[str, str]]:
    """The (kind, value) pairs Invalid feedback marks: IP, ASN and, per user, the device."""
    kinds = [("ip", obs.ip_address), ("asn", obs.get("asn"))]
    if not pool:
        kinds.append(("device", obs.get("device")))
    return [(kind, value) for kind, value in kinds if value]


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    """What applying an outcome did."""

    record: AttemptRecord
    already_recorded: bool
    profile_updated: bool


class ProfileStore(Protocol):
    """Per-pool profiles of proven sign-ins, failure counters and pending attempts.

    Every method is blocking and thread-safe; the service calls them from a
    worker thread. A method that returns has made its write durable.
    """

    def snapshot(self, pool_id: str, username: str, obs: Observation) -> ProfileSnapshot:
        """What the user's and the pool's history say about this observation."""
        ...

    def save_attempt(self, record: AttemptRecord) -> None:
        """Persist a scored attempt so its outcome can be reported later."""
        ...

    def submit_attempt(self, record: AttemptRecord) -> Future[None]:
        """Like save_attempt, without waiting: the future resolves once it is durable.

        Lets the async service keep serving while a group commit is in flight.
        """
        ...

    def submit_outcome(
        self, event_id: str, outcome: Outcome, at: datetime
    ) -> Future[OutcomeResult]:
        """Like apply_outcome, without waiting for the commit."""
        ...

    def apply_outcome(self, event_id: str, outcome: Outcome, at: datetime) -> OutcomeResult:
        """Close an attempt; SUCCEEDED teaches the profile in the same transaction.

        Raises NotFoundError for an unknown event and ConflictError when a
        different outcome was already recorded.
        """
        ...

    def purge_attempts(self, created_before: datetime) -> int:
        """Forget attempts created before a time; returns how many."""
        ...

    def list_auth_events(
        self, pool_id: str, username: str, limit: int, before: tuple[datetime, str] | None
    ) -> HistoryPage:
        """Up to ``limit`` history events, newest first, older than (created, event_id)."""
        ...

    def submit_feedback(
        self, pool_id: str, username: str, event_id: str, feedback: Feedback
    ) -> Future[FeedbackResult]:
        """Record feedback on a history event; the future resolves once it is durable.

        Valid teaches the profile with the attempt (once per event); Invalid
        marks its IP, ASN and device for the user and its IP and ASN for the
        pool. Raises NotFoundError when the user has no such event.
        """
        ...

    def purge_auth_events(self, created_before: datetime) -> int:
        """Forget history events and attacker marks older than a time; returns how many events."""
        ...

    def close(self) -> None:
        """Flush and release resources."""
        ...


def taught_values(obs: Observation) -> dict[str, str]:
    """The columns a proven sign-in adds to the profile: every one with a value."""
    return {col: value for col, value in obs.values.items() if value}


def check_outcome(record: AttemptRecord, outcome: Outcome) -> bool:
    """True when the same outcome is already recorded; raises on a different one."""
    if record.outcome is None:
        return False
    if record.outcome is outcome:
        return True
    raise ConflictError(
        f"event {record.event_id} already has outcome {record.outcome.value}; "
        f"cannot change it to {outcome.value}"
    )
