"""IP geolocation and network lookups over MaxMind-format databases.

The City answer comes from the GeoLite2 City file that the
``maxminddb-geolite2`` package ships (a 2018-07 snapshot, so places drift for
re-assigned blocks); the ASN answer from the database that
:mod:`riskscore.enrich.asn_build` derives from geoip2fast, or from a
GeoLite2-ASN / GeoIP2-ISP file the operator supplies.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

import geoip2.database
import geoip2.errors
import maxminddb

from riskscore.core.enrichment import NetworkInfo, Place
from riskscore.errors import InvalidArgumentError, RiskscoreError

GeoAnswer = tuple[Place | None, NetworkInfo | None]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_CACHE_SIZE: Final = 65536
_CITY_PACKAGE: Final = "_maxminddb_geolite2"
_CITY_FILE: Final = "GeoLite2-City.mmdb"
_NOTHING: Final[GeoAnswer] = (None, None)


class GeoDataError(RiskscoreError):
    """A geolocation or ASN database is missing, unreadable or of the wrong type."""

    code = "geo_data_error"


class GeoLookup(Protocol):
    """Where an IP address is, and which network announces it."""

    def lookup(self, ip: str) -> tuple[Place | None, NetworkInfo | None]:
        """Place and network of ``ip``; ``None`` for a part the data does not know."""
        ...

    def describe(self) -> dict[str, str]:
        """Provenance of the data: files, database types and build dates."""
        ...


def packaged_city_database() -> Path:
    """Path of the GeoLite2-City.mmdb shipped by the maxminddb-geolite2 package."""
    try:
        resource = resources.files(_CITY_PACKAGE).joinpath(_CITY_FILE)
    except ModuleNotFoundError as exc:
        raise GeoDataError(f"package {_CITY_PACKAGE!r} (maxminddb-geolite2) is missing") from exc
    path = Path(str(resource))
    if not path.is_file():
        raise GeoDataError(f"packaged City database not found at {path}")
    return path


def parse_ip(ip: str) -> IPAddress:
    """Parse ``ip``; an IPv4-mapped IPv6 address becomes its IPv4 address."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError as exc:
        raise InvalidArgumentError("ip_address", f"not an IP address: {ip!r}") from exc
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_routable(address: IPAddress) -> bool:
    """False for addresses no public database can place (private, loopback, ...)."""
    return not (
        address.is_private
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
    )


def open_geo_lookup(
    asn_path: Path | None = None,
    *,
    built_asn_path: Path | None = None,
    city_path: Path | None = None,
) -> MaxMindGeoLookup:
    """A MaxMindGeoLookup on the packaged City data and the best ASN data at hand.

    An operator's ``asn_path`` (GeoLite2-ASN or GeoIP2-ISP, which carry AS
    numbers) wins over ``built_asn_path`` (names only, see asn_build), which is
    used only if it exists; with neither, lookups give no network.
    """
    chosen = asn_path
    if chosen is None and built_asn_path is not None and built_asn_path.is_file():
        chosen = built_asn_path
    city = city_path if city_path is not None else packaged_city_database()
    return MaxMindGeoLookup(city, chosen)


