"""Importing a Pwned Passwords dump into a mapped, indexed file, and looking it up."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import riskscore.enrich.breach.pwned_dump as pwned_dump
from riskscore.enrich.breach import (
    BreachCorpus,
    BreachResult,
    DumpFormatError,
    DumpImportReport,
    PwnedDumpCorpus,
    import_pwned_dump,
    sha1_hex,
)
from tests.enrich.breach.support import random_records, write_dump

ROWS = 200_000


@pytest.fixture(scope="module")
def records() -> list[tuple[bytes, int]]:
    return random_records(ROWS, seed=7)


@pytest.fixture(scope="module")
def sorted_import(
    tmp_path_factory: pytest.TempPathFactory, records: list[tuple[bytes, int]]
) -> DumpImportReport:
    work = tmp_path_factory.mktemp("dump-sorted")
    dump = write_dump(work / "pwned.txt", sorted(records))
    started = time.perf_counter()
    report = import_pwned_dump(dump, work / "pwned.rsbh", provenance="test dump", index_bits=16)
    elapsed = time.perf_counter() - started
    print(f"\nsorted import: {ROWS / elapsed:,.0f} rows/s")
    return report


@pytest.fixture
def corpus(sorted_import: DumpImportReport) -> Iterator[PwnedDumpCorpus]:
    with PwnedDumpCorpus(sorted_import.path) as mapped:
        yield mapped


def test_sorted_dump_streams_in_one_run(sorted_import: DumpImportReport) -> None:
    assert (sorted_import.lines, sorted_import.records) == (ROWS, ROWS)
    assert sorted_import.sorted_input
    assert sorted_import.runs == 1
    assert sorted_import.duplicates == 0
    assert not [p for p in sorted_import.path.parent.iterdir() if p.name.startswith(".")]


def test_every_record_is_found_with_its_count(
    corpus: PwnedDumpCorpus, records: list[tuple[bytes, int]]
) -> None:
    seam: BreachCorpus = corpus
    assert len(corpus) == ROWS
    for digest, count in records[::97]:
        assert seam.lookup(digest.hex().upper()) == BreachResult(
            found=True, count=count, source="pwned-dump"
        )


def test_absent_hashes_are_not_found(
    corpus: PwnedDumpCorpus, records: list[tuple[bytes, int]]
) -> None:
    present = {digest for digest, _ in records}
    rng = random.Random(11)
    misses = [d for d in (rng.randbytes(20) for _ in range(2_000)) if d not in present]
    assert not any(corpus.lookup(d.hex()).found for d in misses)
    assert corpus.lookup(sha1_hex("password")) == BreachResult(False, None, "pwned-dump")


def test_lookup_takes_microseconds(
    corpus: PwnedDumpCorpus, records: list[tuple[bytes, int]]
) -> None:
    hexes = [digest.hex().upper() for digest, _ in records[:5_000]]
    timings = []
    for sha1 in hexes:
        started = time.perf_counter_ns()
        corpus.lookup(sha1)
        timings.append(time.perf_counter_ns() - started)
    median_us = statistics.median(timings) / 1_000
    print(f"\ndump lookup median: {median_us:.1f} us")
    # Generous: a few microseconds expected; this only catches a linear scan.
    assert median_us < 200


def test_unsorted_dump_is_externally_sorted_to_the_same_bytes(
    tmp_path: Path, records: list[tuple[bytes, int]], sorted_import: DumpImportReport
) -> None:
    dump = write_dump(tmp_path / "shuffled.txt", records, newline=b"\r\n")
    started = time.perf_counter()
    report = import_pwned_dump(
        dump,
        tmp_path / "out.rsbh",
        provenance="test dump",
        index_bits=16,
        chunk_records=30_000,
    )
    print(f"\nunsorted import: {ROWS / (time.perf_counter() - started):,.0f} rows/s")
    assert not report.sorted_input
    assert report.runs > 2
    assert report.records == ROWS
    assert report.path.read_bytes() == sorted_import.path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.rsbh", "shuffled.txt"]


def test_many_runs_are_merged_in_generations(
    tmp_path: Path, records: list[tuple[bytes, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pwned_dump, "MAX_MERGE_FANIN", 3)
    sample = records[:5_000]
    dump = write_dump(tmp_path / "shuffled.txt", sample)
    report = import_pwned_dump(dump, tmp_path / "out.rsbh", chunk_records=400, index_bits=8)
    assert report.runs > 9
    with PwnedDumpCorpus(report.path) as mapped:
        assert len(mapped) == len(sample)
        assert all(mapped.lookup(d.hex()).count == c for d, c in sample)


def test_late_disorder_keeps_the_sorted_prefix(tmp_path: Path) -> None:
    ordered = sorted(random_records(1_000, seed=3))
    lines = [*ordered[:900], ordered[950], *ordered[900:950], *ordered[951:]]
    report = import_pwned_dump(write_dump(tmp_path / "d.txt", lines), tmp_path / "o.rsbh")
    assert (report.sorted_input, report.records, report.runs) == (False, 1_000, 2)
    with PwnedDumpCorpus(report.path) as mapped:
        assert all(mapped.lookup(d.hex()).count == c for d, c in ordered)


def test_duplicates_keep_the_largest_count_and_zero_rows_are_skipped(tmp_path: Path) -> None:
    a, b, c = sha1_hex("a"), sha1_hex("b"), sha1_hex("c")
    lines = f"{a}:5\n{a}:9\n{b}:0\n{c}:3\n{a}:7\n".encode()
    (tmp_path / "d.txt").write_bytes(lines)
    report = import_pwned_dump(tmp_path / "d.txt", tmp_path / "o.rsbh")
    assert (report.lines, report.records, report.duplicates, report.zero_counts) == (5, 2, 2, 1)
    with PwnedDumpCorpus(report.path) as mapped:
        assert mapped.lookup(a).count == 9
        assert not mapped.lookup(b).found
        assert mapped.lookup(c).count == 3


def test_crlf_blank_lines_lowercase_and_no_final_newline(tmp_path: Path) -> None:
    a, b = sorted([sha1_hex("a"), sha1_hex("b")])
    (tmp_path / "d.txt").write_bytes(f"{a.lower()}:1\r\n\r\n{b}:4294967999".encode())
    report = import_pwned_dump(tmp_path / "d.txt", tmp_path / "o.rsbh")
    with PwnedDumpCorpus(report.path) as mapped:
        assert mapped.lookup(a).count == 1
        # Counts beyond u32 saturate rather than wrap.
        assert mapped.lookup(b).count == 0xFFFF_FFFF


def test_empty_dump_gives_an_empty_corpus(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_bytes(b"")
    report = import_pwned_dump(tmp_path / "d.txt", tmp_path / "o.rsbh")
    with PwnedDumpCorpus(report.path) as mapped:
        assert len(mapped) == 0
        assert not mapped.lookup("F" * 40).found


GOOD = sha1_hex("good")


@pytest.mark.parametrize(
    "bad",
    [
        "Z" + GOOD[1:] + ":3",
        GOOD + "3",
        GOOD[:39] + ":3",
        GOOD + "0:3",
        GOOD + ":",
        GOOD + ":-3",
        GOOD + ":+3",
        GOOD + ":1_000",
        GOOD + ": 3",
        GOOD[:20] + " " + GOOD[21:] + ":3",
        GOOD + ":1234567890123",
        GOOD + ":3:4",
        "é" * 20 + ":3",
    ],
)
def test_bad_line_is_reported_by_number_only(tmp_path: Path, bad: str) -> None:
    first, last = sha1_hex("first"), sha1_hex("last")
    (tmp_path / "d.txt").write_bytes(f"{first}:1\n\n{bad}\r\n{last}:2\n".encode())
    (tmp_path / "o.rsbh").write_bytes(b"previous corpus")
    with pytest.raises(DumpFormatError) as caught:
        import_pwned_dump(tmp_path / "d.txt", tmp_path / "o.rsbh")
    assert caught.value.line_number == 3
    assert "line 3:" in str(caught.value)
    for text in (str(caught.value), repr(caught.value)):
        assert GOOD not in text
        assert GOOD[:20] not in text
    # Atomic: the old output stands and no temporary file is left behind.
    assert (tmp_path / "o.rsbh").read_bytes() == b"previous corpus"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.txt", "o.rsbh"]


def test_bad_line_after_disorder_is_still_numbered(tmp_path: Path) -> None:
    a, b = sorted([sha1_hex("a"), sha1_hex("b")])
    (tmp_path / "d.txt").write_bytes(f"{b}:1\n{a}:1\n{a}:1\nnot a line\n".encode())
    with pytest.raises(DumpFormatError, match="line 4:"):
        import_pwned_dump(tmp_path / "d.txt", tmp_path / "o.rsbh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.txt"]


EDGES = [
    "0" * 40,
    "0" * 39 + "1",
    "00000F" + "F" * 34,
    "000010" + "0" * 34,
    "0000FF" + "F" * 34,
    "000100" + "0" * 34,
    "7FFFFF" + "F" * 34,
    "800000" + "0" * 34,
    "F" * 39 + "E",
    "F" * 40,
]


@pytest.mark.parametrize("index_bits", [0, 1, 8, 16, 20, 24])
def test_index_bucket_boundaries(tmp_path: Path, index_bits: int) -> None:
    counts = {edge: n for n, edge in enumerate(EDGES, start=1)}
    write_dump(tmp_path / "d.txt", ((bytes.fromhex(h), c) for h, c in counts.items()))
    report = import_pwned_dump(tmp_path / "d.txt", tmp_path / "o.rsbh", index_bits=index_bits)
    assert report.sorted_input
    with PwnedDumpCorpus(report.path) as mapped:
        assert mapped.index_bits == index_bits
        for edge, count in counts.items():
            assert mapped.lookup(edge).count == count
        neighbours = ["0" * 39 + "2", "00000F" + "F" * 33 + "E", "000010" + "0" * 33 + "1"]
        neighbours += ["F" * 39 + "D", "7FFFFF" + "F" * 33 + "E", "800000" + "0" * 33 + "1"]
        assert not any(mapped.lookup(h).found for h in neighbours)


def test_progress_reports_every_byte(tmp_path: Path, records: list[tuple[bytes, int]]) -> None:
    dump = write_dump(tmp_path / "d.txt", sorted(records[:60_000]))
    calls: list[int] = []
    import_pwned_dump(dump, tmp_path / "o.rsbh", progress=calls.append)
    assert len(calls) > 1
    assert sum(calls) == dump.stat().st_size


@pytest.mark.parametrize("index_bits", [-1, 25])
def test_index_bits_are_bounded(tmp_path: Path, index_bits: int) -> None:
    (tmp_path / "d.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="index_bits"):
        import_pwned_dump(tmp_path / "d.txt", tmp_path / "o.rsbh", index_bits=index_bits)
