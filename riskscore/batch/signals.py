"""The Freeman terms and every signal, over whole columns.

Each function here is the array twin of one online function and takes its
constants and settings from the same place (core.freeman, signals.*), so a
change of rule shows up in both; tests/batch/test_parity.py replays a log
through the gRPC service and through batch and compares every feature,
score and reason.

Reasons are produced as a weight per code and row (NaN: not given). The
online scorer lists explain()'s reasons, then the signals' in registry
order, and sorts them stably by weight; ``REASON_ORDER`` is that insertion
order, so ranking the weight matrix stably gives the same list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
from numpy.typing import NDArray

from riskscore.batch.grouped import first_rows, pair_codes
from riskscore.batch.profile import Profiles
from riskscore.core import features as f
from riskscore.core import freeman
from riskscore.core.enrichment import REPUTATION_REASON, NetworkType
from riskscore.signals import bots as bot_patterns
from riskscore.signals import hours as hour_rules
from riskscore.signals.base import (
    NetworkSettings,
    SignalSettings,
    TravelSettings,
    VelocitySettings,
)
from riskscore.signals.hours import _STEP
from riskscore.signals.travel import MIN_ELAPSED_HOURS, RELOCATING_NETWORKS, great_circle_km

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

REASON_ORDER: Final = (
    "LOCATION_UNKNOWN",
    "FIRST_SEEN_USER",
    "NEW_IP",
    "NEW_ASN",
    "NEW_COUNTRY",
    "NEW_DEVICE",
    "NEW_USER_AGENT",
    "IMPOSSIBLE_TRAVEL",
    "BOT_USER_AGENT",
    "KNOWN_DEVICE",
    "USER_FAILURE_VELOCITY",
    "IP_SPRAY",
    "IP_STUFFING",
    "UNUSUAL_HOUR",
    "TOR_EXIT",
    "ANONYMIZING_NETWORK",
    "HOSTING_NETWORK",
    REPUTATION_REASON,
)
_NEW_LEVEL: Final = {f.IP: "NEW_IP", f.ASN: "NEW_ASN", f.COUNTRY: "NEW_COUNTRY"}


@dataclass
class Scored:
    """Features, the Freeman raw risk, the signals' summed log factor and reason weights."""

    n: int
    features: dict[str, Floats] = field(default_factory=dict)
    freeman_raw: Floats = field(default_factory=lambda: np.zeros(0))
    log_factor: Floats = field(default_factory=lambda: np.zeros(0))
    reasons: dict[str, Floats] = field(default_factory=dict)

    def give(self, code: str, where: Bools, weight: Floats | float) -> None:
        """Add a reason with ``weight`` on the rows in ``where``."""
        w = np.broadcast_to(np.asarray(weight, dtype=np.float64), (self.n,))
        current = self.reasons.setdefault(code, np.full(self.n, np.nan))
        current[where] = w[where]

    def factor(self, where: Bools, weight: Floats | float) -> None:
        """Multiply the raw risk by exp(weight) on the rows in ``where``."""
        self.log_factor = self.log_factor + np.where(where, weight, 0.0)


def freeman_terms(
    values: dict[str, NDArray[np.object_]], p: Profiles, out: Scored
) -> dict[str, tuple[Floats, list[tuple[str, Bools]]]]:
    """Eq. 7 per hierarchy (core/freeman.py ``_hierarchy_term``), as ratios and unseen levels."""
    terms: dict[str, tuple[Floats, list[tuple[str, Bools]]]] = {}
    for h in freeman.DEFAULT_HIERARCHIES:
        present = {col: values[col] != f.MISSING for col, _ in h.levels}
        weight_sum = sum(np.where(present[col], w, 0.0) for col, w in h.levels)
        any_present = weight_sum > 0
        safe_sum = np.where(any_present, weight_sum, 1.0)
        m_pop = np.ones(out.n)
        m_usr = np.ones(out.n)
        p_pop = np.zeros(out.n)
        p_usr = np.zeros(out.n)
        unseen: list[tuple[str, Bools]] = []
        for col, w in reversed(h.levels):
            here = present[col]
            g, u = p.population[col], p.user[col]
            wn = np.where(here, w / safe_sum, 0.0)
            p_pop = p_pop + wn * freeman.smoothed_likelihood(
                g.count.astype(float), g.total.astype(float), m_pop
            )
            p_usr = p_usr + wn * freeman.raw_likelihood(
                u.count.astype(float), u.total.astype(float), m_usr
            )
            m_pop = m_pop + np.where(here, g.distinct, 0)
            m_usr = m_usr + np.where(here, u.distinct, 0)
            unseen.append((col, here & (u.count == 0)))
        unseen.reverse()
        ratio = np.where(any_present, freeman.likelihood_ratio(p_pop, p_usr), 1.0)
        terms[h.name] = (ratio, unseen)
    return terms


