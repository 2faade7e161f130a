"""The policy decision for one scored attempt: a value, never an exception.

Rules, first match wins (each cites the cognito.md section it follows):

1. Mode OFF: threat protection is off, so neither the risk configuration nor
   its IP exceptions apply (1.1; SetRiskConfiguration even refuses to store one
   without the add-on): NO_ACTION, no risk level.
2. BlockedIPRangeList: BLOCK with no risk level, Cognito's ``OverrideBlock`` (1.2, 10).
3. SkippedIPRangeList: risk detection is not performed (1.2, 10), so the
   compromised-credentials check is skipped too: NO_ACTION, NoRisk.
4. Compromised credentials, when checked, found, the event is in EventFilter
   and the action is BLOCK (1.2, 10). With NO_ACTION the hit is only recorded.
5. The level's AccountTakeover action, then MFA availability (1.2 EventAction
   semantics): MFA_IF_CONFIGURED without MFA allows, MFA_REQUIRED without MFA blocks.

AUDIT evaluates rules 2-5 as ENFORCED would, then answers NO_ACTION without
notifying (1.1, "takes no automatic action"); ``enforced`` holds what ENFORCED
would have done.
"""

from __future__ import annotations

import enum
import ipaddress
import math
from dataclasses import dataclass, replace
from typing import Final, TypedDict

from riskscore.core.attempt import EventType
from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import InvalidArgumentError
from riskscore.policy.config import AdvancedSecurityMode, EffectiveRiskConfiguration
from riskscore.policy.ip_ranges import IPAddress


class RiskDecision(enum.Enum):
    """``EventRisk.RiskDecision`` (cognito.md 2.1)."""

    NO_RISK = "NoRisk"
    ACCOUNT_TAKEOVER = "AccountTakeover"
    BLOCK = "Block"


# NoRisk: no action; AccountTakeover: the adaptive (MFA) response; Block:
# prevented (cognito.md 2.1) - the same mapping events/records.py exports.
_RISK_DECISIONS: Final = {
    Decision.NO_ACTION: RiskDecision.NO_RISK,
    Decision.MFA_IF_CONFIGURED: RiskDecision.ACCOUNT_TAKEOVER,
    Decision.MFA_REQUIRED: RiskDecision.ACCOUNT_TAKEOVER,
    Decision.BLOCK: RiskDecision.BLOCK,
}


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """What the scorer and the breach check found for one attempt."""

    event_type: EventType
    ip_address: str
    risk_level: RiskLevel
    risk_score: float
    # None: not checked (no corpus, event not checked, source unavailable).
    compromised: bool | None = None
    # None: unknown; the caller applies MFA_* itself.
    mfa_configured: bool | None = None
    # Human-readable thresholds crossed, e.g. "score 0.91 >= high 0.855".
    thresholds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (0.0 <= self.risk_score <= 1.0) or math.isnan(self.risk_score):
            raise InvalidArgumentError("risk_score", "must be in [0, 1]")
        if self.ip_address:
            parse_ip(self.ip_address)

    @property
    def ip(self) -> IPAddress | None:
        """The parsed address (IPv4-mapped IPv6 as IPv4); None when not given."""
        return parse_ip(self.ip_address) if self.ip_address else None


