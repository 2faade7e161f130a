"""Detection-quality metrics for a scored, labelled login log.

Pure functions of arrays: ``riskscore evaluate`` scores the log and hands the
rows here. A threshold ``t`` flags every row with ``score >= t``; an attack
row is the positive class. Rates that are undefined (one class missing) are
NaN, never a warning: sklearn warns on one-class input, so every call into it
is guarded by the class counts first.

Re-authentication rates at a fixed share of attackers caught follow Wiefling
et al. (FC 2021; ACM TOPS 2022, reference/risk-peers.md 1.3-1.4).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn import metrics as skm  # type: ignore[import-untyped]

LEVELS: Final = ("low", "medium", "high")
LEGITIMATE: Final = "legitimate"
# The kind of attack rows without an attack_kind (the RBA data only has Is Attack IP).
UNNAMED_ATTACK: Final = "attack"
FPR_BUDGETS: Final = (0.01, 0.001)
TPR_TARGETS: Final = (0.99, 0.999)
RSR_TPR: Final = 0.999
# Rates are ratios of counts: 3 of 10 must meet a target computed as 0.1 * 3.
_TOLERANCE: Final = 1e-12
# Bucket sizes for level_mix_over_time, smallest first.
_BUCKETS: Final = ("1min", "5min", "15min", "1h", "3h", "6h", "1D", "7D", "30D")
_MAX_BUCKETS: Final = 48

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Auc:
    """ROC AUC with the class counts behind it; ``value`` is NaN unless both classes occur."""

    value: float
    positives: int
    negatives: int

    @property
    def defined(self) -> bool:
        """True when both classes are present, so the AUC means something."""
        return self.positives > 0 and self.negatives > 0


@dataclass(frozen=True, slots=True)
class RocCurve:
    """sklearn's ROC curve: ``tpr[i]``, ``fpr[i]`` flag rows scoring ``>= thresholds[i]``."""

    fpr: Floats
    tpr: Floats
    thresholds: Floats


@dataclass(frozen=True, slots=True)
class ReauthRate:
    """Legitimate logins challenged at the highest threshold catching ``target_tpr`` of attacks.

    ``legitimate`` counts every legitimate row (failed logins included, as in
    an ROC curve); ``legitimate_successful`` only the logins that succeeded,
    the people who would actually see the challenge.
    """

    target_tpr: float
    threshold: float
    achieved_tpr: float
    legitimate: float
    legitimate_successful: float


@dataclass(frozen=True, slots=True)
class KindDetection:
    """Rows of one attack kind (or legitimate) and the shares each level flags."""

    kind: str
    rows: int
    medium_or_above: float
    high: float
    successful_rows: int
    successful_medium_or_above: float
    successful_high: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A model's score cut-offs for MEDIUM and HIGH."""

    medium: float
    high: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.medium <= self.high <= 1.0:
            raise ValueError("need 0 <= medium <= high <= 1")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Which model's columns to read (``<name>_score``, ``<name>_level``) and how to label it."""

    name: str
    label: str
    thresholds: Thresholds


