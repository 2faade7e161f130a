"""Deny-list reputation: matches with evidence, reload without restart."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from riskscore.enrich.netlists import ListFormatError
from riskscore.enrich.reputation import (
    REASON,
    DenyListReputation,
    InMemoryReputation,
    ReputationMatch,
)

FIREHOL_HEADER = """\
# firehol_level1
#
# Maintainer      : FireHOL
# Maintainer URL  : http://iplists.firehol.org/
# List source URL : http://iplists.firehol.org/?ipset=firehol_level1
# Category        : attacks
#
"""


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime(2024, 6, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


def write(path: Path, text: str, *, mtime_ns: int | None = None) -> Path:
    path.write_text(text)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_match_carries_list_cidr_category_and_source(tmp_path: Path) -> None:
    level1 = write(tmp_path / "level1.netset", FIREHOL_HEADER + "198.51.100.0/24\n")
    own = write(tmp_path / "own-denylist.txt", "198.51.100.7\n2001:db8:bad::/48\n")
    reputation = DenyListReputation([level1, own], clock=FakeClock())

    assert reputation.check("198.51.100.7") == ReputationMatch(
        "own-denylist", "198.51.100.7/32", "malicious", str(own)
    )
    wide = reputation.check("198.51.100.8")
    assert wide == ReputationMatch(
        "firehol_level1",
        "198.51.100.0/24",
        "attacks",
        "http://iplists.firehol.org/?ipset=firehol_level1",
    )
    assert reputation.check("2001:db8:bad:1::5") is not None
    assert reputation.check("203.0.113.1") is None
    assert wide.evidence("198.51.100.8") == {
        "ip": "198.51.100.8",
        "matches": "198.51.100.0/24",
        "list": "firehol_level1",
        "source": "http://iplists.firehol.org/?ipset=firehol_level1",
        "category": "attacks",
    }
    assert REASON == "MALICIOUS_IP"


def test_describe_gives_file_entries_time_and_digest(tmp_path: Path) -> None:
    path = write(tmp_path / "deny.txt", "192.0.2.0/24\n192.0.2.9\n")
    clock = FakeClock()
    reputation = DenyListReputation([path], clock=clock)
    (info,) = reputation.describe()
    assert info["path"] == str(path)
    assert info["name"] == "deny"
    assert info["entries"] == "2"
    assert info["loaded_at"] == "2024-06-01T00:00:00+00:00"
    assert len(info["sha256"]) == 64


def test_reload_picks_up_new_entries_and_drops_old(tmp_path: Path) -> None:
    path = write(tmp_path / "deny.txt", "192.0.2.1\n", mtime_ns=1_000_000_000)
    clock = FakeClock()
    reputation = DenyListReputation([path], clock=clock)
    assert reputation.check("192.0.2.1") is not None

    assert reputation.reload_if_changed() is False
    write(path, "203.0.113.0/24\n", mtime_ns=2_000_000_000)
    clock.current += timedelta(minutes=5)
    assert reputation.reload_if_changed() is True

    assert reputation.check("192.0.2.1") is None
    assert reputation.check("203.0.113.200") is not None
    assert reputation.lists[0].loaded_at == clock.current
    assert reputation.reload_if_changed() is False


def test_failed_reload_keeps_serving_the_old_table(tmp_path: Path) -> None:
    path = write(tmp_path / "deny.txt", "192.0.2.1\n")
    reputation = DenyListReputation([path], clock=FakeClock())
    write(path, "192.0.2.1\nnonsense\n")
    with pytest.raises(ListFormatError, match=r"deny\.txt:2"):
        reputation.reload()
    assert reputation.check("192.0.2.1") is not None


def test_concurrent_reader_never_errors_during_reloads(tmp_path: Path) -> None:
    path = write(tmp_path / "deny.txt", "")
    reputation = DenyListReputation([path], clock=FakeClock())
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: set[str] = set()

    def reader() -> None:
        while not stop.is_set():
            try:
                match = reputation.check("10.0.0.1")
                seen.add("none" if match is None else match.cidr)
            except BaseException as exc:  # any failure at all is the finding
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(30):
            lines = [f"11.{i // 256}.{i % 256}.0/24" for i in range(5_000)]
            lines.append("10.0.0.0/24" if round_ % 2 else "10.0.0.1")
            write(path, "\n".join(lines))
            reputation.reload()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert errors == []
    assert seen <= {"none", "10.0.0.0/24", "10.0.0.1/32"}
    assert seen & {"10.0.0.0/24", "10.0.0.1/32"}


def test_in_memory_reputation() -> None:
    reputation = InMemoryReputation({"192.0.2.0/24": "test-list"})
    assert reputation.check("192.0.2.5") == ReputationMatch(
        "test-list", "192.0.2.0/24", "malicious", "in-memory"
    )
    assert reputation.check("198.51.100.1") is None
    assert reputation.describe() == [{"kind": "in-memory", "entries": "1"}]
