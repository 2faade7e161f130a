"""CloudWatch Logs' rules for names, retention and PutLogEvents batches, as pure checks.

Source: the CloudWatch Logs API reference for PutLogEvents, CreateLogGroup,
CreateLogStream and PutRetentionPolicy (see reference/cognito.md section 3.4).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypedDict

from riskscore.errors import ConflictError, InvalidArgumentError, RiskscoreError

__all__ = [
    "EVENT_OVERHEAD_BYTES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_BATCH_SPAN_MS",
    "MAX_EVENT_AGE_MS",
    "MAX_FUTURE_MS",
    "RETENTION_DAYS",
    "EventLogBusyError",
    "EventLogClosedError",
    "EventLogError",
    "EventRejectedError",
    "InputLogEvent",
    "PutResult",
    "RejectReason",
    "RejectedLogEventsInfo",
    "ResourceAlreadyExistsError",
    "check_batch",
    "check_group_name",
    "check_retention",
    "check_stream_name",
    "classify",
]

MAX_BATCH_EVENTS: Final = 10_000
MAX_BATCH_BYTES: Final = 1_048_576
# PutLogEvents counts every event as its UTF-8 message plus 26 bytes.
EVENT_OVERHEAD_BYTES: Final = 26
MAX_FUTURE_MS: Final = 2 * 3_600_000
MAX_EVENT_AGE_MS: Final = 14 * 86_400_000
MAX_BATCH_SPAN_MS: Final = 24 * 3_600_000
DAY_MS: Final = 86_400_000
# The values PutRetentionPolicy accepts.
RETENTION_DAYS: Final = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192}
    | {2557, 2922, 3288, 3653}
)
_GROUP_RE: Final = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")

RejectReason = Literal["tooNew", "tooOld", "expired"]


class InputLogEvent(TypedDict):
    """One event of a PutLogEvents call (wire shape)."""

    timestamp: int
    message: str


class RejectedLogEventsInfo(TypedDict, total=False):
    """PutLogEvents' rejectedLogEventsInfo (wire shape); absent keys mean none."""

    tooNewLogEventStartIndex: int
    tooOldLogEventEndIndex: int
    expiredLogEventEndIndex: int


class EventLogError(RiskscoreError):
    """The event log cannot take the write (busy, closed or failing)."""

    code = "unavailable"


class EventLogBusyError(EventLogError):
    """The writer's queue stayed full for the whole submit timeout."""


class EventLogClosedError(EventLogError):
    """The event log is closed (or its writer died)."""


class ResourceAlreadyExistsError(ConflictError):
    """CreateLogGroup / CreateLogStream of a name that exists."""


class EventRejectedError(InvalidArgumentError):
    """One submitted event was outside the accepted time window."""

    def __init__(self, reason: RejectReason, timestamp: int, now: int) -> None:
        why = {
            "tooNew": "more than 2 hours in the future",
            "tooOld": "more than 14 days old",
            "expired": "older than the log group's retention",
        }[reason]
        super().__init__("timestamp", f"event at {timestamp} rejected at {now}: {why}")
        self.reason: RejectReason = reason


@dataclass(frozen=True, slots=True)
class PutResult:
    """What PutLogEvents accepted; the index fields follow rejectedLogEventsInfo."""

    accepted: int
    too_new_start: int | None = None
    too_old_end: int | None = None
    expired_end: int | None = None
    # Index range [first, stop) of the accepted events in the request.
    first: int = 0
    stop: int = 0

    def rejected_counts(self, total: int) -> dict[RejectReason, int]:
        """How many events of a ``total``-event request each rule rejected (each counted once)."""
        too_old = self.too_old_end or 0
        return {
            "tooNew": 0 if self.too_new_start is None else total - self.too_new_start,
            "tooOld": too_old,
            "expired": max(0, (self.expired_end or 0) - too_old),
        }

    def rejected_info(self) -> RejectedLogEventsInfo | None:
        """The wire ``rejectedLogEventsInfo``, or None when nothing was rejected."""
        info: RejectedLogEventsInfo = {}
        if self.too_new_start is not None:
            info["tooNewLogEventStartIndex"] = self.too_new_start
        if self.too_old_end is not None:
            info["tooOldLogEventEndIndex"] = self.too_old_end
        if self.expired_end is not None:
            info["expiredLogEventEndIndex"] = self.expired_end
        return info or None


