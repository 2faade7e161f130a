"""UNUSUAL_HOUR from circular statistics of the user's sign-in hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskscore.signals.base import HourSettings
from riskscore.signals.hours import circular_summary, hour_distance, unusual_hour
from tests.builders import make_obs

SETTINGS = HourSettings()


def hist(**by_hour: int) -> tuple[int, ...]:
    hours = [0] * 24
    for h, n in by_hour.items():
        hours[int(h[1:])] = n
    return tuple(hours)


def at_hour(hour: int) -> object:
    return make_obs(at=datetime(2026, 1, 5, hour, 30, tzinfo=UTC))


def test_circular_mean_wraps_around_midnight() -> None:
    mean, r = circular_summary(hist(h23=10, h0=10, h1=10))
    assert hour_distance(mean, 0.0) < 0.01
    assert r > 0.9


def test_office_worker_at_three_in_the_morning() -> None:
    office = hist(h8=20, h9=30, h10=10, h13=10, h16=10)
    out = unusual_hour(at_hour(3), office, SETTINGS)  # type: ignore[arg-type]
    (reason,) = out.reasons
    assert reason.code == "UNUSUAL_HOUR"
    assert reason.evidence["hour_utc"] == "03"
    assert reason.evidence["usual_hour_utc"] in {"09", "10"}
    assert out.log_factor == pytest.approx(SETTINGS.log_factor)


@pytest.mark.parametrize(
    ("hours", "hour"),
    [
        (hist(h8=20, h9=30, h10=10), 11),  # next to the habit
        (hist(h9=5), 3),  # too little history
        (tuple([4] * 24), 3),  # signs in at all hours: no routine
        ((), 3),  # no history at all
    ],
)
def test_no_reason(hours: tuple[int, ...], hour: int) -> None:
    assert unusual_hour(at_hour(hour), hours, SETTINGS).reasons == ()  # type: ignore[arg-type]