def parse_ip(text: str) -> IPAddress:
    """An IP address, IPv4-mapped IPv6 unwrapped so IPv4 ranges match it."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        raise InvalidArgumentError("ip_address", f"{text!r} is not an IP address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class AlternativeJson(TypedDict):
    """One ``alternatives`` entry of ``PolicyDecision.to_json``."""

    level: str
    configured: str
    effective: str
    notify: bool


class PolicyDecisionJson(TypedDict):
    """``PolicyDecision.to_json``: enums as their wire values."""

    decision: str
    effective_action: str
    notify: bool
    risk_decision: str
    risk_level: str | None
    rule: str
    audit_only: bool
    compromised_detected: bool
    enforced: PolicyDecisionJson | None
    alternatives: list[AlternativeJson]
    thresholds: list[str]


@dataclass(frozen=True, slots=True)
class Alternative:
    """What one configured level action does for this attempt's MFA availability."""

    level: RiskLevel
    configured: Decision
    effective: Decision
    notify: bool


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The answer: what to do, why, and what the other levels would have done."""

    decision: Decision
    effective_action: Decision
    notify: bool
    risk_decision: RiskDecision
    risk_level: RiskLevel | None
    rule: str
    audit_only: bool = False
    # CompromisedCredentialsDetected: found on an event the filter checks.
    compromised_detected: bool = False
    # AUDIT only: the decision ENFORCED would have made.
    enforced: PolicyDecision | None = None
    alternatives: tuple[Alternative, ...] = ()
    thresholds: tuple[str, ...] = ()

    def to_json(self) -> PolicyDecisionJson:
        """A JSON-ready dict (enums as their wire values)."""
        return {
            "decision": self.decision.value,
            "effective_action": self.effective_action.value,
            "notify": self.notify,
            "risk_decision": self.risk_decision.value,
            "risk_level": None if self.risk_level is None else self.risk_level.value,
            "rule": self.rule,
            "audit_only": self.audit_only,
            "compromised_detected": self.compromised_detected,
            "enforced": None if self.enforced is None else self.enforced.to_json(),
            "alternatives": [
                {
                    "level": a.level.value,
                    "configured": a.configured.value,
                    "effective": a.effective.value,
                    "notify": a.notify,
                }
                for a in self.alternatives
            ],
            "thresholds": list(self.thresholds),
        }


def with_mfa(action: Decision, mfa_configured: bool | None) -> Decision:
    """The action once MFA availability is known (cognito.md 1.2 EventAction semantics)."""
    if mfa_configured is False and action is Decision.MFA_IF_CONFIGURED:
        return Decision.NO_ACTION
    if mfa_configured is False and action is Decision.MFA_REQUIRED:
        return Decision.BLOCK
    return action


def alternatives(
    config: EffectiveRiskConfiguration, mfa_configured: bool | None
) -> tuple[Alternative, ...]:
    """Every level's configured action and what it does here, LOW to HIGH."""
    out = []
    for level in RiskLevel:
        action = config.account_takeover.actions.for_level(level)
        effective = with_mfa(action.event_action, mfa_configured)
        out.append(Alternative(level, action.event_action, effective, action.notify))
    return tuple(out)


def decide(
    inputs: PolicyInputs, config: EffectiveRiskConfiguration, mode: AdvancedSecurityMode
) -> PolicyDecision:
    """The policy decision for one attempt under ``config`` in ``mode``."""
    others = alternatives(config, inputs.mfa_configured)
    if mode is AdvancedSecurityMode.OFF:
        return PolicyDecision(
            Decision.NO_ACTION,
            Decision.NO_ACTION,
            notify=False,
            risk_decision=RiskDecision.NO_RISK,
            risk_level=None,
            rule="mode:OFF",
            alternatives=others,
            thresholds=inputs.thresholds,
        )
    enforced = replace(_enforced(inputs, config), alternatives=others, thresholds=inputs.thresholds)
    if mode is AdvancedSecurityMode.ENFORCED:
        return enforced
    return replace(
        enforced,
        decision=Decision.NO_ACTION,
        effective_action=Decision.NO_ACTION,
        notify=False,
        risk_decision=RiskDecision.NO_RISK,
        rule=f"mode:AUDIT (would have {_past(enforced.effective_action)}: {enforced.rule})",
        audit_only=True,
        enforced=enforced,
    )


def _enforced(inputs: PolicyInputs, config: EffectiveRiskConfiguration) -> PolicyDecision:
    ip = inputs.ip
    exceptions = config.exceptions
    blocked = None if ip is None else exceptions.blocked_match(ip)
    if blocked is not None:
        return PolicyDecision(
            Decision.BLOCK,
            Decision.BLOCK,
            notify=False,
            risk_decision=RiskDecision.BLOCK,
            risk_level=None,
            rule=f"exception:BlockedIPRangeList {blocked}",
        )
    skipped = None if ip is None else exceptions.skipped_match(ip)
    if skipped is not None:
        return PolicyDecision(
            Decision.NO_ACTION,
            Decision.NO_ACTION,
            notify=False,
            risk_decision=RiskDecision.NO_RISK,
            risk_level=None,
            rule=f"exception:SkippedIPRangeList {skipped}",
        )
    compromised = config.compromised
    detected = inputs.compromised is True and compromised.applies_to(inputs.event_type)
    if detected and compromised.event_action is Decision.BLOCK:
        return PolicyDecision(
            Decision.BLOCK,
            Decision.BLOCK,
            notify=False,
            risk_decision=RiskDecision.BLOCK,
            risk_level=inputs.risk_level,
            rule="compromised-credentials:BLOCK",
            compromised_detected=True,
        )
    level = inputs.risk_level
    action = config.account_takeover.actions.for_level(level)
    effective = with_mfa(action.event_action, inputs.mfa_configured)
    rule = f"account-takeover:{level.value}->{action.event_action.value}"
    if effective is not action.event_action:
        rule += f" (no MFA: {effective.value})"
    return PolicyDecision(
        action.event_action,
        effective,
        notify=action.notify,
        risk_decision=_RISK_DECISIONS[effective],
        risk_level=level,
        rule=rule,
        compromised_detected=detected,
    )


def _past(action: Decision) -> str:
    return "BLOCKed" if action is Decision.BLOCK else f"answered {action.value}"