def check_group_name(name: str) -> None:
    """CreateLogGroup's logGroupName rule: 1-512 of ``[.-_/#A-Za-z0-9]``."""
    if not _GROUP_RE.fullmatch(name):
        raise InvalidArgumentError("logGroupName", "must be 1-512 characters of [.-_/#A-Za-z0-9]")


def check_stream_name(name: str) -> None:
    """CreateLogStream's logStreamName rule: 1-512 characters, no ':' or '*'."""
    if not 1 <= len(name) <= 512 or ":" in name or "*" in name:
        raise InvalidArgumentError("logStreamName", "must be 1-512 characters without ':' or '*'")


def check_retention(days: int | None) -> None:
    """PutRetentionPolicy's retentionInDays rule (None: never expire)."""
    if days is not None and days not in RETENTION_DAYS:
        raise InvalidArgumentError(
            "retentionInDays", f"must be one of {sorted(RETENTION_DAYS)}, got {days}"
        )


def classify(timestamp: int, now: int, retention_days: int | None) -> RejectReason | None:
    """Why a single event would be rejected, or None if it is accepted."""
    if timestamp > now + MAX_FUTURE_MS:
        return "tooNew"
    if timestamp < now - MAX_EVENT_AGE_MS:
        return "tooOld"
    if retention_days is not None and timestamp < now - retention_days * DAY_MS:
        return "expired"
    return None


def check_batch(events: Sequence[InputLogEvent], now: int, retention_days: int | None) -> PutResult:
    """Validate a PutLogEvents batch: raise for a bad call, else say what is accepted.

    Whole-call failures (InvalidParameterException): no events, more than
    10,000, more than 1,048,576 bytes, an empty message, events out of
    chronological order, or accepted events spanning more than 24 hours.
    Events too far in the future or past are rejected individually: being in
    time order, too-new events are a suffix and too-old/expired ones a prefix.
    """
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        raise InvalidArgumentError("logEvents", f"must hold 1-{MAX_BATCH_EVENTS} events")
    size = 0
    previous: int | None = None
    for index, event in enumerate(events):
        message, timestamp = event["message"], event["timestamp"]
        if not message:
            raise InvalidArgumentError(f"logEvents.{index}.message", "must not be empty")
        if previous is not None and timestamp < previous:
            raise InvalidArgumentError(
                "logEvents",
                "log events in a single PutLogEvents request must be in chronological order",
            )
        previous = timestamp
        size += len(message.encode("utf-8")) + EVENT_OVERHEAD_BYTES
    if size > MAX_BATCH_BYTES:
        raise InvalidArgumentError(
            "logEvents", f"batch of {size} bytes exceeds the maximum of {MAX_BATCH_BYTES}"
        )
    too_new = next((i for i, e in enumerate(events) if e["timestamp"] > now + MAX_FUTURE_MS), None)
    too_old = sum(1 for e in events if e["timestamp"] < now - MAX_EVENT_AGE_MS)
    expired = 0
    if retention_days is not None:
        expired = sum(1 for e in events if e["timestamp"] < now - retention_days * DAY_MS)
    first = max(too_old, expired)
    stop = len(events) if too_new is None else max(too_new, first)
    if stop - first > 1 and events[stop - 1]["timestamp"] - events[first]["timestamp"] > (
        MAX_BATCH_SPAN_MS
    ):
        raise InvalidArgumentError("logEvents", "a batch of log events cannot span more than 24 h")
    return PutResult(
        accepted=stop - first,
        too_new_start=too_new,
        too_old_end=too_old or None,
        expired_end=expired or None,
        first=first,
        stop=stop,
    )
