"""User-Agent parsing: browser, OS and device class of an attempt.

Families and versions come from ua-parser 1.x (the uap-core rules); the
device class, which uap-core does not give, is derived here from its device
and OS answers plus a few substrings, using the classes of the RBA dataset
(Wiefling et al., ACM TOPS 2022): mobile, desktop, tablet, bot, unknown.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Final, Protocol

import ua_parser
from ua_parser.core import OS, Device, Domain, Matchers, UserAgent

from riskscore.core.enrichment import DeviceType, UserAgentInfo

DEFAULT_CACHE_SIZE: Final = 20000
# Real User-Agents stay far below this; uap-core's regexes cost grows with the
# input, so a hostile multi-kilobyte header is cut before matching.
MAX_USER_AGENT_LENGTH: Final = 1024
# ua-parser's name for a failed match, which the RBA dataset's columns also use.
OTHER: Final = "Other"

_CONTROL_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_BOT_PATTERN: Final = re.compile(
    r"(?<!cu)bot\b|bot/|crawl|spider|slurp|scrape|headless|phantomjs|facebookexternalhit"
    r"|bingpreview|mediapartners|python-requests|python-urllib|curl/|wget/"
    r"|libwww-perl|go-http-client|httpclient|java/",
    re.IGNORECASE,
)
_DESKTOP_OS: Final = frozenset(
    {
        "Windows",
        "Mac OS X",
        "macOS",
        "Linux",
        "Chrome OS",
        "Ubuntu",
        "Kubuntu",
        "Debian",
        "Fedora",
        "Red Hat",
        "SUSE",
        "openSUSE",
        "Mint",
        "Linux Mint",
        "Arch Linux",
        "Gentoo",
        "Mandriva",
        "Slackware",
        "CentOS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
        "Chromecast Linux",
    }
)
_MOBILE_OS: Final = frozenset(
    {
        "iOS",
        "Windows Phone",
        "Windows Mobile",
        "KaiOS",
        "Firefox OS",
        "BlackBerry OS",
        "Symbian OS",
        "Symbian^3",
        "Tizen",
        "Sailfish",
        "webOS",
    }
)
_TABLET_DEVICES: Final = ("iPad", "Tablet", "Kindle")
_PHONE_DEVICES: Final = ("Phone", "Smartphone", "iPod")


class UserAgentParser(Protocol):
    """Turns a User-Agent header into browser, OS and device class."""

    def parse(self, user_agent: str) -> UserAgentInfo:
        """Parse ``user_agent``; an empty string gives ``UserAgentInfo()``."""
        ...


class UaParserAdapter:
    """UserAgentParser over ua-parser, with the fastest resolver installed and an LRU cache.

    ua-parser picks ``ua-parser-rs`` (the ``ua-parser[regex]`` extra) or
    ``google-re2`` when present, and its pure-Python matcher otherwise;
    :attr:`resolver_name` says which one is in use.
    """

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._parser = ua_parser.Parser(ua_parser.BestAvailableResolver(_matchers()))
        self.resolver_name = f"{ua_parser.BestAvailableResolver.__module__}.Resolver"
        # Sign-ins from one browser repeat the same header, so parses are
        # memoised per raw string.
        self._cached_parse = functools.lru_cache(maxsize=cache_size)(self._parse)

    def parse(self, user_agent: str) -> UserAgentInfo:
        """Browser, OS and device class of ``user_agent``."""
        return self._cached_parse(user_agent)

    def _parse(self, user_agent: str) -> UserAgentInfo:
        cleaned = clean_user_agent(user_agent)
        if not cleaned:
            return UserAgentInfo()
        result = self._parser(cleaned, Domain.ALL)
        browser, os_, device = result.user_agent, result.os, result.device
        return UserAgentInfo(
            browser_family=browser.family if browser else OTHER,
            browser_version=_version(browser),
            os_family=os_.family if os_ else OTHER,
            os_version=_version(os_),
            device_type=classify_device(cleaned, os_, device),
        )


if TYPE_CHECKING:
    _ADAPTER: type[UserAgentParser] = UaParserAdapter


def clean_user_agent(user_agent: str) -> str:
    """Drop control characters and surrounding space, and cap the length."""
    return _CONTROL_CHARACTERS.sub("", user_agent[:MAX_USER_AGENT_LENGTH]).strip()


def classify_device(user_agent: str, os_: OS | None, device: Device | None) -> DeviceType:
    """The device class from ua-parser's OS and device answers and the raw string."""
    device_family = device.family if device else ""
    brand = device.brand if device else None
    os_family = os_.family if os_ else ""
    if device_family == "Spider" or (brand is None and _BOT_PATTERN.search(user_agent)):
        return DeviceType.BOT
    if (
        any(marker in device_family for marker in _TABLET_DEVICES)
        or "iPad" in user_agent
        # Android's UA convention: phones say "Mobile", tablets do not.
        or (os_family == "Android" and "Mobile" not in user_agent)
    ):
        return DeviceType.TABLET
    if (
        any(marker in device_family for marker in _PHONE_DEVICES)
        or os_family in _MOBILE_OS
        or os_family == "Android"
        or "Mobile" in user_agent
    ):
        return DeviceType.MOBILE
    if os_family in _DESKTOP_OS:
        return DeviceType.DESKTOP
    # A named handset on an OS not listed above (uap-core names brands of
    # phones far more often than of anything else).
    if brand is not None and device_family not in ("", OTHER):
        return DeviceType.MOBILE
    return DeviceType.UNKNOWN


def _version(part: UserAgent | OS | None) -> str:
    """``major.minor.patch``, as far as the parts are present."""
    if part is None:
        return ""
    pieces: list[str] = []
    for piece in (part.major, part.minor, part.patch):
        if not piece:
            break
        pieces.append(piece)
    return ".".join(pieces)


def _matchers() -> Matchers:
    # Mirrors ua_parser's own default: the accelerated resolvers compile the
    # rules themselves, so they take the cheaper lazily-compiled matchers.
    if ua_parser.RegexResolver is not None or ua_parser.Re2Resolver is not None:
        return ua_parser.load_lazy_builtins()
    return ua_parser.load_builtins()
