"""Builders of the auth event log's records, in Cognito's exported shapes.

Shapes follow Cognito's log export (reference/cognito.md section 3.2): a
USER_ACTIVITY record whose ``message`` values are all strings, and a
USER_NOTIFICATION record. What Cognito does not have (our score, reasons with
evidence, model version, decision rule) sits under a separate top-level
``riskscore`` key so a Cognito consumer sees exactly Cognito's fields.
Every builder runs :func:`ensure_no_secrets` on what it returns.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, NotRequired, TypedDict

from riskscore.core import features as f
from riskscore.core.attempt import EventType, Outcome
from riskscore.core.result import Decision, Reason
from riskscore.errors import RiskscoreError

# Feedback is the history's own value (AdminUpdateAuthEventFeedback), re-exported here.
from riskscore.stores.base import AttemptRecord, Feedback

__all__ = [
    "ActivityMessage",
    "ActivityRecord",
    "Challenge",
    "Context",
    "Feedback",
    "NotificationRecord",
    "ReasonJson",
    "RiskscoreFields",
    "SecretInRecordError",
    "activity_record",
    "cognito_date",
    "default_challenges",
    "ensure_no_secrets",
    "notification_record",
    "outcome_record",
    "to_message",
]

EventResponse = Literal["InProgress", "Pass", "Fail"]

_EVENT_TYPES: Final = {
    EventType.SIGN_IN: "SignIn",
    EventType.SIGN_UP: "SignUp",
    EventType.PASSWORD_CHANGE: "PasswordChange",
    EventType.FORGOT_PASSWORD: "ForgotPassword",
}
# The export writes PASS where the API says NoRisk (reference 3.2); an MFA
# response is the adaptive "AccountTakeover" action, BLOCK prevents (2.1).
_RISK_DECISIONS: Final = {
    Decision.NO_ACTION: "PASS",
    Decision.MFA_IF_CONFIGURED: "ACCOUNT_TAKEOVER",
    Decision.MFA_REQUIRED: "ACCOUNT_TAKEOVER",
    Decision.BLOCK: "BLOCK",
}
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECRET_KEY: Final = re.compile(r"password|secret|token|hash", re.IGNORECASE)
# A SHA-1 (40 hex) or longer digest, or a bcrypt/crypt hash, in our evidence.
_SECRET_VALUE: Final = re.compile(r"[0-9a-fA-F]{40,}|\$2[abxy]?\$\d\d\$|\$[156]\$")


class SecretInRecordError(RiskscoreError):
    """A record would have carried something that looks like a secret."""

    code = "internal_error"


class Challenge(TypedDict):
    """One challenge of an attempt, as AdminListUserAuthEvents names them."""

    challengeName: Literal["Password", "Mfa"]
    challengeResponse: Literal["Success", "Failure"]


class ActivityMessage(TypedDict):
    """The ``message`` of a USER_ACTIVITY record: every value is a string."""

    version: str
    eventId: str
    eventType: str
    userSub: str
    userName: str
    userPoolId: str
    clientId: str
    creationDate: str
    eventResponse: str
    riskLevel: str
    riskDecision: str
    challenges: list[Challenge]
    deviceName: str
    ipAddress: str
    requestId: str
    idpName: str
    compromisedCredentialDetected: str
    city: str
    country: str
    eventFeedbackValue: str
    eventFeedbackDate: str
    eventFeedbackProvider: str
    hasContextData: str


class ReasonJson(TypedDict):
    """One reason, with the evidence a person needs."""

    code: str
    message: str
    weight: float
    evidence: dict[str, str]


class RiskscoreFields(TypedDict):
    """Our additions to Cognito's record."""

    riskScore: float
    reasons: list[ReasonJson]
    modelVersion: str
    decisionRule: str
    outcome: NotRequired[str]


class LogSource(TypedDict):
    """Which pool a record came from."""

    userPoolId: str


