"""Geo lookups against the real packaged GeoLite2 City data and ASN databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from riskscore.core.enrichment import NetworkInfo, Place
from riskscore.enrich.asn_build import AsnBuildReport
from riskscore.enrich.geo import (
    GeoDataError,
    InMemoryGeoLookup,
    MaxMindGeoLookup,
    open_geo_lookup,
    packaged_city_database,
)
from riskscore.errors import InvalidArgumentError


def write_mmdb(path: Path, database_type: str, records: dict[str, dict[str, Any]]) -> Path:
    """A small MaxMind-format database of ``records`` keyed by CIDR."""
    writer = MMDBWriter(ip_version=6, database_type=database_type, ipv4_compatible=True)
    for cidr, record in records.items():
        writer.insert_network(IPSet([cidr]), record)
    writer.to_db_file(str(path))
    return path


GOOGLE_ASN = {"autonomous_system_number": 15169, "autonomous_system_organization": "Google LLC"}


@pytest.fixture
def user_asn_db(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "GeoLite2-ASN.mmdb", "GeoLite2-ASN", {"8.8.8.0/24": GOOGLE_ASN})


def test_packaged_city_database_is_the_geolite2_city_file(city_db: Path) -> None:
    assert city_db == packaged_city_database()
    assert city_db.name == "GeoLite2-City.mmdb"
    assert city_db.is_file()


def test_us_address_has_country_and_built_asn_organisation(geo: MaxMindGeoLookup) -> None:
    place, network = geo.lookup("8.8.8.8")

    assert place is not None
    assert place.country == "US"
    assert place.accuracy_radius_km is not None
    assert network == NetworkInfo(asn=None, organization="GOOGLE", network="8.8.8.0/24")


def test_norwegian_address_has_region_city_and_radius(geo: MaxMindGeoLookup) -> None:
    place, _ = geo.lookup("84.208.0.1")

    assert place is not None
    assert (place.country, place.region, place.city) == ("NO", "Oslo County", "Oslo")
    assert (place.latitude, place.longitude) == pytest.approx((59.9127, 10.7461))
    assert place.accuracy_radius_km == 20.0


def test_ipv6_address_is_placed(geo: MaxMindGeoLookup) -> None:
    place, _ = geo.lookup("2001:4860:4860::8888")

    assert place is not None
    assert place.country == "US"


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4(geo: MaxMindGeoLookup) -> None:
    assert geo.lookup("::ffff:8.8.8.8") == geo.lookup("8.8.8.8")


def test_organisation_from_another_network(geo: MaxMindGeoLookup) -> None:
    _, network = geo.lookup("1.1.1.1")

    assert network is not None
    assert network.organization == "CLOUDFLARENET"


@pytest.mark.parametrize(
    "ip",
    ["10.0.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1", "0.0.0.0", "::1", "fe80::1", "fd00::1"],
)
def test_non_routable_addresses_are_not_looked_up(geo: MaxMindGeoLookup, ip: str) -> None:
    assert geo.lookup(ip) == (None, None)


def test_unknown_address_gives_none_parts(geo: MaxMindGeoLookup) -> None:
    # 2d00::/8 is global unicast that no registry had allocated in 2018.
    assert geo.lookup("2d00::1") == (None, None)


def test_network_is_none_where_the_asn_data_has_no_record(geo: MaxMindGeoLookup) -> None:
    # The session's ASN build stops at 23.x, so Norway has no network record.
    place, network = geo.lookup("84.208.0.1")

    assert place is not None
    assert network is None


@pytest.mark.parametrize("ip", ["", "not-an-ip", "999.1.1.1", "8.8.8.8/24"])
def test_malformed_ip_is_an_invalid_argument(geo: MaxMindGeoLookup, ip: str) -> None:
    with pytest.raises(InvalidArgumentError, match="ip_address"):
        geo.lookup(ip)


def test_answers_are_cached(geo: MaxMindGeoLookup) -> None:
    assert geo.lookup("84.208.0.1") is geo.lookup("84.208.0.1")


def test_concurrent_lookups_agree_with_serial_ones(geo: MaxMindGeoLookup) -> None:
    ips = ["8.8.8.8", "1.1.1.1", "84.208.0.1", "2001:4860:4860::8888", "10.0.0.1"] * 40
    serial = [geo.lookup(ip) for ip in ips]

    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(geo.lookup, ips))

    assert parallel == serial


def test_describe_names_files_types_and_build_dates(
    geo: MaxMindGeoLookup, city_db: Path, built_asn: AsnBuildReport
) -> None:
    assert geo.describe() == {
        "city_path": str(city_db),
        "city_database_type": "GeoLite2-City",
        "city_build_date": "2018-07-03",
        "asn_path": str(built_asn.path),
        "asn_database_type": "GeoLite2-ASN",
        "asn_build_date": "2024-06-18",
    }


def test_without_asn_data_there_is_no_network(city_db: Path) -> None:
    with MaxMindGeoLookup(city_db, None) as lookup:
        place, network = lookup.lookup("8.8.8.8")
        assert "asn_path" not in lookup.describe()

    assert place is not None
    assert network is None


def test_user_supplied_asn_database_wins_and_gives_the_number(
    user_asn_db: Path, built_asn: AsnBuildReport
) -> None:
    with open_geo_lookup(user_asn_db, built_asn_path=built_asn.path) as lookup:
        _, network = lookup.lookup("8.8.8.8")
        assert lookup.describe()["asn_path"] == str(user_asn_db)

    assert network == NetworkInfo(asn=15169, organization="Google LLC", network="8.8.8.0/24")


def test_built_asn_database_is_the_fallback(built_asn: AsnBuildReport, tmp_path: Path) -> None:
    with open_geo_lookup(built_asn_path=built_asn.path) as lookup:
        assert lookup.describe()["asn_path"] == str(built_asn.path)
    with open_geo_lookup(built_asn_path=tmp_path / "not-built-yet.mmdb") as lookup:
        assert "asn_path" not in lookup.describe()
        assert lookup.lookup("8.8.8.8")[1] is None


def test_isp_database_is_read_with_the_isp_model(city_db: Path, tmp_path: Path) -> None:
    record = {**GOOGLE_ASN, "isp": "Google", "organization": "Google"}
    isp_db = write_mmdb(tmp_path / "GeoIP2-ISP.mmdb", "GeoIP2-ISP", {"8.8.8.0/24": record})

    with MaxMindGeoLookup(city_db, isp_db) as lookup:
        _, network = lookup.lookup("8.8.8.8")

    assert network == NetworkInfo(asn=15169, organization="Google LLC", network="8.8.8.0/24")


def test_missing_database_is_a_geo_data_error(tmp_path: Path) -> None:
    with pytest.raises(GeoDataError, match="not found") as caught:
        MaxMindGeoLookup(tmp_path / "missing.mmdb")
    assert caught.value.code == "geo_data_error"


def test_unreadable_database_is_a_geo_data_error(city_db: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"this is not a MaxMind database" * 10)

    with pytest.raises(GeoDataError, match="cannot read"):
        MaxMindGeoLookup(city_db, garbage)


def test_wrong_database_types_are_refused(city_db: Path, user_asn_db: Path) -> None:
    with pytest.raises(GeoDataError, match="expected City"):
        MaxMindGeoLookup(user_asn_db)
    with pytest.raises(GeoDataError, match="expected ASN or ISP"):
        MaxMindGeoLookup(city_db, city_db)


OSLO = Place(country="NO", city="Oslo")
NORWAY = Place(country="NO")
TELIA = NetworkInfo(asn=2119, organization="Telia Norge AS", network="84.208.0.0/17")


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("84.208.0.1", (OSLO, TELIA)),
        ("84.209.0.1", (NORWAY, None)),
        ("10.1.2.3", (NORWAY, None)),
        ("2a01:79c::1", (NORWAY, None)),
        ("::ffff:84.208.0.1", (OSLO, TELIA)),
        ("8.8.8.8", (None, None)),
    ],
)
def test_in_memory_lookup_longest_prefix_wins(
    ip: str, expected: tuple[Place | None, NetworkInfo | None]
) -> None:
    lookup = InMemoryGeoLookup(
        {
            "84.0.0.0/8": (NORWAY, None),
            "84.208.0.0/17": (OSLO, TELIA),
            "10.0.0.0/8": (NORWAY, None),
            "2a01:79c::/32": (NORWAY, None),
        }
    )

    assert lookup.lookup(ip) == expected
    assert lookup.describe() == {"kind": "in-memory", "networks": "4"}


def test_in_memory_lookup_rejects_malformed_ip() -> None:
    with pytest.raises(InvalidArgumentError):
        InMemoryGeoLookup({}).lookup("nope")
