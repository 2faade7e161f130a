"""Velocity: brute force on one account, password spraying and credential stuffing from one IP.

Counts come from the store's sliding windows (core/velocity.py): attempts and
failures per user, per IP and per network, and how many distinct users an IP
or network tried, in the minutes before this attempt.
"""

from __future__ import annotations

import math

from riskscore.core.profile import ProfileSnapshot
from riskscore.core.result import Reason
from riskscore.signals.base import SignalOutcome, VelocitySettings


def _factor(count: int, threshold: int, settings: VelocitySettings) -> float:
    # At the threshold: x4; growing with the excess, capped.
    return min(math.log(4.0) + math.log(count / threshold), settings.max_log_factor)


def velocity(snapshot: ProfileSnapshot, settings: VelocitySettings) -> SignalOutcome:
    """USER_FAILURE_VELOCITY, IP_SPRAY and IP_STUFFING from the windows."""
    w = snapshot.window
    window = f"{settings.window_minutes} min"
    features = {
        "user_failures_window": float(w.user_failures),
        "ip_attempts_window": float(w.ip_attempts),
        "ip_failures_window": float(w.ip_failures),
        "ip_users_window": float(w.ip_users),
        "asn_failures_window": float(w.asn_failures),
        "asn_users_window": float(w.asn_users),
        "ip_signups_window": float(w.ip_signups),
    }
    reasons: list[Reason] = []
    if w.user_failures >= settings.user_failures:
        reasons.append(
            Reason(
                "USER_FAILURE_VELOCITY",
                f"{w.user_failures} failed attempts on this account in the last {window}.",
                _factor(w.user_failures, settings.user_failures, settings),
                {"failures": str(w.user_failures), "window": window},
            )
        )
    if w.ip_users >= settings.ip_users:
        reasons.append(
            Reason(
                "IP_SPRAY",
                f"This IP address tried {w.ip_users} different accounts in the last {window}.",
                _factor(w.ip_users, settings.ip_users, settings),
                {"users": str(w.ip_users), "attempts": str(w.ip_attempts), "window": window},
            )
        )
    ratio = w.ip_failures / w.ip_attempts if w.ip_attempts else 0.0
    if w.ip_failures >= settings.ip_failures and ratio >= settings.stuffing_failure_ratio:
        reasons.append(
            Reason(
                "IP_STUFFING",
                f"{w.ip_failures} of {w.ip_attempts} attempts from this IP address failed in "
                f"the last {window}: a credential list being tried.",
                _factor(w.ip_failures, settings.ip_failures, settings),
                {
                    "failures": str(w.ip_failures),
                    "attempts": str(w.ip_attempts),
                    "users": str(w.ip_users),
                    "window": window,
                },
            )
        )
    return SignalOutcome(
        features=features,
        reasons=tuple(reasons),
        log_factor=sum(r.weight for r in reasons),
    )
