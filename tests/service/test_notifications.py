"""Notify: a notifying decision queues an email with one-click feedback links."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
import pytest

from riskscore.config import PolicyConfig
from riskscore.notify import FeedbackTokens, load_or_create_secret, read_outbox
from riskscore.v1 import admin_pb2, admin_pb2_grpc, risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread, service_config

POOL = "eu-north-1_Notify"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0"


def test_a_notifying_action_queues_an_email_with_working_feedback_links(
    tmp_path: Path, asn_db: Path
) -> None:
    policy_file = tmp_path / "risk.json"
    notify = {"Notify": True, "EventAction": "MFA_IF_CONFIGURED"}
    quiet = {"Notify": False, "EventAction": "NO_ACTION"}
    policy_file.write_text(
        json.dumps(
            {
                "UserPoolId": POOL,
                "AccountTakeoverRiskConfiguration": {
                    "NotifyConfiguration": {
                        "SourceArn": "arn:aws:ses:eu-north-1:123456789012:identity/example.com",
                        "MfaEmail": {
                            "Subject": "Sign-in from {city}",
                            "TextBody": "We saw a sign-in from {ip-address}. "
                            "Not you? {one-click-link-invalid}",
                        },
                    },
                    "Actions": {"LowAction": quiet, "MediumAction": notify, "HighAction": notify},
                },
            }
        ),
        encoding="utf-8",
    )
    data = tmp_path / "data"
    config = replace(
        service_config(data, asn_db), policy=PolicyConfig(configurations=(str(policy_file),))
    ).validate()
    with ServerThread(config) as service, service.channel() as channel:
        admin = admin_pb2_grpc.RiskAdminServiceStub(channel)
        resp = risk_pb2_grpc.RiskServiceStub(channel).Score(
            risk_pb2.ScoreRequest(
                pool_id=POOL,
                username="quinn",
                event_type=risk_pb2.SIGN_IN,
                ip_address="84.208.0.1",
                user_agent=FIREFOX,
            ),
            timeout=10,
        )
        assert resp.risk_level == risk_pb2.MEDIUM
        outbox = data / "outbox" / "notifications.jsonl"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not outbox.exists():
            time.sleep(0.05)
        for _ in range(100):
            queued = [r for r in read_outbox(outbox) if r.status == "pending"]
            if queued:
                break
            time.sleep(0.05)
        (email,) = queued
        link = next(word for word in (email.text or "").split() if word.startswith("http"))
        token = parse_qs(urlparse(link).query)["token"][0]

        def feedback(value: int, event_id: str = resp.event_id) -> Any:
            return admin.UpdateAuthEventFeedback(
                admin_pb2.UpdateAuthEventFeedbackRequest(
                    user_pool_id=POOL,
                    username="quinn",
                    event_id=event_id,
                    feedback_value=value,
                    feedback_token=token,
                ),
                timeout=10,
            )

        # The link's token is for "Invalid" on this event only; no admin credential needed.
        for wrong in (
            lambda: feedback(admin_pb2.VALID),
            lambda: feedback(admin_pb2.INVALID, event_id="someone-elses-event"),
        ):
            with pytest.raises(grpc.RpcError) as err:
                wrong()
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert token not in (err.value.details() or "")
        answer = feedback(admin_pb2.INVALID)
        assert answer.changed
        assert json.loads(answer.auth_event_json)["EventFeedback"]["FeedbackValue"] == "Invalid"
        # Without a token the call is an admin call, and no admin token is configured.
        with pytest.raises(grpc.RpcError) as err:
            admin.UpdateAuthEventFeedback(
                admin_pb2.UpdateAuthEventFeedbackRequest(
                    user_pool_id=POOL,
                    username="quinn",
                    event_id=resp.event_id,
                    feedback_value=admin_pb2.INVALID,
                ),
                timeout=10,
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert email.event_id == resp.event_id
    assert email.subject == "Sign-in from Oslo"
    assert email.text is not None
    assert "84.208.0.1" in email.text
    tokens = FeedbackTokens(
        load_or_create_secret(data / "secrets" / "feedback-token.key"),
        now=lambda: datetime.now(UTC),
    )
    claims = tokens.verify(token)
    assert (claims.pool_id, claims.username, claims.event_id) == (POOL, "quinn", resp.event_id)
    assert claims.value == "Invalid"
