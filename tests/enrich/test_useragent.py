"""User-Agent parsing: families, versions, device classes, and the RBA dataset's labels."""

from __future__ import annotations

import csv
import gzip
import time
from pathlib import Path

import pytest
from ua_parser.core import OS

from riskscore.core.enrichment import DeviceType, UserAgentInfo
from riskscore.enrich.useragent import (
    MAX_USER_AGENT_LENGTH,
    UaParserAdapter,
    classify_device,
    clean_user_agent,
)

RBA_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "rba-sample-100k.csv.gz"

WIN_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.6099.130 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(scope="module")
def parser() -> UaParserAdapter:
    return UaParserAdapter()


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (
            WIN_CHROME,
            UserAgentInfo("Chrome", "120.0.6099", "Windows", "10", DeviceType.DESKTOP),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.2 Safari/605.1.15",
            UserAgentInfo("Safari", "17.2", "Mac OS X", "10.15.7", DeviceType.DESKTOP),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            UserAgentInfo("Firefox", "121.0", "Linux", "", DeviceType.DESKTOP),
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            UserAgentInfo("Chrome", "120.0.0", "Chrome OS", "14541.0.0", DeviceType.DESKTOP),
        ),
        (
            IPHONE,
            UserAgentInfo("Mobile Safari", "17.2", "iOS", "17.2", DeviceType.MOBILE),
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            UserAgentInfo("Mobile Safari", "16.6", "iOS", "16.6", DeviceType.TABLET),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
            UserAgentInfo("Chrome Mobile", "120.0.6099", "Android", "14", DeviceType.MOBILE),
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/120.0.6099.144 Safari/537.36",
            UserAgentInfo("Chrome", "120.0.6099", "Android", "13", DeviceType.TABLET),
        ),
        (
            "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36",
            UserAgentInfo("Amazon Silk", "120.3.1", "Android", "11", DeviceType.TABLET),
        ),
        (
            "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; "
            "rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X "
            "AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537",
            UserAgentInfo("IE Mobile", "11.0", "Windows Phone", "8.1", DeviceType.MOBILE),
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            UserAgentInfo("Googlebot", "2.1", "Other", "", DeviceType.BOT),
        ),
        ("curl/8.4.0", UserAgentInfo("curl", "8.4.0", "Other", "", DeviceType.BOT)),
        (
            "python-requests/2.31.0",
            UserAgentInfo("Python Requests", "2.31", "Other", "", DeviceType.BOT),
        ),
        ("xyz", UserAgentInfo("Other", "", "Other", "", DeviceType.UNKNOWN)),
        ("", UserAgentInfo()),
        ("  \t\x00 ", UserAgentInfo()),
    ],
)
def test_parse(parser: UaParserAdapter, user_agent: str, expected: UserAgentInfo) -> None:
    assert parser.parse(user_agent) == expected


def test_cubot_phone_is_not_a_bot(parser: UaParserAdapter) -> None:
    cubot = (
        "Mozilla/5.0 (Linux; Android 10; CUBOT X19) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/96.0.4664.45 Mobile Safari/537.36"
    )

    assert parser.parse(cubot).device_type is DeviceType.MOBILE
    # Even when the rules do not recognise the brand.
    assert classify_device(cubot, OS("Android"), None) is DeviceType.MOBILE


def test_control_characters_are_stripped(parser: UaParserAdapter) -> None:
    assert clean_user_agent("\x00 Mozilla\x1b/5.0\x7f \n") == "Mozilla/5.0"
    assert parser.parse(f"\x00{IPHONE}\r\n") == parser.parse(IPHONE)


def test_oversized_header_is_cut_before_matching(parser: UaParserAdapter) -> None:
    huge = WIN_CHROME + " x" * 100_000

    started = time.perf_counter()
    info = parser.parse(huge)
    elapsed = time.perf_counter() - started

    assert len(clean_user_agent(huge)) <= MAX_USER_AGENT_LENGTH
    assert info.browser_family == "Chrome"
    assert elapsed < 2.0


def test_parses_are_cached(parser: UaParserAdapter) -> None:
    assert parser.parse(WIN_CHROME) is parser.parse(WIN_CHROME)


def test_resolver_is_named(parser: UaParserAdapter) -> None:
    assert parser.resolver_name.startswith("ua_parser.")


def _rba_rows(limit: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with gzip.open(RBA_SAMPLE, "rt", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["User Agent String"].strip():
                rows.append((row["User Agent String"], row["Device Type"]))
            if len(rows) == limit:
                break
    return rows


@pytest.mark.skipif(not RBA_SAMPLE.is_file(), reason="shared RBA sample not present")
def test_device_type_mostly_agrees_with_the_rba_dataset(parser: UaParserAdapter) -> None:
    rows = _rba_rows(2000)

    agree = sum(parser.parse(ua).device_type.value == label for ua, label in rows)

    # Measured 0.7495. Most disagreements are the dataset calling iPads and
    # Android tablets "mobile"; with tablet folded into mobile it is 0.96.
    assert len(rows) == 2000
    assert agree / len(rows) >= 0.72
