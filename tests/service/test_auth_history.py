"""ListAuthEvents and UpdateAuthEventFeedback through real stubs: paging, shapes, feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from riskscore.events.reader import FileLogQuery
from riskscore.v1 import admin_pb2, admin_pb2_grpc, risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread
from tests.service.test_admin_service import AUTH, POOL, admin_config, score_request, violation

HOME_IP = "84.208.0.1"
# Another country and another browser: a sign-in the user's history does not explain.
AWAY_IP = "81.2.69.160"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


@pytest.fixture
def service(tmp_path: Path, asn_db: Path) -> Iterator[ServerThread]:
    with ServerThread(admin_config(tmp_path, asn_db)) as running:
        yield running


@pytest.fixture
def channel(service: ServerThread) -> Iterator[grpc.Channel]:
    with service.channel() as ch:
        yield ch


@pytest.fixture
def admin(channel: grpc.Channel) -> admin_pb2_grpc.RiskAdminServiceStub:
    return admin_pb2_grpc.RiskAdminServiceStub(channel)


@pytest.fixture
def risk(channel: grpc.Channel) -> risk_pb2_grpc.RiskServiceStub:
    return risk_pb2_grpc.RiskServiceStub(channel)


def scored(risk: risk_pb2_grpc.RiskServiceStub, user: str, **kw: Any) -> risk_pb2.ScoreResponse:
    return risk.Score(score_request(user, **kw), timeout=10)


def report(
    risk: risk_pb2_grpc.RiskServiceStub,
    event_id: str,
    outcome: risk_pb2.Outcome.ValueType = risk_pb2.SUCCEEDED,
) -> None:
    risk.ReportOutcome(risk_pb2.OutcomeRequest(event_id=event_id, outcome=outcome), timeout=10)


def settle(risk: risk_pb2_grpc.RiskServiceStub, user: str, n: int = 4) -> None:
    """Give a user n proven sign-ins from home."""
    for _ in range(n):
        report(risk, scored(risk, user).event_id)


def listed(
    admin: admin_pb2_grpc.RiskAdminServiceStub, user: str, max_results: int = 0, token: str = ""
) -> tuple[list[dict[str, Any]], str]:
    answer = admin.ListAuthEvents(
        admin_pb2.ListAuthEventsRequest(
            user_pool_id=POOL, username=user, max_results=max_results, next_token=token
        ),
        metadata=AUTH,
        timeout=10,
    )
    return [json.loads(e) for e in answer.auth_events_json], answer.next_token


def feedback(
    admin: admin_pb2_grpc.RiskAdminServiceStub,
    user: str,
    event_id: str,
    value: admin_pb2.FeedbackValue.ValueType,
    provider: str = "",
) -> admin_pb2.UpdateAuthEventFeedbackResponse:
    return admin.UpdateAuthEventFeedback(
        admin_pb2.UpdateAuthEventFeedbackRequest(
            user_pool_id=POOL,
            username=user,
            event_id=event_id,
            feedback_value=value,
            provider=provider,
        ),
        metadata=AUTH,
        timeout=10,
    )


def explained(
    admin: admin_pb2_grpc.RiskAdminServiceStub, user: str, **kw: Any
) -> admin_pb2.ExplainDecisionResponse:
    return admin.ExplainDecision(score_request(user, **kw), metadata=AUTH, timeout=10)


def test_history_is_newest_first_in_cognitos_shape_and_pages(
    admin: admin_pb2_grpc.RiskAdminServiceStub, risk: risk_pb2_grpc.RiskServiceStub
) -> None:
    passed = scored(risk, "ana")
    report(risk, passed.event_id)
    failed = scored(risk, "ana")
    report(risk, failed.event_id, risk_pb2.FAILED_MFA)
    pending = scored(risk, "ana", ip_address=AWAY_IP, user_agent=CHROME_MAC)
    scored(risk, "bo")

    events, token = listed(admin, "ana")
    assert token == ""
    assert [e["EventId"] for e in events] == [pending.event_id, failed.event_id, passed.event_id]
    newest, middle, oldest = events
    assert set(newest) == {
        "EventId",
        "EventType",
        "CreationDate",
        "EventResponse",
        "EventRisk",
        "ChallengeResponses",
        "EventContextData",
    }
    assert newest["EventType"] == "SignIn"
    assert newest["EventResponse"] == "InProgress"
    assert newest["ChallengeResponses"] == []
    assert newest["EventContextData"]["IpAddress"] == AWAY_IP
    assert newest["EventContextData"]["DeviceName"].startswith("Chrome")
    assert newest["EventRisk"]["RiskLevel"] in {"Low", "Medium", "High"}
    assert newest["EventRisk"]["CompromisedCredentialsDetected"] is False
    assert newest["CreationDate"] >= middle["CreationDate"] >= oldest["CreationDate"]
    assert middle["EventResponse"] == "Fail"
    assert middle["ChallengeResponses"] == [
        {"ChallengeName": "Password", "ChallengeResponse": "Success"},
        {"ChallengeName": "Mfa", "ChallengeResponse": "Failure"},
    ]
    assert oldest["EventResponse"] == "Pass"
    home = oldest["EventContextData"]
    assert home["IpAddress"] == HOME_IP
    assert home["Country"] == "NO"
    assert home["City"]
    # The first-seen user's risk under the default configuration: MFA, Cognito's AccountTakeover.
    assert oldest["EventRisk"]["RiskDecision"] == "AccountTakeover"

    page, token = listed(admin, "ana", max_results=2)
    assert [e["EventId"] for e in page] == [pending.event_id, failed.event_id]
    assert token
    rest, token = listed(admin, "ana", max_results=2, token=token)
    assert [e["EventId"] for e in rest] == [passed.event_id]
    assert token == ""
    assert [e["EventId"] for e in listed(admin, "nobody")[0]] == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"max_results": 61}, "max_results"),
        ({"max_results": -1}, "max_results"),
        ({"user_pool_id": ""}, "user_pool_id"),
        ({"username": ""}, "username"),
        ({"next_token": "not-a-token"}, "next_token"),
    ],
)
def test_bad_list_requests_name_the_field(
    admin: admin_pb2_grpc.RiskAdminServiceStub, fields: dict[str, Any], field: str
) -> None:
    request = admin_pb2.ListAuthEventsRequest(**{"user_pool_id": POOL, "username": "ana", **fields})
    with pytest.raises(grpc.RpcError) as err:
        admin.ListAuthEvents(request, metadata=AUTH, timeout=10)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violation(err.value) == field


def test_a_token_is_bound_to_its_user(
    admin: admin_pb2_grpc.RiskAdminServiceStub, risk: risk_pb2_grpc.RiskServiceStub
) -> None:
    for _ in range(2):
        scored(risk, "ana")
    _, token = listed(admin, "ana", max_results=1)
    with pytest.raises(grpc.RpcError) as err:
        listed(admin, "bo", max_results=1, token=token)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violation(err.value) == "next_token"


def test_valid_feedback_teaches_the_profile_so_a_similar_attempt_scores_lower(
    admin: admin_pb2_grpc.RiskAdminServiceStub, risk: risk_pb2_grpc.RiskServiceStub
) -> None:
    settle(risk, "ana")
    away = {"ip_address": AWAY_IP, "user_agent": CHROME_MAC}
    risky = scored(risk, "ana", **away)
    before = explained(admin, "ana", **away)

    answer = feedback(admin, "ana", risky.event_id, admin_pb2.VALID)
    assert answer.changed
    assert answer.profile_updated
    assert json.loads(answer.auth_event_json)["EventFeedback"]["FeedbackValue"] == "Valid"
    after = explained(admin, "ana", **away)
    assert after.risk_score < before.risk_score
    assert "FEEDBACK_ATTACKER_MATCH" not in {r.code for r in after.reasons}

    # Idempotent: once per event.
    again = feedback(admin, "ana", risky.event_id, admin_pb2.VALID)
    assert not again.changed
    assert not again.profile_updated
    assert explained(admin, "ana", **away).risk_score == pytest.approx(after.risk_score)

    (event,), _ = listed(admin, "ana", max_results=1)
    assert event["EventId"] == risky.event_id
    given = event["EventFeedback"]
    assert given["FeedbackValue"] == "Valid"
    assert given["Provider"] == "Admin"
    assert given["FeedbackDate"] >= event["CreationDate"]


def test_invalid_feedback_raises_a_similar_attempt_for_the_user_and_the_pool(
    service: ServerThread,
    admin: admin_pb2_grpc.RiskAdminServiceStub,
    risk: risk_pb2_grpc.RiskServiceStub,
) -> None:
    settle(risk, "ana")
    settle(risk, "bo")
    away = {"ip_address": AWAY_IP, "user_agent": CHROME_MAC}
    attack = scored(risk, "ana", **away)
    ana_before = explained(admin, "ana", **away)
    bo_before = explained(admin, "bo", ip_address=AWAY_IP)

    answer = feedback(admin, "ana", attack.event_id, admin_pb2.INVALID, provider="helpdesk")
    assert answer.changed
    assert not answer.profile_updated

    ana_after = explained(admin, "ana", **away)
    assert ana_after.risk_score > ana_before.risk_score
    (ana_reason,) = [r for r in ana_after.reasons if r.code == "FEEDBACK_ATTACKER_MATCH"]
    assert ana_reason.evidence["user_matched"].split(",")[0] == "ip"
    assert "user_reported_at" in ana_reason.evidence

    # Another user of the pool, from the same IP with their own browser: the IP-level mark.
    bo_after = explained(admin, "bo", ip_address=AWAY_IP)
    assert bo_after.risk_score > bo_before.risk_score
    (bo_reason,) = [r for r in bo_after.reasons if r.code == "FEEDBACK_ATTACKER_MATCH"]
    assert bo_reason.evidence["pool_matched"] in {"ip", "asn"}
    assert "user_matched" not in bo_reason.evidence
    assert bo_reason.weight < ana_reason.weight
    # Home stays home.
    home = explained(admin, "bo")
    assert "FEEDBACK_ATTACKER_MATCH" not in {r.code for r in home.reasons}

    (event,), _ = listed(admin, "ana", max_results=1)
    assert event["EventFeedback"]["FeedbackValue"] == "Invalid"
    assert event["EventFeedback"]["Provider"] == "helpdesk"

    # The feedback is in the auth event log too, as a record of the same event.
    logged, _ = FileLogQuery(service.config.data_dir / "logs").search(
        f"/riskscore/{POOL}/user-activity", pattern='{ $.message.eventFeedbackValue = "Invalid" }'
    )
    (record,) = [json.loads(e.message)["message"] for e in logged]
    assert record["eventId"] == attack.event_id
    assert record["eventFeedbackProvider"] == "helpdesk"
    assert record["eventFeedbackDate"]
    assert record["eventResponse"] == "InProgress"


def test_feedback_errors(
    admin: admin_pb2_grpc.RiskAdminServiceStub, risk: risk_pb2_grpc.RiskServiceStub
) -> None:
    event_id = scored(risk, "ana").event_id
    with pytest.raises(grpc.RpcError) as err:
        feedback(admin, "ana", "0000-unknown", admin_pb2.VALID)
    assert err.value.code() is grpc.StatusCode.NOT_FOUND
    # Someone else's event is not found either.
    with pytest.raises(grpc.RpcError) as err:
        feedback(admin, "bo", event_id, admin_pb2.VALID)
    assert err.value.code() is grpc.StatusCode.NOT_FOUND
    for value, event, field in (
        (admin_pb2.FEEDBACK_VALUE_UNSPECIFIED, event_id, "feedback_value"),
        (admin_pb2.VALID, "", "event_id"),
        (admin_pb2.VALID, "bad id!", "event_id"),
    ):
        with pytest.raises(grpc.RpcError) as err:
            feedback(admin, "ana", event, value)
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert violation(err.value) == field


def test_history_rpcs_need_the_admin_token(channel: grpc.Channel) -> None:
    stub = admin_pb2_grpc.RiskAdminServiceStub(channel)
    calls = (
        lambda: stub.ListAuthEvents(
            admin_pb2.ListAuthEventsRequest(user_pool_id=POOL, username="ana"), timeout=10
        ),
        lambda: stub.UpdateAuthEventFeedback(
            admin_pb2.UpdateAuthEventFeedbackRequest(
                user_pool_id=POOL, username="ana", event_id="e", feedback_value=admin_pb2.VALID
            ),
            metadata=(("authorization", "Bearer wrong-token-wrong-token"),),
            timeout=10,
        ),
    )
    for call in calls:
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_history_and_feedback_survive_a_restart(tmp_path: Path, asn_db: Path) -> None:
    config = admin_config(tmp_path, asn_db)
    with ServerThread(config) as first, first.channel() as ch:
        risk = risk_pb2_grpc.RiskServiceStub(ch)
        admin = admin_pb2_grpc.RiskAdminServiceStub(ch)
        kept = scored(risk, "ana").event_id
        report(risk, kept)
        feedback(admin, "ana", kept, admin_pb2.INVALID)
    with ServerThread(config) as second, second.channel() as ch:
        admin = admin_pb2_grpc.RiskAdminServiceStub(ch)
        (event,), _ = listed(admin, "ana")
        assert event["EventId"] == kept
        assert event["EventResponse"] == "Pass"
        assert event["EventFeedback"]["FeedbackValue"] == "Invalid"
        reasons = explained(admin, "bo").reasons
        assert "FEEDBACK_ATTACKER_MATCH" in {r.code for r in reasons}
