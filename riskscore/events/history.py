"""A history event in AdminListUserAuthEvents' AuthEventType shape (reference/cognito.md 2.1).

Keys and values are exactly what boto3 returns in ``AuthEvents``, with the
timestamps as the wire carries them (epoch seconds). Optional members with
nothing to say are left out, as Cognito leaves them out.
"""

from __future__ import annotations

from typing import Final, Literal, NotRequired, TypedDict

from riskscore.core import features as f
from riskscore.core.attempt import EventType, Outcome
from riskscore.core.result import Decision
from riskscore.events.records import default_challenges
from riskscore.stores.base import AuthEvent

__all__ = [
    "AuthEventJson",
    "ChallengeResponseJson",
    "ContextDataJson",
    "EventFeedbackJson",
    "EventRiskJson",
    "auth_event_json",
]

_EVENT_TYPES: Final = {
    EventType.SIGN_IN: "SignIn",
    EventType.SIGN_UP: "SignUp",
    EventType.PASSWORD_CHANGE: "PasswordChange",
    EventType.FORGOT_PASSWORD: "ForgotPassword",
}
# RiskDecision: NoRisk no action, AccountTakeover the adaptive (MFA) response, Block prevented.
_RISK_DECISIONS: Final = {
    Decision.NO_ACTION: "NoRisk",
    Decision.MFA_IF_CONFIGURED: "AccountTakeover",
    Decision.MFA_REQUIRED: "AccountTakeover",
    Decision.BLOCK: "Block",
}


class EventRiskJson(TypedDict):
    """EventRiskType."""

    RiskDecision: str
    RiskLevel: str
    CompromisedCredentialsDetected: bool


class ChallengeResponseJson(TypedDict):
    """ChallengeResponseType."""

    ChallengeName: Literal["Password", "Mfa"]
    ChallengeResponse: Literal["Success", "Failure"]


class ContextDataJson(TypedDict):
    """EventContextDataType: all strings, each optional."""

    IpAddress: str
    DeviceName: NotRequired[str]
    Timezone: NotRequired[str]
    City: NotRequired[str]
    Country: NotRequired[str]


class EventFeedbackJson(TypedDict):
    """EventFeedbackType."""

    FeedbackValue: Literal["Valid", "Invalid"]
    Provider: str
    FeedbackDate: float


class AuthEventJson(TypedDict):
    """AuthEventType."""

    EventId: str
    EventType: str
    CreationDate: float
    EventResponse: Literal["Pass", "Fail", "InProgress"]
    EventRisk: EventRiskJson
    ChallengeResponses: list[ChallengeResponseJson]
    EventContextData: ContextDataJson
    EventFeedback: NotRequired[EventFeedbackJson]


def _epoch(at: float) -> float:
    # Cognito sends milliseconds as a fraction of a second: 1726694203.495.
    return round(at, 3)


def auth_event_json(event: AuthEvent) -> AuthEventJson:
    """One AuthEvents item."""
    record = event.record
    obs = record.observation
    outcome = record.outcome
    response: Literal["Pass", "Fail", "InProgress"] = (
        "InProgress" if outcome is None else "Pass" if outcome is Outcome.SUCCEEDED else "Fail"
    )
    context: ContextDataJson = {
        "IpAddress": obs.ip_address,
        "DeviceName": f"{obs.get(f.BROWSER) or 'Other'}, {obs.get(f.OS) or 'Other'}",
    }
    if obs.place.city:
        context["City"] = obs.place.city
    if obs.place.country:
        context["Country"] = obs.place.country
    out: AuthEventJson = {
        "EventId": record.event_id,
        "EventType": _EVENT_TYPES[record.event_type],
        "CreationDate": _epoch(record.created.timestamp()),
        "EventResponse": response,
        "EventRisk": {
            "RiskDecision": _RISK_DECISIONS[record.decision],
            "RiskLevel": record.risk_level.value.title(),
            "CompromisedCredentialsDetected": record.compromised,
        },
        "ChallengeResponses": [
            {"ChallengeName": c["challengeName"], "ChallengeResponse": c["challengeResponse"]}
            for c in (default_challenges(outcome) if outcome is not None else [])
        ],
        "EventContextData": context,
    }
    if event.feedback is not None:
        out["EventFeedback"] = {
            "FeedbackValue": event.feedback.value,
            "Provider": event.feedback.provider,
            "FeedbackDate": _epoch(event.feedback.date.timestamp()),
        }
    return out
