"""IP reputation from deny-list files, reloadable while the service runs.

A match carries what a person needs to judge it, as Auth0's UntrustedIP
evidence does: the matching CIDR, the list it came from, the list's category
and source. Reloads build a complete new table off to the side and then swap
one reference, so a concurrent ``check`` sees either the old table or the new
one, never a half-built one (a single attribute store is atomic in CPython).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from riskscore.core.enrichment import DEFAULT_CATEGORY, REPUTATION_REASON, ReputationMatch
from riskscore.enrich.iptable import IPTable, IPTableBuilder
from riskscore.enrich.netlists import ListFormatError, ListProvenance, read_network_list

__all__ = [
    "DEFAULT_CATEGORY",
    "REASON",
    "Clock",
    "DenyListReputation",
    "InMemoryReputation",
    "LoadedList",
    "ReputationLookup",
    "ReputationMatch",
]

REASON: Final = REPUTATION_REASON


class Clock(Protocol):
    """The time source; riskscore.engine.SystemClock satisfies it."""

    def now(self) -> datetime:
        """Current time, timezone-aware."""
        ...


class ReputationLookup(Protocol):
    """Whether an address is on a deny list, and on which."""

    def check(self, ip: str) -> ReputationMatch | None:
        """The most specific deny-list entry containing ``ip``, or ``None``."""
        ...

    def describe(self) -> list[dict[str, str]]:
        """Provenance of every loaded list."""
        ...


@dataclass(frozen=True, slots=True)
class LoadedList:
    """One deny-list file as last loaded."""

    provenance: ListProvenance
    entries: int
    loaded_at: datetime

    def to_dict(self) -> dict[str, str]:
        """Provenance, entry count and load time as strings."""
        return self.provenance.to_dict() | {
            "entries": str(self.entries),
            "loaded_at": self.loaded_at.isoformat(),
        }


# (path, mtime_ns, size) per file; a change in any means the lists changed.
_Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True, eq=False)
class _Snapshot:
    table: IPTable[ReputationMatch]
    lists: tuple[LoadedList, ...]
    signature: _Signature


class DenyListReputation:
    """ReputationLookup over CIDR / FireHOL list files, with reload without restart.

    The list name is the FireHOL header's, else the file stem. Where lists
    overlap the most specific CIDR wins, and for identical CIDRs the list
    given first. A reload that fails (unreadable file, bad line) raises
    ListFormatError and leaves the previous table serving.
    """

    def __init__(self, paths: Sequence[Path], *, clock: Clock) -> None:
        self._paths = tuple(paths)
        self._clock = clock
        # Serialises reloads (a SIGHUP and the periodic task may race); checks
        # never take it.
        self._reload_lock = threading.Lock()
        self._snapshot = self._load()

    def check(self, ip: str) -> ReputationMatch | None:
        """The most specific deny-list entry containing ``ip``, or ``None``."""
        match = self._snapshot.table.lookup(ip)
        if match is None:
            return None
        payload = match.payload
        return ReputationMatch(payload.list_name, match.cidr, payload.category, payload.source)

    def reload(self) -> tuple[LoadedList, ...]:
        """Re-read every file into a new table and swap it in atomically."""
        with self._reload_lock:
            self._snapshot = self._load()
            return self._snapshot.lists

    def reload_if_changed(self) -> bool:
        """Reload if any file's mtime or size changed; True if it reloaded."""
        with self._reload_lock:
            if _signature(self._paths) == self._snapshot.signature:
                return False
            self._snapshot = self._load()
            return True

    def describe(self) -> list[dict[str, str]]:
        """Provenance of every loaded list: file, name, entries, loaded_at, sha256."""
        return [loaded.to_dict() for loaded in self._snapshot.lists]

    @property
    def lists(self) -> tuple[LoadedList, ...]:
        """The lists as last loaded."""
        return self._snapshot.lists

    def _load(self) -> _Snapshot:
        # Stat before reading: if a file changes in between, the recorded
        # signature is the older one and the next reload_if_changed reloads.
        signature = _signature(self._paths)
        builder: IPTableBuilder[ReputationMatch] = IPTableBuilder()
        loaded: list[LoadedList] = []
        for path in self._paths:
            net_list = read_network_list(path)
            provenance = net_list.provenance
            # The payload is a match template; check() fills in the CIDR.
            payload = ReputationMatch(
                list_name=provenance.name,
                cidr="",
                category=provenance.category or DEFAULT_CATEGORY,
                source=provenance.source or provenance.maintainer_url or provenance.path,
            )
            builder.add_columns(net_list.v4, payload)
            builder.add_columns(net_list.v6, payload)
            loaded.append(LoadedList(provenance, len(net_list), self._clock.now()))
        return _Snapshot(builder.build(), tuple(loaded), signature)


class InMemoryReputation:
    """ReputationLookup over a ``{cidr: list name}`` table, for tests."""

    def __init__(self, entries: Mapping[str, str], *, category: str = DEFAULT_CATEGORY) -> None:
        self._table = IPTable.from_pairs(
            (cidr, ReputationMatch(name, "", category, "in-memory"))
            for cidr, name in entries.items()
        )
        self._size = len(entries)

    def check(self, ip: str) -> ReputationMatch | None:
        """The most specific entry containing ``ip``, or ``None``."""
        match = self._table.lookup(ip)
        if match is None:
            return None
        payload = match.payload
        return ReputationMatch(payload.list_name, match.cidr, payload.category, payload.source)

    def describe(self) -> list[dict[str, str]]:
        """Provenance: an in-memory table of so many networks."""
        return [{"kind": "in-memory", "entries": str(self._size)}]


if TYPE_CHECKING:
    _DENY_LIST: type[ReputationLookup] = DenyListReputation
    _IN_MEMORY: type[ReputationLookup] = InMemoryReputation


def _signature(paths: Sequence[Path]) -> _Signature:
    entries = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError as exc:
            raise ListFormatError(path, 0, f"cannot read list: {exc.strerror or exc}") from exc
        entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)
