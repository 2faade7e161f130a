"""What an auth server tells us about one attempt, and what it reports after."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class EventType(enum.Enum):
    """Kinds of attempt, named as Cognito's EventFilter names them."""

    SIGN_IN = "SIGN_IN"
    SIGN_UP = "SIGN_UP"
    PASSWORD_CHANGE = "PASSWORD_CHANGE"
    FORGOT_PASSWORD = "FORGOT_PASSWORD"


class Outcome(enum.Enum):
    """What happened after scoring; only SUCCEEDED proves the user."""

    SUCCEEDED = "SUCCEEDED"
    FAILED_PASSWORD = "FAILED_PASSWORD"
    FAILED_MFA = "FAILED_MFA"
    ABANDONED = "ABANDONED"

    @property
    def is_failure(self) -> bool:
        """True for outcomes that feed the failure counters."""
        return self in (Outcome.FAILED_PASSWORD, Outcome.FAILED_MFA)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A validated attempt. ``ip_address`` is canonical text (IPv4-mapped -> IPv4)."""

    pool_id: str
    username: str
    event_type: EventType
    ip_address: str
    timestamp: datetime
    client_id: str = ""
    user_agent: str = ""
    device_key: str = ""
    rtt_ms: float | None = None
    http_headers: Mapping[str, str] = field(default_factory=dict)
    # Whether the user has a second factor (None: the caller did not say).
    mfa_configured: bool | None = None
