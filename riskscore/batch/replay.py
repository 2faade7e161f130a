"""Score a whole time-sorted log at once, as the service would have, row by row.

Every row is scored from the rows before it only (``batch/profile.py``,
``batch/windows.py``), with the same Freeman terms and signals
(``batch/signals.py``) and the same levels, model and policy as the service.
Labels are never inputs: the observation frame has no label column.
``replay_chunk`` scores one time-ordered chunk of a longer log from the state
the chunks before it left (batch/state.py), with the same result.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch import signals as sig
from riskscore.batch.categories import categorical
from riskscore.batch.grouped import codes_of, missing_of, pair_codes
from riskscore.batch.profile import (
    Carried,
    Population,
    Profiles,
    column_codes,
    population,
    profiles,
    utc_hours,
)
from riskscore.batch.state import ReplayState
from riskscore.batch.windows import key_windows
from riskscore.core import features as f
from riskscore.core.learned import LearnedModel, feature_matrix
from riskscore.core.levels import LevelThresholds
from riskscore.core.result import RiskLevel
from riskscore.core.scorer import STATISTICAL_VERSION
from riskscore.errors import ConfigError
from riskscore.signals.base import SignalSettings

# The order a level's reasons take when two have the same weight (see batch/signals.py).
_CODES: Final = np.array(sig.REASON_ORDER, dtype=object)
_MINUTE_NS: Final = 60_000_000_000
_NOT_TEXT: Final = frozenset({"ts_ns", "success", "lat", "lon", "radius"})
LEVEL_NAMES: Final = np.array([lvl.value.lower() for lvl in RiskLevel], dtype=object)


class BatchModel(Protocol):
    """What scores the feature table: the statistical model or a learned one."""

    @property
    def version(self) -> str:
        """The model version the service would report."""
        ...

    def score(self, raw: NDArray[np.float64], features: pd.DataFrame) -> NDArray[np.float64]:
        """Scores in [0, 1] for every row."""
        ...

    def thresholds(self) -> LevelThresholds:
        """The level cut-offs for those scores."""
        ...


@dataclass(frozen=True, slots=True)
class Statistical:
    """Freeman times the signals, squashed by the thresholds' midpoint (core/levels.py)."""

    levels: LevelThresholds = field(default_factory=LevelThresholds)

    @property
    def version(self) -> str:
        """The statistical scorer's version."""
        return STATISTICAL_VERSION

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
class Learned:
    """A learned model over the feature table (core/learned.py, as LearnedScorer online)."""

    model: LearnedModel

    @property
    def version(self) -> str:
        """The model's version."""
        return self.model.version

    def score(self, raw: NDArray[np.float64], features: pd.DataFrame) -> NDArray[np.float64]:
        """Calibrated P(attack) per row."""
        columns = {c: features[c].to_numpy(np.float64) for c in features.columns}
        return self.model.probability(feature_matrix(columns, self.model.feature_names))

    def thresholds(self) -> LevelThresholds:
        """The model card's thresholds (or the config's overrides)."""
        return self.model.levels


@dataclass(frozen=True, slots=True)
class Replayed:
    """Per row, in the frame's order: features, score, level and reason codes.

    ``level`` and ``reasons`` are categoricals (a few distinct values each).
    """

    features: pd.DataFrame
    raw: NDArray[np.float64]
    score: NDArray[np.float64]
    level: pd.Categorical[Any]
    reasons: pd.Categorical[Any]

    def last(self, n: int, index: pd.Index) -> Replayed:
        """The last ``n`` rows, their features indexed by ``index``."""
        start = len(self.score) - n
        return Replayed(
            self.features.iloc[start:].set_axis(index),
            self.raw[start:],
            self.score[start:],
            self.level[start:],
            self.reasons[start:],
        )


def windows(
    obs: pd.DataFrame,
    codes: dict[str, NDArray[np.int64]],
    minutes: int,
    counted: NDArray[np.bool_] | None = None,
) -> dict[str, NDArray[np.int64]]:
    """The velocity windows of every row (core/velocity.py WindowCounts, as arrays).

    Rows outside ``counted`` (when given) are no attempts: they count nothing.
    """
    ts = obs["ts_ns"].to_numpy(np.int64)
    minute = ts // _MINUTE_NS
    failed = ~obs["success"].to_numpy(bool)
    user_codes, ip_codes = codes["user"], codes[f.IP]
    asn_codes = np.where(missing_of(obs[f.ASN], f.MISSING), -1, codes[f.ASN])
    if counted is not None:
        user_codes, ip_codes, asn_codes = (
            np.where(counted, c, -1) for c in (user_codes, ip_codes, asn_codes)
        )
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


