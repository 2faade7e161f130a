"""The decision matrix against an independent oracle, and the rules one by one."""

from __future__ import annotations

import itertools

import pytest

from riskscore.core.attempt import EventType
from riskscore.core.levels import default_decision
from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import InvalidArgumentError
from riskscore.policy import (
    RISKSCORE_DEFAULT,
    AccountTakeoverAction,
    AccountTakeoverActions,
    AccountTakeoverRiskConfiguration,
    AdvancedSecurityMode,
    CompromisedCredentialsRiskConfiguration,
    EffectiveRiskConfiguration,
    PolicyInputs,
    RiskDecision,
    RiskExceptionConfiguration,
    decide,
)
from riskscore.policy.ip_ranges import parse_cidr

IP = "203.0.113.7"
LISTS = {
    "blocked": RiskExceptionConfiguration(blocked=(parse_cidr("203.0.113.0/24", "t"),)),
    "skipped": RiskExceptionConfiguration(skipped=(parse_cidr("203.0.113.0/24", "t"),)),
    "none": RiskExceptionConfiguration(),
}
MODES = list(AdvancedSecurityMode)
TRISTATE = (True, False, None)
ENFORCED = AdvancedSecurityMode.ENFORCED


def config(
    action: Decision,
    exceptions: RiskExceptionConfiguration,
    compromised: CompromisedCredentialsRiskConfiguration | None = None,
) -> EffectiveRiskConfiguration:
    """Every level answers ``action`` and notifies."""
    each = AccountTakeoverAction(action, notify=True)
    return EffectiveRiskConfiguration(
        compromised=compromised or CompromisedCredentialsRiskConfiguration(),
        account_takeover=AccountTakeoverRiskConfiguration(AccountTakeoverActions(each, each, each)),
        exceptions=exceptions,
        source="test",
    )


def inputs(
    level: RiskLevel = RiskLevel.HIGH,
    *,
    compromised: bool | None = None,
    mfa: bool | None = None,
    event: EventType = EventType.SIGN_IN,
    ip: str = IP,
) -> PolicyInputs:
    return PolicyInputs(event, ip, level, 0.5, compromised, mfa, ("score 0.5 >= medium 0.5",))


def oracle(
    mode: str, action: str, mfa: bool | None, compromised: bool | None, ip_list: str
) -> tuple[str, str]:
    """(what ENFORCED would do, what is answered), written from cognito.md 1.1, 1.2 and 10."""
    if ip_list == "blocked":
        would = "BLOCK"
    elif ip_list == "skipped":
        would = "NO_ACTION"
    elif compromised or (mfa is False and action == "MFA_REQUIRED"):
        would = "BLOCK"
    elif mfa is False and action == "MFA_IF_CONFIGURED":
        would = "NO_ACTION"
    else:
        would = action
    if mode == "OFF":
        return "NO_ACTION", "NO_ACTION"
    return would, would if mode == "ENFORCED" else "NO_ACTION"


MATRIX = list(itertools.product(MODES, RiskLevel, Decision, TRISTATE, TRISTATE, LISTS))


@pytest.mark.parametrize(
    ("mode", "level", "action", "mfa", "compromised", "ip_list"),
    MATRIX,
    ids=["-".join(str(getattr(v, "value", v)) for v in case) for case in MATRIX],
)
def test_matrix_matches_oracle(
    mode: AdvancedSecurityMode,
    level: RiskLevel,
    action: Decision,
    mfa: bool | None,
    compromised: bool | None,
    ip_list: str,
) -> None:
    got = decide(
        inputs(level, compromised=compromised, mfa=mfa), config(action, LISTS[ip_list]), mode
    )
    would, answered = oracle(mode.value, action.value, mfa, compromised, ip_list)

    assert got.effective_action.value == answered
    assert got.audit_only is (mode is AdvancedSecurityMode.AUDIT)
    if mode is AdvancedSecurityMode.AUDIT:
        assert got.decision is Decision.NO_ACTION
        assert got.enforced is not None
        assert got.enforced.effective_action.value == would
        assert got.rule.startswith("mode:AUDIT (would have ")
    else:
        assert got.enforced is None
    applied = {"NO_ACTION": "NoRisk", "BLOCK": "Block"}.get(answered, "AccountTakeover")
    assert got.risk_decision.value == applied
    scored = mode is not AdvancedSecurityMode.OFF and ip_list == "none"
    assert got.risk_level == (level if scored else None)
    level_rule = scored and not compromised
    assert got.notify is (level_rule and mode is AdvancedSecurityMode.ENFORCED)
    assert [a.configured for a in got.alternatives] == [action] * 3
    assert got.thresholds == ("score 0.5 >= medium 0.5",)


@pytest.mark.parametrize(
    ("exceptions", "mode", "rule"),
    [
        (LISTS["blocked"], ENFORCED, "exception:BlockedIPRangeList 203.0.113.0/24"),
        (LISTS["skipped"], ENFORCED, "exception:SkippedIPRangeList 203.0.113.0/24"),
        (LISTS["none"], ENFORCED, "account-takeover:HIGH->MFA_REQUIRED (no MFA: BLOCK)"),
        (LISTS["none"], AdvancedSecurityMode.OFF, "mode:OFF"),
        (
            LISTS["none"],
            AdvancedSecurityMode.AUDIT,
            "mode:AUDIT (would have BLOCKed: account-takeover:HIGH->MFA_REQUIRED (no MFA: BLOCK))",
        ),
    ],
)
def test_rule_names_what_decided(
    exceptions: RiskExceptionConfiguration, mode: AdvancedSecurityMode, rule: str
) -> None:
    got = decide(inputs(mfa=False), config(Decision.MFA_REQUIRED, exceptions), mode)
    assert got.rule == rule


