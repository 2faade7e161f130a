"""Network type and IP reputation: hosting, VPN and Tor networks, deny-listed addresses.

The classification itself happens in the enrichment (riskscore.enrich
network_type and reputation); these signals read the observation's copy of
it, so an attempt replayed from the store scores the same way.
"""

from __future__ import annotations

from typing import Final

from riskscore.core import features as f
from riskscore.core.enrichment import REPUTATION_REASON, NetworkType
from riskscore.core.features import Observation
from riskscore.core.profile import LastLogin
from riskscore.core.result import Reason
from riskscore.signals.base import NetworkSettings, SignalOutcome

_MESSAGES: Final = {
    NetworkType.HOSTING.value: "The IP belongs to a hosting or cloud provider: a server, not a "
    "home or mobile connection.",
    NetworkType.VPN.value: "The IP is a VPN or anonymizing proxy exit, which hides where the "
    "user is.",
    NetworkType.TOR.value: "The IP is a Tor exit node, which hides where the user is.",
}
# Types a user may legitimately keep using (a work VPN, a jump host); a Tor
# exit is never discounted.
_HABITUAL: Final = frozenset({NetworkType.HOSTING.value, NetworkType.VPN.value})


def _log_factor(kind: str, settings: NetworkSettings) -> float | None:
    return {
        NetworkType.HOSTING.value: settings.hosting_log_factor,
        NetworkType.VPN.value: settings.vpn_log_factor,
        NetworkType.TOR.value: settings.tor_log_factor,
    }.get(kind)


def network_features(kind: str) -> dict[str, float]:
    """One 0/1 feature per network type that matters to scoring."""
    return {
        "network_hosting": 1.0 if kind == NetworkType.HOSTING.value else 0.0,
        "network_vpn": 1.0 if kind == NetworkType.VPN.value else 0.0,
        "network_tor": 1.0 if kind == NetworkType.TOR.value else 0.0,
        "network_mobile": 1.0 if kind == NetworkType.MOBILE.value else 0.0,
    }


def network_type(
    obs: Observation,
    last: LastLogin | None,
    settings: NetworkSettings,
    *,
    habitual: bool = False,
) -> SignalOutcome:
    """HOSTING_NETWORK, ANONYMIZING_NETWORK or TOR_EXIT from the attempt's network type.

    A hosting or VPN factor is scaled down (halved by default) when the user
    has proven sign-ins from that type of network (``habitual``) or the last
    proven sign-in came from it.
    """
    kind = obs.network_type
    features = network_features(kind)
    factor = _log_factor(kind, settings)
    code = NetworkType(kind).reason if factor is not None else None
    if factor is None or code is None:
        return SignalOutcome(features=features)
    # network_source is "<source>/<matched>" (core.features.network_source_of).
    source, _, matched = obs.network_source.partition("/")
    evidence = {
        "ip": obs.ip_address,
        "network_type": kind,
        "source": source,
        "matches": matched,
        "asn": obs.get(f.ASN),
    }
    if kind in _HABITUAL and (habitual or (last is not None and last.network_type == kind)):
        factor *= settings.known_type_scale
        evidence["previous_network_type"] = kind
    reason = Reason(code, _MESSAGES[kind], factor, evidence)
    return SignalOutcome(features=features, reasons=(reason,), log_factor=factor)


def deny_listed(obs: Observation, settings: NetworkSettings) -> SignalOutcome:
    """MALICIOUS_IP when the IP is on a deny list; evidence as Auth0's UntrustedIP has it."""
    if not obs.reputation_list:
        return SignalOutcome(features={"ip_on_deny_list": 0.0})
    factor = settings.deny_list_log_factor
    reason = Reason(
        REPUTATION_REASON,
        f"The IP is on the deny list {obs.reputation_list!r}.",
        factor,
        {
            "ip": obs.ip_address,
            "matches": obs.reputation_cidr,
            "list": obs.reputation_list,
            "category": obs.reputation_category,
        },
    )
    return SignalOutcome(features={"ip_on_deny_list": 1.0}, reasons=(reason,), log_factor=factor)
