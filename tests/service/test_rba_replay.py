"""Replays the head of the public RBA login log through Score + ReportOutcome."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread, service_config

RBA_SAMPLE = Path(__file__).resolve().parents[2].parent / "shared/data/rba-sample-100k.csv.gz"
ROWS = 3000
# The dataset pools failed sign-ins to accounts that do not exist into this user.
POOLED_UNKNOWN_USERS = "-4324475583306591935"


def rba_rows(limit: int) -> Iterator[dict[str, str]]:
    with gzip.open(RBA_SAMPLE, "rt", newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i >= limit:
                return
            yield row


@pytest.mark.skipif(not RBA_SAMPLE.is_file(), reason="../shared/data is not beside the checkout")
def test_replay_rba_head_without_error(tmp_path: Path, asn_db: Path) -> None:
    # Durability "none": this test is about scoring real rows, not about fsync.
    config = service_config(tmp_path / "data", asn_db, durability="none")
    levels: Counter[tuple[str, int]] = Counter()
    reason_codes: Counter[str] = Counter()
    successes = 0
    with ServerThread(config) as service, service.channel() as channel:
        stub = risk_pb2_grpc.RiskServiceStub(channel)
        for row in rba_rows(ROWS):
            ts = Timestamp()
            ts.FromDatetime(datetime.fromisoformat(row["Login Timestamp"]))
            rtt = row["Round-Trip Time [ms]"]
            req = risk_pb2.ScoreRequest(
                pool_id="rba",
                username=row["User ID"],
                event_type=risk_pb2.SIGN_IN,
                ip_address=row["IP Address"],
                user_agent=row["User Agent String"],
                timestamp=ts,
                rtt_ms=float(rtt) if rtt else None,
            )
            resp = stub.Score(req, timeout=10)
            assert 0.0 <= resp.risk_score <= 1.0
            ok = row["Login Successful"] == "True"
            kind = "pooled" if row["User ID"] == POOLED_UNKNOWN_USERS else str(ok)
            levels[kind, resp.risk_level] += 1
            reason_codes.update(r.code for r in resp.reasons)
            successes += ok
            out = stub.ReportOutcome(
                risk_pb2.OutcomeRequest(
                    event_id=resp.event_id,
                    outcome=risk_pb2.SUCCEEDED if ok else risk_pb2.FAILED_PASSWORD,
                ),
                timeout=10,
            )
            assert out.profile_updated == ok
    assert sum(levels.values()) == ROWS
    assert successes > 0
    # Real rows exercise the whole reason vocabulary, not just first sign-ins.
    assert reason_codes["FIRST_SEEN_USER"] > 0
    assert reason_codes["NEW_IP"] + reason_codes["NEW_DEVICE"] > 0
    # Proven sign-ins are rarely blocked; the pooled failures against unknown
    # accounts (35% of the log) look exactly like the attack they are.
    succeeded = sum(n for (kind, _), n in levels.items() if kind == "True")
    assert levels["True", risk_pb2.HIGH] < 0.01 * succeeded
    pooled = sum(n for (kind, _), n in levels.items() if kind == "pooled")
    assert levels["pooled", risk_pb2.HIGH] > 0.9 * pooled
    assert reason_codes["USER_FAILURE_VELOCITY"] > 0.8 * pooled
