"""Typed reads from decoded JSON, each error naming the wire field path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from riskscore.errors import InvalidArgumentError


def obj(raw: object, path: str, known: Sequence[str]) -> Mapping[str, object]:
    """A JSON object whose keys are all in ``known``."""
    if not isinstance(raw, Mapping):
        raise InvalidArgumentError(path, "must be a JSON object")
    for key in raw:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            raise InvalidArgumentError(where, f"unknown member (known: {', '.join(known)})")
    return raw


def required(raw: Mapping[str, object], key: str, path: str) -> object:
    """A member that must be present."""
    if key not in raw:
        raise InvalidArgumentError(join(path, key), "is required")
    return raw[key]


def string(raw: object, path: str) -> str:
    """A JSON string."""
    if not isinstance(raw, str):
        raise InvalidArgumentError(path, "must be a string")
    return raw


def boolean(raw: object, path: str) -> bool:
    """A JSON true/false."""
    if not isinstance(raw, bool):
        raise InvalidArgumentError(path, "must be true or false")
    return raw


def strings(raw: object, path: str) -> list[str]:
    """A JSON array of strings."""
    if not isinstance(raw, list):
        raise InvalidArgumentError(path, "must be a JSON array")
    return [string(item, f"{path}[{i}]") for i, item in enumerate(raw)]


def choice(raw: object, path: str, allowed: Sequence[str]) -> str:
    """A string that is one of ``allowed``."""
    text = string(raw, path)
    if text not in allowed:
        raise InvalidArgumentError(path, f"{text!r} is not one of {', '.join(allowed)}")
    return text


def length(text: str, path: str, low: int, high: int) -> str:
    """``text`` if its length is within [low, high]."""
    if not low <= len(text) <= high:
        raise InvalidArgumentError(path, f"length must be {low}-{high}, got {len(text)}")
    return text


def join(path: str, key: str) -> str:
    """``path.key``, or ``key`` at the top level."""
    return f"{path}.{key}" if path else key
