"""A scenario per signal through the real gRPC stub, and the false positives that must not fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from riskscore.v1 import risk_pb2, risk_pb2_grpc

POOL = "eu-north-1_Signals"
START = datetime.now(UTC) - timedelta(days=2)
FIREFOX_120 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"
FIREFOX_121 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
OSLO_TELIA = "84.208.0.1"
OSLO_TELIA_OTHER = "84.208.200.1"
OSLO_TELENOR_MOBILE = "77.16.1.1"
SYDNEY = "203.2.218.214"


def _ts(hours: float) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(START + timedelta(hours=hours))
    return ts


def attempt(
    stub: risk_pb2_grpc.RiskServiceStub,
    hours: float,
    *,
    user: str = "erin",
    ip: str = OSLO_TELIA,
    ua: str = FIREFOX_120,
    device_key: str = "",
    succeed: bool = True,
) -> risk_pb2.ScoreResponse:
    resp = stub.Score(
        risk_pb2.ScoreRequest(
            pool_id=POOL,
            username=user,
            event_type=risk_pb2.SIGN_IN,
            ip_address=ip,
            user_agent=ua,
            device_key=device_key,
            timestamp=_ts(hours),
        ),
        timeout=10,
    )
    if succeed:
        stub.ReportOutcome(
            risk_pb2.OutcomeRequest(
                event_id=resp.event_id, outcome=risk_pb2.SUCCEEDED, timestamp=_ts(hours)
            ),
            timeout=10,
        )
    return resp


def history(stub: risk_pb2_grpc.RiskServiceStub, **kw: str) -> None:
    for i in range(3):
        attempt(stub, user=f"neighbour{i}", ip=f"84.208.0.{20 + i}", hours=i * 0.1)
    for day in range(6):
        attempt(stub, hours=1 + day * 5, **kw)


def codes(resp: risk_pb2.ScoreResponse) -> set[str]:
    return {r.code for r in resp.reasons}


def test_oslo_then_sydney_two_hours_later(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    history(stub)
    resp = attempt(stub, hours=1 + 5 * 5 + 2, ip=SYDNEY, succeed=False)
    travel = next(r for r in resp.reasons if r.code == "IMPOSSIBLE_TRAVEL")
    assert travel.evidence["previous_city"] == "Oslo"
    assert travel.evidence["previous_country"] == "NO"
    assert travel.evidence["previous_ip"] == OSLO_TELIA
    assert travel.evidence["city"] == "Sydney"
    assert travel.evidence["country"] == "AU"
    assert resp.risk_level in (risk_pb2.MEDIUM, risk_pb2.HIGH)


def test_scripted_client(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    history(stub)
    resp = attempt(stub, hours=40, ua="python-requests/2.31.0", succeed=False)
    assert "BOT_USER_AGENT" in codes(resp)
    assert resp.risk_level in (risk_pb2.MEDIUM, risk_pb2.HIGH)


def test_remembered_device(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    history(stub, device_key="eu-north-1_d3v1c3")
    known = attempt(stub, hours=40, device_key="eu-north-1_d3v1c3", succeed=False)
    assert "KNOWN_DEVICE" in codes(known)
    other = attempt(stub, hours=41, device_key="eu-north-1_0th3r", succeed=False)
    assert "NEW_DEVICE" in codes(other)
    assert other.risk_score > known.risk_score


@pytest.mark.parametrize(
    ("ip", "ua"),
    [
        (OSLO_TELIA, FIREFOX_121),  # the browser updated itself
        (OSLO_TELIA_OTHER, FIREFOX_120),  # DHCP gave the home a new address
        (OSLO_TELENOR_MOBILE, FIREFOX_120),  # same person on the mobile network
    ],
)
def test_everyday_changes_stay_calm(stub: risk_pb2_grpc.RiskServiceStub, ip: str, ua: str) -> None:
    history(stub)
    resp = attempt(stub, hours=40, ip=ip, ua=ua, succeed=False)
    assert "IMPOSSIBLE_TRAVEL" not in codes(resp)
    assert "NEW_DEVICE" not in codes(resp)
    assert resp.risk_level in (risk_pb2.LOW, risk_pb2.MEDIUM)


def test_fifty_users_from_one_ip_in_ten_minutes(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    history(stub)
    for n in range(50):
        resp = attempt(
            stub,
            hours=40 + n * 0.002,
            user=f"victim{n}",
            ip="198.51.100.23",
            ua="Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0",
            succeed=False,
        )
        stub.ReportOutcome(
            risk_pb2.OutcomeRequest(event_id=resp.event_id, outcome=risk_pb2.FAILED_PASSWORD),
            timeout=10,
        )
    probe = attempt(stub, hours=40.11, ip="198.51.100.23", succeed=False)
    assert {"IP_STUFFING", "IP_SPRAY"} <= codes(probe)
    stuffing = next(r for r in probe.reasons if r.code == "IP_STUFFING")
    assert stuffing.evidence["failures"] == "50"
    assert probe.risk_level == risk_pb2.HIGH


def test_brute_force_on_one_account(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    history(stub)
    for n in range(6):
        resp = attempt(stub, hours=40 + n * 0.01, ip=f"198.51.100.{100 + n}", succeed=False)
        stub.ReportOutcome(
            risk_pb2.OutcomeRequest(event_id=resp.event_id, outcome=risk_pb2.FAILED_PASSWORD),
            timeout=10,
        )
    probe = attempt(stub, hours=40.07, succeed=False)
    failures = next(r for r in probe.reasons if r.code == "USER_FAILURE_VELOCITY")
    assert failures.evidence["failures"] == "6"