def score_freeman(values: dict[str, NDArray[np.object_]], p: Profiles, out: Scored) -> None:
    """The raw Freeman risk, its features and explain()'s reasons."""
    terms = freeman_terms(values, p, out)
    factor = freeman.user_factor(
        p.user_logins.astype(float), p.population_logins.astype(float), p.users.astype(float)
    )
    raw = factor.copy()
    for ratio, _ in terms.values():
        raw = raw * ratio
    out.freeman_raw = raw
    ip_ratio, ip_unseen = terms[freeman.IP_HIERARCHY.name]
    ua_ratio, ua_unseen = terms[freeman.UA_HIERARCHY.name]
    out.features["freeman_log_raw"] = np.log(raw)
    out.features["freeman_ip_log_ratio"] = np.log(ip_ratio)
    out.features["freeman_ua_log_ratio"] = np.log(ua_ratio)
    out.features["freeman_user_log_factor"] = np.log(factor)
    # core/explain.py
    out.give("LOCATION_UNKNOWN", values["place_country"] == f.MISSING, 0.0)
    first = p.user_logins == 0
    out.give("FIRST_SEEN_USER", first, np.maximum(np.log(raw), 0.0))
    known = ~first
    ip_up = known & (ip_ratio > 1.0)
    shares = dict(freeman.IP_HIERARCHY.levels)
    share_sum = sum(np.where(m, shares[col], 0.0) for col, m in ip_unseen if col in _NEW_LEVEL)
    ip_weight = np.log(np.maximum(ip_ratio, 1.0))
    for col, mask in ip_unseen:
        safe = np.where(share_sum > 0, share_sum, 1.0)
        out.give(_NEW_LEVEL[col], ip_up & mask, ip_weight * shares[col] / safe)
    ua_up = known & (ua_ratio > 1.0)
    ua_weight = np.log(np.maximum(ua_ratio, 1.0))
    new_signature = (values[f.DEVICE] != f.MISSING) & (p.user[f.DEVICE].count == 0)
    new_key = (values[f.DEVICE_KEY] != f.MISSING) & (p.user[f.DEVICE_KEY].count == 0)
    new_device = new_signature | new_key
    out.give("NEW_DEVICE", ua_up & new_device, ua_weight)
    ua_unseen_ua = dict(ua_unseen)[f.UA]
    out.give("NEW_USER_AGENT", ua_up & ~new_device & ua_unseen_ua, ua_weight)


def travel(
    frame: dict[str, NDArray[np.object_]],
    num: dict[str, Floats],
    p: Profiles,
    s: TravelSettings,
    habitual: Bools,
    out: Scored,
) -> None:
    """signals/travel.py ``impossible_travel``; the arithmetic runs on the rows that moved only."""
    last = p.last_login
    li = np.maximum(last, 0)
    lat, lon, rad = num["lat"], num["lon"], num["radius"]
    llat, llon = lat[li], lon[li]
    moved = (
        (last >= 0)
        & ~np.isnan(lat)
        & ~np.isnan(lon)
        & ~np.isnan(llat)
        & ~np.isnan(llon)
        & ~((lat == llat) & (lon == llon))
    )
    rows = np.flatnonzero(moved)
    before = li[rows]
    slack = np.nan_to_num(rad[rows]) + np.nan_to_num(rad[before])
    with np.errstate(invalid="ignore"):
        km = great_circle_km(lat[rows], lon[rows], llat[rows], llon[rows])
    distance = np.maximum(np.nan_to_num(km) - slack, 0.0)
    elapsed = (num["ts_ns"][rows] - num["ts_ns"][before]) / 3.6e12
    speed = distance / np.maximum(elapsed, MIN_ELAPSED_HOURS)
    out.features["travel_speed_kmh"] = _spread(out.n, rows, speed)
    out.features["travel_distance_km"] = _spread(out.n, rows, distance)
    fast = (distance >= s.min_distance_km) & (speed > s.max_speed_kmh)
    rows, before, speed = rows[fast], before[fast], speed[fast]
    city = frame["place_city"]

    def precise(at: NDArray[np.intp]) -> Bools:
        radius = rad[at]
        named = np.asarray(city[at] != f.MISSING, dtype=bool)
        return named & (np.isnan(radius) | (radius <= s.imprecise_radius_km))

    factor = np.where(precise(rows) & precise(before), s.log_factor, s.log_factor / 2)
    boost = np.minimum(1.0 + np.log10(speed / s.max_speed_kmh), 2.0)
    factor = factor * boost
    kind = frame["network_type"]
    relocating_here = np.isin(kind[rows], list(RELOCATING_NETWORKS))
    relocating = relocating_here | np.isin(kind[before], list(RELOCATING_NETWORKS))
    keep = ~(relocating & habitual[rows] & relocating_here)
    factor = np.where(relocating, factor / s.relocating_network_divisor, factor)
    fires = np.zeros(out.n, dtype=bool)
    fires[rows[keep]] = True
    weight = _spread(out.n, rows, factor)
    out.give("IMPOSSIBLE_TRAVEL", fires, weight)
    out.factor(fires, weight)


