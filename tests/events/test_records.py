"""Golden shapes of the auth event log's records, and the secret guard."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from riskscore.core.attempt import EventType, Outcome
from riskscore.core.result import Decision, Reason, RiskLevel
from riskscore.events.records import (
    Context,
    Feedback,
    SecretInRecordError,
    activity_record,
    cognito_date,
    ensure_no_secrets,
    notification_record,
    outcome_record,
    to_message,
)
from riskscore.stores.base import AttemptRecord
from tests.builders import make_obs

FIXTURES = Path(__file__).parent / "fixtures"
CREATED = datetime(2024, 7, 17, 17, 25, 55, tzinfo=UTC)
NOW = datetime(2024, 7, 17, 17, 25, 55, 677000, tzinfo=UTC)
EVENT_ID = "2f9d5b1e-8c4a-4e0b-9d6a-3b7c1e2f4a5d"


def _record(decision: Decision = Decision.MFA_IF_CONFIGURED) -> AttemptRecord:
    return AttemptRecord(
        event_id=EVENT_ID,
        pool_id="us-west-2_EXAMPLE",
        username="test-user",
        event_type=EventType.SIGN_IN,
        created=CREATED,
        observation=make_obs(ip="192.0.2.1", browser="Chrome 126", os_="Windows 10", city="Oslo"),
        risk_score=0.61234567,
        risk_level=RiskLevel.MEDIUM,
        decision=decision,
    )


REASONS = (
    Reason(
        code="NEW_COUNTRY",
        message="First sign-in from NO",
        weight=2.5,
        evidence={"country": "NO", "known_countries": "SE,DK"},
    ),
)
CONTEXT = Context(
    client_id="1example23456789",
    user_sub="6a3e1f0c-1111-4222-8333-944455566677",
    request_id="c0ffee00-1234-4abc-8def-001122334455",
    country="Norway",
)


def test_activity_record_matches_golden_fixture() -> None:
    record = activity_record(
        _record(),
        now=NOW,
        reasons=REASONS,
        model_version="freeman-2016/1",
        decision_rule="MEDIUM->MFA_IF_CONFIGURED",
        context=CONTEXT,
    )
    golden = json.loads((FIXTURES / "activity_record.json").read_text(encoding="utf-8"))
    assert json.loads(to_message(record)) == golden


def test_activity_message_values_are_all_strings_like_cognitos() -> None:
    record = activity_record(_record(), now=NOW)
    message = record["message"]
    assert all(isinstance(v, str) for k, v in message.items() if k != "challenges")
    assert set(message) == {
        "version", "eventId", "eventType", "userSub", "userName", "userPoolId", "clientId",
        "creationDate", "eventResponse", "riskLevel", "riskDecision", "challenges",
        "deviceName", "ipAddress", "requestId", "idpName", "compromisedCredentialDetected",
        "city", "country", "eventFeedbackValue", "eventFeedbackDate", "eventFeedbackProvider",
        "hasContextData",
    }  # fmt: skip
    assert record["eventTimestamp"] == "1721237155677"


def test_cognito_date_format() -> None:
    assert cognito_date(CREATED) == "Wed Jul 17 17:25:55 UTC 2024"
    assert cognito_date(datetime(2026, 1, 5, 9, 0, 1, tzinfo=UTC)) == "Mon Jan 05 09:00:01 UTC 2026"


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (Decision.NO_ACTION, "PASS"),
        (Decision.MFA_IF_CONFIGURED, "ACCOUNT_TAKEOVER"),
        (Decision.MFA_REQUIRED, "ACCOUNT_TAKEOVER"),
        (Decision.BLOCK, "BLOCK"),
    ],
)
def test_risk_decision_uses_export_spelling(decision: Decision, expected: str) -> None:
    assert activity_record(_record(decision), now=NOW)["message"]["riskDecision"] == expected


@pytest.mark.parametrize(
    ("outcome", "response", "challenges"),
    [
        (Outcome.SUCCEEDED, "Pass", [("Password", "Success")]),
        (Outcome.FAILED_PASSWORD, "Fail", [("Password", "Failure")]),
        (Outcome.FAILED_MFA, "Fail", [("Password", "Success"), ("Mfa", "Failure")]),
        (Outcome.ABANDONED, "Fail", []),
    ],
)
def test_outcome_record_reuses_event_id(
    outcome: Outcome, response: str, challenges: list[tuple[str, str]]
) -> None:
    feedback = Feedback("Valid", "Admin", CREATED)
    record = outcome_record(_record(), outcome, now=NOW, context=Context(feedback=feedback))
    message = record["message"]
    assert message["eventId"] == EVENT_ID
    assert message["eventResponse"] == response
    assert [(c["challengeName"], c["challengeResponse"]) for c in message["challenges"]] == (
        challenges
    )
    assert message["eventFeedbackValue"] == "Valid"
    assert message["eventFeedbackDate"] == "Wed Jul 17 17:25:55 UTC 2024"
    assert record["riskscore"]["outcome"] == outcome.value


def test_notification_record_shape() -> None:
    record = notification_record("us-west-2_EXAMPLE", "SES rejected the email", now=NOW)
    assert record == {
        "eventTimestamp": "1721237155677",
        "eventSource": "USER_NOTIFICATION",
        "logLevel": "ERROR",
        "message": {"details": "SES rejected the email"},
        "logSourceId": {"userPoolId": "us-west-2_EXAMPLE"},
    }


SHA1 = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"


@pytest.mark.parametrize(
    "evidence",
    [
        {"breach_sha1": SHA1},
        {"prefix": f"sha1={SHA1.upper()}"},
        {"password_hint": "x"},
        {"session_token": "abc"},
        {"client_secret": "abc"},
        {"pw_hash": "abc"},
        {"stored": "$2b$12$abcdefghijklmnopqrstuv"},
    ],
)
def test_secret_guard_refuses_secret_looking_evidence(evidence: dict[str, str]) -> None:
    reason = Reason("BREACHED", "credential found in a breach corpus", 3.0, evidence)
    with pytest.raises(SecretInRecordError):
        activity_record(_record(), now=NOW, reasons=(reason,))


def test_secret_guard_checks_keys_everywhere_and_passes_clean_records() -> None:
    with pytest.raises(SecretInRecordError, match=r"message\.accessToken"):
        ensure_no_secrets({"message": {"accessToken": "x"}})
    with pytest.raises(SecretInRecordError):
        ensure_no_secrets({"a": [{"b": {"Password": "x"}}]})
    # A user-chosen value outside our evidence is data, not a leak.
    ensure_no_secrets({"message": {"userName": SHA1}})
    ensure_no_secrets(activity_record(_record(), now=NOW, reasons=REASONS))