class ActivityRecord(TypedDict):
    """A USER_ACTIVITY record."""

    eventTimestamp: str
    eventSource: Literal["USER_ACTIVITY"]
    logLevel: Literal["INFO"]
    message: ActivityMessage
    logSourceId: LogSource
    riskscore: RiskscoreFields


class NotificationMessage(TypedDict):
    """The ``message`` of a USER_NOTIFICATION record."""

    details: str


class NotificationRecord(TypedDict):
    """A USER_NOTIFICATION (error) record."""

    eventTimestamp: str
    eventSource: Literal["USER_NOTIFICATION"]
    logLevel: Literal["ERROR"]
    message: NotificationMessage
    logSourceId: LogSource


@dataclass(frozen=True, slots=True)
class Context:
    """Facts about an attempt that its AttemptRecord does not hold."""

    client_id: str = ""
    user_sub: str = ""
    request_id: str = ""
    idp_name: str = ""
    # None: derived from the observation (browser/OS, place).
    device_name: str | None = None
    city: str | None = None
    country: str | None = None
    has_context_data: bool = True
    compromised_credentials: bool = False
    feedback: Feedback | None = None


def cognito_date(at: datetime) -> str:
    """A time as Cognito's export prints creationDate: ``Wed Jul 17 17:25:55 UTC 2024``."""
    t = at.astimezone(UTC)
    month = _MONTHS[t.month - 1]
    return f"{_DAYS[t.weekday()]} {month} {t.day:02d} {t:%H:%M:%S} UTC {t.year}"


def activity_record(
    record: AttemptRecord,
    *,
    now: datetime,
    reasons: Sequence[Reason] = (),
    model_version: str = "",
    decision_rule: str = "",
    event_response: EventResponse = "InProgress",
    challenges: Sequence[Challenge] = (),
    context: Context | None = None,
) -> ActivityRecord:
    """The USER_ACTIVITY record of a scored attempt (``now`` is the record's eventTimestamp)."""
    ctx = context or Context()
    obs = record.observation
    device = ctx.device_name
    if device is None:
        device = f"{obs.get(f.BROWSER) or 'Other'}, {obs.get(f.OS) or 'Other'}"
    fb = ctx.feedback
    message: ActivityMessage = {
        "version": "1",
        "eventId": record.event_id,
        "eventType": _EVENT_TYPES[record.event_type],
        "userSub": ctx.user_sub,
        "userName": record.username,
        "userPoolId": record.pool_id,
        "clientId": ctx.client_id,
        "creationDate": cognito_date(record.created),
        "eventResponse": event_response,
        "riskLevel": record.risk_level.value,
        "riskDecision": _RISK_DECISIONS[record.decision],
        "challenges": list(challenges),
        "deviceName": device,
        "ipAddress": obs.ip_address,
        "requestId": ctx.request_id,
        "idpName": ctx.idp_name,
        "compromisedCredentialDetected": _flag(ctx.compromised_credentials),
        "city": obs.place.city if ctx.city is None else ctx.city,
        "country": obs.place.country if ctx.country is None else ctx.country,
        "eventFeedbackValue": "" if fb is None else fb.value,
        "eventFeedbackDate": "" if fb is None else cognito_date(fb.date),
        "eventFeedbackProvider": "" if fb is None else fb.provider,
        "hasContextData": _flag(ctx.has_context_data),
    }
    out: ActivityRecord = {
        "eventTimestamp": str(_ms(now)),
        "eventSource": "USER_ACTIVITY",
        "logLevel": "INFO",
        "message": message,
        "logSourceId": {"userPoolId": record.pool_id},
        "riskscore": {
            "riskScore": round(record.risk_score, 6),
            "reasons": [_reason(r) for r in reasons],
            "modelVersion": model_version,
            "decisionRule": decision_rule,
        },
    }
    ensure_no_secrets(out)
    return out