def _spread(n: int, rows: NDArray[np.intp], values: Floats) -> Floats:
    """``values`` at ``rows`` of n zeros."""
    full = np.zeros(n)
    full[rows] = values
    return full


def scripted(user_agent: NDArray[np.object_], device_type: NDArray[np.object_]) -> Bools:
    """signals/bots.py ``classify(...) != ""`` for whole columns (RE2; the patterns are ASCII)."""
    agents = pa.array(user_agent, type=pa.string())
    library = pc.match_substring_regex(agents, bot_patterns.SCRIPTED.pattern, ignore_case=True)
    browser = pc.match_substring_regex(agents, bot_patterns.BROWSER_SHAPE.pattern)
    flagged = (
        (user_agent == f.MISSING)
        | (device_type == "bot")
        | library.to_numpy(zero_copy_only=False)
        | ~browser.to_numpy(zero_copy_only=False)
    )
    return np.asarray(flagged, dtype=bool)


def bots(
    frame: dict[str, NDArray[np.object_]],
    codes: dict[str, NDArray[np.int64]],
    log_factor: float,
    out: Scored,
) -> None:
    """signals/bots.py over distinct (User-Agent, device type) pairs; ``codes``: their codes."""
    ua, device_type = frame[f.UA], frame[f.DEVICE_TYPE]
    pairs = pair_codes(codes[f.UA], codes[f.DEVICE_TYPE])
    first = first_rows(pairs)
    flagged = scripted(ua[first], device_type[first])[pairs]
    out.features["bot_user_agent"] = flagged.astype(float)
    out.give("BOT_USER_AGENT", flagged, log_factor)
    out.factor(flagged, log_factor)


def devices(frame: dict[str, NDArray[np.object_]], p: Profiles, lf: float, out: Scored) -> None:
    """signals/devices.py ``remembered_device``."""
    key = frame[f.DEVICE_KEY] != f.MISSING
    seen = key & (p.user[f.DEVICE_KEY].count > 0)
    out.features["device_key_present"] = key.astype(float)
    out.features["device_key_known"] = seen.astype(float)
    out.features["device_signature_known"] = (p.user[f.DEVICE].count > 0).astype(float)
    out.give("KNOWN_DEVICE", seen, lf)
    out.factor(seen, lf)


def velocity(w: dict[str, NDArray[np.int64]], s: VelocitySettings, out: Scored) -> None:
    """signals/velocity.py ``velocity`` from the window counts."""
    for name in ("user_failures", "ip_attempts", "ip_failures", "ip_users"):
        out.features[f"{name}_window"] = w[name].astype(float)
    for name in ("asn_failures", "asn_users", "ip_signups"):
        out.features[f"{name}_window"] = w[name].astype(float)

    def factor(count: NDArray[np.int64], threshold: int) -> Floats:
        with np.errstate(divide="ignore"):
            grow = np.log(np.maximum(count, 1) / threshold)
        return np.asarray(np.minimum(np.log(4.0) + grow, s.max_log_factor), dtype=np.float64)

    user = w["user_failures"] >= s.user_failures
    spray = w["ip_users"] >= s.ip_users
    attempts = w["ip_attempts"]
    ratio = np.where(attempts > 0, w["ip_failures"] / np.maximum(attempts, 1), 0.0)
    stuffing = (w["ip_failures"] >= s.ip_failures) & (ratio >= s.stuffing_failure_ratio)
    for code, fires, count, threshold in (
        ("USER_FAILURE_VELOCITY", user, w["user_failures"], s.user_failures),
        ("IP_SPRAY", spray, w["ip_users"], s.ip_users),
        ("IP_STUFFING", stuffing, w["ip_failures"], s.ip_failures),
    ):
        weight = factor(count, threshold)
        out.give(code, fires, weight)
        out.factor(fires, weight)


