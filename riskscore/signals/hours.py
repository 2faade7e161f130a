"""Time of day: a sign-in at an hour this user never keeps.

Hours are angles on a 24-hour circle (circular statistics): the user's mean
hour is the direction of the mean resultant vector, R (0..1) its
concentration. A user who signs in at all hours has a small R and never
gets this reason; people with a routine do. Hours are UTC (the service does
not know the user's zone), which shifts every hour equally and so changes
nothing here. A weak signal by design: shift workers and travellers exist.
"""

from __future__ import annotations

import math
from typing import Final

from riskscore.core import features as f
from riskscore.core.features import Observation
from riskscore.core.result import Reason
from riskscore.signals.base import HourSettings, SignalOutcome

_STEP = 2 * math.pi / 24


# Below this a mean direction is rounding noise (hours that balance out, 0 and 12
# say); both the service and batch scoring call it 0 so they agree on the mean.
NOISE: Final = 1e-12


def snap(x: float) -> float:
    """0 for a component within rounding noise of 0."""
    return 0.0 if abs(x) < NOISE else x


def circular_summary(hours: tuple[int, ...]) -> tuple[float, float]:
    """Mean hour (0..24) and concentration R (0..1) of a 24-bin histogram."""
    n = sum(hours)
    if n == 0:
        return 0.0, 0.0
    c = snap(sum(k * math.cos(h * _STEP) for h, k in enumerate(hours)) / n)
    s = snap(sum(k * math.sin(h * _STEP) for h, k in enumerate(hours)) / n)
    mean = (math.atan2(s, c) / _STEP) % 24
    return mean, math.hypot(c, s)


def hour_distance(a: float, b: float) -> float:
    """Hours between two times of day, the short way round (0..12)."""
    d = abs(a - b) % 24
    return min(d, 24 - d)


def unusual_hour(obs: Observation, hours: tuple[int, ...], settings: HourSettings) -> SignalOutcome:
    """UNUSUAL_HOUR when the hour (and its neighbours) is rare in a routine user's history."""
    key = obs.get(f.HOUR)
    n = sum(hours)
    if not key or n == 0:
        return SignalOutcome(
            features={"hour_share": -1.0, "hour_distance": 0.0, "hour_concentration": 0.0}
        )
    hour = int(key)
    # The hour and its two neighbours: 8:59 and 9:01 are the same habit.
    near = sum(hours[(hour + d) % 24] for d in (-1, 0, 1))
    share = near / n
    mean, concentration = circular_summary(hours)
    distance = hour_distance(hour + 0.5, mean + 0.5)
    features = {
        "hour_share": share,
        "hour_distance": distance,
        "hour_concentration": concentration,
    }
    if (
        n < settings.min_logins
        or concentration < settings.min_concentration
        or share > settings.max_share
        or distance < settings.min_distance_hours
    ):
        return SignalOutcome(features=features)
    reason = Reason(
        "UNUSUAL_HOUR",
        f"Signed in at {hour:02d}:00 UTC; this user usually signs in around "
        f"{int(mean):02d}:00 UTC.",
        settings.log_factor,
        {
            "hour_utc": f"{hour:02d}",
            "usual_hour_utc": f"{int(mean):02d}",
            "share_of_sign_ins_near_this_hour": f"{share:.3f}",
            "sign_ins": str(n),
        },
    )
    return SignalOutcome(features=features, reasons=(reason,), log_factor=settings.log_factor)
