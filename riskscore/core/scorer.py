"""Scorers turn an observation and its profile snapshot into an assessment.

A scorer is a pure value: the service, batch scoring and the evaluator all
call the same ``assess``. The learned model (later) is another Scorer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Protocol

from riskscore.core import freeman
from riskscore.core.explain import explain
from riskscore.core.features import Observation
from riskscore.core.levels import LevelThresholds
from riskscore.core.profile import ProfileSnapshot
from riskscore.core.result import Assessment, Reason, RiskLevel
from riskscore.signals import registry
from riskscore.signals.base import SignalSettings

STATISTICAL_VERSION: Final = f"{freeman.MODEL_VERSION}+signals/1"


class Scorer(Protocol):
    """Anything that can assess one observation against its snapshot."""

    @property
    def model_version(self) -> str:
        """Identifies the model in responses and events."""
        ...

    def assess(self, obs: Observation, snapshot: ProfileSnapshot) -> Assessment:
        """Score, level and reasons for one observation."""
        ...


@dataclass(frozen=True, slots=True)
class StatisticalScorer:
    """Freeman et al. (NDSS 2016) times the signals' likelihood-ratio factors.

    Needs no labels and learns only from proven sign-ins. Each signal
    multiplies the raw risk by exp(its log factor): a naive-Bayes combination
    of independent evidence, so impossible travel lifts an otherwise familiar
    sign-in and a remembered device calms an unfamiliar one.
    """

    thresholds: LevelThresholds = field(default_factory=LevelThresholds)
    hierarchies: tuple[freeman.Hierarchy, ...] = freeman.DEFAULT_HIERARCHIES
    signals: SignalSettings = field(default_factory=SignalSettings)

    @property
    def model_version(self) -> str:
        """The statistical model's version string."""
        return STATISTICAL_VERSION

    def assess(self, obs: Observation, snapshot: ProfileSnapshot) -> Assessment:
        """Score one observation with the Freeman model and the signals."""
        result = freeman.score(obs, snapshot, self.hierarchies)
        signals = registry.evaluate(obs, snapshot, self.signals)
        raw = result.raw * math.exp(signals.log_factor)
        risk = self.thresholds.to_score(raw)
        level = self.thresholds.level(risk)
        reasons = sorted(
            (*explain(obs, snapshot, result, self.hierarchies), *signals.reasons),
            key=lambda r: r.weight,
            reverse=True,
        )
        if (crossed := threshold_reason(risk, level, self.thresholds)) is not None:
            reasons.append(crossed)
        return Assessment(
            risk_score=risk,
            risk_level=level,
            reasons=tuple(reasons),
            model_version=self.model_version,
            raw_risk=raw,
            features={**freeman_features(result), **signals.features, "risk_log_raw": _ln(raw)},
        )


def threshold_reason(risk: float, level: RiskLevel, thresholds: LevelThresholds) -> Reason | None:
    """RISK_THRESHOLD: which configured threshold a MEDIUM or HIGH score crossed."""
    if level is RiskLevel.LOW:
        return None
    name, value = (
        ("high", thresholds.high)
        if level is RiskLevel.HIGH
        else (
            "medium",
            thresholds.medium,
        )
    )
    return Reason(
        "RISK_THRESHOLD",
        f"Risk score {risk:.3f} is at or above the {name} threshold {value}.",
        0.0,
        {"score": f"{risk:.6f}", "threshold": name, "value": str(value), "level": level.value},
    )


def freeman_features(result: freeman.FreemanResult) -> dict[str, float]:
    """The Freeman terms as named features (ln scale)."""
    ratios = {t.name: t.ratio for t in result.terms}
    return {
        "freeman_log_raw": _ln(result.raw),
        "freeman_ip_log_ratio": _ln(ratios.get("ip", 1.0)),
        "freeman_ua_log_ratio": _ln(ratios.get("ua", 1.0)),
        "freeman_user_log_factor": _ln(result.user_factor),
    }


def _ln(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf
