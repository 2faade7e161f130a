"""Network type and deny lists through the real stub, including a reload without restart."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from riskscore.config import ListsConfig
from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread, service_config

AWS_SEATTLE = "3.5.140.1"
LISTED = "198.51.100.77"


def score(stub: risk_pb2_grpc.RiskServiceStub, ip: str) -> risk_pb2.ScoreResponse:
    return stub.Score(
        risk_pb2.ScoreRequest(
            pool_id="net",
            username="gina",
            event_type=risk_pb2.SIGN_IN,
            ip_address=ip,
            user_agent="Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0",
        ),
        timeout=10,
    )


def test_hosting_and_deny_list_and_reload(tmp_path: Path, asn_db: Path) -> None:
    deny = tmp_path / "firehol_level1.netset"
    deny.write_text("# FireHOL level 1\n198.51.100.0/24\n", encoding="utf-8")
    config = service_config(tmp_path / "data", asn_db)
    config = replace(
        config, lists=ListsConfig(reputation=(str(deny),), reload_seconds=1)
    ).validate()
    with ServerThread(config) as service, service.channel() as channel:
        stub = risk_pb2_grpc.RiskServiceStub(channel)
        hosting = score(stub, AWS_SEATTLE)
        reason = next(r for r in hosting.reasons if r.code == "HOSTING_NETWORK")
        assert "AWS" in reason.evidence["source"]
        listed = score(stub, LISTED)
        malicious = next(r for r in listed.reasons if r.code == "MALICIOUS_IP")
        assert malicious.evidence["matches"] == "198.51.100.0/24"
        assert malicious.evidence["list"]

        # Rewrite the list: the old entry goes, a new one comes, no restart.
        deny.write_text("# FireHOL level 1\n203.0.113.0/24\n", encoding="utf-8")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if "MALICIOUS_IP" not in {r.code for r in score(stub, LISTED).reasons}:
                break
            time.sleep(0.3)
        assert "MALICIOUS_IP" not in {r.code for r in score(stub, LISTED).reasons}
        assert "MALICIOUS_IP" in {r.code for r in score(stub, "203.0.113.9").reasons}


OSLO_HOME = "84.208.0.1"
SYDNEY_VPN_EXIT = "203.2.218.214"
TOR_EXIT_IP = "185.220.101.7"


def listed_config(tmp_path: Path, asn_db: Path) -> ServerThread:
    vpn = tmp_path / "vpn.netset"
    vpn.write_text("203.2.218.0/24\n", encoding="utf-8")
    tor = tmp_path / "tor_exits.ipset"
    tor.write_text("# tor exits\n185.220.101.7\n", encoding="utf-8")
    config = service_config(tmp_path / "data", asn_db)
    lists = ListsConfig(vpn=(str(vpn),), tor=(str(tor),))
    return ServerThread(replace(config, lists=lists).validate())


def at(stub: risk_pb2_grpc.RiskServiceStub, user: str, ip: str, when: datetime) -> Any:
    ts = Timestamp()
    ts.FromDatetime(when)
    resp = stub.Score(
        risk_pb2.ScoreRequest(
            pool_id="net",
            username=user,
            event_type=risk_pb2.SIGN_IN,
            ip_address=ip,
            user_agent="Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0",
            timestamp=ts,
        ),
        timeout=10,
    )
    return resp


def prove(stub: risk_pb2_grpc.RiskServiceStub, resp: Any, when: datetime) -> None:
    ts = Timestamp()
    ts.FromDatetime(when)
    stub.ReportOutcome(
        risk_pb2.OutcomeRequest(event_id=resp.event_id, outcome=risk_pb2.SUCCEEDED, timestamp=ts),
        timeout=10,
    )


def codes(resp: Any) -> set[str]:
    return {r.code for r in resp.reasons}


def test_tor_and_vpn_and_a_habitual_vpn_user(tmp_path: Path, asn_db: Path) -> None:
    start = datetime.now(UTC) - timedelta(days=10)
    with listed_config(tmp_path, asn_db) as service, service.channel() as channel:
        stub = risk_pb2_grpc.RiskServiceStub(channel)
        assert "TOR_EXIT" in codes(at(stub, "ivan", TOR_EXIT_IP, start))
        assert "ANONYMIZING_NETWORK" in codes(at(stub, "ivan", SYDNEY_VPN_EXIT, start))

        # Hanna works from home in Oslo and often through her VPN's Sydney exit.
        for day in range(4):
            for hours, ip in ((8, OSLO_HOME), (9, SYDNEY_VPN_EXIT)):
                when = start + timedelta(days=day, hours=hours)
                prove(stub, at(stub, "hanna", ip, when), when)
        home = start + timedelta(days=5, hours=8)
        prove(stub, at(stub, "hanna", OSLO_HOME, home), home)
        vpn = at(stub, "hanna", SYDNEY_VPN_EXIT, home + timedelta(minutes=30))
        assert "IMPOSSIBLE_TRAVEL" not in codes(vpn)
        assert vpn.risk_level in (risk_pb2.LOW, risk_pb2.MEDIUM)

        # A stranger to VPNs making the same hop is flagged.
        for day in range(4):
            when = start + timedelta(days=day, hours=8)
            prove(stub, at(stub, "olaf", OSLO_HOME, when), when)
        hop = at(stub, "olaf", SYDNEY_VPN_EXIT, start + timedelta(days=3, hours=8, minutes=30))
        travel = next(r for r in hop.reasons if r.code == "IMPOSSIBLE_TRAVEL")
        assert travel.evidence["network"] == "vpn"


def test_sign_in_at_an_unusual_hour(tmp_path: Path, asn_db: Path) -> None:
    start = datetime(2026, 11, 1, 9, 15, tzinfo=UTC)
    config = service_config(tmp_path / "data", asn_db)
    with ServerThread(config) as service, service.channel() as channel:
        stub = risk_pb2_grpc.RiskServiceStub(channel)
        for day in range(12):
            when = start + timedelta(days=day)
            prove(stub, at(stub, "petra", OSLO_HOME, when), when)
        night = at(stub, "petra", OSLO_HOME, start + timedelta(days=12, hours=18))
        reason = next(r for r in night.reasons if r.code == "UNUSUAL_HOUR")
        assert reason.evidence["hour_utc"] == "03"
        assert reason.evidence["usual_hour_utc"] == "09"
        day = at(stub, "petra", OSLO_HOME, start + timedelta(days=12, hours=1))
        assert "UNUSUAL_HOUR" not in codes(day)
