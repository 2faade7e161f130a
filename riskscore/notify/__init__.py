"""Risk notifications: feedback tokens, email rendering and the delivery outbox."""

from __future__ import annotations

from riskscore.notify.notifier import Notifier
from riskscore.notify.outbox import (
    Durability,
    FileOutbox,
    MemoryOutbox,
    Outbox,
    OutboxError,
    OutboxRecord,
    read_outbox,
)
from riskscore.notify.templates import (
    DEFAULT_EMAILS,
    EmailKind,
    NotificationContext,
    RenderedEmail,
    email_kind,
    feedback_url,
    render_notification,
)
from riskscore.notify.tokens import (
    DEFAULT_TTL,
    FeedbackClaims,
    FeedbackLinks,
    FeedbackTokens,
    FeedbackValue,
    InvalidFeedbackTokenError,
    TokenFailure,
    generate_secret,
    load_or_create_secret,
)

__all__ = [
    "DEFAULT_EMAILS",
    "DEFAULT_TTL",
    "Durability",
    "EmailKind",
    "FeedbackClaims",
    "FeedbackLinks",
    "FeedbackTokens",
    "FeedbackValue",
    "FileOutbox",
    "InvalidFeedbackTokenError",
    "MemoryOutbox",
    "NotificationContext",
    "Notifier",
    "Outbox",
    "OutboxError",
    "OutboxRecord",
    "RenderedEmail",
    "TokenFailure",
    "email_kind",
    "feedback_url",
    "generate_secret",
    "load_or_create_secret",
    "read_outbox",
    "render_notification",
]
