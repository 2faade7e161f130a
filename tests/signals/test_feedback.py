"""FEEDBACK_ATTACKER_MATCH: user marks are strong and lasting, pool marks decay by half-life."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from riskscore.core.profile import AttackerMark
from riskscore.signals.base import FeedbackSettings
from riskscore.signals.feedback import CODE, attacker_match
from tests.builders import T0, make_obs

SETTINGS = FeedbackSettings()


def mark(scope: str, kind: str, days_ago: float, reports: int = 1) -> AttackerMark:
    return AttackerMark(scope, kind, "v", T0 - timedelta(days=days_ago), reports)


def test_no_marks_no_effect() -> None:
    outcome = attacker_match(make_obs(), (), SETTINGS)
    assert outcome.log_factor == 0.0
    assert outcome.reasons == ()
    assert outcome.features == {"feedback_user_matches": 0.0, "feedback_pool_weight": 0.0}


@pytest.mark.parametrize(
    ("kinds", "factor"),
    [
        (("ip",), SETTINGS.user_log_factor),
        (("asn", "device"), SETTINGS.user_log_factor),
        (("device",), SETTINGS.user_log_factor / 2),
        (("asn",), SETTINGS.user_log_factor / 2),
    ],
)
def test_user_marks_do_not_decay(kinds: tuple[str, ...], factor: float) -> None:
    marks = tuple(mark("user", k, days_ago=400) for k in kinds)
    outcome = attacker_match(make_obs(), marks, SETTINGS)
    assert outcome.log_factor == pytest.approx(factor)
    (reason,) = outcome.reasons
    assert reason.code == CODE
    assert reason.evidence["user_matched"] == ",".join(kinds)
    assert outcome.features["feedback_user_matches"] == len(kinds)


@pytest.mark.parametrize("days", [0.0, 30.0, 60.0])
def test_pool_marks_halve_every_half_life(days: float) -> None:
    outcome = attacker_match(make_obs(), (mark("pool", "ip", days, reports=3),), SETTINGS)
    weight = 0.5 ** (days / SETTINGS.half_life_days)
    assert outcome.log_factor == pytest.approx(SETTINGS.pool_ip_log_factor * weight)
    assert outcome.features["feedback_pool_weight"] == pytest.approx(weight)
    (reason,) = outcome.reasons
    assert reason.evidence["pool_matched"] == "ip"
    assert reason.evidence["pool_reports"] == "3"


def test_the_stronger_of_user_and_pool_wins_not_both() -> None:
    marks = (mark("user", "ip", 1), mark("pool", "ip", 1), mark("pool", "asn", 1))
    outcome = attacker_match(make_obs(), marks, SETTINGS)
    assert outcome.log_factor == pytest.approx(SETTINGS.user_log_factor)
    assert SETTINGS.pool_asn_log_factor < SETTINGS.pool_ip_log_factor < math.log(20)
