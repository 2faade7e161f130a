"""What scoring produces: a level, a decision, and reasons a person can read."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class RiskLevel(enum.Enum):
    """Cognito's risk levels."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class Decision(enum.Enum):
    """Cognito's AccountTakeoverEventActionType values."""

    NO_ACTION = "NO_ACTION"
    MFA_IF_CONFIGURED = "MFA_IF_CONFIGURED"
    MFA_REQUIRED = "MFA_REQUIRED"
    BLOCK = "BLOCK"


@dataclass(frozen=True, slots=True)
class Reason:
    """One explanation: a stable code, a sentence, its weight and the facts."""

    code: str
    message: str
    weight: float
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The scorer's answer for one attempt, before any policy."""

    risk_score: float
    risk_level: RiskLevel
    reasons: tuple[Reason, ...]
    model_version: str
    raw_risk: float
    # Every named numeric feature behind the score (signals/registry.py FEATURES).
    features: Mapping[str, float] = field(default_factory=dict)
