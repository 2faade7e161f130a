"""RiskConfiguration wire shapes, validation errors, the console rule and resolution."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import riskscore.policy as policy
from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import InvalidArgumentError
from riskscore.policy import (
    COGNITO_DEFAULT,
    RISKSCORE_DEFAULT,
    AccountTakeoverAction,
    AccountTakeoverActions,
    AccountTakeoverRiskConfiguration,
    CompromisedCredentialsRiskConfiguration,
    RiskConfiguration,
    RiskExceptionConfiguration,
    resolve,
)
from riskscore.policy.ip_ranges import parse_cidr
from riskscore.policy.takeover import RESTRICTIVENESS

GOLDEN = Path(__file__).parent / "fixtures" / "describe_risk_configuration.json"


def golden() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return doc


def test_all_exports_exist() -> None:
    assert all(hasattr(policy, name) for name in policy.__all__)


def test_aws_cli_example_round_trips() -> None:
    """awscli examples/cognito-idp/describe-risk-configuration.rst, verbatim."""
    doc = golden()
    config = RiskConfiguration.from_json(doc)
    assert config.to_response() == doc
    assert RiskConfiguration.from_json(doc["RiskConfiguration"]) == config
    assert config.account_takeover is not None
    assert config.account_takeover.actions.for_level(RiskLevel.HIGH) == AccountTakeoverAction(
        Decision.MFA_IF_CONFIGURED, notify=True
    )
    assert config.exceptions is None
    assert config.client_id is None


def test_full_configuration_round_trips() -> None:
    doc = golden()["RiskConfiguration"]
    doc["ClientId"] = "1example23456789"
    doc["LastModifiedDate"] = 1726694203.495
    doc["RiskExceptionConfiguration"] = {
        "BlockedIPRangeList": ["192.0.2.0/24", "2001:db8::/32"],
        "SkippedIPRangeList": [],
    }
    config = RiskConfiguration.from_wire(doc)
    assert config.last_modified == datetime(2024, 9, 18, 21, 16, 43, 495000, tzinfo=UTC)
    assert config.to_wire() == doc


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("10.0.0.1/8", "10.0.0.0/8"),  # host bits cleared, as Go's net.ParseCIDR network
        ("2001:DB8:0:0::1/32", "2001:db8::/32"),
        ("::ffff:0:0/96", "::ffff:0:0/96"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_cidrs_are_normalised(given: str, normalised: str) -> None:
    wire = {
        "UserPoolId": "us-east-1_abc",
        "RiskExceptionConfiguration": {"SkippedIPRangeList": [given]},
    }
    out = RiskConfiguration.from_wire(wire).to_wire()
    assert out["RiskExceptionConfiguration"] == {"SkippedIPRangeList": [normalised]}


def _set(doc: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy of ``doc`` with ``path`` (dots, [i] indexes) set; the value ``...`` deletes."""
    doc = copy.deepcopy(doc)
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


