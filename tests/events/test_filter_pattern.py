"""CloudWatch filter patterns: examples from the CloudWatch Logs User Guide and TestMetricFilter."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscore.errors import InvalidArgumentError
from riskscore.events.filter_pattern import MAX_PATTERN_LENGTH, compile_pattern

# A Cognito-like auth event record, as our log lines hold them.
COGNITO = json.dumps(
    {
        "eventType": "SignIn",
        "message": {
            "riskLevel": "HIGH",
            "eventResponse": "Fail",
            "ipAddress": "203.0.113.7",
            "score": 0.93,
            "attempts": 4,
            "compromised": False,
            "mfa": True,
            "device": None,
            "reasons": ["impossible_travel", "new_device"],
            "challenges": [{"name": "Password", "result": "Success"}],
        },
    }
)

# The record TestMetricFilter was run against (someFloat2 is 12.0 on the wire).
TMF = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "emptyString": "",
        "someInt": 123,
        "someFloat": 12.34,
        "someFloat2": 12.0,
        "someObject": {},
        "someArray": [],
        "someNull": None,
    }
)

MATCHES = [
    # Unstructured terms (User Guide, "Matching terms in unstructured log events").
    ("", "anything at all", True),
    ("ERROR", "[ERROR 400] BAD REQUEST", True),
    ("ERROR", "[INFO] all good", False),
    ("ERROR", "ERRORS everywhere", False),
    ("error", "[ERROR 400] BAD REQUEST", False),
    ("ERROR ARGUMENTS", "[ERROR] Missing ARGUMENTS", True),
    ("ERROR ARGUMENTS", "[ERROR] Missing arguments", False),
    ("?ERROR ?WARN", "[WARN] slow", True),
    ("?ERROR ?WARN", "[INFO] fine", False),
    ('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL SERVER ERROR", True),
    ('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL ERROR", False),
    ("ERROR -ARGUMENTS", "[ERROR] Missing ARGUMENTS", False),
    ("ERROR -ARGUMENTS", "[ERROR] Missing file", True),
    ('?"ERROR 400" ?"ERROR 401"', "[ERROR 401] UNAUTHORIZED", True),
    ("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", True),
    ("AUTHORIZED", "[ERROR 401] UNAUTHORIZED REQUEST", False),
    ("%^\\[ERROR%", "[ERROR 401] UNAUTHORIZED REQUEST", True),
    ("HIGH Fail", COGNITO, True),
    ('"203.0.113.7"', COGNITO, True),
    ('"203.0.113"', COGNITO, True),
    ("HIGH -Fail", COGNITO, False),
    # JSON patterns on a Cognito-like record.
    ('{ $.message.riskLevel = "HIGH" && $.message.eventResponse = "Fail" }', COGNITO, True),
    ('{ $.message.riskLevel = "HIGH" && $.message.eventResponse = "Pass" }', COGNITO, False),
    ('{ $.message.riskLevel = "LOW" || $.message.eventResponse = "Fail" }', COGNITO, True),
    ("{ $.eventType = SignIn }", COGNITO, True),
    ('{ $.eventType != "SignUp" }', COGNITO, True),
    ('{ $.message.ipAddress = "203.0.*" }', COGNITO, True),
    ("{ $.message.ipAddress != 198.51.* }", COGNITO, True),
    ("{ $.message.score > 0.9 }", COGNITO, True),
    ("{ $.message.score >= 0.93 && $.message.score <= 0.93 }", COGNITO, True),
    ("{ $.message.attempts < 4 }", COGNITO, False),
    ("{ $.message.attempts = 4.0 }", COGNITO, True),
    ("{ $.message.attempts != 5 }", COGNITO, True),
    ('{ $.message.reasons[1] = "new_device" }', COGNITO, True),
    ('{ $.message.reasons[2] = "*" }', COGNITO, False),
    ('{ $.message.challenges[0].name = "Password" }', COGNITO, True),
    ("{ $.message.device IS NULL }", COGNITO, True),
    ("{ $.message.riskLevel IS NULL }", COGNITO, False),
    ("{ $.message.userAgent NOT EXISTS }", COGNITO, True),
    ("{ $.message.device NOT EXISTS }", COGNITO, False),
    ("{ $.message.mfa IS TRUE }", COGNITO, True),
    ("{ $.message.compromised IS FALSE }", COGNITO, True),
    ("{ $.message.compromised IS TRUE }", COGNITO, False),
    (
        '{ ($.message.riskLevel = "LOW" || $.message.attempts > 3) && $.eventType = "SignIn" }',
        COGNITO,
        True,
    ),
    (
        '{ $.message.riskLevel = "LOW" || ($.message.attempts > 3 && $.eventType = "SignUp") }',
        COGNITO,
        False,
    ),
    ("{ $.message.riskLevel = %^HI% }", COGNITO, True),
    ('{ $.message.riskLevel = "HIGH" }', "not json at all", False),
    # Observed TestMetricFilter answers (quoted compares text, unquoted numbers numerically).
    ('{ $.eventType = "UpdateTrail" }', TMF, True),
    ("{ $.sourceIPAddress != 123.123.* }", TMF, True),
    ('{ $.sourceIPAddress = "*.111.111.111" }', TMF, True),
    ('{ $.emptyString = "*" }', TMF, True),
    ("{ $.someInt = 123.0 }", TMF, True),
    ('{ $.someInt = "123" }', TMF, True),
    ('{ $.someInt != "123.0" }', TMF, True),
    ("{ $.someInt = 1* }", TMF, True),
    ("{ $.someInt != *321 }", TMF, True),
    ('{ $.someFloat = "12.3*" }', TMF, True),
    ("{ $.someFloat2 = 12 }", TMF, True),
    ('{ $.someFloat2 != "12" }', TMF, True),
    ("{ $.sourceIPAddress > 123 }", TMF, False),
    ("{ $.someObject = 123 }", TMF, False),
    ("{ $.someObject != 123 }", TMF, False),
    ('{ $.someArray != "x" }', TMF, False),
    ('{ $.notExisted != "UpdateTrail" }', TMF, False),
    ("{ $.someNull IS NULL }", TMF, True),
]


@pytest.mark.parametrize(("pattern", "message", "expected"), MATCHES)
def test_pattern_matches_as_cloudwatch_does(pattern: str, message: str, expected: bool) -> None:
    assert compile_pattern(pattern)(message) is expected


INVALID = [
    "{ $.a = 1",
    "{ a = 1 }",
    "{ $. = 1 }",
    "{ $.a }",
    "{ $.a = }",
    "{ $.a[x] = 1 }",
    "{ ($.a = 1 }",
    "{ $.a = 1 && }",
    "{ $.a = 1 } trailing }",
    "{ $.a IS MAYBE }",
    "{ $.a NOT THERE }",
    "{ $.someString > unquoted_string }",
    '{ $.someString > "quoted_string" }',
    '{ $.someString <= "123" }',
    "{ $.a > %x% }",
    '"unterminated',
    '""',
    "%(group)%",
    "[w1=ERROR, w2]",
    "x" * (MAX_PATTERN_LENGTH + 1),
]


@pytest.mark.parametrize("pattern", INVALID)
def test_bad_pattern_names_the_field(pattern: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        compile_pattern(pattern)
    assert caught.value.field == "filterPattern"


def test_longest_allowed_pattern_compiles() -> None:
    assert compile_pattern("A" * MAX_PATTERN_LENGTH)("A" * MAX_PATTERN_LENGTH)


_WORD = re.compile(r"[A-Za-z0-9]+")
_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
)


@settings(derandomize=True, max_examples=200)
@given(
    record=st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), _texts, min_size=1),
    pick=st.integers(min_value=0),
)
def test_term_from_a_word_of_the_message_always_matches(record: dict[str, str], pick: int) -> None:
    message = json.dumps(record, ensure_ascii=False)
    words = _WORD.findall(message)
    word = words[pick % len(words)]  # keys are words, so there is at least one
    assert compile_pattern(word)(message)
    assert compile_pattern(f'"{word}"')(message)
    assert not compile_pattern(f"-{word}")(message)
    assert compile_pattern(f"?{word} ?zzzz_not_there")(message)
