"""Runs every signal and documents every feature they produce.

FEATURES is the one table of feature names, meanings and ranges; the README
repeats it and a test keeps the two and the signals' output in step.
"""

from __future__ import annotations

from typing import Final

from riskscore.core import features as f
from riskscore.core.features import Observation
from riskscore.core.profile import ProfileSnapshot
from riskscore.core.result import Reason
from riskscore.signals.base import SignalOutcome, SignalSettings
from riskscore.signals.bots import bot_user_agent
from riskscore.signals.devices import remembered_device
from riskscore.signals.feedback import attacker_match
from riskscore.signals.hours import unusual_hour
from riskscore.signals.network import deny_listed, network_type
from riskscore.signals.travel import impossible_travel
from riskscore.signals.velocity import velocity

# name -> (meaning, range)
FEATURES: Final[dict[str, tuple[str, str]]] = {
    "freeman_log_raw": (
        "ln of the Freeman et al. raw risk (IP and UA hierarchies, user factor)",
        "(-inf, inf)",
    ),
    "risk_log_raw": (
        "ln of the statistical raw risk: the Freeman risk times every signal's factor",
        "(-inf, inf)",
    ),
    "freeman_ip_log_ratio": ("ln p(IP features)/p(IP features | user)", "(-inf, ln 4]"),
    "freeman_ua_log_ratio": ("ln p(UA features)/p(UA features | user)", "(-inf, ln 4]"),
    "freeman_user_log_factor": ("ln p(u|A)/p(u|L), Laplace-smoothed", "(-inf, inf)"),
    "user_logins": ("proven sign-ins of the user so far", "[0, inf)"),
    "failures_since_success": (
        "failed attempts of the user since the last proven sign-in",
        "[0, inf)",
    ),
    "travel_distance_km": (
        "km from the last proven sign-in, minus both accuracy radii",
        "[0, 20040]",
    ),
    "travel_speed_kmh": ("that distance over the elapsed time (at least 1 minute)", "[0, inf)"),
    "bot_user_agent": (
        "1 when the User-Agent is empty, malformed, a library or headless",
        "{0, 1}",
    ),
    "device_key_present": ("1 when a remembered-device key came with the attempt", "{0, 1}"),
    "device_key_known": ("1 when that key was seen in a proven sign-in of the user", "{0, 1}"),
    "device_signature_known": (
        "1 when browser+OS family+device type was seen for the user",
        "{0, 1}",
    ),
    "user_failures_window": ("failed attempts on the account in the velocity window", "[0, inf)"),
    "ip_attempts_window": ("attempts from the IP in the window", "[0, inf)"),
    "ip_failures_window": ("failed attempts from the IP in the window", "[0, inf)"),
    "ip_users_window": ("distinct accounts tried from the IP in the window, capped", "[0, 100]"),
    "asn_failures_window": ("failed attempts from the network (ASN) in the window", "[0, inf)"),
    "asn_users_window": ("distinct accounts tried from the network, capped", "[0, 100]"),
    "ip_signups_window": ("sign-ups from the IP in the window", "[0, inf)"),
    "hour_share": (
        "share of the user's sign-ins within an hour of this UTC hour (-1: no history)",
        "[-1, 1]",
    ),
    "hour_distance": ("hours from the user's circular mean sign-in hour", "[0, 12]"),
    "hour_concentration": ("mean resultant length R of the user's sign-in hours", "[0, 1]"),
    "network_hosting": ("1 when the IP is on a hosting or cloud provider's network", "{0, 1}"),
    "network_vpn": ("1 when the IP is a known VPN or anonymizing proxy exit", "{0, 1}"),
    "network_tor": ("1 when the IP is a Tor exit node", "{0, 1}"),
    "network_mobile": ("1 when the IP is on a mobile carrier's network", "{0, 1}"),
    "ip_on_deny_list": ("1 when the IP is on a configured deny list", "{0, 1}"),
    "feedback_user_matches": (
        "how many of IP, ASN, device the user's Invalid feedback marked",
        "{0, 1, 2, 3}",
    ),
    "feedback_pool_weight": (
        "decayed weight of the pool's Invalid feedback on this IP or ASN (0: none)",
        "[0, 1]",
    ),
}


def evaluate(
    obs: Observation, snapshot: ProfileSnapshot, settings: SignalSettings
) -> SignalOutcome:
    """All signals for one observation, combined: features merged, factors added."""
    # The user proved sign-ins from this kind of network before (a VPN user, say).
    habitual = bool(obs.network_type) and snapshot.user.stats(f.NETWORK_TYPE).count > 0
    outcomes = (
        impossible_travel(obs, snapshot.last_login, settings.travel, habitual_network=habitual),
        bot_user_agent(obs, settings.bot_log_factor),
        remembered_device(obs, snapshot, settings.known_device_log_factor),
        velocity(snapshot, settings.velocity),
        unusual_hour(obs, snapshot.user_hours, settings.hours),
        network_type(obs, snapshot.last_login, settings.network, habitual=habitual),
        deny_listed(obs, settings.network),
        attacker_match(obs, snapshot.attacker_marks, settings.feedback),
    )
    features: dict[str, float] = {
        "user_logins": float(snapshot.user.logins),
        "failures_since_success": float(snapshot.failures_since_success),
    }
    reasons: list[Reason] = []
    log_factor = 0.0
    for outcome in outcomes:
        features.update(outcome.features)
        reasons.extend(outcome.reasons)
        log_factor += outcome.log_factor
    return SignalOutcome(features=features, reasons=tuple(reasons), log_factor=log_factor)
