"""Feedback tokens: round trip, expiry, tampering, rotation, errors that never echo."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from riskscore.errors import ConfigError, InvalidArgumentError, RiskscoreError
from riskscore.notify.tokens import (
    DEFAULT_TTL,
    FeedbackTokens,
    InvalidFeedbackTokenError,
    generate_secret,
    load_or_create_secret,
)

SECRET = b"s" * 32
OTHER = b"o" * 32
START = datetime(2024, 9, 18, 21, 16, 43, tzinfo=UTC)


class FakeClock:
    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def tokens(secret: bytes = SECRET, clock: FakeClock | None = None, **kw: object) -> FeedbackTokens:
    return FeedbackTokens(secret, now=clock or FakeClock(), **kw)  # type: ignore[arg-type]


def rejected(issuer: FeedbackTokens, token: str, reason: str, **match: str) -> None:
    with pytest.raises(InvalidFeedbackTokenError) as info:
        issuer.verify(token, **match)  # type: ignore[arg-type]
    assert info.value.reason == reason
    assert info.value.code == "invalid_token"
    assert isinstance(info.value, RiskscoreError)
    # The token is a bearer credential: no part of it in the message or args.
    text = str(info.value) + repr(info.value.args)
    for part in token.split("."):
        if len(part) >= 8:
            assert part not in text


def test_round_trip() -> None:
    issuer = tokens(token_id=lambda: "jti-1")
    token = issuer.issue("us-east-1_abc", "alice", "ev-1", "Valid")
    claims = issuer.verify(token)
    assert (claims.pool_id, claims.username, claims.event_id, claims.value) == (
        "us-east-1_abc",
        "alice",
        "ev-1",
        "Valid",
    )
    assert claims.issued_at == START
    assert claims.expires_at == START + DEFAULT_TTL
    assert claims.token_id == "jti-1"


def test_token_is_url_safe_hs256_jwt_with_explicit_type() -> None:
    token = tokens().issue("p_1", "alice", "ev-1", "Invalid")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "riskscore-feedback+jwt"}
    decoded = jwt.decode(token, OctKey.import_key(SECRET), algorithms=["HS256"])
    assert set(decoded.claims) == {
        "iss",
        "sub",
        "pool",
        "event_id",
        "feedback",
        "iat",
        "exp",
        "jti",
    }


def test_token_ids_are_unique() -> None:
    issuer = tokens()
    ids = {issuer.verify(issuer.issue("p_1", "a", "ev", "Valid")).token_id for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize(
    ("elapsed", "ok"),
    [
        (DEFAULT_TTL - timedelta(seconds=1), True),
        (DEFAULT_TTL + timedelta(seconds=59), True),  # within the 60 s leeway
        (DEFAULT_TTL + timedelta(seconds=60), False),
        (timedelta(days=30), False),
    ],
)
def test_expiry_with_injected_clock(elapsed: timedelta, ok: bool) -> None:
    clock = FakeClock()
    issuer = tokens(clock=clock)
    token = issuer.issue("p_1", "alice", "ev-1", "Valid")
    clock.at = START + elapsed
    if ok:
        assert issuer.verify(token).event_id == "ev-1"
    else:
        rejected(issuer, token, "expired")


def test_custom_ttl() -> None:
    clock = FakeClock()
    issuer = tokens(clock=clock, ttl=timedelta(hours=1), leeway=timedelta(0))
    token = issuer.issue("p_1", "alice", "ev-1", "Valid")
    clock.at = START + timedelta(hours=1)
    rejected(issuer, token, "expired")


def test_issued_in_the_future_is_rejected() -> None:
    clock = FakeClock(START + timedelta(hours=1))
    token = tokens(clock=clock).issue("p_1", "alice", "ev-1", "Valid")
    rejected(tokens(clock=FakeClock()), token, "malformed")


def _swap_claims(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{raw}.{signature}"


@pytest.mark.parametrize(
    "changes",
    [{"feedback": "Invalid"}, {"event_id": "ev-2"}, {"sub": "mallory"}, {"exp": 2_000_000_000}],
)
def test_tampered_claims_fail_signature(changes: dict[str, object]) -> None:
    issuer = tokens()
    token = issuer.issue("p_1", "alice", "ev-1", "Valid")
    rejected(issuer, _swap_claims(token, **changes), "bad_signature")


def test_tampered_signature() -> None:
    issuer = tokens()
    token = issuer.issue("p_1", "alice", "ev-1", "Valid")
    head, body, sig = token.split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    rejected(issuer, f"{head}.{body}.{flipped}", "bad_signature")


def test_wrong_secret() -> None:
    token = tokens(OTHER).issue("p_1", "alice", "ev-1", "Valid")
    rejected(tokens(SECRET), token, "bad_signature")


def test_wrong_issuer() -> None:
    token = tokens(issuer="elsewhere").issue("p_1", "alice", "ev-1", "Valid")
    rejected(tokens(), token, "wrong_issuer")


def test_alg_none_and_other_typ_rejected() -> None:
    issuer = tokens()
    token = issuer.issue("p_1", "alice", "ev-1", "Valid")
    _, body, _ = token.split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    rejected(issuer, f"{none_header}.{body}.", "malformed")
    plain = jwt.encode(
        {"alg": "HS256"}, {"iss": "riskscore", "sub": "a"}, OctKey.import_key(SECRET)
    )
    rejected(issuer, plain, "malformed")


def test_rotation_accepts_previous_secrets_and_signs_with_current() -> None:
    old = tokens(OTHER).issue("p_1", "alice", "ev-1", "Valid")
    rotated = tokens(SECRET, previous=[OTHER])
    assert rotated.verify(old).event_id == "ev-1"
    new = rotated.issue("p_1", "alice", "ev-2", "Valid")
    assert tokens(SECRET).verify(new).event_id == "ev-2"
    rejected(tokens(OTHER), new, "bad_signature")


@pytest.mark.parametrize(
    "garbage",
    ["", "abc", "a.b.c", "a.b", "....", "é.é.é", "x" * 5000, "eyJhbGciOiJIUzI1NiJ9.e30."],
)
def test_malformed(garbage: str) -> None:
    with pytest.raises(InvalidFeedbackTokenError) as info:
        tokens().verify(garbage)
    assert info.value.reason in ("malformed", "bad_signature")
    if len(garbage) > 3:
        assert garbage not in str(info.value)


@pytest.mark.parametrize(
    ("match", "ok"),
    [
        ({"pool_id": "p_1", "username": "alice", "event_id": "ev-1", "value": "Valid"}, True),
        ({"pool_id": "p_2"}, False),
        ({"username": "bob"}, False),
        ({"event_id": "ev-2"}, False),
        ({"value": "Invalid"}, False),
    ],
)
def test_verify_matches_request_fields(match: dict[str, str], ok: bool) -> None:
    issuer = tokens()
    token = issuer.issue("p_1", "alice", "ev-1", "Valid")
    if ok:
        issuer.verify(token, **match)  # type: ignore[arg-type]
    else:
        rejected(issuer, token, "mismatch", **match)


def test_any_value_token_and_links() -> None:
    issuer = tokens()
    links = issuer.issue_links("p_1", "alice", "ev-1")
    assert issuer.verify(links.any_token, value="Valid").value is None
    assert issuer.verify(links.any_token, value="Invalid").value is None
    assert issuer.verify(links.valid_token, value="Valid").value == "Valid"
    rejected(issuer, links.invalid_token, "mismatch", value="Valid")
    assert links.valid_token not in repr(links)


@pytest.mark.parametrize(
    ("secret", "kw"),
    [
        (b"short", {}),
        (SECRET, {"previous": [b"short"]}),
        (SECRET, {"ttl": timedelta(0)}),
        (SECRET, {"issuer": ""}),
    ],
)
def test_bad_construction(secret: bytes, kw: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        FeedbackTokens(secret, now=FakeClock(), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("p_1", "alice", "bad event id", "Valid"), "event_id"),
        (("p_1", "alice", "e" * 51, "Valid"), "event_id"),
        (("p_1", "alice", "ev", "Maybe"), "value"),
        (("", "alice", "ev", "Valid"), "pool_id"),
    ],
)
def test_bad_issue(args: tuple[str, str, str, str], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        tokens().issue(*args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_naive_clock_rejected() -> None:
    issuer = FeedbackTokens(SECRET, now=lambda: datetime(2024, 1, 1))
    with pytest.raises(InvalidArgumentError):
        issuer.issue("p_1", "alice", "ev", "Valid")


def test_repr_hides_secret() -> None:
    assert "sss" not in repr(tokens())


def test_generate_secret() -> None:
    a, b = generate_secret(), generate_secret()
    assert len(a) == 32
    assert a != b


def test_load_or_create_secret(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "feedback.key"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["feedback.key"]


def test_load_secret_refuses_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "feedback.key"
    load_or_create_secret(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="600"):
        load_or_create_secret(path)


@pytest.mark.parametrize("content", [b"c2hvcnQ=\n", b"!!not base64!!"])
def test_load_secret_refuses_bad_content(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "feedback.key"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError):
        load_or_create_secret(path)
