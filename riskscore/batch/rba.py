"""The public RBA dataset's layout (Wiefling et al., ACM TOPS 2022) as observations.

The dataset already carries the looked-up columns (country, region, city,
ASN, parsed browser / OS / device type), so a row maps to an Observation
without any enrichment. Label columns are never read here. The dataset has
no network type or deny-list match, so those observation fields stay empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from riskscore.core import features as f
from riskscore.core.enrichment import Place
from riskscore.core.features import Observation

TIMESTAMP: Final = "Login Timestamp"
USER: Final = "User ID"
RTT: Final = "Round-Trip Time [ms]"
IP: Final = "IP Address"
COUNTRY: Final = "Country"
REGION: Final = "Region"
CITY: Final = "City"
ASN: Final = "ASN"
UA: Final = "User Agent String"
BROWSER: Final = "Browser Name and Version"
OS: Final = "OS Name and Version"
DEVICE_TYPE: Final = "Device Type"
SUCCESS: Final = "Login Successful"
LABELS: Final = ("Is Attack IP", "Is Account Takeover", "attack_kind")

_VERSION = re.compile(r"\s+\d.*$")


def family(name_and_version: str) -> str:
    """'Chrome Mobile 79.0.3945' -> 'Chrome Mobile': the name without its version."""
    return _VERSION.sub("", name_and_version.strip())


def _clean(value: str | None) -> str:
    # The dataset writes "-" where it has no region or city.
    value = (value or "").strip()
    return "" if value in ("-", "nan") else value


def observation_from_row(row: Mapping[str, str]) -> Observation:
    """One RBA row as the feature columns the profile and scorer use."""
    country = _clean(row.get(COUNTRY))
    region = _clean(row.get(REGION))
    city = _clean(row.get(CITY))
    asn = _clean(row.get(ASN))
    browser = _clean(row.get(BROWSER))
    os_ = _clean(row.get(OS))
    device_type = _clean(row.get(DEVICE_TYPE))
    ua = _clean(row.get(UA))
    rtt = _clean(row.get(RTT))
    when = datetime.fromisoformat(row[TIMESTAMP])
    values = {
        f.IP: _clean(row.get(IP)),
        f.ASN: f.asn_key(int(float(asn))) if asn else "",
        f.COUNTRY: country,
        f.REGION: f.region_key(country, region),
        f.CITY: f.city_key(country, region, city),
        f.UA: ua,
        f.BROWSER: browser,
        f.OS: os_,
        f.DEVICE_TYPE: device_type,
        f.DEVICE: f.device_key_of(family(browser), family(os_), device_type),
        f.DEVICE_KEY: "",
        f.HOUR: f.hour_key(when if when.tzinfo else when.replace(tzinfo=UTC)),
    }
    return Observation(
        values=values,
        place=Place(country=country, region=region, city=city),
        timestamp=when if when.tzinfo else when.replace(tzinfo=UTC),
        ip_address=values[f.IP],
        rtt_ms=float(rtt) if rtt else None,
    )