def hours(hour: NDArray[np.int64], p: Profiles, settings: SignalSettings, out: Scored) -> None:
    """signals/hours.py ``unusual_hour`` from the (24, n) histograms; ``hour``: UTC hours."""
    s = settings.hours
    counts = p.hours
    # Every proven sign-in has one hour: the histogram's total is the login count.
    n = p.user_logins
    has = n > 0
    near = sum(np.take_along_axis(counts, ((hour + d) % 24)[np.newaxis], 0)[0] for d in (-1, 0, 1))
    safe_n = np.maximum(n, 1)
    share = near / safe_n
    # Hour by hour with math.cos/sin, in circular_summary's order: the same sums.
    c_sum = np.zeros(out.n)
    s_sum = np.zeros(out.n)
    term = np.empty(out.n)
    for h in range(24):
        k = counts[h].astype(np.float64)
        c_sum += np.multiply(k, math.cos(h * _STEP), out=term)
        s_sum += np.multiply(k, math.sin(h * _STEP), out=term)
    c = c_sum / safe_n
    s_ = s_sum / safe_n
    c = np.where(np.abs(c) < hour_rules.NOISE, 0.0, c)
    s_ = np.where(np.abs(s_) < hour_rules.NOISE, 0.0, s_)
    mean = (np.arctan2(s_, c) / _STEP) % 24
    concentration = np.hypot(c, s_)
    d = np.abs((hour + 0.5) - (mean + 0.5)) % 24
    distance = np.minimum(d, 24 - d)
    out.features["hour_share"] = np.where(has, share, -1.0)
    out.features["hour_distance"] = np.where(has, distance, 0.0)
    out.features["hour_concentration"] = np.where(has, concentration, 0.0)
    fires = (
        has
        & (n >= s.min_logins)
        & (concentration >= s.min_concentration)
        & (share <= s.max_share)
        & (distance >= s.min_distance_hours)
    )
    out.give("UNUSUAL_HOUR", fires, s.log_factor)
    out.factor(fires, s.log_factor)


def network(
    frame: dict[str, NDArray[np.object_]],
    p: Profiles,
    s: NetworkSettings,
    habitual: Bools,
    out: Scored,
) -> None:
    """signals/network.py ``network_type`` and ``deny_listed``."""
    kind = frame["network_type"]
    last_kind = np.where(p.last_login >= 0, kind[np.maximum(p.last_login, 0)], f.MISSING)
    for name, value in (
        ("network_hosting", NetworkType.HOSTING),
        ("network_vpn", NetworkType.VPN),
        ("network_tor", NetworkType.TOR),
        ("network_mobile", NetworkType.MOBILE),
    ):
        out.features[name] = (kind == value.value).astype(float)
    for value, base in (
        (NetworkType.TOR, s.tor_log_factor),
        (NetworkType.VPN, s.vpn_log_factor),
        (NetworkType.HOSTING, s.hosting_log_factor),
    ):
        fires = kind == value.value
        weight = np.full(out.n, base)
        if value in (NetworkType.HOSTING, NetworkType.VPN):
            known = habitual | (last_kind == value.value)
            weight = np.where(known, base * s.known_type_scale, base)
        code = value.reason
        assert code is not None
        out.give(code, fires, weight)
        out.factor(fires, weight)
    listed = frame["reputation_list"] != f.MISSING
    out.features["ip_on_deny_list"] = listed.astype(float)
    out.give(REPUTATION_REASON, listed, s.deny_list_log_factor)
    out.factor(listed, s.deny_list_log_factor)
    # Feedback exists only online (UpdateAuthEventFeedback); a log carries none.
    out.features["feedback_user_matches"] = np.zeros(out.n)
    out.features["feedback_pool_weight"] = np.zeros(out.n)
