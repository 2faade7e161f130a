"""What the adapters found out about an attempt: place, network, device."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


@dataclass(frozen=True, slots=True)
class Enrichment:
    """Everything looked up for one attempt."""

    geo: Place | None = None
    network: NetworkInfo | None = None
    user_agent: UserAgentInfo = UserAgentInfo()


def _join(name: str, version: str) -> str:
    return f"{name} {version}".strip() if name else ""
