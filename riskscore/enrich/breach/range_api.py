"""A client of a HIBP-compatible k-anonymity range API (Pwned Passwords v3).

``GET {base_url}/range/{first 5 hex of the SHA-1}`` answers ``SUFFIX:COUNT``
lines, one per leaked hash with that prefix (35-hex suffixes). Only the 5-hex
prefix leaves the process, shared by roughly a million leaked hashes and
every other password that hashes under it; the match happens here. With
``Add-Padding: true`` the server adds count-0 rows so the response size does
not betray the prefix either (Cloudflare, "Pwned Passwords Padding"); they
are ignored. Answers are cached per prefix (LRU with a TTL).

When the API cannot answer (timeout, transport error, non-200, malformed
body) the corpus fails open (``available=False``) or closed
(:class:`BreachCheckError`) as configured, and counts which through
:class:`BreachMetrics` with outcome ``fail_open_<reason>`` or
``fail_closed_<reason>``, reason one of timeout, transport, http_status,
malformed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import httpx

from riskscore.enrich.breach.base import (
    DIGEST_SIZE,
    OUTCOME_FAIL_CLOSED,
    OUTCOME_FAIL_OPEN,
    OUTCOME_FOUND,
    OUTCOME_NOT_FOUND,
    BreachCheckError,
    BreachMetrics,
    BreachResult,
    Closing,
    NullBreachMetrics,
    sha1_digest,
)

RANGE_API_SOURCE: Final = "range-api"
PREFIX_LENGTH: Final = 5
# A padded answer is 800-1,000 rows of 41-48 bytes; anything near 1 MiB is not one.
MAX_BODY_BYTES: Final = 1 << 20
_ROW: Final = re.compile(r"([0-9A-Fa-f]{35}):([0-9]{1,12})")

_log = logging.getLogger(__name__)


class _RangeUnavailableError(Exception):
    """Why a range could not be fetched; ``kind`` is the metric label, ``detail`` the log."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Range:
    """One prefix's leaked hashes: sorted 20-byte digests in one blob, counts beside."""

    # Kept out of repr: the blob holds the very hash a caller looked up.
    digests: bytes = field(repr=False)
    counts: array[int] = field(repr=False)
    fetched_at: float

    def count_of(self, digest: bytes) -> int | None:
        blob = self.digests
        size = len(self.counts)
        at = bisect_left(
            range(size), digest, key=lambda i: blob[i * DIGEST_SIZE : (i + 1) * DIGEST_SIZE]
        )
        if at < size and blob[at * DIGEST_SIZE : (at + 1) * DIGEST_SIZE] == digest:
            return self.counts[at]
        return None


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Range-cache counters since construction."""

    hits: int
    misses: int
    size: int


def _parse_range(prefix: str, body: bytes, fetched_at: float) -> _Range:
    """Parse a range answer for ``prefix`` (uppercase); raises when malformed."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise _RangeUnavailableError("malformed", "body is not ASCII") from None
    counts: dict[bytes, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        row = line.strip()
        if not row:
            continue
        match = _ROW.fullmatch(row)
        if match is None:
            raise _RangeUnavailableError("malformed", f"body line {number} is not SUFFIX:COUNT")
        count = int(match[2])
        if count == 0:
            continue
        digest = bytes.fromhex(prefix + match[1])
        counts[digest] = max(count, counts.get(digest, 0))
    ordered = sorted(counts)
    return _Range(
        digests=b"".join(ordered),
        counts=array("Q", (counts[d] for d in ordered)),
        fetched_at=fetched_at,
    )


class RangeApiCorpus(Closing):
    """A BreachCorpus over a k-anonymity range API, pooled and cached per prefix."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 2.0,
        fail_closed: bool = False,
        cache_size: int = 4096,
        cache_ttl_s: float = 3600,
        user_agent: str = "riskscore",
        now: Callable[[], float] = time.monotonic,
        metrics: BreachMetrics | None = None,
        transport: httpx.BaseTransport | None = None,
        trust_env: bool = True,
        source: str = RANGE_API_SOURCE,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if cache_size < 0 or cache_ttl_s < 0:
            raise ValueError("cache_size and cache_ttl_s must not be negative")
        self.fail_closed = fail_closed
        self.source = source
        self._cache_size = cache_size
        self._cache_ttl_s = cache_ttl_s
        self._now = now
        self._metrics: BreachMetrics = metrics or NullBreachMetrics()
        self._cache: OrderedDict[str, _Range] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        # Redirects are refused: a redirect target could log the prefix with who asked.
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": user_agent, "Add-Padding": "true", "Accept": "text/plain"},
            follow_redirects=False,
            transport=transport,
            trust_env=trust_env,
        )

    def lookup(self, sha1_hex: str) -> BreachResult:
        """Look up the 40-hex SHA-1 of a password; only its first 5 hex digits are sent."""
        digest = sha1_digest(sha1_hex)
        prefix = digest.hex()[:PREFIX_LENGTH].upper()
        entry = self._cached(prefix)
        if entry is None:
            try:
                entry = self._fetch(prefix)
            except _RangeUnavailableError as failure:
                return self._fail(failure)
            self._store(prefix, entry)
        count = entry.count_of(digest)
        outcome = OUTCOME_NOT_FOUND if count is None else OUTCOME_FOUND
        self._metrics.observe_breach_check(self.source, outcome)
        return BreachResult(found=count is not None, count=count, source=self.source)

    def cache_stats(self) -> CacheStats:
        """Hits, misses and entries of the per-prefix cache."""
        with self._lock:
            return CacheStats(hits=self._hits, misses=self._misses, size=len(self._cache))

    def _cached(self, prefix: str) -> _Range | None:
        with self._lock:
            entry = self._cache.get(prefix)
            if entry is not None and self._now() - entry.fetched_at < self._cache_ttl_s:
                self._cache.move_to_end(prefix)
                self._hits += 1
                return entry
            if entry is not None:
                del self._cache[prefix]
            self._misses += 1
            return None

    def _store(self, prefix: str, entry: _Range) -> None:
        if self._cache_size == 0:
            return
        with self._lock:
            self._cache[prefix] = entry
            self._cache.move_to_end(prefix)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _fetch(self, prefix: str) -> _Range:
        try:
            with self._client.stream("GET", f"range/{prefix}") as response:
                if response.status_code != httpx.codes.OK:
                    raise _RangeUnavailableError("http_status", f"HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        raise _RangeUnavailableError(
                            "malformed", f"body over {MAX_BODY_BYTES} bytes"
                        )
        except httpx.TimeoutException as exc:
            raise _RangeUnavailableError("timeout", type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise _RangeUnavailableError("transport", type(exc).__name__) from exc
        return _parse_range(prefix, bytes(body), self._now())

    def _fail(self, failure: _RangeUnavailableError) -> BreachResult:
        mode = OUTCOME_FAIL_CLOSED if self.fail_closed else OUTCOME_FAIL_OPEN
        self._metrics.observe_breach_check(self.source, f"{mode}_{failure.kind}")
        _log.warning("breach range API unavailable (%s); %s", failure.detail, mode)
        if self.fail_closed:
            raise BreachCheckError(self.source, failure.detail) from None
        return BreachResult(found=False, count=None, source=self.source, available=False)

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()
