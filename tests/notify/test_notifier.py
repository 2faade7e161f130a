"""The notifier queues rendered emails and logs only failures, as Cognito does."""

from __future__ import annotations

import json
from concurrent.futures import Future
from datetime import UTC, datetime

from riskscore.core.result import Decision
from riskscore.events.recorder import EventNames
from riskscore.notify import FeedbackTokens, MemoryOutbox, OutboxError
from riskscore.notify.notifier import Notifier
from riskscore.notify.templates import RenderedEmail
from tests.builders import make_obs, make_record

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def submit(self, group: str, stream: str, timestamp_ms: int, message: str) -> Future[None]:
        self.events.append((group, message))
        f: Future[None] = Future()
        f.set_result(None)
        return f


class BrokenOutbox(MemoryOutbox):
    def enqueue(self, email: RenderedEmail, *, to: str | None) -> object:  # type: ignore[override]
        raise OutboxError("disk full")


def notifier(outbox: MemoryOutbox, sink: Sink) -> Notifier:
    tokens = FeedbackTokens(b"k" * 32, now=lambda: NOW)
    return Notifier(
        outbox,
        tokens,
        sink,
        EventNames(),
        feedback_base_url="https://auth.example.com",
        now=lambda: NOW,
    )


def test_a_blocked_sign_in_queues_the_block_email_with_links() -> None:
    outbox, sink = MemoryOutbox(), Sink()
    record = make_record("e-1", make_obs(ip="84.208.0.1"), pool="eu-north-1_P", user="ann")
    notifier(outbox, sink).notify(record, Decision.BLOCK, None, to="ann@example.com").result()
    (queued,) = outbox.pending()
    assert queued.to == "ann@example.com"
    assert queued.event_id == "e-1"
    assert "84.208.0.1" in (queued.text or "")
    assert "https://auth.example.com/feedback?token=" in (queued.text or "")
    assert sink.events == []  # success is not an error record


def test_a_failed_queue_is_a_user_notification_error_and_not_a_failure() -> None:
    sink = Sink()
    record = make_record("e-2", make_obs(), pool="eu-north-1_P", user="ann")
    notifier(BrokenOutbox(), sink).notify(record, Decision.MFA_REQUIRED, None).result()
    ((group, message),) = sink.events
    assert group == "/riskscore/eu-north-1_P/user-notification"
    record_json = json.loads(message)
    assert record_json["eventSource"] == "USER_NOTIFICATION"
    assert record_json["logLevel"] == "ERROR"
    assert "e-2" in record_json["message"]["details"]
    assert "token" not in record_json["message"]["details"]


def test_submit_runs_off_the_callers_thread_and_close_finishes_it() -> None:
    outbox, sink = MemoryOutbox(), Sink()
    n = notifier(outbox, sink)
    record = make_record("e-3", make_obs(), pool="eu-north-1_P", user="ann")
    n.submit(record, Decision.NO_ACTION, None).result(timeout=10)
    n.close()
    assert [r.event_id for r in outbox.pending()] == ["e-3"]
