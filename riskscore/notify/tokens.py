"""Feedback tokens: the signed, expiring ``FeedbackToken`` of ``UpdateAuthEventFeedback``.

Cognito puts a token in every risk notification; whoever holds it may send
Valid/Invalid feedback on that one event without admin rights (cognito.md
2.2). Ours is a compact HS256 JWS (RFC 7515) carrying JWT claims (RFC 7519)::

    header  {"alg": "HS256", "typ": "riskscore-feedback+jwt"}
    claims  {"iss": issuer, "sub": username, "pool": pool id, "event_id": ...,
             "feedback": "Valid" | "Invalid" (absent: either), "iat", "exp", "jti"}

The explicit ``typ`` keeps the token from being confused with any other JWT
signed under the same secret (RFC 8725 3.11). The header and claims are
base64url, so the token is URL-safe as it stands.

Tokens are bearer credentials: error messages and ``repr`` never contain one.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    JoseError,
)
from joserfc.jwk import OctKey

from riskscore.errors import ConfigError, InvalidArgumentError, RiskscoreError

__all__ = [
    "DEFAULT_TTL",
    "FeedbackClaims",
    "FeedbackLinks",
    "FeedbackTokens",
    "FeedbackValue",
    "InvalidFeedbackTokenError",
    "TokenFailure",
    "generate_secret",
    "load_or_create_secret",
]

FeedbackValue = Literal["Valid", "Invalid"]
TokenFailure = Literal["malformed", "bad_signature", "expired", "wrong_issuer", "mismatch"]

# Cognito does not publish how long its FeedbackToken lives (cognito.md 2.2, 11).
# A week covers a notification read after a weekend or a short trip, while a
# leaked mailbox archive stops yielding usable tokens soon after; a token only
# ever labels one event, and admins can still give feedback for two years (2.1).
DEFAULT_TTL: Final = timedelta(days=7)
JWT_TYP: Final = "riskscore-feedback+jwt"
_ALGORITHM: Final = "HS256"
# RFC 7518 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES: Final = 32
# Ours are ~400 characters; anything far longer is not worth parsing.
MAX_TOKEN_CHARS: Final = 4096
# AdminUpdateAuthEventFeedback's EventId constraint (cognito.md 2.2).
_EVENT_ID: Final = re.compile(r"[\w+-]{1,50}")
_VALUES: Final = ("Valid", "Invalid")


class InvalidFeedbackTokenError(RiskscoreError):
    """A feedback token was not accepted; ``reason`` says why, the token is never repeated."""

    code = "invalid_token"

    def __init__(self, reason: TokenFailure, detail: str) -> None:
        super().__init__(f"feedback token rejected ({reason}): {detail}")
        self.reason: TokenFailure = reason


@dataclass(frozen=True, slots=True)
class FeedbackClaims:
    """What a verified feedback token grants: feedback on one event of one user."""

    pool_id: str
    username: str
    event_id: str
    # None: the token accepts either value ({feedback-token}).
    value: FeedbackValue | None
    issued_at: datetime
    expires_at: datetime
    token_id: str


@dataclass(frozen=True, slots=True)
class FeedbackLinks:
    """The three tokens one notification carries (FeedbackTokens.issue_links)."""

    valid_token: str = field(repr=False)
    invalid_token: str = field(repr=False)
    # For {feedback-token}: accepts either value, as Cognito's single token does.
    any_token: str = field(repr=False)


def generate_secret() -> bytes:
    """A fresh 256-bit signing secret."""
    return secrets.token_bytes(MIN_SECRET_BYTES)


def _new_token_id() -> str:
    return secrets.token_urlsafe(16)


class FeedbackTokens:
    """Issues and verifies feedback tokens under one secret (plus retired ones)."""

    def __init__(
        self,
        secret: bytes,
        *,
        now: Callable[[], datetime],
        previous: Sequence[bytes] = (),
        issuer: str = "riskscore",
        ttl: timedelta = DEFAULT_TTL,
        leeway: timedelta = timedelta(seconds=60),
        token_id: Callable[[], str] = _new_token_id,
    ) -> None:
        for i, key in enumerate((secret, *previous)):
            if len(key) < MIN_SECRET_BYTES:
                field = "secret" if i == 0 else f"previous[{i - 1}]"
                raise InvalidArgumentError(field, f"must be at least {MIN_SECRET_BYTES} bytes")
        if ttl <= timedelta(0) or leeway < timedelta(0):
            raise InvalidArgumentError("ttl", "ttl must be positive and leeway not negative")
        if not issuer:
            raise InvalidArgumentError("issuer", "must not be empty")
        self.issuer = issuer
        self.ttl = ttl
        self._leeway = int(leeway.total_seconds())
        self._now = now
        self._token_id = token_id
        # Signing uses the current secret; verification tries it first, then
        # the retired ones, so tokens already mailed survive a rotation.
        self._signing = OctKey.import_key(secret)
        self._verifying = (self._signing, *(OctKey.import_key(k) for k in previous))

    def __repr__(self) -> str:
        return f"FeedbackTokens(issuer={self.issuer!r}, ttl={self.ttl!r})"

    def issue(self, pool_id: str, username: str, event_id: str, value: FeedbackValue | None) -> str:
        """A token for feedback ``value`` (None: either value) on one event."""
        if not pool_id or not username:
            raise InvalidArgumentError("pool_id", "pool id and username must not be empty")
        if not _EVENT_ID.fullmatch(event_id):
            raise InvalidArgumentError("event_id", "must be 1-50 characters of [\\w+-]")
        if value is not None and value not in _VALUES:
            raise InvalidArgumentError("value", "must be Valid or Invalid")
        issued = _epoch(self._now())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": username,
            "pool": pool_id,
            "event_id": event_id,
            "iat": issued,
            "exp": issued + int(self.ttl.total_seconds()),
            "jti": self._token_id(),
        }
        if value is not None:
            claims["feedback"] = value
        header = {"alg": _ALGORITHM, "typ": JWT_TYP}
        return jwt.encode(header, claims, self._signing, algorithms=[_ALGORITHM])

    def issue_links(self, pool_id: str, username: str, event_id: str) -> FeedbackLinks:
        """The Valid, Invalid and either-value tokens for one notification."""
        return FeedbackLinks(
            valid_token=self.issue(pool_id, username, event_id, "Valid"),
            invalid_token=self.issue(pool_id, username, event_id, "Invalid"),
            any_token=self.issue(pool_id, username, event_id, None),
        )

    def verify(
        self,
        token: str,
        *,
        pool_id: str | None = None,
        username: str | None = None,
        event_id: str | None = None,
        value: FeedbackValue | None = None,
    ) -> FeedbackClaims:
        """The token's claims; raises InvalidFeedbackTokenError unless valid now.

        Given keyword arguments (the UpdateAuthEventFeedback request's fields)
        must match the token, so a token for one event cannot label another.
        """
        claims = self._decode(token)
        expected = (
            ("UserPoolId", pool_id, claims.pool_id),
            ("Username", username, claims.username),
            ("EventId", event_id, claims.event_id),
        )
        for name, want, got in expected:
            if want is not None and want != got:
                raise InvalidFeedbackTokenError("mismatch", f"token is not for this {name}")
        if value is not None and claims.value is not None and value != claims.value:
            raise InvalidFeedbackTokenError("mismatch", "token is not for this FeedbackValue")
        return claims

    def _decode(self, token: str) -> FeedbackClaims:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidFeedbackTokenError("malformed", "not a feedback token")
        decoded: jwt.Token | None = None
        for key in self._verifying:
            try:
                decoded = jwt.decode(token, key, algorithms=[_ALGORITHM])
            except BadSignatureError:
                continue
            except (JoseError, ValueError, TypeError, UnicodeError):
                raise InvalidFeedbackTokenError("malformed", "not a feedback token") from None
            break
        if decoded is None:
            raise InvalidFeedbackTokenError("bad_signature", "signature does not verify")
        if decoded.header.get("typ") != JWT_TYP:
            raise InvalidFeedbackTokenError("malformed", "not a feedback token")
        return self._claims(decoded.claims)

    def _claims(self, raw: dict[str, Any]) -> FeedbackClaims:
        registry = jwt.JWTClaimsRegistry(
            now=lambda: _epoch(self._now()),
            leeway=self._leeway,
            iss={"essential": True},
            sub={"essential": True},
            pool={"essential": True},
            event_id={"essential": True},
            iat={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(raw)
        except ExpiredTokenError:
            raise InvalidFeedbackTokenError("expired", "token has expired") from None
        except JoseError:
            raise InvalidFeedbackTokenError("malformed", "claims are missing or invalid") from None
        if raw["iss"] != self.issuer:
            raise InvalidFeedbackTokenError("wrong_issuer", "token was issued elsewhere")
        value = raw.get("feedback")
        strings = (raw["sub"], raw["pool"], raw["event_id"], raw["jti"])
        if (
            not all(isinstance(s, str) for s in strings)
            or not isinstance(raw["iat"], int)
            or not isinstance(raw["exp"], int)
            or (value is not None and value not in _VALUES)
        ):
            raise InvalidFeedbackTokenError("malformed", "claims are missing or invalid")
        return FeedbackClaims(
            pool_id=raw["pool"],
            username=raw["sub"],
            event_id=raw["event_id"],
            value=value,
            issued_at=datetime.fromtimestamp(raw["iat"], UTC),
            expires_at=datetime.fromtimestamp(raw["exp"], UTC),
            token_id=raw["jti"],
        )


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise InvalidArgumentError("now", "must return a timezone-aware datetime")
    return int(moment.timestamp())


def load_or_create_secret(path: Path) -> bytes:
    """The secret stored at ``path`` (base64url text), creating it 0600 if absent.

    Creation is atomic and never overwrites: the secret is written and fsynced
    under a temporary name, then hard-linked into place, so concurrent
    starters agree on one secret and a crash leaves either none or a whole one.
    Raises ConfigError for a file others can read or a secret too short.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    text = base64.urlsafe_b64encode(generate_secret()) + b"\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, text)
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() fails if the name exists: a racing starter won; use its secret.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    key = str(path)
    mode = path.stat().st_mode
    if mode & 0o077:
        raise ConfigError(key, f"secret file mode is {mode & 0o777:o}; it must be 600")
    try:
        secret = base64.urlsafe_b64decode(path.read_bytes().strip())
    except ValueError:
        raise ConfigError(key, "secret file is not base64url text") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(key, f"secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret
