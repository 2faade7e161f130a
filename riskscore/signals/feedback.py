"""FEEDBACK_ATTACKER_MATCH: an IP, network or device shared with an attempt reported Invalid.

Cognito: feedback "affects risk evaluation for subsequent sessions with the
same characteristics" (reference/cognito.md 2.2, 10). A user's own Invalid
report is direct evidence and does not fade; a report by someone else in the
pool says only that the IP or network served an attacker once, so its
weight halves every ``half_life_days`` (addresses get reassigned, and a
network-wide mark must not punish every customer of an ISP for ever).
"""

from __future__ import annotations

import math

from riskscore.core.features import Observation
from riskscore.core.profile import AttackerMark
from riskscore.core.result import Reason
from riskscore.signals.base import FeedbackSettings, SignalOutcome

CODE = "FEEDBACK_ATTACKER_MATCH"
_KINDS = ("ip", "asn", "device")


def decayed(mark: AttackerMark, obs: Observation, half_life_days: float) -> float:
    """The weight of a pool-level mark: 1 when just reported, halving every half-life."""
    age_days = max((obs.timestamp - mark.reported_at).total_seconds() / 86400.0, 0.0)
    return math.pow(0.5, age_days / half_life_days)


def attacker_match(
    obs: Observation, marks: tuple[AttackerMark, ...], settings: FeedbackSettings
) -> SignalOutcome:
    """Raise the risk when Invalid feedback marked one of this attempt's values.

    The user-level factor is full when the IP or two of IP/ASN/device match,
    half for a lone ASN or device (many legitimate sessions share those). The
    pool-level factor is the IP's or the ASN's, times its decayed weight. The
    two describe the same report when the user reported it, so the larger wins.
    """
    user = sorted((m for m in marks if m.scope == "user"), key=lambda m: _KINDS.index(m.kind))
    pool = [m for m in marks if m.scope == "pool"]
    user_factor = 0.0
    if user:
        kinds = {m.kind for m in user}
        strong = "ip" in kinds or len(kinds) >= 2
        user_factor = settings.user_log_factor * (1.0 if strong else 0.5)
    pool_factor, pool_weight, strongest = 0.0, 0.0, None
    for mark in pool:
        weight = decayed(mark, obs, settings.half_life_days)
        base = settings.pool_ip_log_factor if mark.kind == "ip" else settings.pool_asn_log_factor
        if base * weight > pool_factor:
            pool_factor, pool_weight, strongest = base * weight, weight, mark
    features = {
        "feedback_user_matches": float(len({m.kind for m in user})),
        "feedback_pool_weight": max(
            (decayed(m, obs, settings.half_life_days) for m in pool), default=0.0
        ),
    }
    factor = max(user_factor, pool_factor)
    if factor <= 0.0:
        return SignalOutcome(features=features)
    evidence: dict[str, str] = {}
    if user:
        evidence["user_matched"] = ",".join(m.kind for m in user)
        evidence["user_reported_at"] = max(m.reported_at for m in user).isoformat()
    if strongest is not None:
        evidence["pool_matched"] = strongest.kind
        evidence["pool_value"] = strongest.value
        evidence["pool_reported_at"] = strongest.reported_at.isoformat()
        evidence["pool_reports"] = str(strongest.reports)
        evidence["pool_weight"] = f"{pool_weight:.3f}"
    who = "this user" if user_factor >= pool_factor else "a user of this pool"
    reason = Reason(
        CODE,
        f"Feedback from {who} marked an earlier attempt from the same "
        f"{'/'.join(sorted({m.kind for m in marks}))} as not theirs.",
        factor,
        evidence,
    )
    return SignalOutcome(features=features, reasons=(reason,), log_factor=factor)