def test_blocked_list_wins_over_skipped_list() -> None:
    both = RiskExceptionConfiguration(
        blocked=(parse_cidr("203.0.113.0/28", "t"),), skipped=(parse_cidr("203.0.113.0/24", "t"),)
    )
    got = decide(inputs(), config(Decision.NO_ACTION, both), AdvancedSecurityMode.ENFORCED)
    assert (got.decision, got.risk_decision, got.risk_level) == (
        Decision.BLOCK,
        RiskDecision.BLOCK,
        None,
    )


@pytest.mark.parametrize(
    ("ip", "cidr", "blocked"),
    [
        ("2001:db8::1", "2001:db8::/32", True),
        ("2001:db9::1", "2001:db8::/32", False),
        ("::ffff:203.0.113.7", "203.0.113.0/24", True),  # IPv4-mapped matches IPv4 ranges
        ("203.0.113.7", "::ffff:0:0/96", False),  # versions never cross
        ("", "0.0.0.0/0", False),  # no address: no exception applies
    ],
)
def test_exception_matching_v4_v6(ip: str, cidr: str, blocked: bool) -> None:
    lists = RiskExceptionConfiguration(blocked=(parse_cidr(cidr, "t"),))
    got = decide(inputs(ip=ip), config(Decision.NO_ACTION, lists), AdvancedSecurityMode.ENFORCED)
    assert (got.decision is Decision.BLOCK) is blocked


@pytest.mark.parametrize(
    ("event_filter", "action", "event", "blocks", "detected"),
    [
        (None, Decision.BLOCK, EventType.SIGN_IN, True, True),
        (None, Decision.BLOCK, EventType.FORGOT_PASSWORD, False, False),  # not filterable
        ((EventType.SIGN_UP,), Decision.BLOCK, EventType.SIGN_IN, False, False),
        ((EventType.SIGN_IN,), Decision.BLOCK, EventType.SIGN_IN, True, True),
        ((), Decision.BLOCK, EventType.SIGN_IN, False, False),  # explicit empty filter
        (None, Decision.NO_ACTION, EventType.SIGN_IN, False, True),  # logged, not blocked
    ],
)
def test_compromised_credentials_filter_and_action(
    event_filter: tuple[EventType, ...] | None,
    action: Decision,
    event: EventType,
    blocks: bool,
    detected: bool,
) -> None:
    cfg = config(
        Decision.NO_ACTION,
        LISTS["none"],
        CompromisedCredentialsRiskConfiguration(action, event_filter),
    )
    got = decide(inputs(compromised=True, event=event), cfg, AdvancedSecurityMode.ENFORCED)
    assert (got.decision is Decision.BLOCK) is blocks
    assert got.compromised_detected is detected
    assert got.rule == (
        "compromised-credentials:BLOCK" if blocks else "account-takeover:HIGH->NO_ACTION"
    )


@pytest.mark.parametrize("level", list(RiskLevel))
def test_riskscore_default_matches_todays_engine(level: RiskLevel) -> None:
    got = decide(inputs(level), RISKSCORE_DEFAULT, AdvancedSecurityMode.ENFORCED)
    assert got.decision is default_decision(level)
    assert got.notify is False
    blocked = decide(
        inputs(level, compromised=True), RISKSCORE_DEFAULT, AdvancedSecurityMode.ENFORCED
    )
    assert blocked.rule == "compromised-credentials:BLOCK"


def test_alternatives_show_every_configured_level() -> None:
    actions = AccountTakeoverActions(
        AccountTakeoverAction(Decision.NO_ACTION),
        AccountTakeoverAction(Decision.MFA_IF_CONFIGURED, notify=True),
        AccountTakeoverAction(Decision.MFA_REQUIRED),
    )
    cfg = EffectiveRiskConfiguration(
        CompromisedCredentialsRiskConfiguration(),
        AccountTakeoverRiskConfiguration(actions),
        RiskExceptionConfiguration(),
        "test",
    )
    got = decide(inputs(RiskLevel.LOW, mfa=False), cfg, AdvancedSecurityMode.ENFORCED)
    assert [(a.level, a.configured, a.effective, a.notify) for a in got.alternatives] == [
        (RiskLevel.LOW, Decision.NO_ACTION, Decision.NO_ACTION, False),
        (RiskLevel.MEDIUM, Decision.MFA_IF_CONFIGURED, Decision.NO_ACTION, True),
        (RiskLevel.HIGH, Decision.MFA_REQUIRED, Decision.BLOCK, False),
    ]
    assert got.to_json()["alternatives"][2] == {
        "level": "HIGH",
        "configured": "MFA_REQUIRED",
        "effective": "BLOCK",
        "notify": False,
    }


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("risk_score", {"risk_score": 1.5}), ("ip_address", {"ip_address": "nope"})],
)
def test_inputs_are_validated(field: str, kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "event_type": EventType.SIGN_IN,
        "ip_address": IP,
        "risk_level": RiskLevel.LOW,
        "risk_score": 0.1,
    }
    with pytest.raises(InvalidArgumentError, match=f"^{field}:"):
        PolicyInputs(**{**base, **kwargs})  # type: ignore[arg-type]
