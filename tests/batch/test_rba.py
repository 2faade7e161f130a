"""RBA dataset rows become the same feature columns the service derives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskscore.batch.rba import family, observation_from_row
from riskscore.core import features as f

ROW = {
    "index": "100001",
    "Login Timestamp": "2020-02-04 17:14:41.073",
    "User ID": "2073732946649545427",
    "Round-Trip Time [ms]": "",
    "IP Address": "80.211.253.234",
    "Country": "PL",
    "Region": "Mazovia",
    "City": "Warsaw",
    "ASN": "205727",
    "User Agent String": "Mozilla/5.0 (X11; Linux aarch64) Chrome/86.0.4240.991.994.121",
    "Browser Name and Version": "Chrome 86.0.4240.991.994",
    "OS Name and Version": "Chromecast 1.52.251747",
    "Device Type": "desktop",
    "Login Successful": "False",
    "Is Attack IP": "True",
    "Is Account Takeover": "False",
}


def test_row_to_observation() -> None:
    obs = observation_from_row(ROW)
    assert obs.values[f.IP] == "80.211.253.234"
    assert obs.values[f.ASN] == "AS205727"
    assert obs.values[f.REGION] == "PL/Mazovia"
    assert obs.values[f.CITY] == "PL/Mazovia/Warsaw"
    assert obs.values[f.DEVICE] == "Chrome|Chromecast|desktop"
    assert obs.timestamp == datetime(2020, 2, 4, 17, 14, 41, 73000, tzinfo=UTC)
    assert obs.rtt_ms is None


def test_placeholders_and_rtt() -> None:
    row = {**ROW, "Region": "-", "City": "-", "Round-Trip Time [ms]": "540"}
    obs = observation_from_row(row)
    assert obs.values[f.REGION] == ""
    assert obs.values[f.CITY] == ""
    assert obs.rtt_ms == 540.0


def test_labels_are_not_read() -> None:
    without = {k: v for k, v in ROW.items() if not k.startswith("Is ")}
    assert observation_from_row(without) == observation_from_row(ROW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chrome Mobile 79.0.3945", "Chrome Mobile"),
        ("Mac OS X 10.14.6", "Mac OS X"),
        ("Other", "Other"),
    ],
)
def test_family_strips_the_version(text: str, expected: str) -> None:
    assert family(text) == expected
