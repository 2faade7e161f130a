"""CloudWatch Logs filter patterns, compiled to a predicate over one event message.

Follows the CloudWatch Logs User Guide, "Filter pattern syntax for metric
filters, subscription filters, filter log events, and Live Tail":

* ``""`` matches every event.
* Unstructured terms: ``ERROR Exception`` needs every term, ``?ERROR ?WARN``
  any one of the ``?`` terms, ``-DEBUG`` none of them; ``"exact phrase"`` for
  text with spaces or symbols. Matching is case-sensitive and whole-word: a
  term whose edge is alphanumeric must not continue into a letter or digit
  (``ERROR`` matches ``[ERROR 400]`` but not ``ERRORS``; use ``%regex%`` for
  substrings).
* ``%regex%``: a standalone regular expression searched in the message.
* JSON: ``{ $.a.b[0] = "x" && ($.n > 3 || $.c IS NULL) }`` with ``= != < <= >
  >=``, ``*`` wildcards in string values, ``IS NULL``, ``NOT EXISTS``,
  ``IS TRUE`` / ``IS FALSE``. Comparison rules below follow what CloudWatch's
  ``TestMetricFilter`` answers (quoted values compare as text, unquoted
  numbers numerically; objects, arrays and missing fields never compare).

Space-delimited ``[a, b]`` patterns are not supported and are rejected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, NoReturn

from riskscore.errors import InvalidArgumentError

__all__ = ["MAX_PATTERN_LENGTH", "Matcher", "compile_pattern"]

Matcher = Callable[[str], bool]

# FilterLogEvents' filterPattern is 0-1024 characters (service-2.json FilterPattern).
MAX_PATTERN_LENGTH: Final = 1024

_FIELD = "filterPattern"
_ALNUM = "A-Za-z0-9"
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_KEY = re.compile(r"[^\s.\[\]=!<>()&|\"]+")
_BARE_VALUE = re.compile(r"[^\s()&|]+")


def compile_pattern(pattern: str) -> Matcher:
    """Compile a CloudWatch filter pattern; raise InvalidArgumentError if it is malformed."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidArgumentError(_FIELD, f"longer than {MAX_PATTERN_LENGTH} characters")
    text = pattern.strip()
    if not text:
        return _match_all
    if text.startswith("{"):
        if not text.endswith("}"):
            raise InvalidArgumentError(_FIELD, "JSON pattern must end with '}'")
        return _JsonMatcher(_JsonParser(text[1:-1]).parse())
    if text.startswith("["):
        raise InvalidArgumentError(_FIELD, "space-delimited patterns are not supported")
    if len(text) > 1 and text.startswith("%") and text.endswith("%"):
        return _compile_regex(text[1:-1]).search_message
    return _compile_terms(text)


def _match_all(message: str) -> bool:
    return True


# --- unstructured terms -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _TermMatcher:
    required: tuple[re.Pattern[str], ...]
    optional: tuple[re.Pattern[str], ...]
    excluded: tuple[re.Pattern[str], ...]

    def __call__(self, message: str) -> bool:
        return (
            all(term.search(message) for term in self.required)
            and not any(term.search(message) for term in self.excluded)
            and (not self.optional or any(term.search(message) for term in self.optional))
        )


def _compile_terms(text: str) -> Matcher:
    required: list[re.Pattern[str]] = []
    optional: list[re.Pattern[str]] = []
    excluded: list[re.Pattern[str]] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        bucket = required
        if text[pos] in "?-" and pos + 1 < len(text) and not text[pos + 1].isspace():
            bucket = optional if text[pos] == "?" else excluded
            pos += 1
        if text[pos] == '"':
            term, pos = _read_quoted(text, pos)
        else:
            end = pos
            while end < len(text) and not text[end].isspace():
                end += 1
            term, pos = text[pos:end], end
        if not term:
            raise InvalidArgumentError(_FIELD, "empty term")
        bucket.append(_word_regex(term))
    return _TermMatcher(tuple(required), tuple(optional), tuple(excluded))


