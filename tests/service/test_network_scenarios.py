"""Network type and deny lists through the real stub, including a reload without restart."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

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
