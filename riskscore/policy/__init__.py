"""Cognito threat-protection policy: RiskConfiguration values and the pure decision.

Pure core (no I/O) except ``cli_policy``, the offline ``riskscore policy test``.
"""

from __future__ import annotations

from riskscore.policy.config import (
    COGNITO_DEFAULT,
    RISKSCORE_DEFAULT,
    AccountTakeoverAction,
    AccountTakeoverActions,
    AccountTakeoverRiskConfiguration,
    AdvancedSecurityMode,
    CompromisedCredentialsRiskConfiguration,
    EffectiveRiskConfiguration,
    NotifyConfiguration,
    NotifyEmail,
    RiskConfiguration,
    RiskExceptionConfiguration,
    resolve,
)
from riskscore.policy.decide import (
    Alternative,
    PolicyDecision,
    PolicyInputs,
    RiskDecision,
    decide,
)

__all__ = [
    "COGNITO_DEFAULT",
    "RISKSCORE_DEFAULT",
    "AccountTakeoverAction",
    "AccountTakeoverActions",
    "AccountTakeoverRiskConfiguration",
    "AdvancedSecurityMode",
    "Alternative",
    "CompromisedCredentialsRiskConfiguration",
    "EffectiveRiskConfiguration",
    "NotifyConfiguration",
    "NotifyEmail",
    "PolicyDecision",
    "PolicyInputs",
    "RiskConfiguration",
    "RiskDecision",
    "RiskExceptionConfiguration",
    "decide",
    "resolve",
]
