"""Builders of observations and attempt records for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskscore.core import features as f
from riskscore.core.attempt import EventType
from riskscore.core.enrichment import Place
from riskscore.core.features import Observation
from riskscore.core.result import Decision, RiskLevel
from riskscore.stores.base import AttemptRecord

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_obs(
    ip: str = "84.208.0.1",
    asn: str = "AS2119",
    country: str = "NO",
    ua: str = "Mozilla/5.0 Firefox/120.0",
    browser: str = "Firefox 120.0",
    os_: str = "Windows 10",
    device_type: str = "desktop",
    device_key: str = "",
    at: datetime = T0,
    city: str = "Oslo",
    network_type: str = "",
    network_source: str = "",
) -> Observation:
    """An observation with the given columns (derived columns filled consistently)."""
    values = {
        f.IP: ip,
        f.ASN: asn,
        f.COUNTRY: country,
        f.REGION: f.region_key(country, "Oslo County") if country else "",
        f.CITY: f.city_key(country, "Oslo County", city) if country else "",
        f.UA: ua,
        f.BROWSER: browser,
        f.OS: os_,
        f.DEVICE_TYPE: device_type,
        f.DEVICE: f.device_key_of(browser.split(" ")[0], os_.split(" ")[0], device_type)
        if browser
        else "",
        f.DEVICE_KEY: device_key,
        f.HOUR: f.hour_key(at),
    }
    place = Place(country=country, city=city, latitude=59.9, longitude=10.7, accuracy_radius_km=20)
    return Observation(
        values=values,
        place=place,
        timestamp=at,
        ip_address=ip,
        network_type=network_type,
        network_source=network_source,
    )


def make_record(
    event_id: str,
    obs: Observation,
    pool: str = "eu-west-1_pool",
    user: str = "alice",
    created: datetime | None = None,
) -> AttemptRecord:
    """A scored attempt around an observation."""
    return AttemptRecord(
        event_id=event_id,
        pool_id=pool,
        username=user,
        event_type=EventType.SIGN_IN,
        created=created or obs.timestamp,
        observation=obs,
        risk_score=0.1,
        risk_level=RiskLevel.LOW,
        decision=Decision.NO_ACTION,
    )


def minutes(n: int) -> timedelta:
    """A short duration."""
    return timedelta(minutes=n)
