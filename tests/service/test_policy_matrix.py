"""The full policy matrix through the real stubs (issue 4 point 8).

mode x level x configured action x MFA configured x compromised x exception
list: each cell is a real Score after a real SetRiskConfiguration, checked
against a short oracle written from cognito.md 1.1-1.2 and 10, independently
of riskscore/policy/decide.py.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from riskscore.config import AdminConfig
from riskscore.v1 import admin_pb2, admin_pb2_grpc, risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread, service_config

POOL = "eu-north-1_Matrix"
TOKEN = "matrix-admin-token-0123456789"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0"
CURL = "curl/8.4.0"
LEAKED = hashlib.sha1(b"123456").hexdigest().upper()
UNLEAKED = hashlib.sha1(b"violet-Harbour-7-quill").hexdigest().upper()
START = datetime.now(UTC) - timedelta(days=20)

MODES = ("OFF", "AUDIT", "ENFORCED")
ACTIONS = ("NO_ACTION", "MFA_IF_CONFIGURED", "MFA_REQUIRED", "BLOCK")
EXCEPTIONS = ("none", "blocked", "skipped")
LEVELS = ("LOW", "MEDIUM", "HIGH")
MFA = (True, False, None)
COMPROMISED = (True, False, None)


def expected(
    mode: str, action: str, exception: str, mfa: bool | None, compromised: bool | None
) -> str:
    """What Cognito's semantics answer (the same action is configured at every level)."""
    if mode == "OFF":
        return "NO_ACTION"
    if exception == "blocked":
        answer = "BLOCK"
    elif exception == "skipped":
        answer = "NO_ACTION"
    elif compromised or (action == "MFA_REQUIRED" and mfa is False):
        answer = "BLOCK"
    elif action == "MFA_IF_CONFIGURED" and mfa is False:
        answer = "NO_ACTION"
    else:
        answer = action
    return "NO_ACTION" if mode == "AUDIT" else answer


def configuration(action: str, exception: str) -> dict[str, Any]:
    same = {"Notify": False, "EventAction": action}
    doc: dict[str, Any] = {
        "UserPoolId": POOL,
        "AccountTakeoverRiskConfiguration": {
            "Actions": {"LowAction": same, "MediumAction": same, "HighAction": same}
        },
        "CompromisedCredentialsRiskConfiguration": {"Actions": {"EventAction": "BLOCK"}},
    }
    if exception != "none":
        key = "BlockedIPRangeList" if exception == "blocked" else "SkippedIPRangeList"
        doc["RiskExceptionConfiguration"] = {key: ["84.208.0.0/16"]}
    return doc


def ts(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


@pytest.fixture(scope="module")
def stubs(
    tmp_path_factory: pytest.TempPathFactory, asn_db: Path
) -> Iterator[tuple[admin_pb2_grpc.RiskAdminServiceStub, risk_pb2_grpc.RiskServiceStub]]:
    data = tmp_path_factory.mktemp("matrix")
    config = replace(
        service_config(data, asn_db, durability="none"), admin=AdminConfig(token=TOKEN)
    ).validate()
    with ServerThread(config) as service, service.channel() as channel:
        yield admin_pb2_grpc.RiskAdminServiceStub(channel), risk_pb2_grpc.RiskServiceStub(channel)


def test_policy_matrix(
    stubs: tuple[admin_pb2_grpc.RiskAdminServiceStub, risk_pb2_grpc.RiskServiceStub],
) -> None:
    admin, risk = stubs
    clock = iter(START + timedelta(minutes=11 * i) for i in itertools.count())
    # "resident" has a history at home, so home sign-ins are LOW; thirty
    # neighbours with one sign-in each give the pool the population that puts
    # a first-seen user at MEDIUM under the default calibration.
    seed = [("resident", "84.208.0.1")] * 6 + [(f"n{i}", f"84.209.0.{i + 1}") for i in range(30)]
    for user, home in seed:
        when = next(clock)
        resp = risk.Score(
            risk_pb2.ScoreRequest(
                pool_id=POOL,
                username=user,
                event_type=risk_pb2.SIGN_IN,
                ip_address=home,
                user_agent=FIREFOX,
                timestamp=ts(when),
            ),
            timeout=10,
        )
        risk.ReportOutcome(
            risk_pb2.OutcomeRequest(
                event_id=resp.event_id, outcome=risk_pb2.SUCCEEDED, timestamp=ts(when)
            ),
            timeout=10,
        )
    serial = itertools.count()
    failures: list[str] = []
    cells = 0
    for mode, action, exception in itertools.product(MODES, ACTIONS, EXCEPTIONS):
        admin.SetRiskConfiguration(
            admin_pb2.SetRiskConfigurationRequest(
                risk_configuration_json=json.dumps(configuration(action, exception)),
                advanced_security_mode=admin_pb2.AdvancedSecurityMode.Value(mode),
            ),
            metadata=AUTH,
            timeout=10,
        )
        for level, mfa, compromised in itertools.product(LEVELS, MFA, COMPROMISED):
            n = next(serial)
            # LOW: the resident at home; MEDIUM: a first-seen user; HIGH: a
            # first-seen scripted client. A fresh IP each time keeps the
            # velocity windows quiet.
            user = "resident" if level == "LOW" else f"newcomer{n}"
            ip = "84.208.0.1" if level == "LOW" else f"84.208.{1 + n // 250}.{1 + n % 250}"
            fields: dict[str, Any] = {
                "pool_id": POOL,
                "username": user,
                "event_type": risk_pb2.SIGN_IN,
                "ip_address": ip,
                "user_agent": CURL if level == "HIGH" else FIREFOX,
                "timestamp": ts(next(clock)),
            }
            if mfa is not None:
                fields["mfa_configured"] = mfa
            if compromised is not None:
                fields["password_sha1"] = LEAKED if compromised else UNLEAKED
            resp = risk.Score(risk_pb2.ScoreRequest(**fields), timeout=10)
            cells += 1
            got = risk_pb2.Decision.Name(resp.decision)
            want = expected(mode, action, exception, mfa, compromised)
            got_level = risk_pb2.RiskLevel.Name(resp.risk_level)
            # OFF does not score at all (Cognito: no risk evaluation).
            want_level = "LOW" if mode == "OFF" else level
            if got != want or got_level != want_level:
                failures.append(
                    f"{mode} {action} {exception} {level}(got {got_level}) mfa={mfa} "
                    f"leaked={compromised}: {got}, expected {want}"
                )
            if compromised and mode != "OFF":
                assert resp.compromised_credentials_detected
            if mode == "OFF":
                assert [r.code for r in resp.reasons] == ["PROTECTION_OFF"]
                assert not resp.compromised_credentials_detected
    assert cells == 3 * 4 * 3 * 3 * 3 * 3
    assert not failures, "\n".join(failures[:20])
