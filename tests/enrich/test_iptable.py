"""The interval table agrees with a brute-force most-specific match."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from riskscore.enrich.iptable import IPTable, IPTableBuilder
from riskscore.errors import InvalidArgumentError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def brute_force(entries: list[tuple[Network, int]], ip: str) -> tuple[str, int] | None:
    address = ipaddress.ip_address(ip)
    best: tuple[Network, int] | None = None
    for network, payload in entries:
        # Most specific wins; of identical networks the first added.
        contains = network.version == address.version and address in network
        if contains and (best is None or network.prefixlen > best[0].prefixlen):
            best = (network, payload)
    return None if best is None else (str(best[0]), best[1])


def networks(version: int) -> st.SearchStrategy[Network]:
    bits = 32 if version == 4 else 128
    # A narrow address range makes nesting and duplicates common.
    base = 0x0A000000 if version == 4 else 0x20010DB8 << 96
    span = 1 << 12
    return st.builds(
        lambda offset, length: ipaddress.ip_network((base + offset, length), strict=False),
        st.integers(0, span - 1),
        st.integers(bits - 16, bits),
    )


def addresses(version: int) -> st.SearchStrategy[str]:
    base = 0x0A000000 if version == 4 else 0x20010DB8 << 96
    span = 1 << 12
    return st.builds(lambda o: str(ipaddress.ip_address(base + o)), st.integers(0, span + 255))


@pytest.mark.parametrize("version", [4, 6])
def test_lookup_matches_brute_force(version: int) -> None:
    @seed(20240601 + version)
    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(
        st.lists(networks(version), max_size=40),
        st.lists(addresses(version), min_size=1, max_size=30),
    )
    def check(nets: list[Network], ips: list[str]) -> None:
        entries = [(network, index) for index, network in enumerate(nets)]
        table = IPTable.from_pairs((str(network), index) for network, index in entries)
        probes = ips + [str(network.network_address) for network in nets]
        probes += [str(network.broadcast_address) for network in nets]
        for ip in probes:
            match = table.lookup(ip)
            got = None if match is None else (match.cidr, match.payload)
            assert got == brute_force(entries, ip), ip

    check()


def test_v4_and_v6_are_separate() -> None:
    table = IPTable.from_pairs([("0.0.0.0/0", "v4"), ("::/0", "v6")])
    assert table.lookup("203.0.113.9") is not None
    assert table.lookup("203.0.113.9").payload == "v4"  # type: ignore[union-attr]
    assert table.lookup("2001:db8::9").payload == "v6"  # type: ignore[union-attr]


def test_host_bits_are_cleared_and_counts_reported() -> None:
    builder: IPTableBuilder[str] = IPTableBuilder()
    builder.add("192.0.2.77/24", "a")
    builder.add_int(4, 0xC0000263, 32, "b")
    table = builder.build()
    assert table.lookup("192.0.2.1") is not None
    assert table.lookup("192.0.2.99").cidr == "192.0.2.99/32"  # type: ignore[union-attr]
    assert table.lookup("192.0.2.1").cidr == "192.0.2.0/24"  # type: ignore[union-attr]
    assert (table.entries, table.intervals) == (2, 3)


def test_empty_table_and_bad_input() -> None:
    table: IPTable[str] = IPTable.from_pairs([])
    assert table.lookup("1.2.3.4") is None
    with pytest.raises(InvalidArgumentError):
        table.lookup("not-an-ip")
    with pytest.raises(InvalidArgumentError):
        IPTable.from_pairs([("10.0.0.0/40", "x")])