class MaxMindGeoLookup:
    """GeoLookup over a MaxMind City database and an optional ASN or ISP database."""

    def __init__(
        self,
        city_path: Path,
        asn_path: Path | None = None,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._city_path = city_path
        self._asn_path = asn_path
        self._city = _open(city_path, ("City",))
        self._asn: geoip2.database.Reader | None = None
        self._asn_is_isp = False
        if asn_path is not None:
            try:
                self._asn = _open(asn_path, ("ASN", "ISP"))
            except GeoDataError:
                self._city.close()
                raise
            self._asn_is_isp = "ISP" in self._asn.metadata().database_type
        # The same addresses repeat (a user signs in from home every day, an
        # attacker retries from one host), so answers are memoised per IP
        # string; keying on the raw text also skips re-parsing it on a hit.
        self._cached_lookup = functools.lru_cache(maxsize=cache_size)(self._lookup_text)

    def lookup(self, ip: str) -> GeoAnswer:
        """Place and network of ``ip``; ``(None, None)`` for non-routable addresses."""
        return self._cached_lookup(ip)

    def describe(self) -> dict[str, str]:
        """Provenance of the data: files, database types and build dates."""
        info = _describe_reader("city", self._city_path, self._city)
        if self._asn is not None and self._asn_path is not None:
            info |= _describe_reader("asn", self._asn_path, self._asn)
        return info

    def close(self) -> None:
        """Release the memory-mapped database files."""
        self._city.close()
        if self._asn is not None:
            self._asn.close()

    def __enter__(self) -> MaxMindGeoLookup:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _lookup_text(self, ip: str) -> GeoAnswer:
        address = parse_ip(ip)
        if not is_routable(address):
            return _NOTHING
        return self._geo(address), self._network(address)

    def _geo(self, address: IPAddress) -> Place | None:
        try:
            answer = self._city.city(address)
        except geoip2.errors.AddressNotFoundError:
            return None
        location = answer.location
        radius = location.accuracy_radius
        return Place(
            country=answer.country.iso_code or "",
            region=answer.subdivisions.most_specific.name or "",
            city=answer.city.name or "",
            latitude=location.latitude,
            longitude=location.longitude,
            accuracy_radius_km=float(radius) if radius is not None else None,
        )

    def _network(self, address: IPAddress) -> NetworkInfo | None:
        if self._asn is None:
            return None
        try:
            answer = self._asn.isp(address) if self._asn_is_isp else self._asn.asn(address)
        except geoip2.errors.AddressNotFoundError:
            return None
        network = answer.network
        return NetworkInfo(
            asn=answer.autonomous_system_number,
            organization=answer.autonomous_system_organization or "",
            network=str(network) if network is not None else "",
        )


class InMemoryGeoLookup:
    """GeoLookup over a table of CIDRs, for tests; the longest matching prefix wins.

    Unlike :class:`MaxMindGeoLookup` it answers for private ranges too, so a
    test can place ``10.0.0.0/8`` wherever it likes.
    """

    def __init__(self, table: Mapping[str, GeoAnswer]) -> None:
        entries = [(ipaddress.ip_network(cidr), answer) for cidr, answer in table.items()]
        entries.sort(key=lambda entry: entry[0].prefixlen, reverse=True)
        self._entries = tuple(entries)

    def lookup(self, ip: str) -> GeoAnswer:
        """The answer of the most specific network containing ``ip``."""
        address = parse_ip(ip)
        for network, answer in self._entries:
            if address.version == network.version and address in network:
                return answer
        return _NOTHING

    def describe(self) -> dict[str, str]:
        """Provenance: an in-memory table of so many networks."""
        return {"kind": "in-memory", "networks": str(len(self._entries))}


if TYPE_CHECKING:
    _MAXMIND: type[GeoLookup] = MaxMindGeoLookup
    _IN_MEMORY: type[GeoLookup] = InMemoryGeoLookup


def _open(path: Path, accepted_types: tuple[str, ...]) -> geoip2.database.Reader:
    if not path.is_file():
        raise GeoDataError(f"geo database not found: {path}")
    try:
        reader = geoip2.database.Reader(str(path))
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise GeoDataError(f"cannot read geo database {path}: {exc}") from exc
    database_type = reader.metadata().database_type
    if not any(kind in database_type for kind in accepted_types):
        reader.close()
        wanted = " or ".join(accepted_types)
        raise GeoDataError(f"{path} is a {database_type!r} database, expected {wanted}")
    return reader


def _describe_reader(role: str, path: Path, reader: geoip2.database.Reader) -> dict[str, str]:
    metadata = reader.metadata()
    built = datetime.fromtimestamp(metadata.build_epoch, tz=UTC)
    return {
        f"{role}_path": str(path),
        f"{role}_database_type": metadata.database_type,
        f"{role}_build_date": built.date().isoformat(),
    }
