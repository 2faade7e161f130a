"""Raw text chunks become typed canonical rows, and bad rows become rejects.

Everything is vectorised over columns; IP addresses that are not already
canonical dotted quads are parsed once per distinct value, by the gRPC edge's
own ``canonical_ip`` so batch and service agree. A row with several bad fields
is rejected once, for the first of them in CHECK_ORDER (required fields
first), so each rejected row has one line in the rejects file. ``index`` is
int64 when every value of the chunk is an integer, else text: decided per
chunk, so a file mixing both gets both.

Labels (``is_attack_ip``, ``is_takeover``, ``attack_kind``) come back in a
frame of their own, aligned with the good rows. An empty label is a missing
label for that row (<NA>), never a reject: chunks are typed one at a time, so
a whole-file rule could not be applied consistently. A malformed label value
rejects its row only with ``strict_labels`` (train, evaluate); scoring leaves
it at <NA>, because scoring must not depend on the labels at all.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
from numpy.typing import NDArray

from riskscore.batch import columns as c
from riskscore.batch.categories import categorical, factorized
from riskscore.batch.columns import BatchInputError
from riskscore.batch.io import REJECT_COLUMNS, Chunk
from riskscore.errors import InvalidArgumentError
from riskscore.service.validation import canonical_ip

OnError = Literal["fail", "skip"]
Mask = NDArray[np.bool_]

CHECK_ORDER: Final = (
    c.TIMESTAMP,
    c.USER,
    c.IP,
    c.SUCCESS,
    c.RTT_MS,
    c.ASN,
    c.IS_ATTACK_IP,
    c.IS_TAKEOVER,
)
NOT_A_TIMESTAMP: Final = "not a timestamp"
OUT_OF_RANGE: Final = "timestamp outside 1677-09-22..2262-04-10"
EMPTY_USER: Final = "empty user"
NOT_AN_IP: Final = "not an IP address"
NOT_A_BOOLEAN: Final = "not a boolean"
NOT_A_NUMBER: Final = "not a number"
NEGATIVE_RTT: Final = "negative round-trip time"
NOT_AN_ASN: Final = "not an AS number"

_TRUE: Final = ("true", "1", "1.0")
_FALSE: Final = ("false", "0", "0.0")
# "nan" is how pandas and Arrow spell a missing float once it is text; "-" is
# how the RBA dataset marks a missing region or city (see rba._clean).
_MISSING_TEXT: Final = ("-", "nan")
_MISSING_NUMBER: Final = ("", "-", "nan")
_MAX_ASN: Final = 2**32 - 1
# datetime64[ns] spans 1677-09-21..2262-04-11; a day's margin keeps the bounds simple.
_FIRST: Final = pd.Timestamp("1677-09-22", tz="UTC")
_LAST: Final = pd.Timestamp("2262-04-10", tz="UTC")
_PLAIN_TIME: Final = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?"
# Dotted quads exactly as ipaddress prints them (no leading zeros).
_IPV4: Final = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"


@dataclass(frozen=True, slots=True, eq=False)
class Validated:
    """Typed rows that passed, their labels (same row order), and the rejected rows.

    ``frame`` always has every canonical column; ``present`` names those the
    file really had (an absent ``country`` is "" throughout, for example).
    """

    frame: pd.DataFrame
    labels: pd.DataFrame
    rejects: pd.DataFrame
    present: frozenset[str] = frozenset()

    def sorted_by_time(self) -> Validated:
        """Rows (and labels) in timestamp order, ties kept in file order."""
        order = time_order(self.frame)
        return Validated(
            self.frame.take(order).reset_index(drop=True),
            self.labels.take(order).reset_index(drop=True),
            self.rejects,
            self.present,
        )


@dataclass(frozen=True, slots=True, eq=False)
class _Check:
    """Rows failing one field; ``reason`` for them, or ``alt_reason`` where ``alt``."""

    bad: Mask
    reason: str
    alt: Mask | None = None
    alt_reason: str = ""

    def reasons(self, hit: Mask) -> str | NDArray[np.str_]:
        """The reason of each row in ``hit``."""
        if self.alt is None:
            return self.reason
        return np.where(self.alt[hit], self.alt_reason, self.reason)


def validate(chunk: Chunk, on_error: OnError = "fail", *, strict_labels: bool = False) -> Validated:
    """Type a chunk; ``fail`` raises BatchInputError at its first bad row, ``skip`` rejects it.

    ``frame`` columns: row (1-based record number), index, timestamp
    (datetime64[ns, UTC]), ts_ns (int64), user, ip, success (bool), rtt_ms
    (float, NaN when absent), country .. device_key ("" when absent), asn
    (Int64). user, ip and the text fields are categoricals: each distinct
    value is checked and cleaned once, and later stages group by their codes.
    """
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    raw = chunk.frame
    n = len(raw)
    typed: dict[str, Any] = {}
    checks: dict[str, _Check] = {}
    with ThreadPoolExecutor(2) as pool:
        # Columns are typed independently, mostly inside Arrow and pandas'
        # hash tables, which release the GIL: two at a time.
        checked: dict[str, Future[tuple[Any, _Check]]] = {
            c.TIMESTAMP: pool.submit(_timestamps, raw[c.TIMESTAMP]),
            c.USER: pool.submit(_users, raw[c.USER]),
            c.IP: pool.submit(_ips, raw[c.IP]),
            c.SUCCESS: pool.submit(_booleans, raw[c.SUCCESS]),
            c.RTT_MS: pool.submit(_rtt, _column(raw, c.RTT_MS, n)),
            c.ASN: pool.submit(_asn, _column(raw, c.ASN, n)),
        }
        texts = {name: pool.submit(_text, _column(raw, name, n)) for name in c.TEXT_FIELDS}
        for name, future in checked.items():
            typed[name], checks[name] = future.result()
        typed.update({name: future.result() for name, future in texts.items()})
    labels: dict[str, Any] = {}
    for name in chunk.columns.labels:
        if name == c.ATTACK_KIND:
            labels[name] = _text(raw[name])
            continue
        values, check = _booleans(raw[name], allow_empty=True)
        labels[name] = values
        if strict_labels:
            checks[name] = check

    bad, first = _first_failures(checks, n)
    rows = np.arange(chunk.first_row, chunk.first_row + n, dtype=np.int64)
    has_index = c.INDEX in raw
    index_text = raw[c.INDEX] if has_index else pd.Series(rows.astype(str), dtype="str")
    if on_error == "fail" and bad.any():
        at = int(np.argmax(bad))
        name = CHECK_ORDER[first[at]]
        raise BatchInputError(
            _reason(checks[name], at),
            row=int(rows[at]),
            index=str(index_text.iloc[at]) if has_index else None,
            column=chunk.columns.source(name),
            value=str(raw[name].iloc[at]),
        )
    good = ~bad
    frame = _frame(typed, rows, index_text if has_index else None, good)
    label_frame = pd.DataFrame(
        {name: _keep(values, good) for name, values in labels.items()},
        index=pd.RangeIndex(int(good.sum())),
    )
    rejects = _rejects(chunk, checks, first, rows, index_text)
    return Validated(frame, label_frame, rejects, frozenset(chunk.columns.fields))


def time_sorted(frame: pd.DataFrame) -> bool:
    """True when ``frame``'s rows are already in timestamp order."""
    return bool(frame["ts_ns"].is_monotonic_increasing)


