"""One definition of the feature columns, shared by the online and batch paths.

An attempt plus its enrichment becomes an :class:`Observation`: named string
columns (the values the profile counts) and the place it came from. The
profile and the scorer only ever see these columns, so a log that already has
them (the RBA dataset's ``Country``, ``ASN``, ``Browser Name and Version``...)
is scored by exactly the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from riskscore.core.attempt import Attempt
from riskscore.core.enrichment import Enrichment, NetworkClass, NetworkInfo, Place, UserAgentInfo

IP: Final = "ip"
ASN: Final = "asn"
COUNTRY: Final = "country"
REGION: Final = "region"
CITY: Final = "city"
UA: Final = "ua"
BROWSER: Final = "browser"
OS: Final = "os"
DEVICE_TYPE: Final = "device_type"
DEVICE: Final = "device"
DEVICE_KEY: Final = "device_key"
# Hour of day (UTC, "00".."23"): the user's sign-in hours, for UNUSUAL_HOUR.
HOUR: Final = "hour"
# The network type (hosting, vpn, tor, mobile, residential_business): which kinds
# of network a user proved sign-ins from, so a habitual VPN user is not a stranger.
NETWORK_TYPE: Final = "network_type"

# Every column a user's profile (and the population) counts over proven sign-ins.
PROFILE_COLUMNS: Final[tuple[str, ...]] = (
    IP,
    ASN,
    COUNTRY,
    REGION,
    CITY,
    UA,
    BROWSER,
    OS,
    DEVICE_TYPE,
    DEVICE,
    DEVICE_KEY,
    HOUR,
    NETWORK_TYPE,
)

# The columns whose value counts a snapshot looks up (every lookup is a SQL
# probe on the hot path): the Freeman hierarchies for the pool, and those
# plus the device and network-type columns the signals read for the user.
# Totals and distinct counts come for every column.
POPULATION_LOOKUPS: Final[tuple[str, ...]] = (IP, ASN, COUNTRY, UA, BROWSER, OS, DEVICE_TYPE)
USER_LOOKUPS: Final[tuple[str, ...]] = (*POPULATION_LOOKUPS, DEVICE, DEVICE_KEY, NETWORK_TYPE)

MISSING: Final = ""


@dataclass(frozen=True, slots=True)
class Observation:
    """The feature columns of one attempt. Missing values are ``""``."""

    values: dict[str, str]
    place: Place
    timestamp: datetime
    ip_address: str
    rtt_ms: float | None = None
    # The NetworkType value ("hosting", "vpn", ...); "" when not classified.
    network_type: str = MISSING
    # Which source classified it and what matched, as network_source_of() joins them.
    network_source: str = MISSING
    # The deny list the IP is on, the matching CIDR and the list's category.
    reputation_list: str = MISSING
    reputation_cidr: str = MISSING
    reputation_category: str = MISSING

    def get(self, column: str) -> str:
        """The value of one column (``""`` when missing)."""
        return self.values.get(column, MISSING)


def asn_key(asn: int | None, organization: str = "") -> str:
    """The ASN column: ``AS<number>``, or the organisation when no number is known.

    The packaged ASN data (built from geoip2fast) carries organisations only;
    a user-supplied GeoLite2-ASN file gives numbers, as the RBA dataset does.
    """
    if asn is not None:
        return f"AS{asn}"
    return f"org:{organization.strip().lower()}" if organization.strip() else MISSING


def region_key(country: str, region: str) -> str:
    """Regions are only meaningful inside their country."""
    return f"{country}/{region}" if country and region else MISSING


def city_key(country: str, region: str, city: str) -> str:
    """Cities are only meaningful inside their region."""
    return f"{country}/{region}/{city}" if country and city else MISSING


def hour_key(when: datetime) -> str:
    """The UTC hour of a time, as the profile counts it."""
    return f"{when.astimezone(UTC).hour:02d}"


def device_key_of(browser_family: str, os_family: str, device_type: str) -> str:
    """A device is browser family + OS family + type, versions stripped.

    Versions are left out on purpose: browsers update themselves every few
    weeks, and a device signature that includes the version calls every
    update a new device (see risk-peers.md section 4, quackback PR #525).
    """
    if not (browser_family or os_family):
        return MISSING
    return f"{browser_family}|{os_family}|{device_type}"


def network_source_of(network: NetworkClass) -> str:
    """``<source>/<matched>`` (the source alone when nothing in particular matched).

    The network signals split at the first "/" (a CIDR has one too), so a
    source name must not contain one: file stems, FireHOL names (identifiers)
    and package sources do not.
    """
    if not network.matched:
        return network.source
    return f"{network.source}/{network.matched}"


def place_columns(geo: Place | None, net: NetworkInfo | None) -> dict[str, str]:
    """The columns an IP's geo and network lookups give (ASN, country, region, city)."""
    country = geo.country if geo else MISSING
    region = geo.region if geo else MISSING
    city = geo.city if geo else MISSING
    return {
        ASN: asn_key(net.asn, net.organization) if net else MISSING,
        COUNTRY: country,
        REGION: region_key(country, region),
        CITY: city_key(country, region, city),
    }


def device_columns(user_agent: str, ua: UserAgentInfo) -> dict[str, str]:
    """The columns a parsed User-Agent gives (all missing without a User-Agent)."""
    if not user_agent:
        return {UA: MISSING, BROWSER: MISSING, OS: MISSING, DEVICE_TYPE: MISSING, DEVICE: MISSING}
    return {
        UA: user_agent,
        BROWSER: ua.browser,
        OS: ua.os,
        DEVICE_TYPE: ua.device_type.value,
        DEVICE: device_key_of(ua.browser_family, ua.os_family, ua.device_type.value),
    }


def observe(attempt: Attempt, enrichment: Enrichment) -> Observation:
    """Derive the feature columns of an online attempt."""
    geo = enrichment.geo
    network_class = enrichment.network_class
    listed = enrichment.reputation
    values = {
        IP: attempt.ip_address,
        **place_columns(geo, enrichment.network),
        **device_columns(attempt.user_agent, enrichment.user_agent),
        DEVICE_KEY: attempt.device_key,
        HOUR: hour_key(attempt.timestamp),
        NETWORK_TYPE: network_class.type.value if network_class else MISSING,
    }
    return Observation(
        values=values,
        place=geo or Place(),
        timestamp=attempt.timestamp,
        ip_address=attempt.ip_address,
        rtt_ms=attempt.rtt_ms,
        network_type=network_class.type.value if network_class else MISSING,
        network_source=network_source_of(network_class) if network_class else MISSING,
        reputation_list=listed.list_name if listed else MISSING,
        reputation_cidr=listed.cidr if listed else MISSING,
        reputation_category=listed.category if listed else MISSING,
    )
