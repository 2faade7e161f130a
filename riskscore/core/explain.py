"""Readable reasons from the Freeman terms: which parts of the attempt were new.

A reason's weight is its share of ln(raw risk): a feature whose likelihood
ratio is r contributes ln r, split over the sub-features the user never saw
in proportion to their hierarchy weights.
"""

from __future__ import annotations

import math
from typing import Final

from riskscore.core import features as f
from riskscore.core.features import Observation
from riskscore.core.freeman import DEFAULT_HIERARCHIES, FreemanResult, Hierarchy
from riskscore.core.profile import ProfileSnapshot
from riskscore.core.result import Reason

_IP_LEVEL_REASONS: Final[dict[str, tuple[str, str]]] = {
    f.IP: ("NEW_IP", "Sign-in from an IP address this user has never signed in from."),
    f.ASN: ("NEW_ASN", "Sign-in from a network (ASN) this user has never signed in from."),
    f.COUNTRY: ("NEW_COUNTRY", "Sign-in from a country this user has never signed in from."),
}
_KNOWN_COUNT: Final[dict[str, str]] = {
    f.IP: "known_ips",
    f.ASN: "known_networks",
    f.COUNTRY: "known_countries",
}


def _ip_reasons(
    obs: Observation, snapshot: ProfileSnapshot, weight: float, unseen: tuple[str, ...]
) -> list[Reason]:
    levels = dict(DEFAULT_HIERARCHIES[0].levels)
    shares = {col: levels[col] for col in unseen if col in _IP_LEVEL_REASONS}
    total = sum(shares.values())
    last = snapshot.last_login
    reasons = []
    for col, share in shares.items():
        code, message = _IP_LEVEL_REASONS[col]
        evidence = {
            col: obs.get(col),
            _KNOWN_COUNT[col]: str(snapshot.user.stats(col).distinct),
        }
        if last is not None:
            evidence["last_ip"] = last.ip_address
            evidence["last_country"] = last.place.country
            evidence["last_city"] = last.place.city
            evidence["last_login"] = last.timestamp.isoformat()
        if col == f.COUNTRY and obs.place.city:
            evidence["city"] = obs.place.city
        reasons.append(Reason(code, message, weight * share / total, evidence))
    return reasons


def _ua_reasons(
    obs: Observation, snapshot: ProfileSnapshot, weight: float, unseen: tuple[str, ...]
) -> list[Reason]:
    evidence = {
        "browser": obs.get(f.BROWSER),
        "os": obs.get(f.OS),
        "device_type": obs.get(f.DEVICE_TYPE),
        "known_devices": str(snapshot.user.stats(f.DEVICE).distinct),
    }
    new_signature = bool(obs.get(f.DEVICE)) and snapshot.user.stats(f.DEVICE).count == 0
    new_key = bool(obs.get(f.DEVICE_KEY)) and snapshot.user.stats(f.DEVICE_KEY).count == 0
    if new_signature or new_key:
        if obs.get(f.DEVICE_KEY):
            evidence["device_key_known"] = "false" if new_key else "true"
        return [
            Reason(
                "NEW_DEVICE",
                "Sign-in from a browser, OS or device this user has never signed in from.",
                weight,
                evidence,
            )
        ]
    if f.UA in unseen:
        return [
            Reason(
                "NEW_USER_AGENT",
                "Known device with a new User-Agent string (for example a browser update).",
                weight,
                evidence,
            )
        ]
    return []


def explain(
    obs: Observation,
    snapshot: ProfileSnapshot,
    result: FreemanResult,
    hierarchies: tuple[Hierarchy, ...] = DEFAULT_HIERARCHIES,
) -> tuple[Reason, ...]:
    """Reasons for one scored observation, most important first."""
    reasons: list[Reason] = []
    if not obs.place.country:
        reasons.append(
            Reason(
                "LOCATION_UNKNOWN",
                "No location is known for this IP address; location checks could not run.",
                0.0,
                {"ip": obs.ip_address},
            )
        )
    if snapshot.user.logins == 0:
        reasons.append(
            Reason(
                "FIRST_SEEN_USER",
                "This user has no proven sign-in yet, so there is no history to compare with.",
                max(math.log(result.raw), 0.0) if result.raw > 0 else 0.0,
                {"pool_users": str(snapshot.users)},
            )
        )
    else:
        for term in result.terms:
            if term.ratio <= 1.0:
                continue
            weight = math.log(term.ratio)
            if term.name == hierarchies[0].name:
                reasons.extend(_ip_reasons(obs, snapshot, weight, term.unseen_levels))
            else:
                reasons.extend(_ua_reasons(obs, snapshot, weight, term.unseen_levels))
    reasons.sort(key=lambda r: r.weight, reverse=True)
    return tuple(reasons)