@dataclass(frozen=True, slots=True)
class Shared:
    """What every row needs from the whole log: pool counts and velocity windows."""

    pool: Population
    windows: dict[str, NDArray[np.int64]]

    def take(self, rows: NDArray[np.int64]) -> Shared:
        """The same for a subset of rows."""
        return Shared(self.pool.take(rows), {k: v[rows] for k, v in self.windows.items()})


def shared(obs: pd.DataFrame, settings: SignalSettings) -> Shared:
    """The first, whole-log pass: pool counts and windows of every row."""
    codes = column_codes(obs)
    return Shared(population(obs, codes), windows(obs, codes, settings.velocity.window_minutes))


def featurize(
    obs: pd.DataFrame,
    settings: SignalSettings,
    common: Shared | None = None,
    *,
    codes: dict[str, NDArray[np.int64]] | None = None,
    carried: Carried | None = None,
) -> sig.Scored:
    """Every feature, the raw risk's parts and reason weights of a time-sorted observation frame.

    With ``common`` (from :func:`shared` over the whole log) ``obs`` may hold
    just some users' rows: the per-user pass of the Dask engine. With
    ``carried`` (and ``codes``, its :func:`column_codes`), ``obs`` is one chunk
    of a log led by context rows: batch/state.py.
    """
    cols = {c: obs[c].to_numpy(object) for c in obs.columns if c not in _NOT_TEXT}
    codes = codes if codes is not None else column_codes(obs)
    with ThreadPoolExecutor(1) as worker:
        # The windows need only the codes: counted in a second thread (numpy and
        # pandas release the GIL in their loops) while this one builds profiles.
        counting = (
            None
            if common is not None
            else worker.submit(
                windows,
                obs,
                codes,
                settings.velocity.window_minutes,
                None if carried is None else ~carried.anchor,
            )
        )
        p = profiles(obs, codes, common.pool if common is not None else None, carried)
        return _signals(obs, cols, codes, p, settings, common, counting)


def _signals(
    obs: pd.DataFrame,
    cols: dict[str, NDArray[np.object_]],
    codes: dict[str, NDArray[np.int64]],
    p: Profiles,
    settings: SignalSettings,
    common: Shared | None,
    counting: Future[dict[str, NDArray[np.int64]]] | None,
) -> sig.Scored:
    n = len(obs)
    num = {c: obs[c].to_numpy(np.float64) for c in ("lat", "lon", "radius")}
    num["ts_ns"] = obs["ts_ns"].to_numpy(np.int64).astype(np.float64)
    out = sig.Scored(n, log_factor=np.zeros(n))
    sig.score_freeman(cols, p, out)
    out.features["user_logins"] = p.user_logins.astype(float)
    out.features["failures_since_success"] = p.failures_since_success.astype(float)
    habitual = (cols[f.NETWORK_TYPE] != f.MISSING) & (p.user[f.NETWORK_TYPE].count > 0)
    sig.travel(cols, num, p, settings.travel, habitual, out)
    sig.bots(cols, codes, settings.bot_log_factor, out)
    sig.devices(cols, p, settings.known_device_log_factor, out)
    counts = common.windows if common is not None else counting.result() if counting else {}
    sig.velocity(counts, settings.velocity, out)
    sig.hours(utc_hours(obs["ts_ns"].to_numpy(np.int64)), p, settings, out)
    sig.network(cols, p, settings.network, habitual, out)
    return out