def outcome_record(
    record: AttemptRecord,
    outcome: Outcome,
    *,
    now: datetime,
    model_version: str = "",
    decision_rule: str = "",
    challenges: Sequence[Challenge] | None = None,
    context: Context | None = None,
) -> ActivityRecord:
    """The follow-up record of an attempt's outcome: same eventId, eventResponse Pass/Fail.

    ABANDONED counts as Fail: the attempt never proved the user.
    """
    if challenges is None:
        challenges = default_challenges(outcome)
    out = activity_record(
        record,
        now=now,
        model_version=model_version,
        decision_rule=decision_rule,
        event_response="Pass" if outcome is Outcome.SUCCEEDED else "Fail",
        challenges=challenges,
        context=context,
    )
    out["riskscore"]["outcome"] = outcome.value
    return out


def notification_record(pool_id: str, details: str, *, now: datetime) -> NotificationRecord:
    """A USER_NOTIFICATION error record (for example a failed risk notification email)."""
    out: NotificationRecord = {
        "eventTimestamp": str(_ms(now)),
        "eventSource": "USER_NOTIFICATION",
        "logLevel": "ERROR",
        "message": {"details": details},
        "logSourceId": {"userPoolId": pool_id},
    }
    ensure_no_secrets(out)
    return out


def to_message(record: ActivityRecord | NotificationRecord) -> str:
    """The compact JSON text stored as one log event's message."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def ensure_no_secrets(record: Mapping[str, object]) -> None:
    """Raise SecretInRecordError if a key names a secret or our evidence holds a digest.

    Keys anywhere are checked for password/secret/token/hash; string values
    under ``riskscore`` (evidence comes from signals, the likeliest leak) for
    SHA-1-or-longer hex and crypt-style hashes. This runs for every event, so
    the walk carries no path; the path is rebuilt only to name an offender.
    """
    if _clean(record, in_ours=False, top=True):
        return
    _walk(record, "", in_ours=False)


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    # Records reuse a small vocabulary of keys: remember the verdicts.
    return _SECRET_KEY.search(key) is not None


def _secret_value(value: str) -> bool:
    # Both patterns need 40+ characters or a '$': skip the regex for the rest.
    return (len(value) >= 40 or "$" in value) and _SECRET_VALUE.search(value) is not None


def _clean(value: object, *, in_ours: bool, top: bool = False) -> bool:
    if isinstance(value, Mapping):
        for key, child in value.items():
            ours = in_ours or (top and key == "riskscore")
            if _secret_key(str(key)) or not _clean(child, in_ours=ours):
                return False
        return True
    if isinstance(value, list | tuple):
        return all(_clean(child, in_ours=in_ours) for child in value)
    return not (in_ours and isinstance(value, str) and _secret_value(value))


def _walk(value: object, path: str, *, in_ours: bool) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)):
                raise SecretInRecordError(f"record key {where!r} looks like a secret")
            _walk(child, where, in_ours=in_ours or where == "riskscore")
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            _walk(child, f"{path}[{index}]", in_ours=in_ours)
    elif isinstance(value, str) and in_ours and _SECRET_VALUE.search(value):
        raise SecretInRecordError(f"record value at {path!r} looks like a hash or secret")


def _reason(reason: Reason) -> ReasonJson:
    return {
        "code": reason.code,
        "message": reason.message,
        "weight": round(reason.weight, 6),
        "evidence": dict(reason.evidence),
    }


def default_challenges(outcome: Outcome) -> list[Challenge]:
    """The challenges an outcome implies (AdminListUserAuthEvents' ChallengeResponses)."""
    if outcome is Outcome.SUCCEEDED:
        return [{"challengeName": "Password", "challengeResponse": "Success"}]
    if outcome is Outcome.FAILED_PASSWORD:
        return [{"challengeName": "Password", "challengeResponse": "Failure"}]
    if outcome is Outcome.FAILED_MFA:
        return [
            {"challengeName": "Password", "challengeResponse": "Success"},
            {"challengeName": "Mfa", "challengeResponse": "Failure"},
        ]
    return []


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _ms(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(milliseconds=1)