def time_order(frame: pd.DataFrame) -> NDArray[np.intp]:
    """Positions that put ``frame`` in timestamp order, ties in their current order."""
    return np.argsort(frame["ts_ns"].to_numpy(), kind="stable")


def sort_by_time(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in timestamp order, ties in their current (file) order."""
    return frame.sort_values("ts_ns", kind="stable", ignore_index=True)


def _column(raw: pd.DataFrame, name: str, n: int) -> pd.Series[str]:
    if name in raw:
        return raw[name]
    blank = pc.fill_null(pa.nulls(n, pa.string()), "").to_pandas()
    assert isinstance(blank, pd.Series)
    return blank


def _first_failures(checks: dict[str, _Check], n: int) -> tuple[Mask, NDArray[np.int64]]:
    """Which rows fail, and the CHECK_ORDER position of each row's first failing field."""
    bad = np.zeros(n, dtype=bool)
    first = np.full(n, -1, dtype=np.int64)
    for position, name in enumerate(CHECK_ORDER):
        if name not in checks:
            continue
        fresh = checks[name].bad & ~bad
        first[fresh] = position
        bad |= fresh
    return bad, first


def _reason(check: _Check, at: int) -> str:
    return check.alt_reason if check.alt is not None and check.alt[at] else check.reason


def _keep(values: Any, good: Mask) -> Any:
    kept = values[good]
    return kept.reset_index(drop=True) if isinstance(kept, pd.Series) else kept


def _frame(
    typed: dict[str, Any], rows: NDArray[np.int64], index_text: pd.Series[str] | None, good: Mask
) -> pd.DataFrame:
    when = _keep(typed[c.TIMESTAMP], good)
    index: Any = rows[good]
    if index_text is not None:
        index = _keep(index_text, good)
        # Kept as given: int64 when every value is an integer, else the text.
        with suppress(pa.ArrowException):
            index = pd.Series(_arrow(index, pa.int64()), dtype=np.int64)
    columns: dict[str, Any] = {
        "row": rows[good],
        c.INDEX: index,
        c.TIMESTAMP: when,
        "ts_ns": when.to_numpy(dtype="datetime64[ns]").view(np.int64),
    }
    for name in c.FIELDS[2:]:
        columns[name] = _keep(typed[name], good)
    return pd.DataFrame(columns, index=pd.RangeIndex(int(good.sum())))


def _rejects(
    chunk: Chunk,
    checks: dict[str, _Check],
    first: NDArray[np.int64],
    rows: NDArray[np.int64],
    index_text: pd.Series[str],
) -> pd.DataFrame:
    parts = []
    for position, name in enumerate(CHECK_ORDER):
        hit = first == position
        if not hit.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "row": rows[hit],
                    "index": index_text.to_numpy()[hit],
                    "column": chunk.columns.source(name),
                    "value": chunk.frame[name].to_numpy()[hit],
                    "reason": checks[name].reasons(hit),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                "row": np.empty(0, dtype=np.int64),
                **{name: pd.Series([], dtype="str") for name in REJECT_COLUMNS[1:]},
            }
        )
    found = pd.concat(parts, ignore_index=True).astype(dict.fromkeys(REJECT_COLUMNS[1:], "str"))
    return found.sort_values("row", kind="stable", ignore_index=True)


