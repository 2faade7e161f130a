"""Score a whole time-sorted log at once, as the service would have, row by row.

Every row is scored from the rows before it only (``batch/profile.py``,
``batch/windows.py``), with the same Freeman terms and signals
(``batch/signals.py``) and the same levels, model and policy as the service.
Labels are never inputs: the observation frame has no label column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch import signals as sig
from riskscore.batch.grouped import codes_of
from riskscore.batch.profile import profiles
from riskscore.batch.windows import key_windows
from riskscore.core import features as f
from riskscore.core.levels import LevelThresholds
from riskscore.core.result import RiskLevel
from riskscore.signals.base import SignalSettings

# The order a level's reasons take when two have the same weight (see batch/signals.py).
_CODES: Final = np.array(sig.REASON_ORDER, dtype=object)
_MINUTE_NS: Final = 60_000_000_000
_NOT_TEXT: Final = frozenset({"ts_ns", "success", "lat", "lon", "radius"})
LEVEL_NAMES: Final = np.array([lvl.value.lower() for lvl in RiskLevel], dtype=object)


class Model:
    """What scores the feature table: the statistical model by default, or a learned one."""

    def score(self, raw: NDArray[np.float64], features: pd.DataFrame) -> NDArray[np.float64]:
        """Scores in [0, 1] for every row."""
        raise NotImplementedError

    def thresholds(self) -> LevelThresholds:
        """The level cut-offs for those scores."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class StatisticalModel(Model):
    """Freeman times the signals, squashed by the thresholds' midpoint (core/levels.py)."""

    levels: LevelThresholds = field(default_factory=LevelThresholds)

    def score(self, raw: NDArray[np.float64], features: pd.DataFrame) -> NDArray[np.float64]:
        """raw / (raw + midpoint), 0 for a non-positive raw risk, 1 for an infinite one."""
        with np.errstate(invalid="ignore"):
            squashed = raw / (raw + self.levels.midpoint)
        squashed = np.where(np.isinf(raw), 1.0, squashed)
        return np.where((raw <= 0) | np.isnan(raw), 0.0, squashed)

    def thresholds(self) -> LevelThresholds:
        """The configured thresholds."""
        return self.levels


@dataclass(frozen=True, slots=True)
class Replayed:
    """Per row, in the frame's order: features, score, level and reason codes."""

    features: pd.DataFrame
    raw: NDArray[np.float64]
    score: NDArray[np.float64]
    level: NDArray[np.object_]
    reasons: NDArray[np.object_]


def windows(
    obs: pd.DataFrame, user_codes: NDArray[np.int64], minutes: int
) -> dict[str, NDArray[np.int64]]:
    """The velocity windows of every row (core/velocity.py WindowCounts, as arrays)."""
    ts = obs["ts_ns"].to_numpy(np.int64)
    minute = ts // _MINUTE_NS
    failed = ~obs["success"].to_numpy(bool)
    ip_codes = codes_of(obs[f.IP].to_numpy(object))
    asn = obs[f.ASN].to_numpy(object)
    asn_codes = np.where(asn == f.MISSING, -1, codes_of(asn))
    user = key_windows(user_codes, minute, failed, None, minutes)
    ip = key_windows(ip_codes, minute, failed, user_codes, minutes)
    network = key_windows(asn_codes, minute, failed, user_codes, minutes)
    return {
        "user_attempts": user.attempts,
        "user_failures": user.failures,
        "ip_attempts": ip.attempts,
        "ip_failures": ip.failures,
        "ip_users": ip.users,
        "asn_attempts": network.attempts,
        "asn_failures": network.failures,
        "asn_users": network.users,
        # Logs hold sign-ins; sign-ups (and their window) exist only online.
        "ip_signups": np.zeros(len(obs), dtype=np.int64),
    }


def featurize(obs: pd.DataFrame, settings: SignalSettings) -> sig.Scored:
    """Every feature, the raw risk's parts and reason weights of a time-sorted observation frame."""
    n = len(obs)
    user_codes = codes_of(obs["user"].to_numpy(object))
    p = profiles(obs, user_codes)
    cols = {c: obs[c].to_numpy(object) for c in obs.columns if c not in _NOT_TEXT}
    num = {c: obs[c].to_numpy(np.float64) for c in ("lat", "lon", "radius")}
    num["ts_ns"] = obs["ts_ns"].to_numpy(np.int64).astype(np.float64)
    out = sig.Scored(n, log_factor=np.zeros(n))
    sig.score_freeman(cols, p, out)
    out.features["user_logins"] = p.user_logins.astype(float)
    out.features["failures_since_success"] = p.failures_since_success.astype(float)
    habitual = (cols[f.NETWORK_TYPE] != f.MISSING) & (p.user[f.NETWORK_TYPE].count > 0)
    sig.travel(cols, num, p, settings.travel, habitual, out)
    sig.bots(cols, settings.bot_log_factor, out)
    sig.devices(cols, p, settings.known_device_log_factor, out)
    sig.velocity(windows(obs, user_codes, settings.velocity.window_minutes), settings.velocity, out)
    sig.hours(cols, p, settings, out)
    sig.network(cols, p, settings.network, habitual, out)
    return out


def replay(obs: pd.DataFrame, settings: SignalSettings, model: Model) -> Replayed:
    """Score every row of a time-sorted observation frame."""
    out = featurize(obs, settings)
    raw = out.freeman_raw * np.exp(out.log_factor)
    with np.errstate(divide="ignore"):
        out.features["risk_log_raw"] = np.log(raw)
    features = pd.DataFrame(out.features, index=obs.index)
    score = model.score(raw, features)
    t = model.thresholds()
    level_ids = np.where(score >= t.high, 2, np.where(score >= t.medium, 1, 0))
    return Replayed(
        features=features,
        raw=raw,
        score=score,
        level=LEVEL_NAMES[level_ids],
        reasons=reason_codes(out.reasons, level_ids > 0),
    )


def reason_codes(
    weights: dict[str, NDArray[np.float64]], crossed: NDArray[np.bool_]
) -> NDArray[np.object_]:
    """Comma-joined reason codes per row, heaviest first, RISK_THRESHOLD last when crossed."""
    n = len(crossed)
    matrix = np.full((n, len(_CODES)), np.nan)
    for i, code in enumerate(sig.REASON_ORDER):
        if code in weights:
            matrix[:, i] = weights[code]
    # Python's sorted(reverse=True) keeps equal weights in insertion order: so does
    # a stable ascending sort of the negated weights (NaN, not given, sorts last).
    order = np.argsort(-matrix, axis=1, kind="stable")
    given = ~np.isnan(np.take_along_axis(matrix, order, axis=1))
    ranked = np.where(given, order, -1)
    ranked = np.concatenate((ranked, np.where(crossed, len(_CODES), -1)[:, None]), axis=1)
    combos, inverse = np.unique(ranked, axis=0, return_inverse=True)
    names = np.append(_CODES, "RISK_THRESHOLD")
    joined = np.array([",".join(names[c[c >= 0]]) for c in combos], dtype=object)
    return joined[inverse.reshape(-1)]
