"""The compromised-credentials seam: a corpus answers whether a password's SHA-1 leaked.

Callers pass ``password_sha1`` (the uppercase hex SHA-1 of a password). It is a
secret-equivalent for weak passwords, so no message, log record, metric label
or repr built here ever contains it; validation errors name the field only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Protocol, Self

from riskscore.errors import InvalidArgumentError, RiskscoreError

FIELD: Final = "password_sha1"
DIGEST_SIZE: Final = 20
_HEX40: Final = re.compile(r"[0-9A-Fa-f]{40}")

# Outcome label values of BreachMetrics.observe_breach_check.
OUTCOME_FOUND: Final = "found"
OUTCOME_NOT_FOUND: Final = "not_found"
OUTCOME_FAIL_OPEN: Final = "fail_open"
OUTCOME_FAIL_CLOSED: Final = "fail_closed"


@dataclass(frozen=True, slots=True)
class BreachResult:
    """What a corpus knows about one password hash."""

    found: bool
    # Times the password was seen, when the source says (the dump and range API do).
    count: int | None
    source: str
    # False when the source could not answer and the corpus failed open.
    available: bool = True


class BreachCorpus(Protocol):
    """Answers whether a password (by SHA-1) appears in a breach corpus."""

    def lookup(self, sha1_hex: str) -> BreachResult:
        """Look up the 40-hex SHA-1 of a password (case-insensitive)."""
        ...


class BreachMetrics(Protocol):
    """What breach checks count (see the OUTCOME_* constants)."""

    def observe_breach_check(self, source: str, outcome: str) -> None:
        """One check against ``source`` ended with ``outcome``."""
        ...


class NullBreachMetrics:
    """Counts nothing."""

    def observe_breach_check(self, source: str, outcome: str) -> None:
        """Ignore."""


class BreachCheckError(RiskscoreError):
    """The breach source could not answer and the check is configured to fail closed."""

    code = "breach_unavailable"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"breach source {source!r} unavailable: {reason}")
        self.source = source
        self.reason = reason


class BreachDataError(RiskscoreError):
    """A corpus file or dump is missing, malformed or of the wrong format."""

    code = "breach_data_error"


def sha1_hex(password: str) -> str:
    """Uppercase hex SHA-1 of ``password`` (UTF-8), as HIBP spells it; for tests and the CLI."""
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def sha1_digest(sha1_hex: str) -> bytes:
    """The 20 raw bytes of a 40-hex SHA-1; the error never repeats the value."""
    # bytes.fromhex alone would accept embedded spaces, so the shape is checked first.
    if not (isinstance(sha1_hex, str) and _HEX40.fullmatch(sha1_hex)):
        raise InvalidArgumentError(FIELD, "must be 40 hexadecimal characters")
    return bytes.fromhex(sha1_hex)


class InMemoryBreachCorpus:
    """A corpus held in a dict of hash -> count; the double unit tests use."""

    def __init__(
        self,
        hashes: Mapping[str, int],
        *,
        source: str = "in-memory",
        available: bool = True,
    ) -> None:
        self._counts = {sha1_digest(key): count for key, count in hashes.items()}
        self.source = source
        # available=False plays a source that is down and failing open.
        self.available = available

    def __len__(self) -> int:
        return len(self._counts)

    def lookup(self, sha1_hex: str) -> BreachResult:
        """Look up the 40-hex SHA-1 of a password."""
        digest = sha1_digest(sha1_hex)
        if not self.available:
            return BreachResult(found=False, count=None, source=self.source, available=False)
        count = self._counts.get(digest)
        return BreachResult(found=count is not None, count=count, source=self.source)


class Closing:
    """``with`` support for anything with a ``close()``: the corpora hold maps and pools."""

    def close(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