@dataclass(frozen=True, slots=True)
class ModelMetrics:
    """Every metric of one model on one log; NaN where the log cannot tell."""

    model: str
    label: str
    thresholds: Thresholds
    rows: int
    legitimate: int
    legitimate_successful: int
    attacks: int
    takeovers: int
    auc: float
    auc_takeover: float
    tpr_at_1pct_fpr: float
    tpr_at_01pct_fpr: float
    reauth_at_99pct_tpr: ReauthRate
    reauth_at_999pct_tpr: ReauthRate
    rsr: float
    kind_auc: dict[str, float] = field(hash=False)
    detection: tuple[KindDetection, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: NaN and infinities become None (JSON has neither)."""
        # JSON has no NaN or Infinity; json writes them anyway, and reads them back as None.
        out: dict[str, Any] = json.loads(json.dumps(asdict(self)), parse_constant=lambda _: None)
        return out


def roc_auc(scores: ArrayLike, labels: ArrayLike) -> Auc:
    """Area under the ROC curve; NaN (``defined`` False) when a class is missing."""
    s, y = _inputs(scores, labels)
    return _auc(_full_curve(s, y), y)


def roc_curve(
    scores: ArrayLike, labels: ArrayLike, *, drop_intermediate: bool = True
) -> RocCurve | None:
    """sklearn's ROC curve, or None when a class is missing."""
    s, y = _inputs(scores, labels)
    if not _both_classes(y):
        return None
    fpr, tpr, thresholds = skm.roc_curve(y, s, drop_intermediate=drop_intermediate)
    return RocCurve(fpr.astype(np.float64), tpr.astype(np.float64), thresholds.astype(np.float64))


def tpr_at_fpr(scores: ArrayLike, labels: ArrayLike, fpr: float) -> float:
    """Share of attacks caught by the best threshold flagging at most ``fpr`` of legitimate rows."""
    s, y = _inputs(scores, labels)
    return _tpr_within(_full_curve(s, y), fpr)


def reauth_rate_at_tpr(
    scores: ArrayLike, labels: ArrayLike, tpr: float, *, success: ArrayLike | None = None
) -> ReauthRate:
    """Legitimate logins challenged when the threshold catches at least ``tpr`` of attacks.

    Without ``success`` the rate over successful legitimate logins is NaN.
    """
    s, y = _inputs(scores, labels)
    ok = None if success is None else _bools(success, s.size)
    return _reauth(_full_curve(s, y), s, y, ok, tpr)


def risk_score_relation(scores: ArrayLike, labels: ArrayLike, tpr: float = RSR_TPR) -> float:
    """Our RSR: odds of the threshold catching ``tpr`` of attacks over the median legitimate odds.

    Wiefling et al.'s "Risk Score Relation" (higher = better separation; 8.94 /
    5.05 / 8.48 for targeted / VPN / naive attackers at TPR 0.999,
    das-group/rba-dataset RESULTS.md) is not defined in any material we could
    read, so this definition is ours and its numbers are not theirs. A ratio of
    odds ``s / (1 - s)``, not of scores: for the statistical model's
    ``s = r / (r + midpoint)`` it equals the ratio of raw Freeman risks, for a
    calibrated classifier a ratio of posterior odds. Infinite when the median
    legitimate score is 0; NaN when a class is missing.
    """
    s, y = _inputs(scores, labels)
    return _rsr(_reauth(_full_curve(s, y), s, y, None, tpr).threshold, s, y)


def detection_by_kind(
    levels: ArrayLike, attack_kind: ArrayLike, success: ArrayLike
) -> tuple[KindDetection, ...]:
    """Per attack kind ("" = legitimate, listed first): rows and shares at MEDIUM+ and HIGH."""
    rank = _level_ranks(levels)
    codes, names = kind_codes(attack_kind)
    if codes.size != rank.size:
        raise ValueError("levels and attack_kind differ in length")
    return _detections(rank, codes, names, _bools(success, rank.size))


def level_mix_over_time(
    timestamps: pd.Series[Any] | pd.DatetimeIndex | NDArray[np.datetime64],
    levels: ArrayLike,
    freq: str,
) -> pd.DataFrame:
    """Row counts per level (columns low/medium/high) per ``freq`` bucket, empty buckets kept."""
    index = pd.DatetimeIndex(timestamps)
    rank = _level_ranks(levels)
    if rank.size != index.size:
        raise ValueError("timestamps and levels differ in length")
    counts = pd.DataFrame(
        {level: (rank == i).astype(np.int64) for i, level in enumerate(LEVELS)}, index=index
    ).sort_index()
    return counts.resample(freq).sum()


def time_bucket(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """The smallest bucket that cuts ``[start, end]`` into at most 48 pieces."""
    span = end - start
    for freq in _BUCKETS:
        if span / pd.Timedelta(freq) <= _MAX_BUCKETS:
            return freq
    return _BUCKETS[-1]


def kind_codes(attack_kind: ArrayLike) -> tuple[NDArray[np.intp], tuple[str, ...]]:
    """A code per row into the kind names, "" (and missing) named legitimate and listed first."""
    raw = pd.Series(np.asarray(attack_kind, dtype=object), dtype=object).fillna("").astype(str)
    codes, uniques = pd.factorize(raw)
    names = [str(u) or LEGITIMATE for u in uniques]
    order = sorted(range(len(names)), key=lambda i: (names[i] != LEGITIMATE, names[i]))
    remap = np.empty(len(names), dtype=np.intp)
    remap[order] = np.arange(len(names))
    return remap[codes], tuple(names[i] for i in order)


def attack_labels(frame: pd.DataFrame) -> Bools:
    """Attack rows: ``is_attack``, a non-empty ``attack_kind`` or an account takeover."""
    return _labels_and_kinds(frame)[0]


def attack_kinds(frame: pd.DataFrame) -> NDArray[np.object_]:
    """Each row's kind: its ``attack_kind``, ``attack`` for unnamed attacks, "" if legitimate."""
    return _labels_and_kinds(frame)[1]


def evaluate_model(
    frame: pd.DataFrame, model_name: str, thresholds: Thresholds, *, label: str = ""
) -> ModelMetrics:
    """All metrics of the model whose columns are ``<model_name>_score`` / ``_level``."""
    labels, kinds = _labels_and_kinds(frame)
    scores, labels = _inputs(frame[f"{model_name}_score"], labels)
    codes, names = kind_codes(kinds)
    success = _bools(frame["success"], scores.size)
    takeover = _bools(frame["is_takeover"], scores.size)
    # Every rate below reads the one full curve: sorting 10^7 scores is the cost.
    curve = _full_curve(scores, labels)
    # Takeovers against the people they impersonate: successful logins only.
    won = success & (takeover | ~labels)
    kind_auc = {}
    for code, name in enumerate(names):
        rows = (codes == code) | ~labels
        if name != LEGITIMATE:
            kind_auc[name] = roc_auc(scores[rows], labels[rows]).value
    reauth = [_reauth(curve, scores, labels, success, t) for t in TPR_TARGETS]
    return ModelMetrics(
        model=model_name,
        label=label,
        thresholds=thresholds,
        rows=int(scores.size),
        legitimate=int((~labels).sum()),
        legitimate_successful=int((~labels & success).sum()),
        attacks=int(labels.sum()),
        takeovers=int(takeover.sum()),
        auc=_auc(curve, labels).value,
        auc_takeover=roc_auc(scores[won], takeover[won]).value,
        tpr_at_1pct_fpr=_tpr_within(curve, FPR_BUDGETS[0]),
        tpr_at_01pct_fpr=_tpr_within(curve, FPR_BUDGETS[1]),
        reauth_at_99pct_tpr=reauth[0],
        reauth_at_999pct_tpr=reauth[1],
        rsr=_rsr(_reauth(curve, scores, labels, None, RSR_TPR).threshold, scores, labels),
        kind_auc=kind_auc,
        detection=_detections(_level_ranks(frame[f"{model_name}_level"]), codes, names, success),
    )


def _full_curve(s: Floats, y: Bools) -> RocCurve | None:
    return roc_curve(s, y, drop_intermediate=False)


def _auc(curve: RocCurve | None, y: Bools) -> Auc:
    positives = int(y.sum())
    # sklearn's roc_auc_score is this trapezoid over its own curve; reusing ours saves a sort.
    value = math.nan if curve is None else float(skm.auc(curve.fpr, curve.tpr))
    return Auc(value, positives, y.size - positives)


def _tpr_within(curve: RocCurve | None, fpr: float) -> float:
    if not 0.0 <= fpr <= 1.0:
        raise ValueError("fpr must be in [0, 1]")
    if curve is None:
        return math.nan
    # Every threshold, not sklearn's pruned corners: a pruned collinear point can be
    # the best one inside the budget. The first point (threshold +inf) flags nothing.
    return float(curve.tpr[curve.fpr <= fpr + _TOLERANCE].max())


def _reauth(
    curve: RocCurve | None, s: Floats, y: Bools, ok: Bools | None, tpr: float
) -> ReauthRate:
    if not 0.0 < tpr <= 1.0:
        raise ValueError("tpr must be in (0, 1]")
    if curve is None:
        return ReauthRate(tpr, math.nan, math.nan, math.nan, math.nan)
    # The highest threshold that reaches the target; tpr ends at 1, so one exists.
    i = int(np.argmax(curve.tpr >= tpr - _TOLERANCE))
    threshold = float(curve.thresholds[i])
    successful = math.nan
    if ok is not None:
        people = s[~y & ok]
        successful = _fraction(int((people >= threshold).sum()), people.size)
    return ReauthRate(tpr, threshold, float(curve.tpr[i]), float(curve.fpr[i]), successful)


def _rsr(threshold: float, s: Floats, y: Bools) -> float:
    if not _both_classes(y):
        return math.nan
    return _ratio(_odds(threshold), _odds(float(np.median(s[~y]))))


def _detections(
    rank: NDArray[np.int8], codes: NDArray[np.intp], names: tuple[str, ...], ok: Bools
) -> tuple[KindDetection, ...]:
    # One bincount per column instead of a mask per kind: logs run to 10^7 rows.
    def count(rows: NDArray[np.intp], flags: Bools | None = None) -> list[int]:
        picked = rows if flags is None else rows[flags]
        return [int(c) for c in np.bincount(picked, minlength=len(names))]

    won = codes[ok]
    rows, alert, high = count(codes), count(codes, rank >= 1), count(codes, rank == 2)
    won_rows, won_alert, won_high = count(won), count(won, rank[ok] >= 1), count(won, rank[ok] == 2)
    return tuple(
        KindDetection(
            kind=name,
            rows=rows[i],
            medium_or_above=_fraction(alert[i], rows[i]),
            high=_fraction(high[i], rows[i]),
            successful_rows=won_rows[i],
            successful_medium_or_above=_fraction(won_alert[i], won_rows[i]),
            successful_high=_fraction(won_high[i], won_rows[i]),
        )
        for i, name in enumerate(names)
    )


def _labels_and_kinds(frame: pd.DataFrame) -> tuple[Bools, NDArray[np.object_]]:
    if "attack_kind" in frame:
        raw = frame["attack_kind"].fillna("").astype(str)
    else:
        raw = pd.Series("", index=frame.index, dtype=str)
    named = raw.ne("").to_numpy(dtype=np.bool_)
    is_attack = frame["is_attack"].to_numpy(dtype=np.bool_)
    labels = is_attack | frame["is_takeover"].to_numpy(dtype=np.bool_) | named
    kinds = np.where(labels & ~named, UNNAMED_ATTACK, raw.to_numpy(dtype=object))
    return labels, kinds


def _inputs(scores: ArrayLike, labels: ArrayLike) -> tuple[Floats, Bools]:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or not np.isfinite(s).all():
        raise ValueError("scores must be a 1-D array of finite numbers")
    return s, _bools(labels, s.size)


def _bools(values: ArrayLike, size: int) -> Bools:
    out = np.asarray(values, dtype=np.bool_)
    if out.shape != (size,):
        raise ValueError(f"expected {size} booleans, got shape {out.shape}")
    return out


def _level_ranks(levels: ArrayLike) -> NDArray[np.int8]:
    """0, 1, 2 for low, medium, high (any case); anything else is an error."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(levels, dtype=object), dtype=object))
    names = [str(u).lower() for u in uniques]
    unknown = sorted(set(names) - set(LEVELS))
    if unknown or (codes < 0).any():
        raise ValueError(f"unknown levels {unknown or ['<missing>']}; expected {LEVELS}")
    lut = np.array([LEVELS.index(name) for name in names], dtype=np.int8)
    return lut[codes]


def _both_classes(y: Bools) -> bool:
    return bool(y.any()) and not bool(y.all())


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def _odds(p: float) -> float:
    return math.inf if p >= 1.0 else p / (1.0 - p)


def _ratio(top: float, bottom: float) -> float:
    if bottom == 0.0:
        return math.nan if top == 0.0 else math.inf
    if math.isinf(bottom):
        return math.nan if math.isinf(top) else 0.0
    return top / bottom