def replay(
    obs: pd.DataFrame,
    settings: SignalSettings,
    model: BatchModel,
    common: Shared | None = None,
    *,
    codes: dict[str, NDArray[np.int64]] | None = None,
    carried: Carried | None = None,
) -> Replayed:
    """Score every row of a time-sorted observation frame (see ``featurize`` for the rest)."""
    out = featurize(obs, settings, common, codes=codes, carried=carried)
    raw = out.freeman_raw * np.exp(out.log_factor)
    with np.errstate(divide="ignore"):
        out.features["risk_log_raw"] = np.log(raw)
    features = pd.DataFrame(out.features, index=obs.index)
    score = model.score(raw, features)
    t = model.thresholds()
    level_ids = level_ids_of(score, t)
    return Replayed(
        features=features,
        raw=raw,
        score=score,
        level=pd.Categorical.from_codes(level_ids, categories=pd.Index(LEVEL_NAMES, dtype=object)),
        reasons=reason_codes(out.reasons, level_ids > 0),
    )


def replay_chunk(
    obs: pd.DataFrame, settings: SignalSettings, model: BatchModel, state: ReplayState
) -> tuple[Replayed, ReplayState]:
    """Score a time-sorted chunk that follows ``state``'s rows; also the state after it."""
    if settings.velocity.window_minutes != state.window_minutes:
        raise ConfigError(
            "scoring.window_minutes",
            f"is {settings.velocity.window_minutes}, but the carried state counted windows "
            f"of {state.window_minutes} minutes",
        )
    ts = obs["ts_ns"].to_numpy(np.int64)
    late = state.last_ts_ns is not None and len(ts) > 0 and ts[0] < state.last_ts_ns
    if late or (np.diff(ts) < 0).any():
        raise ValueError("a chunk must be time-sorted and follow the state's last timestamp")
    ctx = state.context(obs)
    result = replay(ctx.frame, settings, model, codes=ctx.codes, carried=ctx.carried)
    return result.last(len(obs), obs.index), state.advance(ctx)


def level_ids_of(score: NDArray[np.float64], t: LevelThresholds) -> NDArray[np.int64]:
    """0/1/2 (LOW/MEDIUM/HIGH, indexes of LEVEL_NAMES) per score, as LevelThresholds.level."""
    return np.where(score >= t.high, 2, np.where(score >= t.medium, 1, 0))


def reason_codes(
    weights: dict[str, NDArray[np.float64]], crossed: NDArray[np.bool_]
) -> pd.Categorical:
    """Comma-joined reason codes per row, heaviest first, RISK_THRESHOLD last when crossed."""
    n = len(crossed)
    names = np.append(_CODES, "RISK_THRESHOLD")
    rows_l, codes_l, weights_l = [], [], []
    for i, code in enumerate(sig.REASON_ORDER):
        if code in weights:
            given = np.flatnonzero(~np.isnan(weights[code]))
            rows_l.append(given)
            codes_l.append(np.full(len(given), i))
            weights_l.append(weights[code][given])
    crossed_rows = np.flatnonzero(crossed)
    rows_l.append(crossed_rows)
    codes_l.append(np.full(len(crossed_rows), len(_CODES)))
    weights_l.append(np.full(len(crossed_rows), -np.inf))
    rows = np.concatenate(rows_l)
    codes = np.concatenate(codes_l)
    # Python's sorted(reverse=True) keeps equal weights in insertion order: sort by
    # row, then heaviest first, then insertion order (RISK_THRESHOLD, at -inf, last).
    order = np.lexsort((codes, -np.concatenate(weights_l), rows))
    rows, codes = rows[order], codes[order]
    starts = np.searchsorted(rows, rows, side="left")
    position = np.arange(len(rows)) - starts
    # Pack each row's ranked list (5 bits a code, 12 codes a word) to find the distinct lists.
    words = np.zeros((int(position.max()) // 12 + 1 if len(rows) else 1, n), dtype=np.uint64)
    packed = codes.astype(np.uint64) + np.uint64(1)
    for p in range(int(position.max()) + 1 if len(rows) else 0):
        here = position == p
        words[p // 12, rows[here]] |= packed[here] << np.uint64(p % 12 * 5)
    key = codes_of(words[0])
    for word in words[1:]:
        key = pair_codes(key, codes_of(word))
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    joined = []
    for row in first.tolist():
        row_words = [int(words[w, row]) for w in range(words.shape[0])]
        ids = [(word >> (5 * k)) & 31 for word in row_words for k in range(12)]
        joined.append(",".join(names[i - 1] for i in ids if i))
    return categorical(inverse.reshape(-1), np.array(joined, dtype=object))
