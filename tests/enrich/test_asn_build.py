"""The ASN database builder: format checks, records, reproducibility, provenance."""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import maxminddb
import pytest

from riskscore.enrich.asn_build import (
    DATABASE_TYPE,
    AsnBuildReport,
    build_asn_database,
    default_source,
    sidecar_path,
)
from riskscore.enrich.geo import GeoDataError

INFO = "MAXMIND:GeoLite2-CountryASN-IPv4IPv6-en-20240618"
NAMES = ["<unknown>", "EXAMPLE-NET", "V6-NET", "IANA.ORG"]
V6_BASE = 0x2001_4860 << 96
# (first address as int, name id, prefix length), as geoip2fast stores them.
ENTRIES = [
    (0x00000000, 3, 8),  # 0.0.0.0/8, geoip2fast's IANA placeholder: skipped
    (0x0B000000, 0, 8),  # 11.0.0.0/8, '<unknown>': skipped
    (0x0C000000, 1, 16),  # 12.0.0.0/16
    (0x0C010000, 1, 24),  # 12.1.0.0/24
    (V6_BASE, 2, 32),  # 2001:4860::/32
]
WRITTEN = 3


def write_source(
    path: Path,
    entries: list[tuple[int, int, int]] = ENTRIES,
    *,
    names: list[Any] = NAMES,
    version: Any = 120,
    source_info: Any = None,
    chunk: int = 2,
) -> Path:
    """A geoip2fast-format country+ASN file holding ``entries``."""
    chunks = [entries[i : i + chunk] for i in range(0, len(entries), chunk)]
    firsts = [[e[0] for e in c] for c in chunks]
    ids = [[e[1] for e in c] for c in chunks]
    lengths = [[e[2] for e in c] for c in chunks]
    index = [c[0] for c in firsts]
    info = (
        source_info
        if source_info is not None
        else {
            "info": INFO,
            "country": True,
            "city": False,
            "asn": True,
            "ipv6": True,
        }
    )
    # Country lists are unused by the builder but kept so the shape is real.
    db = [index, index, ["XX:Nowhere"], names, firsts, firsts, ids, ids, lengths, lengths]
    with gzip.open(path, "wb") as handle:
        pickle.dump([version, info, len(entries), db], handle)
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_source(tmp_path / "source.dat.gz")


def test_tiny_source_builds_a_geolite2_asn_database(source: Path, tmp_path: Path) -> None:
    report = build_asn_database(tmp_path / "out" / "asn.mmdb", source=source)

    assert report.networks == WRITTEN
    assert report.source_info == INFO
    with maxminddb.open_database(str(report.path)) as reader:
        meta = reader.metadata()
        assert meta.database_type == DATABASE_TYPE
        assert meta.ip_version == 6
        assert datetime.fromtimestamp(meta.build_epoch, tz=UTC) == datetime(2024, 6, 18, tzinfo=UTC)
        assert reader.get("12.0.200.1") == {"autonomous_system_organization": "EXAMPLE-NET"}
        assert reader.get("2001:4860:1::5") == {"autonomous_system_organization": "V6-NET"}
        assert reader.get("11.1.1.1") is None
        assert reader.get("0.1.2.3") is None
        assert reader.get("13.0.0.1") is None


def test_built_database_reads_as_asn_without_numbers(source: Path, tmp_path: Path) -> None:
    report = build_asn_database(tmp_path / "asn.mmdb", source=source)

    with geoip2.database.Reader(str(report.path)) as reader:
        answer = reader.asn("12.1.0.9")
        assert answer.autonomous_system_organization == "EXAMPLE-NET"
        assert answer.autonomous_system_number is None
        assert str(answer.network) == "12.1.0.0/24"
        with pytest.raises(geoip2.errors.AddressNotFoundError):
            reader.asn("11.0.0.1")


def test_sidecar_records_provenance(source: Path, tmp_path: Path) -> None:
    report = build_asn_database(tmp_path / "asn.mmdb", source=source)

    sidecar = json.loads(sidecar_path(report.path).read_text())
    assert sidecar_path(report.path) == tmp_path / "asn.mmdb.json"
    assert sidecar["sha256"] == hashlib.sha256(report.path.read_bytes()).hexdigest()
    assert sidecar["sha256"] == report.sha256
    assert sidecar["networks"] == WRITTEN
    assert sidecar["source_info"] == INFO
    assert sidecar["source_file"] == "source.dat.gz"
    assert sidecar["source_package"] == "geoip2fast"
    assert sidecar["source_version"] == importlib.metadata.version("geoip2fast")
    assert sidecar["database_type"] == DATABASE_TYPE
    assert "MaxMind" in sidecar["licence"]
    assert "MIT" in sidecar["licence"]
    assert "no AS numbers" in sidecar["note"]


def test_same_source_gives_byte_identical_output(source: Path, tmp_path: Path) -> None:
    first = build_asn_database(tmp_path / "a" / "asn.mmdb", source=source)
    second = build_asn_database(tmp_path / "b" / "asn.mmdb", source=source)

    assert first.path.read_bytes() == second.path.read_bytes()
    assert sidecar_path(first.path).read_bytes() == sidecar_path(second.path).read_bytes()


def test_rebuild_replaces_output_and_leaves_no_temp_files(source: Path, tmp_path: Path) -> None:
    output = tmp_path / "asn.mmdb"
    output.write_bytes(b"stale")

    report = build_asn_database(output, source=source)

    assert output.read_bytes() != b"stale"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "asn.mmdb",
        "asn.mmdb.json",
        "source.dat.gz",
    ]
    assert report.path == output