AT = "AccountTakeoverRiskConfiguration"
CC = "CompromisedCredentialsRiskConfiguration"
RE = "RiskExceptionConfiguration"
NC = f"{AT}.NotifyConfiguration"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("UserPoolId", ..., "UserPoolId"),
        ("UserPoolId", "no-underscore", "UserPoolId"),
        ("UserPoolId", 7, "UserPoolId"),
        ("ClientId", "bad id!", "ClientId"),
        ("LastModifiedDate", "yesterday", "LastModifiedDate"),
        ("Extra", 1, "Extra"),
        (f"{CC}.Actions", ..., f"{CC}.Actions"),
        (f"{CC}.Actions.EventAction", "MFA_REQUIRED", f"{CC}.Actions.EventAction"),
        (f"{CC}.EventFilter[1]", "FORGOT_PASSWORD", f"{CC}.EventFilter[1]"),
        (f"{CC}.EventFilter[2]", "SIGN_IN", f"{CC}.EventFilter[2]"),
        (f"{CC}.EventFilter", "SIGN_IN", f"{CC}.EventFilter"),
        (f"{AT}.Actions", ..., f"{AT}.Actions"),
        (f"{AT}.Actions.HighAction.EventAction", "BLOK", f"{AT}.Actions.HighAction.EventAction"),
        (
            f"{AT}.Actions.HighAction.EventAction",
            "NO_ACTION",
            f"{AT}.Actions.HighAction.EventAction",
        ),
        (f"{AT}.Actions.LowAction.Notify", "yes", f"{AT}.Actions.LowAction.Notify"),
        (f"{AT}.Actions.MediumAction.Notify", ..., f"{AT}.Actions.MediumAction.Notify"),
        (f"{AT}.Actions.Highaction", {}, f"{AT}.Actions.Highaction"),
        (f"{NC}.SourceArn", ..., f"{NC}.SourceArn"),
        (f"{NC}.SourceArn", "ses-identity", f"{NC}.SourceArn"),
        (f"{NC}.BlockEmail.Subject", "", f"{NC}.BlockEmail.Subject"),
        (f"{NC}.MfaEmail.Subject", "x" * 141, f"{NC}.MfaEmail.Subject"),
        (f"{NC}.NoActionEmail.HtmlBody", "short", f"{NC}.NoActionEmail.HtmlBody"),
        (f"{NC}.BlockEmail.TextBody", "x" * 20001, f"{NC}.BlockEmail.TextBody"),
        (f"{NC}.From", 3, f"{NC}.From"),
        (f"{RE}.BlockedIPRangeList", ["192.0.2.0/24", "192.0.2.1"], f"{RE}.BlockedIPRangeList[1]"),
        (f"{RE}.SkippedIPRangeList", ["300.0.0.0/8"], f"{RE}.SkippedIPRangeList[0]"),
        (f"{RE}.SkippedIPRangeList", ["2001:db8::/129"], f"{RE}.SkippedIPRangeList[0]"),
        (f"{RE}.SkippedIPRangeList", "10.0.0.0/8", f"{RE}.SkippedIPRangeList"),
    ],
)
def test_validation_errors_name_the_field(path: str, value: object, field: str) -> None:
    doc = _set(golden()["RiskConfiguration"], path, value)
    with pytest.raises(InvalidArgumentError) as info:
        RiskConfiguration.from_wire(doc)
    assert info.value.field == field
    assert info.value.code == "invalid_argument"


def _rank(action: Decision) -> int:
    return [
        Decision.NO_ACTION,
        Decision.MFA_IF_CONFIGURED,
        Decision.MFA_REQUIRED,
        Decision.BLOCK,
    ].index(action)


@pytest.mark.parametrize(("low", "medium", "high"), list(itertools.product(Decision, repeat=3)))
def test_no_less_restrictive_action_at_a_higher_level(
    low: Decision, medium: Decision, high: Decision
) -> None:
    ordered = _rank(low) <= _rank(medium) <= _rank(high)
    levels = [
        AccountTakeoverAction(low),
        AccountTakeoverAction(medium),
        AccountTakeoverAction(high),
    ]
    if ordered:
        AccountTakeoverActions(*levels)
        return
    with pytest.raises(InvalidArgumentError) as info:
        AccountTakeoverActions(*levels)
    culprit = "MediumAction" if _rank(medium) < _rank(low) else "HighAction"
    assert info.value.field == f"{AT}.Actions.{culprit}.EventAction"


def test_restrictiveness_order_is_the_consoles() -> None:
    assert [_rank(a) for a in RESTRICTIVENESS] == [0, 1, 2, 3]


def test_absent_level_reads_as_no_action() -> None:
    actions = AccountTakeoverActions(high=AccountTakeoverAction(Decision.BLOCK, notify=True))
    assert actions.for_level(RiskLevel.LOW) == AccountTakeoverAction(Decision.NO_ACTION, False)
    with pytest.raises(InvalidArgumentError, match="LowAction"):
        AccountTakeoverActions(low=AccountTakeoverAction(Decision.BLOCK))


