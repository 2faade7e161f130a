"""Parsing of CIDR lists, FireHOL netsets and ASN lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskscore.enrich.netlists import ListFormatError, read_asn_list, read_network_list

FIREHOL = """\
#
# tor_exits
#
# ipv4 hash:ip ipset
#
# Maintainer      : TorProject.org
# Maintainer URL  : https://www.torproject.org/
# List source URL : https://check.torproject.org/exit-addresses
# Source File Date: Tue Feb  6 19:16:05 UTC 2018
#
# Category        : anonymizers
#
185.220.101.1
185.220.101.0/24
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_cidr_list_normalises_and_tolerates_noise(tmp_path: Path) -> None:
    text = "10.1.2.3/8\r\n\r\n  # comment\r\n192.0.2.7 # inline\r\n2001:db8::1/32 ; note\r\n"
    net_list = read_network_list(write(tmp_path, "bad-hosts.txt", text))
    assert net_list.cidrs() == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]
    assert net_list.provenance.name == "bad-hosts"
    assert len(net_list.provenance.sha256) == 64


def test_firehol_header_names_the_list_and_gives_provenance(tmp_path: Path) -> None:
    net_list = read_network_list(write(tmp_path, "x.ipset", FIREHOL))
    provenance = net_list.provenance
    assert provenance.name == "tor_exits"
    assert provenance.source == "https://check.torproject.org/exit-addresses"
    assert provenance.maintainer_url == "https://www.torproject.org/"
    assert provenance.category == "anonymizers"
    assert provenance.file_date.startswith("Tue Feb")
    assert net_list.cidrs() == ["185.220.101.1/32", "185.220.101.0/24"]


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("1.2.3", "1.2.3"),
        ("010.1.1.1", "010.1.1.1"),
        ("::/129", "::/129"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, line: str, bad: str) -> None:
    path = write(tmp_path, "l.txt", f"# head\n1.1.1.1\n{line}\n")
    with pytest.raises(ListFormatError, match=rf"l\.txt:3: .*{bad}") as info:
        read_network_list(path)
    assert info.value.line == 3


def test_missing_file_is_a_list_error(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="cannot read"):
        read_network_list(tmp_path / "absent.netset")


def test_ipv4_mapped_addresses_become_ipv4(tmp_path: Path) -> None:
    net_list = read_network_list(write(tmp_path, "m.txt", "::ffff:192.0.2.1\n"))
    assert net_list.cidrs() == ["192.0.2.1/32"]


def test_asn_list_numbers_and_org_patterns(tmp_path: Path) -> None:
    text = "AS16509\n14061 # DigitalOcean\r\n\norg:Amazon*\nas24940\n"
    asn_list = read_asn_list(write(tmp_path, "hosting.asn", text))
    assert asn_list.numbers == {16509, 14061, 24940}
    assert asn_list.match(14061, "") == "AS14061"
    assert asn_list.match(None, "AMAZON-02") == "org:amazon*"
    assert asn_list.match(None, "Comcast") is None
    assert asn_list.match(None, "") is None


@pytest.mark.parametrize("line", ["AS", "ASX1", "org:", "99999999999"])
def test_bad_asn_line(tmp_path: Path, line: str) -> None:
    with pytest.raises(ListFormatError, match=r"a\.asn:2"):
        read_asn_list(write(tmp_path, "a.asn", f"AS1\n{line}\n"))
