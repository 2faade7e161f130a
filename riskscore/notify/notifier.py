"""Queues the notification a policy decision asks for (Cognito's Notify).

The engine calls ``notify`` once an attempt whose action has ``Notify: true``
is recorded: the email is rendered from the pool's NotifyConfiguration (or our
defaults) with one-click Valid/Invalid links and appended to the durable
outbox for the pool's delivery to send. As in Cognito, USER_NOTIFICATION log
records are errors only: one is written when a notification cannot be queued
(never with the body, which carries feedback tokens), and the sign-in goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from riskscore.core.result import Decision
from riskscore.errors import RiskscoreError
from riskscore.events.recorder import EventNames, EventSink
from riskscore.events.records import notification_record, to_message
from riskscore.futures import done, flatten
from riskscore.notify.outbox import Outbox
from riskscore.notify.templates import NotificationContext, render_notification
from riskscore.notify.tokens import FeedbackTokens
from riskscore.policy.notify import NotifyConfiguration
from riskscore.stores.base import AttemptRecord

log = logging.getLogger(__name__)


class Notifier:
    """Renders, queues and logs one notification per notifying decision."""

    def __init__(
        self,
        outbox: Outbox,
        tokens: FeedbackTokens,
        sink: EventSink,
        names: EventNames,
        *,
        feedback_base_url: str,
        now: Callable[[], datetime],
    ) -> None:
        self._outbox = outbox
        self._tokens = tokens
        self._sink = sink
        self._names = names
        self._base_url = feedback_base_url
        self._now = now
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="riskscore-notify")

    def submit(
        self,
        record: AttemptRecord,
        decision: Decision,
        config: NotifyConfiguration | None,
        *,
        device_name: str | None = None,
        to: str | None = None,
    ) -> Future[None]:
        """``notify`` on the notifier's own thread: the outbox's fsync never blocks the caller."""
        outer = self._executor.submit(
            self.notify, record, decision, config, device_name=device_name, to=to
        )
        return flatten(outer)

    def close(self) -> None:
        """Finish queued notifications and release the outbox."""
        self._executor.shutdown(wait=True)
        self._outbox.close()

    def notify(
        self,
        record: AttemptRecord,
        decision: Decision,
        config: NotifyConfiguration | None,
        *,
        device_name: str | None = None,
        to: str | None = None,
    ) -> Future[None]:
        """Queue the email for ``decision``; on failure, log a USER_NOTIFICATION error."""
        obs = record.observation
        context = NotificationContext(
            pool_id=record.pool_id,
            username=record.username,
            event_id=record.event_id,
            login_time=obs.timestamp,
            links=self._tokens.issue_links(record.pool_id, record.username, record.event_id),
            feedback_base_url=self._base_url,
            ip_address=obs.ip_address,
            city=obs.place.city or None,
            country=obs.place.country or None,
            device_name=device_name,
        )
        try:
            self._outbox.enqueue(render_notification(config, decision, context), to=to)
            return done(None)
        except RiskscoreError as exc:
            details = (
                f"could not queue the {decision.value} notification for event "
                f"{record.event_id}: {exc.code}"
            )
        log.error("%s", details)
        event = notification_record(record.pool_id, details, now=self._now())
        group = self._names.notification_group.format(pool_id=record.pool_id)
        return self._sink.submit(
            group, self._names.stream, int(self._now().timestamp() * 1000), to_message(event)
        )