@pytest.mark.parametrize("key", ["BlockedIPRangeList", "SkippedIPRangeList"])
def test_at_most_200_ranges(key: str) -> None:
    ranges = [f"10.{i // 256}.{i % 256}.0/24" for i in range(201)]
    ok = {"UserPoolId": "us-east-1_abc", RE: {key: ranges[:200]}}
    assert RiskConfiguration.from_wire(ok).exceptions is not None
    with pytest.raises(InvalidArgumentError) as info:
        RiskConfiguration.from_wire({"UserPoolId": "us-east-1_abc", RE: {key: ranges}})
    assert info.value.field == f"{RE}.{key}"
    nets = tuple(parse_cidr(text, "t") for text in ranges)
    attr = "blocked" if key.startswith("Blocked") else "skipped"
    RiskExceptionConfiguration(**{attr: nets[:200]})
    with pytest.raises(InvalidArgumentError) as built:
        RiskExceptionConfiguration(**{attr: nets})
    assert built.value.field == f"{RE}.{key}"


POOL = RiskConfiguration(
    "us-east-1_pool",
    account_takeover=AccountTakeoverRiskConfiguration(
        AccountTakeoverActions(high=AccountTakeoverAction(Decision.MFA_REQUIRED))
    ),
)
CLIENT = RiskConfiguration(
    "us-east-1_pool",
    client_id="client1",
    compromised=CompromisedCredentialsRiskConfiguration(Decision.NO_ACTION),
)


def test_client_config_wins_over_pool() -> None:
    got = resolve(POOL, CLIENT)
    assert got.source == "client:client1"
    assert got.compromised == CLIENT.compromised
    # The client object replaces the pool's whole: its absent parts are Cognito's defaults.
    assert got.account_takeover == COGNITO_DEFAULT.account_takeover


def test_pool_applies_without_or_with_an_empty_client_config() -> None:
    reset = RiskConfiguration("us-east-1_pool", client_id="client1")
    for client in (None, reset):
        got = resolve(POOL, client)
        assert got.source == "pool"
        assert got.account_takeover == POOL.account_takeover
        assert got.compromised == COGNITO_DEFAULT.compromised
        assert got.exceptions == RiskExceptionConfiguration()


def test_unconfigured_pool_keeps_riskscore_default() -> None:
    assert resolve(None) is RISKSCORE_DEFAULT
    assert resolve(None, None, unconfigured=COGNITO_DEFAULT) is COGNITO_DEFAULT
    reset_pool = resolve(RiskConfiguration("us-east-1_pool"))
    assert reset_pool.account_takeover == COGNITO_DEFAULT.account_takeover


def test_defaults() -> None:
    for level in RiskLevel:
        assert COGNITO_DEFAULT.account_takeover.actions.for_level(level) == AccountTakeoverAction(
            Decision.BLOCK, False
        )
    assert [
        RISKSCORE_DEFAULT.account_takeover.actions.for_level(lv).event_action for lv in RiskLevel
    ] == [
        Decision.NO_ACTION,
        Decision.MFA_IF_CONFIGURED,
        Decision.BLOCK,
    ]
    for default in (COGNITO_DEFAULT, RISKSCORE_DEFAULT):
        assert default.compromised == CompromisedCredentialsRiskConfiguration(Decision.BLOCK, None)


@pytest.mark.parametrize(
    ("pool", "client", "field"),
    [
        (POOL, RiskConfiguration("us-east-1_pool"), "ClientId"),
        (POOL, RiskConfiguration("us-east-1_other", client_id="c"), "UserPoolId"),
    ],
)
def test_resolve_rejects_mismatched_configs(
    pool: RiskConfiguration, client: RiskConfiguration, field: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        resolve(pool, client)
    assert info.value.field == field
