"""The sorted-digest file both local corpora use: layout, atomic writer, mmap reader.

Layout (all integers big-endian)::

    header   40 bytes  magic "RSBREACH", u16 version, u8 kind, u8 record size,
                       u8 index bits, 1 pad byte, u16 provenance length,
                       u64 record count, u64 records offset, u64 index offset
    provenance         UTF-8, zero-padded to a multiple of 8 bytes
    records            sorted, unique; 20-byte SHA-1 digest (kind 1), or the
                       digest plus a u32 count (kind 2)
    index              only when index bits > 0: 2**bits + 1 u32 record numbers;
                       entry p is the first record whose top ``bits`` bits are >= p,
                       so bucket p spans records [index[p], index[p + 1])

The file holds no timestamp, so the same input always gives the same bytes.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
import tempfile
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

from riskscore.enrich.breach.base import DIGEST_SIZE, BreachDataError, Closing

MAGIC: Final = b"RSBREACH"
VERSION: Final = 1
KIND_DIGESTS: Final = 1
KIND_COUNTED: Final = 2
RECORD_SIZES: Final = {KIND_DIGESTS: DIGEST_SIZE, KIND_COUNTED: DIGEST_SIZE + 4}
MAX_INDEX_BITS: Final = 24
MAX_COUNT: Final = 0xFFFF_FFFF

_HEADER: Final = struct.Struct(">8sHBBBxHQQQ")
_U32: Final = struct.Struct(">I")
_U32_PAIR: Final = struct.Struct(">II")
_ALIGN: Final = 8


def _records_offset(provenance: bytes) -> int:
    return -(-(_HEADER.size + len(provenance)) // _ALIGN) * _ALIGN


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``path`` that replaces it only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            sync(handle)
        publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sync(handle: BinaryIO) -> None:
    """Flush ``handle`` to the disk, so a rename after it cannot expose a torn file."""
    handle.flush()
    os.fsync(handle.fileno())


def publish(tmp: Path, path: Path) -> None:
    """Rename a synced ``tmp`` over ``path`` and sync the directory entry."""
    # mkstemp creates 0600; a corpus is data other service users may read.
    tmp.chmod(0o644)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class HashFileWriter:
    """Streams sorted unique records into an open file, then writes index and header."""

    def __init__(self, handle: BinaryIO, *, kind: int, index_bits: int, provenance: str) -> None:
        if kind not in RECORD_SIZES:
            raise ValueError(f"unknown kind {kind}")
        if not 0 <= index_bits <= MAX_INDEX_BITS:
            raise ValueError(f"index_bits must be in 0..{MAX_INDEX_BITS}")
        self._handle = handle
        self._kind = kind
        self._bits = index_bits
        self._shift = 24 - index_bits
        self._provenance = provenance.encode("utf-8")
        if len(self._provenance) > 0xFFFF:
            raise ValueError("provenance longer than 65535 bytes")
        self._records_offset = _records_offset(self._provenance)
        self._index = array("I", bytes(4 * ((1 << index_bits) + 1))) if index_bits else None
        self._next_bucket = 0
        self._count = 0
        self._last = b""
        handle.seek(0)
        handle.truncate()
        handle.write(bytes(self._records_offset))

    @property
    def count(self) -> int:
        """Records written so far."""
        return self._count

    def add(self, digest: bytes, count: int = 0) -> None:
        """Append one record; digests must arrive strictly increasing."""
        if digest <= self._last:
            raise ValueError("records must be strictly increasing")
        self._last = digest
        index = self._index
        if index is not None:
            bucket = int.from_bytes(digest[:3], "big") >> self._shift
            while self._next_bucket <= bucket:
                index[self._next_bucket] = self._count
                self._next_bucket += 1
        if self._kind == KIND_COUNTED:
            self._handle.write(digest + _U32.pack(min(count, MAX_COUNT)))
        else:
            self._handle.write(digest)
        self._count += 1

    def finish(self) -> int:
        """Write the index and the real header; returns the record count."""
        if self._count > MAX_COUNT:
            raise BreachDataError(f"{self._count} records exceed the u32 index of format v1")
        index_offset = 0
        if self._index is not None:
            index = self._index
            while self._next_bucket < len(index):
                index[self._next_bucket] = self._count
                self._next_bucket += 1
            index_offset = self._records_offset + self._count * RECORD_SIZES[self._kind]
            if sys.byteorder == "little":
                index.byteswap()
            self._handle.write(index.tobytes())
        self._handle.seek(0)
        self._handle.write(
            _HEADER.pack(
                MAGIC,
                VERSION,
                self._kind,
                RECORD_SIZES[self._kind],
                self._bits,
                len(self._provenance),
                self._count,
                self._records_offset,
                index_offset,
            )
            + self._provenance
        )
        self._handle.seek(0, os.SEEK_END)
        return self._count

    @property
    def records_offset(self) -> int:
        """Where the records start: a partly written file can be read back as a sorted run."""
        return self._records_offset


class MappedHashFile(Closing):
    """A read-only memory map of a hash file, searched by bucket index and bisection."""

    def __init__(self, path: Path, *, kind: int) -> None:
        self.path = path
        try:
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < _HEADER.size:
                    raise BreachDataError(f"{path}: too short for a breach corpus header")
                self._mm = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise BreachDataError(f"{path}: cannot open breach corpus: {exc.strerror}") from exc
        try:
            self._parse_header(kind, size)
        except BaseException:
            self._mm.close()
            raise
        if hasattr(self._mm, "madvise"):
            # Lookups touch one or two pages at random; readahead only evicts useful pages.
            self._mm.madvise(mmap.MADV_RANDOM)

    def _parse_header(self, kind: int, size: int) -> None:
        (
            magic,
            version,
            file_kind,
            record_size,
            bits,
            prov_len,
            count,
            records_offset,
            index_offset,
        ) = _HEADER.unpack_from(self._mm, 0)
        where = str(self.path)
        if magic != MAGIC:
            raise BreachDataError(f"{where}: not a riskscore breach corpus (bad magic)")
        if version != VERSION:
            raise BreachDataError(f"{where}: format version {version}, expected {VERSION}")
        if file_kind != kind or record_size != RECORD_SIZES.get(kind):
            raise BreachDataError(f"{where}: record kind {file_kind}, expected {kind}")
        if bits > MAX_INDEX_BITS:
            raise BreachDataError(f"{where}: index of {bits} bits exceeds {MAX_INDEX_BITS}")
        try:
            provenance = self._mm[_HEADER.size : _HEADER.size + prov_len].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BreachDataError(f"{where}: provenance is not UTF-8") from exc
        end = records_offset + count * record_size
        expected_index = end if bits else 0
        index_size = 4 * ((1 << bits) + 1) if bits else 0
        if (
            records_offset != _records_offset(self._mm[_HEADER.size : _HEADER.size + prov_len])
            or index_offset != expected_index
            or size != end + index_size
        ):
            raise BreachDataError(f"{where}: size or offsets do not match the header (truncated?)")
        self.provenance: str = provenance
        self.count: int = count
        self.index_bits: int = bits
        self._record_size: int = record_size
        self._records_offset: int = records_offset
        self._index_offset: int = index_offset
        self._shift: int = 24 - bits

    def find(self, digest: bytes) -> int:
        """Record number of ``digest``, or -1 when absent."""
        mm = self._mm
        lo: int
        hi: int
        if self.index_bits:
            bucket = int.from_bytes(digest[:3], "big") >> self._shift
            lo, hi = _U32_PAIR.unpack_from(mm, self._index_offset + 4 * bucket)
        else:
            lo, hi = 0, self.count
        size = self._record_size
        base = self._records_offset
        # A hand loop beats bisect(key=...) here: no per-probe call of a Python key.
        while lo < hi:
            mid = (lo + hi) >> 1
            offset = base + mid * size
            probe = mm[offset : offset + DIGEST_SIZE]
            if probe < digest:
                lo = mid + 1
            elif probe > digest:
                hi = mid
            else:
                return mid
        return -1

    def count_at(self, record: int) -> int:
        """The u32 count stored with record number ``record`` (kind 2 files)."""
        offset = self._records_offset + record * self._record_size + DIGEST_SIZE
        value: int = _U32.unpack_from(self._mm, offset)[0]
        return value

    def digest_at(self, record: int) -> bytes:
        """The digest of record number ``record``."""
        offset = self._records_offset + record * self._record_size
        return self._mm[offset : offset + DIGEST_SIZE]

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._mm.closed

    def close(self) -> None:
        """Unmap the file."""
        self._mm.close()


class MappedCorpus(Closing):
    """A BreachCorpus over one mapped hash file: the parts both file kinds share."""

    def __init__(self, path: Path, *, kind: int, source: str) -> None:
        self._file = MappedHashFile(path, kind=kind)
        self.source = source

    @property
    def path(self) -> Path:
        """The mapped file."""
        return self._file.path

    @property
    def provenance(self) -> str:
        """Where the digests came from, as written by the build or import step."""
        return self._file.provenance

    def __len__(self) -> int:
        return self._file.count

    def close(self) -> None:
        """Unmap the file."""
        self._file.close()
