"""Scripted clients and remembered devices."""

from __future__ import annotations

import pytest

from riskscore.core import features as f
from riskscore.core.profile import ColumnStats, History, ProfileSnapshot
from riskscore.signals.bots import bot_user_agent, classify
from riskscore.signals.devices import remembered_device
from tests.builders import make_obs

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"


@pytest.mark.parametrize(
    ("ua", "device_type", "kind"),
    [
        ("", "", "empty"),
        ("python-requests/2.31.0", "other", "python-requests"),
        ("curl/8.4.0", "other", "curl"),
        ("Go-http-client/1.1", "other", "go-http-client"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0 Safari/537.36",
            "desktop",
            "headlesschrome",
        ),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "bot", "declared_bot"),
        ("}{garbage", "", "malformed"),
        (FIREFOX, "desktop", ""),
    ],
)
def test_classify(ua: str, device_type: str, kind: str) -> None:
    assert classify(ua, device_type) == kind


def test_bot_reason_and_feature() -> None:
    out = bot_user_agent(make_obs(ua="curl/8.4.0", device_type="other"), 2.0)
    assert out.reasons[0].code == "BOT_USER_AGENT"
    assert out.features["bot_user_agent"] == 1.0
    assert out.log_factor == 2.0
    assert bot_user_agent(make_obs(ua=FIREFOX), 2.0).reasons == ()


def test_known_device_key_lowers_risk() -> None:
    snap = ProfileSnapshot(
        user=History(logins=3, columns={f.DEVICE_KEY: ColumnStats(2, 3, 1)}),
        population=History(),
        users=1,
    )
    out = remembered_device(make_obs(device_key="eu-west-1_dev1"), snap, -1.6)
    assert out.reasons[0].code == "KNOWN_DEVICE"
    assert out.log_factor == -1.6
    unknown = ProfileSnapshot(user=History(logins=3), population=History(), users=1)
    assert remembered_device(make_obs(device_key="k"), unknown, -1.6).log_factor == 0.0
