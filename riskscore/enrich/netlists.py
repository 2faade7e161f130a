"""Plain network-list formats: CIDR per line, FireHOL netsets, ASN lists.

Deny lists and network-type lists reach us in the formats their publishers
use: one IP or CIDR per line (AWS/Tor exporters, X4BNet's VPN lists), FireHOL
``.netset``/``.ipset`` files (the same, under a ``# Key : value`` header that
names the list and its source), and AS-number lists. Our packaged ASN data
has organisation names but no numbers (see asn_build), so an ASN list may also
carry ``org:`` glob patterns matched against the organisation.

Networks are kept as integer columns rather than ``ipaddress`` objects: a
million-line deny list would otherwise hold a million Python objects of a few
hundred bytes each, only to be turned into integers by the table builder.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import socket
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from riskscore.errors import RiskscoreError

_V4_BITS: Final = 32
_V6_BITS: Final = 128
_FIREHOL_KEYS: Final = frozenset({"maintainer", "maintainer url", "list source url", "category"})
_HEADER_LINE: Final = re.compile(r"^#\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s*(?P<value>.*?)\s*$")
_ASN_LINE: Final = re.compile(r"^(?:AS)?(?P<number>\d{1,10})$", re.IGNORECASE)
_MAX_ASN: Final = 2**32 - 1


class ListFormatError(RiskscoreError):
    """A list file cannot be read or has a malformed line; the message names both."""

    code = "list_format_error"

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


@dataclass(frozen=True, slots=True)
class ListProvenance:
    """Where a list came from, as its file and (FireHOL) header say."""

    path: str
    name: str
    source: str = ""
    maintainer: str = ""
    maintainer_url: str = ""
    category: str = ""
    file_date: str = ""
    sha256: str = ""
    header: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, str]:
        """Non-empty fields as strings, for describe() outputs and logs."""
        fields = {
            "path": self.path,
            "name": self.name,
            "source": self.source,
            "maintainer": self.maintainer,
            "maintainer_url": self.maintainer_url,
            "category": self.category,
            "file_date": self.file_date,
            "sha256": self.sha256,
        }
        return {key: value for key, value in fields.items() if value}


@dataclass(frozen=True, slots=True, eq=False)
class PrefixColumns:
    """Networks of one IP version as parallel columns (host bits cleared)."""

    version: int
    # IPv4 addresses fit array('Q'); IPv6 ones are 128-bit Python ints.
    addresses: array[int] | list[int]
    lengths: array[int] = field(default_factory=lambda: array("B"))

    def __len__(self) -> int:
        return len(self.lengths)

    def cidrs(self) -> Iterator[str]:
        """The networks as CIDR strings (for small lists and tests)."""
        for address, length in zip(self.addresses, self.lengths, strict=True):
            yield format_cidr(self.version, address, length)


@dataclass(frozen=True, slots=True, eq=False)
class NetList:
    """The networks of one list file, IPv4 and IPv6 apart, with provenance."""

    provenance: ListProvenance
    v4: PrefixColumns
    v6: PrefixColumns

    def __len__(self) -> int:
        return len(self.v4) + len(self.v6)

    def cidrs(self) -> list[str]:
        """All networks as CIDR strings, IPv4 first."""
        return [*self.v4.cidrs(), *self.v6.cidrs()]


@dataclass(frozen=True, slots=True)
class AsnList:
    """AS numbers and organisation-name patterns from one list file."""

    provenance: ListProvenance
    numbers: frozenset[int] = frozenset()
    org_patterns: tuple[str, ...] = ()

    def match(self, asn: int | None, organization: str) -> str | None:
        """What matched (``AS123`` or ``org:pattern``), or ``None``."""
        if asn is not None and asn in self.numbers:
            return f"AS{asn}"
        folded = organization.casefold()
        if folded:
            for pattern in self.org_patterns:
                if fnmatch.fnmatchcase(folded, pattern):
                    return f"org:{pattern}"
        return None


def parse_ip_int(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` of an address literal, or ``None`` if it is not one.

    ``inet_pton`` is strict (no ``1.2.3``, no leading-zero octal) and several
    times faster than ``ipaddress.ip_address`` on million-line lists.
    """
    try:
        if ":" in text:
            packed = socket.inet_pton(socket.AF_INET6, text)
            value = int.from_bytes(packed, "big")
            # An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address.
            if value >> 32 == 0xFFFF:
                return 4, value & 0xFFFFFFFF
            return 6, value
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        return None


