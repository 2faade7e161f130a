"""Fixtures shared by the enrichment tests: the real City data and a small ASN build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from riskscore.enrich.asn_build import AsnBuildReport, build_asn_database
from riskscore.enrich.geo import MaxMindGeoLookup, packaged_city_database

# The first 20,000 networks of geoip2fast's data cover IPv4 0.0.0.0 to 23.x,
# which holds 1.1.1.1 and 8.8.8.8; building them takes about a second.
ASN_LIMIT = 20_000


@pytest.fixture(scope="session")
def city_db() -> Path:
    """The GeoLite2 City file shipped by maxminddb-geolite2."""
    return packaged_city_database()


@pytest.fixture(scope="session")
def built_asn(tmp_path_factory: pytest.TempPathFactory) -> AsnBuildReport:
    """An ASN database built from the first networks of the real geoip2fast data."""
    output = tmp_path_factory.mktemp("asn") / "geoip2fast-asn.mmdb"
    return build_asn_database(output, limit=ASN_LIMIT)


@pytest.fixture(scope="session")
def geo(city_db: Path, built_asn: AsnBuildReport) -> Iterator[MaxMindGeoLookup]:
    """The real lookup: packaged City data plus the built ASN database."""
    with MaxMindGeoLookup(city_db, built_asn.path) as lookup:
        yield lookup
