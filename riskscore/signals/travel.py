"""Impossible travel from the user's last proven sign-in.

Distance is great-circle (haversine on the mean Earth radius) minus both places'
accuracy radii,
so two imprecise IP locations in one country are not a journey; speed is that
distance over the elapsed time (at least one minute). A hosting, VPN, Tor or
mobile network at either end weakens the evidence: the address's location
moves without the user (risk-peers.md 4).
"""

from __future__ import annotations

import math
from typing import Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from riskscore.core.enrichment import NetworkType, Place
from riskscore.core.features import Observation
from riskscore.core.profile import LastLogin
from riskscore.core.result import Reason
from riskscore.signals.base import SignalOutcome, TravelSettings

Num = TypeVar("Num", float, NDArray[np.float64])

MIN_ELAPSED_HOURS = 1.0 / 60.0
# IUGG mean Earth radius. Haversine is within 0.5% of the WGS84 geodesic, far
# below IP geolocation error, and takes numpy arrays, so batch scoring
# computes the same distances as the service.
EARTH_RADIUS_KM: Final = 6371.0088
# Networks whose IP geolocation says little about where the user is.
RELOCATING_NETWORKS: Final = frozenset(
    t.value for t in (NetworkType.HOSTING, NetworkType.VPN, NetworkType.TOR, NetworkType.MOBILE)
)


def _coordinates(place: Place) -> tuple[float, float] | None:
    if place.latitude is None or place.longitude is None:
        return None
    return place.latitude, place.longitude


def _precise(place: Place, settings: TravelSettings) -> bool:
    radius = place.accuracy_radius_km
    return bool(place.city) and (radius is None or radius <= settings.imprecise_radius_km)


def great_circle_km(lat1: Num, lon1: Num, lat2: Num, lon2: Num) -> Num:
    """Haversine distance in km; accepts floats or numpy arrays (degrees)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))  # type: ignore[no-any-return]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points, in km."""
    return float(great_circle_km(a[0], a[1], b[0], b[1]))


def impossible_travel(
    obs: Observation,
    last: LastLogin | None,
    settings: TravelSettings,
    *,
    habitual_network: bool = False,
) -> SignalOutcome:
    """IMPOSSIBLE_TRAVEL when the user could not have flown here since the last sign-in.

    ``habitual_network``: the user has proven sign-ins from this attempt's kind
    of network before; through a VPN, hosting or carrier gateway that makes a
    far-away exit the user's normal, not a journey, so no reason is given.
    """
    here = obs.place
    to = _coordinates(here)
    start = _coordinates(last.place) if last is not None else None
    if last is None or to is None or start is None or to == start:
        return SignalOutcome(features={"travel_speed_kmh": 0.0, "travel_distance_km": 0.0})
    slack = (here.accuracy_radius_km or 0.0) + (last.place.accuracy_radius_km or 0.0)
    distance = max(distance_km(start, to) - slack, 0.0)
    hours = max((obs.timestamp - last.timestamp).total_seconds() / 3600.0, MIN_ELAPSED_HOURS)
    speed = distance / hours
    features = {"travel_speed_kmh": speed, "travel_distance_km": distance}
    if distance < settings.min_distance_km or speed <= settings.max_speed_kmh:
        return SignalOutcome(features=features)
    precise = _precise(here, settings) and _precise(last.place, settings)
    factor = settings.log_factor if precise else settings.log_factor / 2
    # Faster than a flight by a wide margin is stronger evidence, up to double.
    factor *= min(1.0 + math.log10(speed / settings.max_speed_kmh), 2.0)
    evidence = {
        "previous_ip": last.ip_address,
        "previous_city": last.place.city,
        "previous_country": last.place.country,
        "previous_time": last.timestamp.isoformat(),
        "city": here.city,
        "country": here.country,
        "distance_km": f"{distance:.0f}",
        "hours": f"{hours:.2f}",
        "speed_kmh": f"{speed:.0f}",
    }
    if not precise:
        evidence["precision"] = "low"
    # The attempt's own network first: it is the one the person can check.
    relocating = next(
        (t for t in (obs.network_type, last.network_type) if t in RELOCATING_NETWORKS), ""
    )
    if relocating and habitual_network and obs.network_type in RELOCATING_NETWORKS:
        return SignalOutcome(features=features)
    if relocating:
        factor /= settings.relocating_network_divisor
        evidence["network"] = relocating
    reason = Reason(
        "IMPOSSIBLE_TRAVEL",
        f"{distance:.0f} km from the last sign-in in {hours:.1f} h ({speed:.0f} km/h): "
        "faster than a flight.",
        factor,
        evidence,
    )
    return SignalOutcome(features=features, reasons=(reason,), log_factor=factor)