def _word_regex(term: str) -> re.Pattern[str]:
    """The term as a whole word: no letter or digit may continue an alphanumeric edge."""
    head = f"(?<![{_ALNUM}])" if term[0].isascii() and term[0].isalnum() else ""
    tail = f"(?![{_ALNUM}])" if term[-1].isascii() and term[-1].isalnum() else ""
    return re.compile(head + re.escape(term) + tail)


def _read_quoted(text: str, pos: int) -> tuple[str, int]:
    """The quoted string at ``pos`` (backslash escapes) and the index after it."""
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise InvalidArgumentError(_FIELD, "unterminated quoted string")


@dataclass(frozen=True, slots=True)
class _Regex:
    regex: re.Pattern[str]

    def search_message(self, message: str) -> bool:
        return self.regex.search(message) is not None


def _compile_regex(source: str) -> _Regex:
    # The guide forbids "(" and ")" in filter-pattern regexes.
    if not source or "(" in source or ")" in source:
        raise InvalidArgumentError(_FIELD, f"invalid regular expression %{source}%")
    try:
        return _Regex(re.compile(source))
    except re.error as exc:
        raise InvalidArgumentError(_FIELD, f"invalid regular expression: {exc}") from None


# --- JSON patterns: syntax tree -----------------------------------------------

Step = str | int
Operator = Literal["=", "!=", "<", "<=", ">", ">="]
Check = Literal["IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE"]
# Two-character operators first, so "<=" is not read as "<".
_OPERATORS: Final[tuple[Operator, ...]] = ("<=", ">=", "!=", "=", "<", ">")
_IS_CHECKS: Final[tuple[tuple[str, Check], ...]] = (
    ("NULL", "IS NULL"),
    ("TRUE", "IS TRUE"),
    ("FALSE", "IS FALSE"),
)


@dataclass(frozen=True, slots=True)
class _Value:
    text: str
    quoted: bool
    number: float | None  # set for unquoted numeric literals
    glob: re.Pattern[str] | None  # set when the value has a "*" wildcard
    regex: re.Pattern[str] | None  # set for %regex% values


@dataclass(frozen=True, slots=True)
class _Compare:
    path: tuple[Step, ...]
    op: Operator
    value: _Value


@dataclass(frozen=True, slots=True)
class _Test:
    path: tuple[Step, ...]
    check: Check


@dataclass(frozen=True, slots=True)
class _And:
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Or:
    left: _Node
    right: _Node


_Node = _Compare | _Test | _And | _Or


