"""Scorers turn an observation and its profile snapshot into an assessment.

A scorer is a pure value: the service, batch scoring and the evaluator all
call the same ``assess``. The learned model (later) is another Scorer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from riskscore.core import freeman
from riskscore.core.explain import explain
from riskscore.core.features import Observation
from riskscore.core.levels import LevelThresholds
from riskscore.core.profile import ProfileSnapshot
from riskscore.core.result import Assessment


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
    """Freeman et al. (NDSS 2016): needs no labels, learns from proven sign-ins."""

    thresholds: LevelThresholds = field(default_factory=LevelThresholds)
    hierarchies: tuple[freeman.Hierarchy, ...] = freeman.DEFAULT_HIERARCHIES

    @property
    def model_version(self) -> str:
        """The statistical model's version string."""
        return freeman.MODEL_VERSION

    def assess(self, obs: Observation, snapshot: ProfileSnapshot) -> Assessment:
        """Score one observation with the Freeman model."""
        result = freeman.score(obs, snapshot, self.hierarchies)
        risk = self.thresholds.to_score(result.raw)
        return Assessment(
            risk_score=risk,
            risk_level=self.thresholds.level(risk),
            reasons=explain(obs, snapshot, result, self.hierarchies),
            model_version=self.model_version,
            raw_risk=result.raw,
        )
