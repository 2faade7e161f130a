"""Impossible travel, with the false positives peers complain about."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from riskscore.core.enrichment import Place
from riskscore.core.features import Observation
from riskscore.core.profile import LastLogin
from riskscore.signals.base import TravelSettings
from riskscore.signals.travel import distance_km, impossible_travel
from tests.builders import T0, make_obs

OSLO = Place("NO", "Oslo County", "Oslo", 59.905, 10.7487, 20)
STAVANGER = Place("NO", "Rogaland", "Stavanger", 58.9701, 5.7333, 5)
SYDNEY = Place("AU", "New South Wales", "Sydney", -33.8699, 151.2025, 20)
SYDNEY_COARSE = Place("AU", "", "", -33.494, 143.2104, 1000)
SETTINGS = TravelSettings()


def at(place: Place, hours: float) -> Observation:
    return replace(make_obs(at=T0 + timedelta(hours=hours)), place=place, ip_address="203.0.113.9")


def last_in(place: Place) -> LastLogin:
    return LastLogin(T0, "84.208.0.1", place)


def test_distance_is_within_half_a_percent_of_the_geodesic() -> None:
    # Oslo-Sydney is about 15,940 km on the WGS84 ellipsoid.
    km = distance_km((59.905, 10.7487), (-33.8699, 151.2025))
    assert km == pytest.approx(15_940, rel=0.005)


def test_oslo_then_sydney_two_hours_later() -> None:
    out = impossible_travel(at(SYDNEY, 2), last_in(OSLO), SETTINGS)
    (reason,) = out.reasons
    assert reason.code == "IMPOSSIBLE_TRAVEL"
    assert reason.evidence["previous_city"] == "Oslo"
    assert reason.evidence["previous_ip"] == "84.208.0.1"
    assert reason.evidence["city"] == "Sydney"
    assert reason.evidence["country"] == "AU"
    assert float(reason.evidence["speed_kmh"]) > 7000
    assert out.log_factor > SETTINGS.log_factor
    assert out.features["travel_distance_km"] > 15_000


def test_imprecise_places_count_less() -> None:
    precise = impossible_travel(at(SYDNEY, 2), last_in(OSLO), SETTINGS)
    coarse = impossible_travel(at(SYDNEY_COARSE, 2), last_in(OSLO), SETTINGS)
    assert coarse.reasons[0].evidence["precision"] == "low"
    assert 0 < coarse.log_factor < precise.log_factor


@pytest.mark.parametrize(
    ("place", "hours"),
    [
        (SYDNEY, 30),  # a long flight
        (STAVANGER, 0.2),  # domestic, under the minimum distance
        (OSLO, 0.01),  # same place (DHCP change, mobile churn)
    ],
)
def test_plausible_journeys_are_not_flagged(place: Place, hours: float) -> None:
    out = impossible_travel(at(place, hours), last_in(OSLO), SETTINGS)
    assert out.reasons == ()
    assert out.log_factor == 0.0


def test_no_history_or_no_location_is_not_travel() -> None:
    assert impossible_travel(at(SYDNEY, 1), None, SETTINGS).reasons == ()
    unknown = Place()
    assert impossible_travel(at(unknown, 1), last_in(OSLO), SETTINGS).reasons == ()