def parse_network(text: str) -> tuple[int, int, int] | None:
    """``(version, network integer, prefix length)`` of ``a.b.c.d[/n]``; host bits cleared."""
    address_text, slash, length_text = text.partition("/")
    parsed = parse_ip_int(address_text)
    if parsed is None:
        return None
    version, value = parsed
    bits = _V4_BITS if version == 4 else _V6_BITS
    if not slash:
        return version, value, bits
    if not length_text.isdecimal() or len(length_text) > 3:
        return None
    length = int(length_text)
    if ":" in address_text and version == 4:
        # ::ffff:0:0/96-style prefixes count IPv6 bits; map them to IPv4.
        length -= _V6_BITS - _V4_BITS
    if not 0 <= length <= bits:
        return None
    return version, value & ~((1 << (bits - length)) - 1), length


def format_cidr(version: int, address: int, length: int) -> str:
    """``address/length`` in the canonical text form."""
    if version == 4:
        text = socket.inet_ntop(socket.AF_INET, address.to_bytes(4, "big"))
    else:
        text = socket.inet_ntop(socket.AF_INET6, address.to_bytes(16, "big"))
    return f"{text}/{length}"


def read_network_list(path: Path, *, name: str | None = None) -> NetList:
    """Parse a CIDR-per-line or FireHOL netset/ipset file.

    The list name is ``name``, else the name a FireHOL header gives, else the
    file stem. Blank lines, ``#`` comments (whole-line or inline) and CRLF
    endings are accepted; any other malformed line raises ListFormatError.
    """
    lines, digest = _read_lines(path)
    provenance = _provenance(path, lines, name, digest)
    v4 = PrefixColumns(4, array("Q"), array("B"))
    v6 = PrefixColumns(6, [], array("B"))
    for number, text in _data_lines(lines):
        parsed = parse_network(text)
        if parsed is None:
            raise ListFormatError(path, number, f"not an IP address or CIDR: {text!r}")
        version, address, length = parsed
        columns = v4 if version == 4 else v6
        columns.addresses.append(address)
        columns.lengths.append(length)
    return NetList(provenance, v4, v6)


def read_asn_list(path: Path, *, name: str | None = None) -> AsnList:
    """Parse an ASN list: ``AS123`` or ``123`` per line, or ``org:glob`` patterns.

    Patterns are case-insensitive shell globs over the AS organisation name
    (``org:amazon*`` matches ``AMAZON-02``).
    """
    lines, digest = _read_lines(path)
    provenance = _provenance(path, lines, name, digest)
    numbers: set[int] = set()
    patterns: list[str] = []
    for number, text in _data_lines(lines):
        if text[:4].casefold() == "org:":
            pattern = text[4:].strip().casefold()
            if not pattern:
                raise ListFormatError(path, number, "empty org: pattern")
            patterns.append(pattern)
            continue
        match = _ASN_LINE.match(text)
        if match is None or int(match["number"]) > _MAX_ASN:
            raise ListFormatError(path, number, f"not an AS number or org: pattern: {text!r}")
        numbers.add(int(match["number"]))
    return AsnList(provenance, frozenset(numbers), tuple(patterns))


def _read_lines(path: Path) -> tuple[Sequence[str], str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ListFormatError(path, 0, f"cannot read list: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListFormatError(path, 0, f"not UTF-8 text: {exc.reason}") from exc
    # splitlines() also breaks on \x0b, \x1c..., which never occur in these
    # lists; splitting on \n and stripping keeps line numbers as editors show.
    return text.split("\n"), hashlib.sha256(raw).hexdigest()


def _data_lines(lines: Sequence[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        # ";" starts a comment too: Spamhaus DROP writes "1.2.3.0/24 ; SBL123".
        text = line.split("#", 1)[0].split(";", 1)[0].strip()
        # ipset dumps write "add <set> <cidr>"; accept the last field only then.
        if text.startswith("add ") and " " in text[4:]:
            text = text.rsplit(None, 1)[-1]
        if text:
            yield number, text


def _provenance(path: Path, lines: Sequence[str], name: str | None, digest: str) -> ListProvenance:
    header: list[tuple[str, str]] = []
    first_comment = ""
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        match = _HEADER_LINE.match(stripped)
        if match is not None:
            header.append((match["key"].casefold(), match["value"]))
        elif not first_comment:
            first_comment = stripped.lstrip("#").strip()
    keys = dict(header)
    is_firehol = bool(_FIREHOL_KEYS & keys.keys())
    header_name = first_comment if is_firehol and first_comment.isidentifier() else ""
    return ListProvenance(
        path=str(path),
        name=name or header_name or path.stem,
        source=keys.get("list source url", "") or keys.get("source", ""),
        maintainer=keys.get("maintainer", ""),
        maintainer_url=keys.get("maintainer url", ""),
        category=keys.get("category", ""),
        file_date=keys.get("this file date", "") or keys.get("source file date", ""),
        sha256=digest,
        header=tuple(header),
    )
