"""The enricher fills network type and reputation, and observe() carries them to the signals."""

from __future__ import annotations

import pytest

from riskscore.core.attempt import Attempt, EventType
from riskscore.core.enrichment import NetworkInfo, Place
from riskscore.core.features import observe
from riskscore.core.profile import History, ProfileSnapshot
from riskscore.enrich.enricher import AttemptEnricher
from riskscore.enrich.geo import InMemoryGeoLookup
from riskscore.enrich.network_type import InMemoryNetworkClassifier, NetworkClass, NetworkType
from riskscore.enrich.reputation import InMemoryReputation, ReputationMatch
from riskscore.enrich.useragent import UaParserAdapter
from riskscore.signals import registry
from riskscore.signals.base import SignalSettings
from tests.builders import T0

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"
OVH = NetworkInfo(asn=16276, organization="OVH SAS", network="51.0.0.0/8")
HOME = NetworkInfo(asn=2119, organization="Telenor Norge AS", network="84.208.0.0/13")
GEO = InMemoryGeoLookup(
    {
        "84.208.0.0/13": (Place("NO", "Oslo County", "Oslo", 59.9, 10.7, 20), HOME),
        "51.0.0.0/8": (Place("FR", "Hauts-de-France", "Roubaix", 50.7, 3.2, 50), OVH),
        "198.51.100.0/24": (Place("NL", "", "", 52.4, 4.9, 100), HOME),
    }
)
NETWORKS = InMemoryNetworkClassifier(
    cidrs={"198.51.100.0/24": NetworkType.VPN, "198.51.100.130/32": NetworkType.TOR},
    organizations={"OVH SAS": NetworkType.HOSTING},
)
DENY = InMemoryReputation({"198.51.100.0/25": "firehol_level1"}, category="attacks")


@pytest.fixture(scope="module")
def user_agents() -> UaParserAdapter:
    return UaParserAdapter()


def attempt(ip: str) -> Attempt:
    return Attempt("p", "alice", EventType.SIGN_IN, ip, T0, user_agent=FIREFOX)


def test_two_argument_construction_classifies_nothing(user_agents: UaParserAdapter) -> None:
    enrichment = AttemptEnricher(GEO, user_agents).enrich(attempt("198.51.100.7"))
    assert enrichment.network == HOME
    assert enrichment.network_class is None
    assert enrichment.reputation is None
    obs = observe(attempt("198.51.100.7"), enrichment)
    assert (obs.network_type, obs.network_source) == ("", "")
    assert (obs.reputation_list, obs.reputation_cidr, obs.reputation_category) == ("", "", "")


@pytest.mark.parametrize(
    ("ip", "network_class", "reputation"),
    [
        (
            "198.51.100.7",
            NetworkClass(NetworkType.VPN, "in-memory", "198.51.100.0/24"),
            ReputationMatch("firehol_level1", "198.51.100.0/25", "attacks", "in-memory"),
        ),
        ("198.51.100.130", NetworkClass(NetworkType.TOR, "in-memory", "198.51.100.130/32"), None),
        # 198.51.100.200 is outside the deny-listed /25.
        ("198.51.100.200", NetworkClass(NetworkType.VPN, "in-memory", "198.51.100.0/24"), None),
        # The classifier is handed the geo lookup's ASN answer.
        ("51.38.1.1", NetworkClass(NetworkType.HOSTING, "in-memory", "org:OVH SAS"), None),
        ("84.208.0.1", NetworkClass(NetworkType.RESIDENTIAL_BUSINESS, "default"), None),
        ("192.0.2.1", NetworkClass(NetworkType.UNKNOWN), None),
    ],
)
def test_enricher_fills_network_class_and_reputation(
    user_agents: UaParserAdapter,
    ip: str,
    network_class: NetworkClass,
    reputation: ReputationMatch | None,
) -> None:
    enricher = AttemptEnricher(GEO, user_agents, networks=NETWORKS, reputation=DENY)
    enrichment = enricher.enrich(attempt(ip))
    assert enrichment.network_class == network_class
    assert enrichment.reputation == reputation
    assert enrichment.user_agent.browser_family == "Firefox"


def test_observe_carries_network_and_reputation(user_agents: UaParserAdapter) -> None:
    enricher = AttemptEnricher(GEO, user_agents, networks=NETWORKS, reputation=DENY)
    obs = observe(attempt("198.51.100.7"), enricher.enrich(attempt("198.51.100.7")))
    assert obs.network_type == "vpn"
    assert obs.network_source == "in-memory/198.51.100.0/24"
    assert obs.reputation_list == "firehol_level1"
    assert obs.reputation_cidr == "198.51.100.0/25"
    assert obs.reputation_category == "attacks"
    hosting = observe(attempt("51.38.1.1"), enricher.enrich(attempt("51.38.1.1")))
    assert (hosting.network_type, hosting.network_source) == ("hosting", "in-memory/org:OVH SAS")
    unknown = observe(attempt("192.0.2.1"), enricher.enrich(attempt("192.0.2.1")))
    assert (unknown.network_type, unknown.network_source) == ("unknown", "")


def test_enriched_attempt_raises_the_network_reasons(user_agents: UaParserAdapter) -> None:
    enricher = AttemptEnricher(GEO, user_agents, networks=NETWORKS, reputation=DENY)
    obs = observe(attempt("198.51.100.7"), enricher.enrich(attempt("198.51.100.7")))
    snap = ProfileSnapshot(user=History(logins=3), population=History(logins=30), users=5)
    reasons = {r.code: r for r in registry.evaluate(obs, snap, SignalSettings()).reasons}
    assert reasons["ANONYMIZING_NETWORK"].evidence == {
        "ip": "198.51.100.7",
        "network_type": "vpn",
        "source": "in-memory",
        "matches": "198.51.100.0/24",
        "asn": "AS2119",
    }
    assert reasons["MALICIOUS_IP"].evidence == {
        "ip": "198.51.100.7",
        "matches": "198.51.100.0/25",
        "list": "firehol_level1",
        "category": "attacks",
    }
