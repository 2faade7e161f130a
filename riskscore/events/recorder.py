"""Turns what the engine does into auth events in the log: one record per scored
attempt (eventResponse InProgress), one per reported outcome (Pass / Fail) and
one per feedback (the event's response so far, with eventFeedback*).

The engine waits for these futures, so a Score answer means its event is as
durable as the log's ``durability`` setting says.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from riskscore.core.attempt import Outcome
from riskscore.core.result import Assessment
from riskscore.events.records import (
    Context,
    activity_record,
    default_challenges,
    outcome_record,
    to_message,
)
from riskscore.futures import done
from riskscore.stores.base import AttemptRecord, AuthEvent


class EventSink(Protocol):
    """Where events go: the EventLog, or nothing."""

    def submit(self, group: str, stream: str, timestamp_ms: int, message: str) -> Future[None]:
        """Append one event; the future resolves once it is durable."""
        ...


class NullEventSink:
    """Keeps nothing (tests and embedded use without a log)."""

    def submit(self, group: str, stream: str, timestamp_ms: int, message: str) -> Future[None]:
        """Drop the event."""
        return done(None)


@dataclass(frozen=True, slots=True)
class EventNames:
    """Log group and stream names: a group per pool and event source, a stream per server."""

    activity_group: str = "/riskscore/{pool_id}/user-activity"
    notification_group: str = "/riskscore/{pool_id}/user-notification"
    stream: str = "riskscore"

    def activity(self, pool_id: str) -> str:
        """The user-activity group of a pool."""
        return self.activity_group.format(pool_id=pool_id)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class AuthEventRecorder:
    """Writes Cognito-shaped user-activity records for scores and outcomes."""

    def __init__(self, sink: EventSink, names: EventNames, now: Callable[[], datetime]) -> None:
        self._sink = sink
        self._names = names
        self._now = now

    def scored(
        self,
        record: AttemptRecord,
        assessment: Assessment,
        *,
        client_id: str,
        decision_rule: str,
        compromised: bool,
    ) -> Future[None]:
        """The InProgress event of a scored attempt (stamped with when it was scored)."""
        place = record.observation.place
        event = activity_record(
            record,
            now=self._now(),
            reasons=assessment.reasons,
            model_version=assessment.model_version,
            decision_rule=decision_rule,
            context=Context(
                client_id=client_id,
                city=place.city,
                country=place.country,
                compromised_credentials=compromised,
            ),
        )
        return self._sink.submit(
            self._names.activity(record.pool_id),
            self._names.stream,
            _ms(record.created),
            to_message(event),
        )

    def outcome(self, record: AttemptRecord, outcome: Outcome) -> Future[None]:
        """The Pass / Fail event of a reported outcome."""
        now = self._now()
        place = record.observation.place
        event = outcome_record(
            record, outcome, now=now, context=Context(city=place.city, country=place.country)
        )
        return self._sink.submit(
            self._names.activity(record.pool_id), self._names.stream, _ms(now), to_message(event)
        )

    def feedback(self, event: AuthEvent) -> Future[None]:
        """The record of feedback on an event: its current response, eventFeedback* filled."""
        record = event.record
        place = record.observation.place
        outcome = record.outcome
        context = Context(
            city=place.city,
            country=place.country,
            compromised_credentials=record.compromised,
            feedback=event.feedback,
        )
        if outcome is None:
            built = activity_record(record, now=self._now(), context=context)
        else:
            built = outcome_record(
                record,
                outcome,
                now=self._now(),
                challenges=default_challenges(outcome),
                context=context,
            )
        at = event.feedback.date if event.feedback is not None else self._now()
        return self._sink.submit(
            self._names.activity(record.pool_id), self._names.stream, _ms(at), to_message(built)
        )