def _timestamps(raw: pd.Series[str]) -> tuple[pd.Series[pd.Timestamp], _Check]:
    """UTC times from ISO 8601 text (the RBA layout "2020-02-04 17:14:41.073" included)."""
    ns = np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[ns]")
    outside = np.zeros(len(raw), dtype=bool)
    plain = raw.str.fullmatch(_PLAIN_TIME).to_numpy(dtype=bool)
    if plain.any():
        # Arrow parses the common naive shape ~7x faster than pandas, to the same
        # instants; a chunk with an impossible or far-off date takes the slow path.
        try:
            ns[plain] = _arrow(raw if plain.all() else raw[plain], pa.timestamp("ns"))
        except pa.ArrowException:
            plain = np.zeros(len(raw), dtype=bool)
    if not plain.all():
        parsed = pd.to_datetime(
            raw[~plain].str.strip(), format="ISO8601", utc=True, errors="coerce"
        )
        # Checked before the unit change, which would overflow beyond datetime64[ns].
        inside = parsed.between(_FIRST, _LAST).to_numpy(dtype=bool)
        outside[~plain] = parsed.notna().to_numpy(dtype=bool) & ~inside
        ns[~plain] = parsed.where(inside).dt.as_unit("ns").dt.tz_localize(None).to_numpy()
    ticks = ns.view(np.int64)
    outside |= ~np.isnat(ns) & ((ticks < _FIRST.value) | (ticks > _LAST.value))
    ns[outside] = np.datetime64("NaT")
    check = _Check(np.isnat(ns), NOT_A_TIMESTAMP, outside, OUT_OF_RANGE)
    return pd.Series(ns).dt.tz_localize("UTC"), check


def _arrow(raw: pd.Series[str], kind: Any) -> NDArray[Any]:
    """Arrow's cast of text to ``kind``; raises pyarrow.ArrowException if any value fails."""
    return np.asarray(pc.cast(pa.array(raw), kind).to_numpy())


