"""Shared fixtures for the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskscore.enrich.asn_build import build_asn_database


@pytest.fixture
def require_services() -> bool:
    """True when backend tests must fail rather than skip (CI sets it)."""
    return os.environ.get("RISKSCORE_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def asn_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default ASN database, built once per session from geoip2fast's data."""
    path = tmp_path_factory.mktemp("geo") / "asn-geoip2fast.mmdb"
    build_asn_database(path)
    return path
