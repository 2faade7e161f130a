"""Driving the real gRPC service with a simulated log, as the batch parity tests do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import pandas as pd
from google.protobuf.timestamp_pb2 import Timestamp

from riskscore.enrich.geo import packaged_city_database
from riskscore.learn.simulate import simulate
from riskscore.learn.world import build_world
from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread

START: Final = datetime(2026, 1, 5, tzinfo=UTC)
LEVELS: Final = {risk_pb2.LOW: "low", risk_pb2.MEDIUM: "medium", risk_pb2.HIGH: "high"}
DECISIONS: Final = {
    risk_pb2.NO_ACTION: "allow",
    risk_pb2.MFA_IF_CONFIGURED: "mfa",
    risk_pb2.MFA_REQUIRED: "mfa",
    risk_pb2.BLOCK: "block",
}
# What the service is sent of each row; batch reads the same columns.
ONLINE_COLUMNS: Final = ["index", "Login Timestamp", "User ID", "IP Address", "User Agent String"]
RESULTS: Final = ["risk_score", "risk_level", "decision", "reasons"]


def simulated_log() -> pd.DataFrame:
    """A small simulated log of real GeoLite2 networks: few users, so histories build up."""
    world = build_world(packaged_city_database(), seed=3, probes=60_000, max_networks=1500)
    return simulate(700, seed=9, start=START, days=2, world=world, users=25, attack_share=0.2)


def score_online(server: ServerThread, log: pd.DataFrame) -> pd.DataFrame:
    """Score, then report the outcome of, every row through the service's stub, in order."""
    stub = risk_pb2_grpc.RiskServiceStub(server.channel())
    rows = []
    for row in log.to_dict("records"):
        when = Timestamp()
        when.FromDatetime(pd.Timestamp(row["Login Timestamp"]).to_pydatetime().replace(tzinfo=UTC))
        resp = stub.Score(
            risk_pb2.ScoreRequest(
                pool_id="batch",
                username=str(row["User ID"]),
                event_type=risk_pb2.SIGN_IN,
                ip_address=row["IP Address"],
                user_agent=row["User Agent String"],
                timestamp=when,
            ),
            timeout=10,
        )
        outcome = risk_pb2.SUCCEEDED if row["Login Successful"] else risk_pb2.FAILED_PASSWORD
        stub.ReportOutcome(risk_pb2.OutcomeRequest(event_id=resp.event_id, outcome=outcome))
        rows.append(
            (
                resp.risk_score,
                LEVELS[resp.risk_level],
                DECISIONS[resp.decision],
                ",".join(r.code for r in resp.reasons),
            )
        )
    return pd.DataFrame(rows, columns=RESULTS)
