"""The ProfileStore seam and the records that cross it."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from riskscore.core.attempt import EventType, Outcome
from riskscore.core.features import Observation
from riskscore.core.profile import ProfileSnapshot
from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import ConflictError

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
