"""A running RiskService per test, on port 0, with the real packaged geo data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from riskscore.v1 import risk_pb2_grpc
from tests.service.harness import ServerThread, service_config


@pytest.fixture
def service(tmp_path: Path, asn_db: Path) -> Iterator[ServerThread]:
    with ServerThread(service_config(tmp_path / "data", asn_db)) as running:
        yield running


@pytest.fixture
def stub(service: ServerThread) -> Iterator[risk_pb2_grpc.RiskServiceStub]:
    with service.channel() as channel:
        yield risk_pb2_grpc.RiskServiceStub(channel)
