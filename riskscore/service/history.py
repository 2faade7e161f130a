"""ListAuthEvents and UpdateAuthEventFeedback at the edge: validation, paging tokens, JSON.

Limits are Cognito's (reference/cognito.md 2): MaxResults 0..60 (0 = 60),
EventId ``[\\w+-]+`` of 1..50 characters.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from riskscore.errors import InvalidArgumentError
from riskscore.events.history import auth_event_json
from riskscore.service.validation import pool_id_of, text_of, username_of
from riskscore.stores.base import FeedbackValue, HistoryPage
from riskscore.stores.codec import from_micros, to_micros
from riskscore.v1 import admin_pb2

MAX_RESULTS: Final = 60
MAX_EVENT_ID: Final = 50
MAX_PROVIDER: Final = 64
MAX_NEXT_TOKEN: Final = 1024
DEFAULT_PROVIDER: Final = "Admin"
_EVENT_ID: Final = re.compile(r"[\w+-]+", re.ASCII)
FEEDBACK_VALUES: Final[dict[int, FeedbackValue]] = {
    admin_pb2.VALID: "Valid",
    admin_pb2.INVALID: "Invalid",
}


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """A validated ListAuthEvents request."""

    pool_id: str
    username: str
    limit: int
    before: tuple[datetime, str] | None


@dataclass(frozen=True, slots=True)
class FeedbackRequest:
    """A validated UpdateAuthEventFeedback request."""

    pool_id: str
    username: str
    event_id: str
    value: FeedbackValue
    provider: str


def next_token(pool_id: str, username: str, created: datetime, event_id: str) -> str:
    """An opaque cursor after (created, event_id), bound to its pool and user."""
    body = json.dumps([pool_id, username, to_micros(created), event_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def _cursor(token: str, pool_id: str, username: str) -> tuple[datetime, str]:
    bad = InvalidArgumentError("next_token", "is not a token this user's ListAuthEvents returned")
    if len(token) > MAX_NEXT_TOKEN:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        pool, user, created_us, event_id = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise bad from None
    if (pool, user) != (pool_id, username) or not isinstance(created_us, int):
        raise bad
    if not isinstance(event_id, str):
        raise bad
    return from_micros(created_us), event_id


def history_query(request: admin_pb2.ListAuthEventsRequest) -> HistoryQuery:
    """Validate a ListAuthEvents request, naming the bad field."""
    pool_id = pool_id_of("user_pool_id", request.user_pool_id)
    username = username_of("username", request.username)
    limit = request.max_results or MAX_RESULTS
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidArgumentError("max_results", f"must be between 0 and {MAX_RESULTS}")
    before = _cursor(request.next_token, pool_id, username) if request.next_token else None
    return HistoryQuery(pool_id, username, limit, before)


def feedback_request(request: admin_pb2.UpdateAuthEventFeedbackRequest) -> FeedbackRequest:
    """Validate an UpdateAuthEventFeedback request, naming the bad field."""
    pool_id = pool_id_of("user_pool_id", request.user_pool_id)
    username = username_of("username", request.username)
    event_id = text_of("event_id", request.event_id, MAX_EVENT_ID, required=True)
    if not _EVENT_ID.fullmatch(event_id):
        raise InvalidArgumentError("event_id", "may only contain letters, digits, '_', '+', '-'")
    value = FEEDBACK_VALUES.get(request.feedback_value)
    if value is None:
        raise InvalidArgumentError("feedback_value", "must be VALID or INVALID")
    provider = text_of("provider", request.provider, MAX_PROVIDER, required=False)
    return FeedbackRequest(pool_id, username, event_id, value, provider or DEFAULT_PROVIDER)


def history_response(query: HistoryQuery, page: HistoryPage) -> admin_pb2.ListAuthEventsResponse:
    """The wire form of a page: one JSON object per event, and the cursor after the last."""
    token = ""
    if page.more and page.events:
        last = page.events[-1].record
        token = next_token(query.pool_id, query.username, last.created, last.event_id)
    return admin_pb2.ListAuthEventsResponse(
        auth_events_json=[json.dumps(auth_event_json(e)) for e in page.events],
        next_token=token,
    )
