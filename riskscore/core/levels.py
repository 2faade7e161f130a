"""From raw risk to a score in [0, 1] and a level."""

from __future__ import annotations

import math
from dataclasses import dataclass

from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import ConfigError

DEFAULT_MIDPOINT = 7.0
DEFAULT_MEDIUM = 0.5
DEFAULT_HIGH = 0.855


@dataclass(frozen=True, slots=True)
class LevelThresholds:
    """Score cut-offs; ``midpoint`` is the raw risk that maps to a score of 0.5.

    Defaults were calibrated on the proven sign-ins of the RBA sample
    (benchmarks/RESULTS.md): about 2% of them reach MEDIUM and 0.2% HIGH.
    """

    midpoint: float = DEFAULT_MIDPOINT
    medium: float = DEFAULT_MEDIUM
    high: float = DEFAULT_HIGH

    def __post_init__(self) -> None:
        if not (self.midpoint > 0 and math.isfinite(self.midpoint)):
            raise ConfigError("scoring.midpoint", "must be a positive finite number")
        if not 0.0 < self.medium < self.high <= 1.0:
            raise ConfigError("scoring.medium", "need 0 < medium < high <= 1")

    def to_score(self, raw: float) -> float:
        """Monotone map of a non-negative raw risk onto [0, 1)."""
        if raw <= 0.0 or math.isnan(raw):
            return 0.0
        if math.isinf(raw):
            return 1.0
        return raw / (raw + self.midpoint)

    def level(self, score: float) -> RiskLevel:
        """The level a score falls in."""
        if score >= self.high:
            return RiskLevel.HIGH
        if score >= self.medium:
            return RiskLevel.MEDIUM
        return RiskLevel.LOW


DEFAULT_DECISIONS: dict[RiskLevel, Decision] = {
    RiskLevel.LOW: Decision.NO_ACTION,
    RiskLevel.MEDIUM: Decision.MFA_IF_CONFIGURED,
    RiskLevel.HIGH: Decision.BLOCK,
}


def default_decision(level: RiskLevel) -> Decision:
    """The decision until a pool configures its own: LOW allow, MEDIUM MFA, HIGH block."""
    return DEFAULT_DECISIONS[level]
