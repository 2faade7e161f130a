"""What the adapters found out about an attempt: place, network, device, reputation.

The network-type and deny-list answers are declared here, not next to their
classifiers in ``riskscore.enrich``, so the core can carry them without
importing an adapter; the adapters re-export them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final


class DeviceType(enum.Enum):
    """Device classes, as the RBA dataset labels them."""

    MOBILE = "mobile"
    DESKTOP = "desktop"
    TABLET = "tablet"
    BOT = "bot"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Place:
    """Where an attempt came from (a MaxMind City answer); any part may be missing."""

    country: str = ""
    region: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    accuracy_radius_km: float | None = None


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """The autonomous system the IP is announced from."""

    asn: int | None = None
    organization: str = ""
    network: str = ""


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """A parsed User-Agent string."""

    browser_family: str = ""
    browser_version: str = ""
    os_family: str = ""
    os_version: str = ""
    device_type: DeviceType = DeviceType.UNKNOWN

    @property
    def browser(self) -> str:
        """Browser name and version, as the RBA dataset's column has it."""
        return _join(self.browser_family, self.browser_version)

    @property
    def os(self) -> str:
        """OS name and version, as the RBA dataset's column has it."""
        return _join(self.os_family, self.os_version)


class NetworkType(enum.Enum):
    """Kinds of network, most suspicious first."""

    TOR = "tor"
    VPN = "vpn"
    HOSTING = "hosting"
    MOBILE = "mobile"
    RESIDENTIAL_BUSINESS = "residential_business"
    UNKNOWN = "unknown"

    @property
    def reason(self) -> str | None:
        """The reason code this type raises, if any."""
        return _REASONS.get(self)


_REASONS: Final = {
    NetworkType.TOR: "TOR_EXIT",
    NetworkType.VPN: "ANONYMIZING_NETWORK",
    NetworkType.HOSTING: "HOSTING_NETWORK",
}


@dataclass(frozen=True, slots=True)
class NetworkClass:
    """The type of an address's network, where that came from and what matched."""

    type: NetworkType
    source: str = ""
    matched: str = ""

    def evidence(self, ip: str) -> dict[str, str]:
        """The evidence for the type's reason code."""
        return {"ip": ip, "network_type": self.type.value, "matches": self.matched} | (
            {"source": self.source} if self.source else {}
        )


REPUTATION_REASON: Final = "MALICIOUS_IP"
DEFAULT_CATEGORY: Final = "malicious"


@dataclass(frozen=True, slots=True)
class ReputationMatch:
    """An address found on a deny list."""

    list_name: str
    cidr: str
    category: str = DEFAULT_CATEGORY
    source: str = ""

    def evidence(self, ip: str) -> dict[str, str]:
        """The evidence for a MALICIOUS_IP reason, shaped like Auth0's UntrustedIP."""
        return {
            "ip": ip,
            "matches": self.cidr,
            "list": self.list_name,
            "source": self.source,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True)
class Enrichment:
    """Everything looked up for one attempt."""

    geo: Place | None = None
    network: NetworkInfo | None = None
    user_agent: UserAgentInfo = UserAgentInfo()
    # None when no classifier / deny list is configured, or (reputation) no match.
    network_class: NetworkClass | None = None
    reputation: ReputationMatch | None = None


def _join(name: str, version: str) -> str:
    return f"{name} {version}".strip() if name else ""
