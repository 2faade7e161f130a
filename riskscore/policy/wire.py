"""Cognito's RiskConfiguration JSON shapes, as DescribeRiskConfiguration returns them.

Member names and nesting follow the API reference (cognito.md 1.2, BOTO-IDP
``RiskConfigurationType`` and its members); optional members are omitted, never null.
"""

from __future__ import annotations

from typing import Literal, Required, TypedDict

EventFilterName = Literal["SIGN_IN", "PASSWORD_CHANGE", "SIGN_UP"]
CompromisedEventAction = Literal["BLOCK", "NO_ACTION"]
TakeoverEventAction = Literal["BLOCK", "MFA_IF_CONFIGURED", "MFA_REQUIRED", "NO_ACTION"]


class CompromisedCredentialsActionsWire(TypedDict):
    """``CompromisedCredentialsActionsType``."""

    EventAction: CompromisedEventAction


class CompromisedCredentialsRiskConfigurationWire(TypedDict, total=False):
    """``CompromisedCredentialsRiskConfigurationType``."""

    EventFilter: list[EventFilterName]
    Actions: Required[CompromisedCredentialsActionsWire]


class AccountTakeoverActionWire(TypedDict):
    """``AccountTakeoverActionType``."""

    Notify: bool
    EventAction: TakeoverEventAction


class AccountTakeoverActionsWire(TypedDict, total=False):
    """``AccountTakeoverActionsType``: every level is optional."""

    LowAction: AccountTakeoverActionWire
    MediumAction: AccountTakeoverActionWire
    HighAction: AccountTakeoverActionWire


class NotifyEmailWire(TypedDict, total=False):
    """``NotifyEmailType``."""

    Subject: Required[str]
    HtmlBody: str
    TextBody: str


class NotifyConfigurationWire(TypedDict, total=False):
    """``NotifyConfigurationType``."""

    From: str
    ReplyTo: str
    SourceArn: Required[str]
    BlockEmail: NotifyEmailWire
    NoActionEmail: NotifyEmailWire
    MfaEmail: NotifyEmailWire


class AccountTakeoverRiskConfigurationWire(TypedDict, total=False):
    """``AccountTakeoverRiskConfigurationType``."""

    NotifyConfiguration: NotifyConfigurationWire
    Actions: Required[AccountTakeoverActionsWire]


class RiskExceptionConfigurationWire(TypedDict, total=False):
    """``RiskExceptionConfigurationType``."""

    BlockedIPRangeList: list[str]
    SkippedIPRangeList: list[str]


class RiskConfigurationWire(TypedDict, total=False):
    """``RiskConfigurationType``; ``LastModifiedDate`` is epoch seconds on the wire."""

    UserPoolId: Required[str]
    ClientId: str
    CompromisedCredentialsRiskConfiguration: CompromisedCredentialsRiskConfigurationWire
    AccountTakeoverRiskConfiguration: AccountTakeoverRiskConfigurationWire
    RiskExceptionConfiguration: RiskExceptionConfigurationWire
    LastModifiedDate: float


class DescribeRiskConfigurationResponseWire(TypedDict):
    """``DescribeRiskConfigurationResponse`` (and ``SetRiskConfigurationResponse``)."""

    RiskConfiguration: RiskConfigurationWire
