"""The plain data a store hands the scorer: counts over proven sign-ins.

A *history* is one scope's counts (one user's, or the whole pool's). For each
feature column the scorer needs three numbers only: how often this attempt's
value was seen, how many values were seen in all, and how many distinct
values: exactly what Freeman et al.'s likelihood estimates are built from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from riskscore.core.enrichment import Place
from riskscore.core.velocity import WindowCounts


@dataclass(frozen=True, slots=True)
class ColumnStats:
    """Counts for one column in one scope, relative to one attempt's value."""

    count: int = 0
    total: int = 0
    distinct: int = 0


@dataclass(frozen=True, slots=True)
class History:
    """One scope's proven sign-ins: their number and per-column stats."""

    logins: int = 0
    columns: Mapping[str, ColumnStats] = field(default_factory=dict)

    def stats(self, column: str) -> ColumnStats:
        """Stats of one column; zeros when the scope never saw it."""
        return self.columns.get(column, _EMPTY)


_EMPTY = ColumnStats()


@dataclass(frozen=True, slots=True)
class LastLogin:
    """The user's most recent proven sign-in."""

    timestamp: datetime
    ip_address: str
    place: Place
    # The observation's network_type ("" when it was not classified).
    network_type: str = ""


@dataclass(frozen=True, slots=True)
class AttackerMark:
    """Invalid feedback on an earlier attempt that shares one of this attempt's values.

    ``scope`` "user": that user called the attempt not theirs (kinds ip, asn,
    device); "pool": some user of the pool did (kinds ip, asn), ``reports``
    times, the latest at ``reported_at``.
    """

    scope: str
    kind: str
    value: str
    reported_at: datetime
    reports: int = 1


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    """What the store knows that bears on one attempt."""

    user: History
    population: History
    users: int
    last_login: LastLogin | None = None
    failures_since_success: int = 0
    window: WindowCounts = field(default_factory=WindowCounts)
    # The user's proven sign-ins per UTC hour (24 counts; empty without history).
    user_hours: tuple[int, ...] = ()
    # Invalid feedback matching this attempt's IP, ASN or device (point lookups only).
    attacker_marks: tuple[AttackerMark, ...] = ()


def hours_histogram(counts: Iterable[tuple[str, int]]) -> tuple[int, ...]:
    """24 per-hour counts from ("HH", count) pairs; empty when there are none."""
    hours = [0] * 24
    seen = False
    for hour, count in counts:
        if hour.isdigit() and 0 <= int(hour) < 24 and count:
            hours[int(hour)] += count
            seen = True
    return tuple(hours) if seen else ()
