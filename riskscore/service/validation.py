"""Turns wire requests into validated domain values, naming the bad field.

Limits (documented in protos/riskscore/v1/risk.proto and the README):
Cognito's own where Cognito has one (pool id 55, username 128, device key 55).
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from google.protobuf.timestamp_pb2 import Timestamp

from riskscore.core.attempt import Attempt, EventType, Outcome
from riskscore.errors import InvalidArgumentError
from riskscore.v1 import risk_pb2

MAX_POOL_ID: Final = 55
MAX_CLIENT_ID: Final = 128
MAX_USERNAME: Final = 128
MAX_USER_AGENT: Final = 1024
MAX_DEVICE_KEY: Final = 55
MAX_HEADERS: Final = 64
MAX_HEADER_NAME: Final = 256
MAX_HEADER_VALUE: Final = 4096
MAX_EVENT_ID: Final = 64
MAX_RTT_MS: Final = 600_000.0
MAX_FUTURE_SKEW: Final = timedelta(minutes=15)

_POOL_ID = re.compile(r"[A-Za-z0-9_-]+")
_SHA1_HEX = re.compile(r"[0-9A-F]{40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_EVENT_TYPES: Final = {
    risk_pb2.SIGN_IN: EventType.SIGN_IN,
    risk_pb2.SIGN_UP: EventType.SIGN_UP,
    risk_pb2.PASSWORD_CHANGE: EventType.PASSWORD_CHANGE,
    risk_pb2.FORGOT_PASSWORD: EventType.FORGOT_PASSWORD,
}
_OUTCOMES: Final = {
    risk_pb2.SUCCEEDED: Outcome.SUCCEEDED,
    risk_pb2.FAILED_PASSWORD: Outcome.FAILED_PASSWORD,
    risk_pb2.FAILED_MFA: Outcome.FAILED_MFA,
    risk_pb2.ABANDONED: Outcome.ABANDONED,
}


def _text(field: str, value: str, limit: int, *, required: bool) -> str:
    if not value:
        if required:
            raise InvalidArgumentError(field, "is required")
        return value
    if len(value) > limit:
        raise InvalidArgumentError(field, f"is longer than {limit} characters")
    if _CONTROL.search(value):
        raise InvalidArgumentError(field, "contains control characters")
    return value


def pool_id_of(field: str, value: str) -> str:
    """A required pool id, as Score accepts it (so every scored pool can be named)."""
    pool_id = _text(field, value, MAX_POOL_ID, required=True)
    if not _POOL_ID.fullmatch(pool_id):
        raise InvalidArgumentError(field, "may only contain letters, digits, '_' and '-'")
    return pool_id


def username_of(field: str, value: str) -> str:
    """A required username, as Score accepts it."""
    return _text(field, value, MAX_USERNAME, required=True)


def text_of(field: str, value: str, limit: int, *, required: bool) -> str:
    """A printable string of at most ``limit`` characters."""
    return _text(field, value, limit, required=required)


def canonical_ip(field: str, text: str) -> str:
    """Canonical text of an IP address; an IPv4-mapped IPv6 address becomes IPv4."""
    if not text:
        raise InvalidArgumentError(field, "is required")
    if len(text) > 64:
        raise InvalidArgumentError(field, "is not an IPv4 or IPv6 address")
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        raise InvalidArgumentError(field, "is not an IPv4 or IPv6 address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _timestamp(field: str, ts: Timestamp, now: datetime) -> datetime:
    try:
        when = ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgumentError(field, "is not a valid time") from None
    if when > now + MAX_FUTURE_SKEW:
        raise InvalidArgumentError(field, "is more than 15 minutes in the future")
    return when


def _headers(raw: dict[str, str]) -> dict[str, str]:
    if len(raw) > MAX_HEADERS:
        raise InvalidArgumentError("http_headers", f"has more than {MAX_HEADERS} entries")
    headers = {}
    for name, value in raw.items():
        if not name or len(name) > MAX_HEADER_NAME or _CONTROL.search(name):
            raise InvalidArgumentError(
                "http_headers", f"header names must be 1..{MAX_HEADER_NAME} printable characters"
            )
        if len(value) > MAX_HEADER_VALUE or _CONTROL.search(value.replace("\t", " ")):
            raise InvalidArgumentError(
                f"http_headers[{name}]",
                f"must be at most {MAX_HEADER_VALUE} printable characters",
            )
        headers[name.lower()] = value
    return headers


def attempt_from_request(req: risk_pb2.ScoreRequest, now: datetime) -> Attempt:
    """Validate a ScoreRequest; raises InvalidArgumentError naming the field."""
    pool_id = pool_id_of("pool_id", req.pool_id)
    event_type = _EVENT_TYPES.get(req.event_type)
    if event_type is None:
        raise InvalidArgumentError(
            "event_type", f"must be one of {', '.join(e.value for e in EventType)}"
        )
    if req.password_sha1 and not _SHA1_HEX.fullmatch(req.password_sha1):
        # Never echo the value: it is derived from a password.
        raise InvalidArgumentError("password_sha1", "must be 40 uppercase hexadecimal characters")
    rtt: float | None = None
    if req.HasField("rtt_ms"):
        rtt = req.rtt_ms
        if not (math.isfinite(rtt) and 0.0 < rtt <= MAX_RTT_MS):
            raise InvalidArgumentError("rtt_ms", f"must be in (0, {MAX_RTT_MS:.0f}]")
    return Attempt(
        pool_id=pool_id,
        client_id=_text("client_id", req.client_id, MAX_CLIENT_ID, required=False),
        username=_text("username", req.username, MAX_USERNAME, required=True),
        event_type=event_type,
        ip_address=canonical_ip("ip_address", req.ip_address),
        user_agent=_text("user_agent", req.user_agent, MAX_USER_AGENT, required=False),
        device_key=_text("device_key", req.device_key, MAX_DEVICE_KEY, required=False),
        http_headers=_headers(dict(req.http_headers)),
        timestamp=_timestamp("timestamp", req.timestamp, now) if req.HasField("timestamp") else now,
        rtt_ms=rtt,
        mfa_configured=req.mfa_configured if req.HasField("mfa_configured") else None,
    )


def outcome_from_request(
    req: risk_pb2.OutcomeRequest, now: datetime
) -> tuple[str, Outcome, datetime]:
    """Validate an OutcomeRequest: (event_id, outcome, when)."""
    event_id = _text("event_id", req.event_id, MAX_EVENT_ID, required=True)
    outcome = _OUTCOMES.get(req.outcome)
    if outcome is None:
        raise InvalidArgumentError(
            "outcome", f"must be one of {', '.join(o.value for o in Outcome)}"
        )
    when = _timestamp("timestamp", req.timestamp, now) if req.HasField("timestamp") else now
    return event_id, outcome, when