def _ips(raw: pd.Series[str]) -> tuple[pd.Series[str], _Check]:
    codes, uniques = factorized(raw)
    canonical = uniques.to_numpy(object).copy()
    bad = np.zeros(len(uniques), dtype=bool)
    # Dotted quads as ipaddress prints them are already canonical; the other
    # distinct values are parsed.
    other = np.flatnonzero(~uniques.str.fullmatch(_IPV4).to_numpy(dtype=bool))
    for i in other.tolist():
        parsed = _canonical_ip(str(canonical[i]))
        canonical[i] = parsed or ""
        bad[i] = parsed is None
    return pd.Series(categorical(codes, canonical)), _Check(bad.take(codes), NOT_AN_IP)


def _canonical_ip(text: str) -> str | None:
    try:
        return canonical_ip(c.IP, text)
    except InvalidArgumentError:
        return None


def _booleans(raw: pd.Series[str], *, allow_empty: bool = False) -> tuple[Any, _Check]:
    """bool values; with ``allow_empty``, a nullable boolean array that is <NA> for ""."""
    codes, uniques = factorized(raw)
    spelled = uniques.str.strip().str.lower()
    true = spelled.isin(_TRUE).to_numpy(dtype=bool).take(codes)
    bad = ~spelled.isin(_TRUE + _FALSE).to_numpy(dtype=bool).take(codes)
    if not allow_empty:
        return pd.Series(true, dtype=bool), _Check(bad, NOT_A_BOOLEAN)
    empty = (spelled == "").to_numpy(dtype=bool).take(codes)
    # A bad label is <NA> too: it is only a reject when labels are checked strictly.
    values = pd.Series(pd.arrays.BooleanArray(true, bad))
    return values, _Check(bad & ~empty, NOT_A_BOOLEAN)


def _numbers(
    raw: pd.Series[str], prefix: str | None = None
) -> tuple[NDArray[np.float64], Mask, Mask]:
    """Floats parsed once per distinct value; which were missing; which failed."""
    codes, uniques = factorized(raw)
    distinct = uniques.str.strip()
    if prefix is not None:
        distinct = distinct.str.replace(prefix, "", regex=True)
    parsed = pd.to_numeric(distinct, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    absent = distinct.str.lower().isin(_MISSING_NUMBER).to_numpy(dtype=bool)
    failed = np.isnan(parsed) & ~absent
    return parsed.take(codes), absent.take(codes), failed.take(codes)


def _rtt(raw: pd.Series[str]) -> tuple[pd.Series[float], _Check]:
    value, absent, failed = _numbers(raw)
    with np.errstate(invalid="ignore"):
        negative = ~failed & ~absent & (value < 0)
    infinite = ~failed & np.isinf(value)
    value = np.where(absent, np.nan, value)
    check = _Check(failed | negative | infinite, NOT_A_NUMBER, negative, NEGATIVE_RTT)
    return pd.Series(value, dtype=np.float64), check


def _asn(raw: pd.Series[str]) -> tuple[pd.Series[int], _Check]:
    # "AS132676" is accepted as well as the RBA dataset's bare 132676 (or 132676.0).
    value, absent, failed = _numbers(raw, prefix=r"^[Aa][Ss]")
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(value) & (value == np.floor(value)) & (value >= 0)
        bad = ~absent & (failed | ~whole | (value > _MAX_ASN))
    missing = absent | bad
    numbers = np.where(missing, 0, value).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(numbers, missing)), _Check(bad, NOT_AN_ASN)


def _text(raw: pd.Series[str]) -> pd.Series[str]:
    codes, uniques = factorized(raw)
    stripped = uniques.str.strip()
    cleaned = stripped.mask(stripped.isin(_MISSING_TEXT), "").to_numpy(object)
    return pd.Series(categorical(codes, cleaned))


def _users(raw: pd.Series[str]) -> tuple[pd.Series[str], _Check]:
    codes, uniques = factorized(raw)
    stripped = uniques.str.strip().to_numpy(object)
    users = pd.Series(categorical(codes, stripped))
    return users, _Check((stripped == "").take(codes), EMPTY_USER)