class _JsonParser:
    """Recursive descent: or := and ('||' and)*; and := atom ('&&' atom)*."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0

    def parse(self) -> _Node:
        node = self._or()
        self._skip()
        if self._pos != len(self._text):
            self._fail(f"unexpected {self._text[self._pos :]!r}")
        return node

    def _fail(self, message: str) -> NoReturn:
        raise InvalidArgumentError(_FIELD, message)

    def _skip(self) -> None:
        while self._pos < len(self._text) and self._text[self._pos].isspace():
            self._pos += 1

    def _take(self, token: str) -> bool:
        self._skip()
        if self._text.startswith(token, self._pos):
            self._pos += len(token)
            return True
        return False

    def _take_word(self, word: str) -> bool:
        self._skip()
        end = self._pos + len(word)
        if self._text[self._pos : end].upper() == word and (
            end == len(self._text) or not self._text[end].isalnum()
        ):
            self._pos = end
            return True
        return False

    def _or(self) -> _Node:
        node = self._and()
        while self._take("||"):
            node = _Or(node, self._and())
        return node

    def _and(self) -> _Node:
        node = self._atom()
        while self._take("&&"):
            node = _And(node, self._atom())
        return node

    def _atom(self) -> _Node:
        if self._take("("):
            node = self._or()
            if not self._take(")"):
                self._fail("missing ')'")
            return node
        path = self._selector()
        if self._take_word("IS"):
            for word, check in _IS_CHECKS:
                if self._take_word(word):
                    return _Test(path, check)
            self._fail("expected NULL, TRUE or FALSE after IS")
        if self._take_word("NOT"):
            if self._take_word("EXISTS"):
                return _Test(path, "NOT EXISTS")
            self._fail("expected EXISTS after NOT")
        for op in _OPERATORS:
            if self._take(op):
                return _Compare(path, op, self._value(op))
        self._fail("expected a comparison, IS or NOT EXISTS after the selector")

    def _selector(self) -> tuple[Step, ...]:
        if not self._take("$"):
            self._fail("expected a selector starting with '$'")
        steps: list[Step] = []
        while True:
            if self._text.startswith(".", self._pos):
                key = _KEY.match(self._text, self._pos + 1)
                if key is None:
                    self._fail("expected a key after '.'")
                steps.append(key.group())
                self._pos = key.end()
            elif self._text.startswith("[", self._pos):
                index = re.compile(r"\[(\d+)\]").match(self._text, self._pos)
                if index is None:
                    self._fail("array index must be [<digits>]")
                steps.append(int(index.group(1)))
                self._pos = index.end()
            else:
                break
        if not steps:
            self._fail("selector needs at least one key or index")
        return tuple(steps)

    def _value(self, op: str) -> _Value:
        self._skip()
        numeric_op = op not in ("=", "!=")
        if self._text.startswith('"', self._pos):
            text, self._pos = _read_quoted(self._text, self._pos)
            if numeric_op:
                self._fail(f"{op} needs an unquoted number, not {text!r}")
            return _Value(text, True, None, _glob(text), None)
        bare = _BARE_VALUE.match(self._text, self._pos)
        if bare is None:
            self._fail(f"expected a value after {op}")
        text = bare.group()
        self._pos = bare.end()
        if len(text) > 1 and text.startswith("%") and text.endswith("%"):
            if numeric_op:
                self._fail(f"{op} cannot compare with a regular expression")
            return _Value(text, False, None, None, _compile_regex(text[1:-1]).regex)
        number = float(text) if _NUMBER.fullmatch(text) else None
        if numeric_op and number is None:
            self._fail(f"{op} needs a number, not {text!r}")
        return _Value(text, False, number, _glob(text), None)


def _glob(text: str) -> re.Pattern[str] | None:
    if "*" not in text:
        return None
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


# --- JSON patterns: evaluation ------------------------------------------------


class _Missing:
    """Marks a selector that leads nowhere in the event."""


_MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class _JsonMatcher:
    root: _Node

    def __call__(self, message: str) -> bool:
        try:
            document: object = json.loads(message)
        except ValueError:
            return False  # JSON patterns never match non-JSON events.
        return _evaluate(self.root, document)


def _evaluate(node: _Node, document: object) -> bool:
    if isinstance(node, _And):
        return _evaluate(node.left, document) and _evaluate(node.right, document)
    if isinstance(node, _Or):
        return _evaluate(node.left, document) or _evaluate(node.right, document)
    found = _lookup(document, node.path)
    if isinstance(node, _Test):
        if node.check == "NOT EXISTS":
            return found is _MISSING
        if node.check == "IS NULL":
            return found is None
        return found is (node.check == "IS TRUE")
    return _compare(found, node.op, node.value)


def _lookup(document: object, path: tuple[Step, ...]) -> object:
    current = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return _MISSING
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return _MISSING
            current = current[step]
    return current


def _compare(found: object, op: Operator, value: _Value) -> bool:
    # Only strings and numbers compare; booleans, null, objects, arrays and
    # missing fields fail every comparison, "!=" included.
    if isinstance(found, bool) or not isinstance(found, str | int | float):
        return False
    if op not in ("=", "!="):
        if isinstance(found, str) or value.number is None:
            return False
        return _ORDER[op](float(found), value.number)
    equal = _equals(found, value)
    return equal if op == "=" else not equal


def _equals(found: str | int | float, value: _Value) -> bool:
    text = found if isinstance(found, str) else repr(found)
    if value.regex is not None:
        return value.regex.search(text) is not None
    if value.glob is not None:
        return value.glob.fullmatch(text) is not None
    if value.number is not None and not isinstance(found, str):
        return float(found) == value.number
    return text == value.text


_ORDER: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
