"""RiskService through a real gRPC stub against a server on port 0."""

from __future__ import annotations

import urllib.request

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread

POOL = "eu-north-1_TestPool"
FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
OSLO_TELIA = "84.208.0.1"
GERMANY_TELEKOM = "80.128.0.1"


def score(
    stub: risk_pb2_grpc.RiskServiceStub,
    user: str = "alice",
    ip: str = OSLO_TELIA,
    ua: str = FIREFOX_WIN,
    **extra: object,
) -> risk_pb2.ScoreResponse:
    req = risk_pb2.ScoreRequest(
        pool_id=POOL,
        client_id="web",
        username=user,
        event_type=risk_pb2.SIGN_IN,
        ip_address=ip,
        user_agent=ua,
        **extra,  # type: ignore[arg-type]
    )
    return stub.Score(req, timeout=10)


def succeed(stub: risk_pb2_grpc.RiskServiceStub, event_id: str) -> risk_pb2.OutcomeResponse:
    return stub.ReportOutcome(
        risk_pb2.OutcomeRequest(event_id=event_id, outcome=risk_pb2.SUCCEEDED), timeout=10
    )


def codes(resp: risk_pb2.ScoreResponse) -> list[str]:
    return [r.code for r in resp.reasons]


def test_first_ever_login(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    resp = score(stub)
    assert resp.event_id
    assert 0.0 <= resp.risk_score <= 1.0
    # A first-seen user is MEDIUM under the default calibration, and says why.
    assert codes(resp) == ["FIRST_SEEN_USER", "RISK_THRESHOLD"]
    threshold = resp.reasons[1]
    assert threshold.evidence["threshold"] == "medium"
    assert float(threshold.evidence["score"]) >= float(threshold.evidence["value"])
    assert resp.model_version == "freeman-2016/1+signals/1"
    assert resp.decision != risk_pb2.DECISION_UNSPECIFIED
    assert resp.reasons[0].message


def test_known_device_and_network_is_low_then_new_country_and_browser_is_higher(
    stub: risk_pb2_grpc.RiskServiceStub,
) -> None:
    # A few other users make the population realistic.
    for i in range(5):
        succeed(stub, score(stub, user=f"other{i}", ip=f"84.208.0.{10 + i}").event_id)
    for _ in range(8):
        succeed(stub, score(stub).event_id)
    home = score(stub)
    assert home.risk_level == risk_pb2.LOW
    assert home.decision == risk_pb2.NO_ACTION
    assert "FIRST_SEEN_USER" not in codes(home)

    away = score(stub, ip=GERMANY_TELEKOM, ua=SAFARI_IPHONE)
    # The statistical model discounts users who sign in often (its p(u|A)/p(u|L)
    # term), so for an established user this is a large rise, not yet a level change.
    assert away.risk_score > home.risk_score * 5
    assert away.risk_score - home.risk_score > 0.3
    assert {"NEW_COUNTRY", "NEW_DEVICE", "NEW_ASN", "NEW_IP"} <= set(codes(away))
    country = next(r for r in away.reasons if r.code == "NEW_COUNTRY")
    assert country.evidence["country"] == "DE"
    assert country.evidence["last_country"] == "NO"
    assert country.evidence["last_ip"] == OSLO_TELIA
    assert country.weight > 0
    device = next(r for r in away.reasons if r.code == "NEW_DEVICE")
    assert device.evidence["device_type"] == "mobile"
    assert [r.weight for r in away.reasons] == sorted(
        (r.weight for r in away.reasons), reverse=True
    )


def test_profile_learns_only_from_proven_outcomes(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    probes = [score(stub, user="bob") for _ in range(5)]
    assert all(codes(p)[0] == "FIRST_SEEN_USER" for p in probes)
    failed = stub.ReportOutcome(
        risk_pb2.OutcomeRequest(event_id=probes[0].event_id, outcome=risk_pb2.FAILED_PASSWORD)
    )
    assert not failed.profile_updated
    stub.ReportOutcome(
        risk_pb2.OutcomeRequest(event_id=probes[1].event_id, outcome=risk_pb2.FAILED_MFA)
    )
    stub.ReportOutcome(
        risk_pb2.OutcomeRequest(event_id=probes[2].event_id, outcome=risk_pb2.ABANDONED)
    )
    assert codes(score(stub, user="bob"))[0] == "FIRST_SEEN_USER"

    ok = succeed(stub, probes[3].event_id)
    assert ok.profile_updated
    assert not ok.already_recorded
    assert "FIRST_SEEN_USER" not in codes(score(stub, user="bob"))
    again = succeed(stub, probes[3].event_id)
    assert again.already_recorded
    assert not again.profile_updated


def test_unknown_event_is_not_found(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as err:
        succeed(stub, "00000000-0000-0000-0000-000000000000")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_changing_an_outcome_is_refused(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    event = score(stub).event_id
    succeed(stub, event)
    with pytest.raises(grpc.RpcError) as err:
        stub.ReportOutcome(
            risk_pb2.OutcomeRequest(event_id=event, outcome=risk_pb2.FAILED_PASSWORD)
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


FUTURE = Timestamp(seconds=4_102_444_800)  # 2100-01-01
SECRET_LOOKING = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8".lower()

BAD_REQUESTS = [
    ("pool_id", {"pool_id": ""}),
    ("pool_id", {"pool_id": "x" * 56}),
    ("pool_id", {"pool_id": "bad pool!"}),
    ("username", {"username": ""}),
    ("username", {"username": "u" * 129}),
    ("username", {"username": "evil\nname"}),
    ("event_type", {"event_type": risk_pb2.EVENT_TYPE_UNSPECIFIED}),
    ("event_type", {"event_type": 99}),
    ("ip_address", {"ip_address": ""}),
    ("ip_address", {"ip_address": "300.1.2.3"}),
    ("ip_address", {"ip_address": "not-an-ip"}),
    ("user_agent", {"user_agent": "A" * 1025}),
    ("device_key", {"device_key": "k" * 56}),
    ("client_id", {"client_id": "c" * 129}),
    ("http_headers", {"http_headers": {f"h{i}": "v" for i in range(65)}}),
    ("http_headers[x-long]", {"http_headers": {"x-long": "v" * 4097}}),
    ("timestamp", {"timestamp": FUTURE}),
    ("password_sha1", {"password_sha1": SECRET_LOOKING}),
    ("password_sha1", {"password_sha1": "ABC"}),
    ("rtt_ms", {"rtt_ms": -1.0}),
    ("rtt_ms", {"rtt_ms": float("nan")}),
]


@pytest.mark.parametrize(("field", "override"), BAD_REQUESTS)
def test_bad_input_is_invalid_argument_naming_the_field(
    stub: risk_pb2_grpc.RiskServiceStub, field: str, override: dict[str, object]
) -> None:
    fields: dict[str, object] = {
        "pool_id": POOL,
        "username": "alice",
        "event_type": risk_pb2.SIGN_IN,
        "ip_address": OSLO_TELIA,
    }
    fields.update(override)
    with pytest.raises(grpc.RpcError) as err:
        stub.Score(risk_pb2.ScoreRequest(**fields), timeout=10)  # type: ignore[arg-type]
    rpc = err.value
    assert rpc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rpc.details().startswith(f"{field}:")
    status = rpc_status.from_call(rpc)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert bad.field_violations[0].field == field
    assert SECRET_LOOKING not in rpc.details()
    assert SECRET_LOOKING.upper() not in rpc.details()


def test_outcome_bad_input(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    for req, field in (
        (risk_pb2.OutcomeRequest(outcome=risk_pb2.SUCCEEDED), "event_id"),
        (risk_pb2.OutcomeRequest(event_id="e"), "outcome"),
        (risk_pb2.OutcomeRequest(event_id="e", outcome=42), "outcome"),  # type: ignore[arg-type]
    ):
        with pytest.raises(grpc.RpcError) as err:
            stub.ReportOutcome(req, timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details().startswith(f"{field}:")


def test_server_survives_bad_input_and_keeps_serving(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    for _ in range(20):
        with pytest.raises(grpc.RpcError):
            stub.Score(risk_pb2.ScoreRequest(), timeout=10)
    assert score(stub).event_id


def test_ipv4_mapped_ipv6_is_treated_as_ipv4(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    succeed(stub, score(stub, ip=OSLO_TELIA).event_id)
    resp = score(stub, ip=f"::ffff:{OSLO_TELIA}")
    assert "NEW_IP" not in codes(resp)


def test_private_address_has_no_location(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    resp = score(stub, ip="10.1.2.3")
    assert "LOCATION_UNKNOWN" in codes(resp)


def test_valid_password_hash_is_accepted_and_not_echoed(
    stub: risk_pb2_grpc.RiskServiceStub,
) -> None:
    resp = score(stub, password_sha1=SECRET_LOOKING.upper())
    assert SECRET_LOOKING.upper() not in str(resp)


def test_health_is_serving(service: ServerThread) -> None:
    with service.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "riskscore.v1.RiskService"):
            resp = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service(service: ServerThread) -> None:
    with service.channel() as channel:
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = refl.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
        )
        names = {s.name for r in responses for s in r.list_services_response.service}
    assert "riskscore.v1.RiskService" in names
    assert "grpc.health.v1.Health" in names


def test_metrics_count_scores(service: ServerThread, stub: risk_pb2_grpc.RiskServiceStub) -> None:
    succeed(stub, score(stub).event_id)
    assert service.server is not None
    url = f"http://127.0.0.1:{service.server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    assert "riskscore_score_total{decision=" in text
    assert 'riskscore_outcome_total{outcome="SUCCEEDED"} 1.0' in text


def test_expired_deadline_is_reported(stub: risk_pb2_grpc.RiskServiceStub) -> None:
    req = risk_pb2.ScoreRequest(
        pool_id=POOL, username="a", event_type=risk_pb2.SIGN_IN, ip_address=OSLO_TELIA
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.Score(req, timeout=0.000001)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
