"""Scripted clients: empty or malformed User-Agents, HTTP libraries, headless browsers."""

from __future__ import annotations

import re
from typing import Final

from riskscore.core import features as f
from riskscore.core.features import Observation
from riskscore.core.result import Reason
from riskscore.signals.base import SignalOutcome

# Libraries and automation that announce themselves; real browsers never send these.
SCRIPTED: Final = re.compile(
    r"python-requests|python-urllib|aiohttp|httpx|\bcurl/|\bwget/|go-http-client|okhttp"
    r"|\bjava/|apache-httpclient|libwww-perl|node-fetch|axios/|undici|scrapy|postmanruntime"
    r"|headlesschrome|phantomjs|selenium|puppeteer|playwright|\bbot\b|crawler|spider",
    re.IGNORECASE | re.ASCII,
)
# ASCII classes (re.ASCII) so batch scoring's RE2 (pyarrow) matches exactly the same strings.
BROWSER_SHAPE: Final = re.compile(r"^[\x20-\x7e]+/[\w.]+", re.ASCII)


def classify(user_agent: str, device_type: str) -> str:
    """Why this UA looks scripted ("" when it does not)."""
    if not user_agent:
        return "empty"
    if device_type == "bot":
        return "declared_bot"
    if match := SCRIPTED.search(user_agent):
        return match.group(0).lower().strip("/")
    if not BROWSER_SHAPE.match(user_agent):
        return "malformed"
    return ""


def bot_user_agent(obs: Observation, log_factor: float) -> SignalOutcome:
    """BOT_USER_AGENT for clients that are not a person's browser."""
    ua = obs.get(f.UA)
    kind = classify(ua, obs.get(f.DEVICE_TYPE))
    if not kind:
        return SignalOutcome(features={"bot_user_agent": 0.0})
    reason = Reason(
        "BOT_USER_AGENT",
        "The client looks scripted (an HTTP library, a headless browser, or no real "
        "User-Agent), not a person's browser.",
        log_factor,
        {"kind": kind, "user_agent": ua[:200]},
    )
    return SignalOutcome(features={"bot_user_agent": 1.0}, reasons=(reason,), log_factor=log_factor)
