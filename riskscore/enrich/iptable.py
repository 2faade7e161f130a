"""An immutable longest-prefix-match table over millions of CIDRs.

CIDRs either nest or are disjoint, so a sweep over them sorted by (start,
length) with a stack of open prefixes cuts the address space into disjoint
intervals, each owned by the most specific CIDR covering it. A lookup is then
one ``bisect`` over the interval starts: O(log n), with no per-node Python
objects as a radix trie would need (a million-entry trie costs gigabytes in
CPython). IPv4 bounds live in ``array('Q')``; IPv6 bounds are 128-bit, which
no array type holds, so they are lists of Python ints.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from riskscore.enrich.netlists import PrefixColumns, format_cidr, parse_ip_int, parse_network
from riskscore.errors import InvalidArgumentError

P = TypeVar("P")

_BITS: Final = {4: 32, 6: 128}
_LOW_64: Final = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class TableMatch(Generic[P]):
    """The most specific entry containing an address: its CIDR and payload."""

    cidr: str
    payload: P


@dataclass(frozen=True, slots=True, eq=False)
class _Intervals:
    """Disjoint sorted intervals of one IP version and the entries owning them."""

    version: int
    starts: Sequence[int]
    ends: Sequence[int]
    owners: array[int]
    entry_starts: Sequence[int]
    entry_lengths: array[int]
    entry_payloads: array[int]

    def find(self, value: int) -> int | None:
        index = bisect_right(self.starts, value) - 1
        if index < 0 or value > self.ends[index]:
            return None
        return self.owners[index]


class IPTable(Generic[P]):
    """Most-specific-match lookups over (network, payload) entries; immutable."""

    __slots__ = ("_payloads", "_v4", "_v6")

    def __init__(self, v4: _Intervals, v6: _Intervals, payloads: Sequence[P]) -> None:
        self._v4 = v4
        self._v6 = v6
        self._payloads = tuple(payloads)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, P]]) -> IPTable[P]:
        """A table of ``(cidr, payload)`` pairs; for small tables and tests."""
        builder: IPTableBuilder[P] = IPTableBuilder()
        for cidr, payload in pairs:
            builder.add(cidr, payload)
        return builder.build()

    def lookup(self, ip: str) -> TableMatch[P] | None:
        """The most specific entry containing ``ip``, or ``None``."""
        parsed = parse_ip_int(ip.strip())
        if parsed is None:
            raise InvalidArgumentError("ip_address", f"not an IP address: {ip!r}")
        return self.lookup_int(*parsed)

    def lookup_int(self, version: int, value: int) -> TableMatch[P] | None:
        """As :meth:`lookup`, for an address already parsed to an integer."""
        intervals = self._v4 if version == 4 else self._v6
        owner = intervals.find(value)
        if owner is None:
            return None
        cidr = format_cidr(version, intervals.entry_starts[owner], intervals.entry_lengths[owner])
        return TableMatch(cidr, self._payloads[intervals.entry_payloads[owner]])

    @property
    def entries(self) -> int:
        """How many (network, payload) entries the table was built from."""
        return len(self._v4.entry_lengths) + len(self._v6.entry_lengths)

    @property
    def intervals(self) -> int:
        """How many disjoint intervals the entries were cut into."""
        return len(self._v4.owners) + len(self._v6.owners)


class IPTableBuilder(Generic[P]):
    """Collects entries, then builds an :class:`IPTable` in O(n log n).

    When two entries have the same CIDR, the one added first wins, so callers
    add lists in priority order.
    """

    def __init__(self) -> None:
        self._payloads: list[P] = []
        self._columns: dict[int, tuple[list[int], array[int], array[int]]] = {
            4: ([], array("B"), array("I")),
            6: ([], array("B"), array("I")),
        }

    def add(self, cidr: str, payload: P) -> None:
        """Add one network (``a.b.c.d/n``, an address, or IPv6); host bits are cleared."""
        parsed = parse_network(cidr.strip())
        if parsed is None:
            raise InvalidArgumentError("cidr", f"not an IP network: {cidr!r}")
        version, address, length = parsed
        starts, lengths, payload_ids = self._columns[version]
        starts.append(address)
        lengths.append(length)
        payload_ids.append(self._payload_id(payload))

    def add_int(self, version: int, address: int, length: int, payload: P) -> None:
        """Add one network given as integers; host bits are cleared."""
        bits = _BITS.get(version)
        if bits is None or not 0 <= length <= bits or not 0 <= address < 1 << bits:
            raise InvalidArgumentError("cidr", f"not an IPv{version} network: {address}/{length}")
        starts, lengths, payload_ids = self._columns[version]
        starts.append(address & ~((1 << (bits - length)) - 1))
        lengths.append(length)
        payload_ids.append(self._payload_id(payload))

    def add_columns(self, columns: PrefixColumns, payload: P) -> None:
        """Add every network of ``columns``, all with the same payload."""
        starts, lengths, payload_ids = self._columns[columns.version]
        starts.extend(columns.addresses)
        lengths.extend(columns.lengths)
        payload_ids.extend(array("I", [self._payload_id(payload)]) * len(columns))

    def build(self) -> IPTable[P]:
        """The immutable table of everything added so far."""
        v4 = _sweep(4, *self._columns[4])
        v6 = _sweep(6, *self._columns[6])
        return IPTable(v4, v6, self._payloads)

    def _payload_id(self, payload: P) -> int:
        # One list contributes a million entries with the same payload object;
        # reuse its slot rather than store a million references.
        if self._payloads and self._payloads[-1] is payload:
            return len(self._payloads) - 1
        self._payloads.append(payload)
        return len(self._payloads) - 1


def _sweep(
    version: int, starts: list[int], lengths: array[int], payload_ids: array[int]
) -> _Intervals:
    bits = _BITS[version]
    count = len(lengths)
    order = _sort_order(version, starts, lengths)
    sorted_starts = [starts[i] for i in order]
    sorted_lengths = array("B", (lengths[i] for i in order))
    sorted_payloads = array("I", (payload_ids[i] for i in order))

    out_starts: list[int] = []
    out_ends: list[int] = []
    out_owners: list[int] = []

    def emit(low: int, high: int, owner: int) -> None:
        if low > high:
            return
        if out_owners and out_owners[-1] == owner and out_ends[-1] + 1 == low:
            out_ends[-1] = high
            return
        out_starts.append(low)
        out_ends.append(high)
        out_owners.append(owner)

    # The stack holds (end, entry) of the prefixes containing the cursor,
    # innermost last; the innermost one owns the addresses being swept.
    stack: list[tuple[int, int]] = []
    cursor = 0
    for entry in range(count):
        start = sorted_starts[entry]
        while stack and stack[-1][0] < start:
            end, owner = stack.pop()
            emit(cursor, end, owner)
            cursor = end + 1
        if stack:
            emit(cursor, start - 1, stack[-1][1])
        stack.append((start + (1 << (bits - sorted_lengths[entry])) - 1, entry))
        cursor = start
    while stack:
        end, owner = stack.pop()
        emit(cursor, end, owner)
        cursor = end + 1

    if version == 4:
        return _Intervals(
            version,
            array("Q", out_starts),
            array("Q", out_ends),
            array("I", out_owners),
            array("Q", sorted_starts),
            sorted_lengths,
            sorted_payloads,
        )
    return _Intervals(
        version,
        out_starts,
        out_ends,
        array("I", out_owners),
        sorted_starts,
        sorted_lengths,
        sorted_payloads,
    )


def _sort_order(version: int, starts: list[int], lengths: array[int]) -> list[int]:
    """Indices by (start, length, insertion order reversed), via numpy's lexsort.

    Containing prefixes sort before the ones they contain; of two identical
    CIDRs the first added sorts last, so it ends up innermost and wins.
    """
    count = len(lengths)
    if count == 0:
        return []
    sequence = -np.arange(count, dtype=np.int64)
    length_key = np.frombuffer(lengths, dtype=np.uint8)
    if version == 4:
        keys: tuple[npt.NDArray[np.generic], ...] = (
            sequence,
            length_key,
            np.array(starts, dtype=np.uint64),
        )
    else:
        high = np.array([value >> 64 for value in starts], dtype=np.uint64)
        low = np.array([value & _LOW_64 for value in starts], dtype=np.uint64)
        keys = (sequence, length_key, low, high)
    order: list[int] = np.lexsort(keys).tolist()
    return order
