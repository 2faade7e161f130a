"""Velocity reasons from the store's windows."""

from __future__ import annotations

import pytest

from riskscore.core.profile import History, ProfileSnapshot
from riskscore.core.velocity import WindowCounts
from riskscore.signals.base import VelocitySettings
from riskscore.signals.velocity import velocity

SETTINGS = VelocitySettings()


def codes(window: WindowCounts) -> set[str]:
    snap = ProfileSnapshot(user=History(), population=History(), users=0, window=window)
    return {r.code for r in velocity(snap, SETTINGS).reasons}


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (WindowCounts(), set()),
        (WindowCounts(user_failures=4), set()),
        (WindowCounts(user_failures=5), {"USER_FAILURE_VELOCITY"}),
        (WindowCounts(ip_users=10, ip_attempts=10), {"IP_SPRAY"}),
        (WindowCounts(ip_failures=10, ip_attempts=12, ip_users=3), {"IP_STUFFING"}),
        # Many failures but most attempts succeed: a busy office NAT, not stuffing.
        (WindowCounts(ip_failures=10, ip_attempts=40, ip_users=5), set()),
        (
            WindowCounts(ip_failures=50, ip_attempts=50, ip_users=50),
            {"IP_SPRAY", "IP_STUFFING"},
        ),
    ],
)
def test_thresholds(window: WindowCounts, expected: set[str]) -> None:
    assert codes(window) == expected


def test_factor_grows_with_the_excess_and_is_capped() -> None:
    def factor(n: int) -> float:
        snap = ProfileSnapshot(
            user=History(), population=History(), users=0, window=WindowCounts(user_failures=n)
        )
        return velocity(snap, SETTINGS).log_factor

    assert 0 < factor(5) < factor(10) < factor(1000)
    assert factor(10**6) == SETTINGS.max_log_factor


def test_evidence_names_counts_and_window() -> None:
    snap = ProfileSnapshot(
        user=History(),
        population=History(),
        users=0,
        window=WindowCounts(ip_failures=30, ip_attempts=30, ip_users=30),
    )
    stuffing = next(r for r in velocity(snap, SETTINGS).reasons if r.code == "IP_STUFFING")
    assert stuffing.evidence == {
        "failures": "30",
        "attempts": "30",
        "users": "30",
        "window": "10 min",
    }
