"""Sliding-window counts: how busy a user, an IP and a network were just before an attempt.

Windows are counted in whole minutes of the attempts' own timestamps (not the
server clock), so a replayed log counts exactly as it did live. Stores keep
per-minute buckets and, for distinct users, each member's latest minute, and
drop both once they leave the window: memory is bounded by the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from riskscore.core import features as f
from riskscore.core.attempt import EventType
from riskscore.core.features import Observation

WindowKind = Literal["user", "ip", "asn", "signup_ip"]

# Distinct users are counted up to this many: every threshold is well below,
# and the cap keeps a stuffing IP with 100k usernames as cheap as a quiet one.
MEMBER_CAP: Final = 100


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Attempts, failures and distinct users in the window before an attempt."""

    user_attempts: int = 0
    user_failures: int = 0
    ip_attempts: int = 0
    ip_failures: int = 0
    ip_users: int = 0
    asn_attempts: int = 0
    asn_failures: int = 0
    asn_users: int = 0
    ip_signups: int = 0


def minute_of(when: datetime) -> int:
    """Whole minutes since the epoch."""
    return int(when.timestamp() // 60)


def window_keys(
    username: str, obs: Observation, event_type: EventType
) -> list[tuple[WindowKind, str]]:
    """The (kind, key) windows an attempt counts in."""
    keys: list[tuple[WindowKind, str]] = [("user", username), ("ip", obs.ip_address)]
    if asn := obs.get(f.ASN):
        keys.append(("asn", asn))
    if event_type is EventType.SIGN_UP:
        keys.append(("signup_ip", obs.ip_address))
    return keys


def counts_from(
    attempts: dict[str, int], failures: dict[str, int], users: dict[str, int]
) -> WindowCounts:
    """Assemble WindowCounts from per-kind sums (missing kinds count 0)."""
    return WindowCounts(
        user_attempts=attempts.get("user", 0),
        user_failures=failures.get("user", 0),
        ip_attempts=attempts.get("ip", 0),
        ip_failures=failures.get("ip", 0),
        ip_users=min(users.get("ip", 0), MEMBER_CAP),
        asn_attempts=attempts.get("asn", 0),
        asn_failures=failures.get("asn", 0),
        asn_users=min(users.get("asn", 0), MEMBER_CAP),
        ip_signups=attempts.get("signup_ip", 0),
    )