def test_limit_keeps_the_first_networks(source: Path, tmp_path: Path) -> None:
    report = build_asn_database(tmp_path / "asn.mmdb", source=source, limit=1)

    assert report.networks == 1
    with maxminddb.open_database(str(report.path)) as reader:
        assert reader.get("12.0.0.1") == {"autonomous_system_organization": "EXAMPLE-NET"}
        assert reader.get("12.1.0.1") is None


def test_negative_limit_is_refused(source: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="limit"):
        build_asn_database(tmp_path / "asn.mmdb", source=source, limit=-1)


def test_progress_ends_at_total(source: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []

    build_asn_database(
        tmp_path / "asn.mmdb", source=source, progress=lambda d, t: calls.append((d, t))
    )

    assert calls[-1] == (len(ENTRIES), len(ENTRIES))
    assert all(done <= total for done, total in calls)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"version": 119}, "format version 119"),
        ({"source_info": {"info": INFO, "asn": True, "city": True}}, "without cities"),
        ({"source_info": {"asn": True, "city": False}}, "'info' string"),
        ({"names": ["<unknown>", 7]}, "list of strings"),
    ],
)
def test_unsupported_sources_are_refused(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    source = write_source(tmp_path / "source.dat.gz", **kwargs)

    with pytest.raises(GeoDataError, match=message) as caught:
        build_asn_database(tmp_path / "out" / "asn.mmdb", source=source)
    assert caught.value.code == "geo_data_error"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"not": "a list"}, r"expected \[version"),
        ([120, {"info": INFO, "asn": True, "city": False}, 0, [[]] * 9], "10 database lists"),
        (
            [
                120,
                {"info": INFO, "asn": True, "city": False},
                0,
                [[], [], [], ["x"], [], {}] + [[]] * 4,
            ],
            "are not lists",
        ),
        (
            [
                120,
                {"info": INFO, "asn": True, "city": False},
                0,
                [[], [], [], ["x"], [], [[0]]] + [[]] * 4,
            ],
            "different chunk counts",
        ),
    ],
)
def test_malformed_payloads_are_refused(tmp_path: Path, payload: object, message: str) -> None:
    source = tmp_path / "source.dat.gz"
    with gzip.open(source, "wb") as handle:
        pickle.dump(payload, handle)

    with pytest.raises(GeoDataError, match=message):
        build_asn_database(tmp_path / "asn.mmdb", source=source)


def test_ragged_chunk_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source.dat.gz"
    info = {"info": INFO, "asn": True, "city": False}
    db = [[0], [0], [], NAMES, [[0]], [[1 << 24]], [[0]], [[1, 1]], [[8]], [[8]]]
    with gzip.open(source, "wb") as handle:
        pickle.dump([120, info, 1, db], handle)

    with pytest.raises(GeoDataError, match="chunk 0 is malformed"):
        build_asn_database(tmp_path / "asn.mmdb", source=source)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ((0x0C000001, 1, 16), "not an IPv4 CIDR"),
        ((0x0C000000, 1, 33), "not an IPv4 CIDR"),
        ((V6_BASE + 1, 2, 32), "not an IPv6 CIDR"),
        ((0x0C000000, 9, 16), "name id 9 out of range"),
    ],
)
def test_bad_entries_are_refused_without_leaving_files(
    tmp_path: Path, entry: tuple[int, int, int], message: str
) -> None:
    source = write_source(tmp_path / "source.dat.gz", [entry])
    out = tmp_path / "out"

    with pytest.raises(GeoDataError, match=message):
        build_asn_database(out / "asn.mmdb", source=source)
    assert not out.exists() or not any(out.iterdir())


def test_unreadable_and_missing_sources_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.dat.gz"
    garbage.write_bytes(b"not gzip at all")

    with pytest.raises(GeoDataError, match="cannot read ASN source"):
        build_asn_database(tmp_path / "asn.mmdb", source=garbage)
    with pytest.raises(GeoDataError, match="not found"):
        build_asn_database(tmp_path / "asn.mmdb", source=tmp_path / "missing.dat.gz")


def test_default_source_is_the_installed_geoip2fast_file() -> None:
    path = default_source()

    assert path.name == "geoip2fast-asn-ipv6.dat.gz"
    assert path.parent.name == "geoip2fast"
    assert path.is_file()


def test_real_data_build_is_a_valid_asn_database(built_asn: AsnBuildReport) -> None:
    sidecar = json.loads(sidecar_path(built_asn.path).read_text())

    assert built_asn.networks == sidecar["networks"] == 20_000
    assert built_asn.source_info.startswith("MAXMIND:GeoLite2-")
    assert sidecar["sha256"] == hashlib.sha256(built_asn.path.read_bytes()).hexdigest()
    with maxminddb.open_database(str(built_asn.path)) as reader:
        meta = reader.metadata()
        released = datetime.fromtimestamp(meta.build_epoch, tz=UTC).strftime("%Y%m%d")
        assert built_asn.source_info.endswith(released)
        assert reader.get("8.8.8.8") == {"autonomous_system_organization": "GOOGLE"}


def test_real_data_build_is_reproducible(tmp_path: Path) -> None:
    first = build_asn_database(tmp_path / "a.mmdb", limit=2_000)
    second = build_asn_database(tmp_path / "b.mmdb", limit=2_000)

    assert first.networks == 2_000
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
