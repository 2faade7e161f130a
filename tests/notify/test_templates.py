"""Rendering notifications: placeholders, escaping, defaults, decision -> email."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from riskscore.core.result import Decision
from riskscore.errors import InvalidArgumentError
from riskscore.notify.templates import (
    DEFAULT_EMAILS,
    NotificationContext,
    email_kind,
    render_notification,
)
from riskscore.notify.tokens import FeedbackLinks
from riskscore.policy.decide import PolicyDecision, RiskDecision
from riskscore.policy.notify import NotifyConfiguration, NotifyEmail

ALL = (
    "{ip-address}|{city}|{country}|{login-time}|{device-name}|{one-click-link-valid}|"
    "{one-click-link-invalid}|{event-id}|{feedback-token}|{username}|{unknown-thing}|{####}"
)
LINKS = FeedbackLinks(
    valid_token="tok.valid.1", invalid_token="tok.invalid.2", any_token="tok.any.3"
)
CONTEXT = NotificationContext(
    pool_id="us-east-1_abc",
    username="alice",
    event_id="ev-1",
    login_time=datetime(2024, 9, 18, 23, 16, 43, tzinfo=timezone(timedelta(hours=2))),
    links=LINKS,
    feedback_base_url="https://auth.example.com/",
    ip_address="192.0.2.1",
    city="Berlin",
    country="Germany",
    device_name="Chrome 126, Windows 10",
)
CONFIG = NotifyConfiguration(
    source_arn="arn:aws:ses:us-east-1:123456789012:identity/example.com",
    from_address="security@example.com",
    reply_to="help@example.com",
    block_email=NotifyEmail("Blocked {username}", "<p>B " + ALL + "</p>", "B " + ALL),
    mfa_email=NotifyEmail("MFA {username}", "<p>M " + ALL + "</p>", "M " + ALL),
    no_action_email=NotifyEmail("OK {username}", "<p>N " + ALL + "</p>", "N " + ALL),
)
VALID_URL = "https://auth.example.com/feedback?token=tok.valid.1&value=Valid"
INVALID_URL = "https://auth.example.com/feedback?token=tok.invalid.2&value=Invalid"


def test_every_placeholder_in_text() -> None:
    email = render_notification(CONFIG, Decision.BLOCK, CONTEXT)
    assert email.text_body == (
        "B 192.0.2.1|Berlin|Germany|2024-09-18 21:16:43 UTC|Chrome 126, Windows 10|"
        f"{VALID_URL}|{INVALID_URL}|ev-1|tok.any.3|alice|{{unknown-thing}}|{{####}}"
    )
    assert email.subject == "Blocked alice"
    assert (email.from_address, email.reply_to) == ("security@example.com", "help@example.com")
    assert (email.pool_id, email.username, email.event_id) == ("us-east-1_abc", "alice", "ev-1")


def test_every_placeholder_in_html_is_escaped() -> None:
    email = render_notification(CONFIG, Decision.BLOCK, CONTEXT)
    assert email.html_body == (
        "<p>B 192.0.2.1|Berlin|Germany|2024-09-18 21:16:43 UTC|Chrome 126, Windows 10|"
        f"{VALID_URL.replace('&', '&amp;')}|{INVALID_URL.replace('&', '&amp;')}|"
        "ev-1|tok.any.3|alice|{unknown-thing}|{####}</p>"
    )


def test_xss_in_city_and_device_is_escaped_in_html_only() -> None:
    evil = replace(
        CONTEXT,
        city='<script>alert("x")</script>',
        device_name="<img src=x onerror=alert(1)>",
        username="a'b&c",
    )
    email = render_notification(CONFIG, Decision.BLOCK, evil)
    assert "<script>" not in email.html_body
    assert "<img" not in email.html_body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in email.html_body
    assert "&lt;img src=x onerror=alert(1)&gt;" in email.html_body
    assert "a&#x27;b&amp;c" in email.html_body
    assert '<script>alert("x")</script>' in email.text_body
    assert "<img src=x onerror=alert(1)>" in email.text_body


def test_values_are_not_expanded_again() -> None:
    sneaky = replace(CONTEXT, device_name="{feedback-token}", city="{username}")
    email = render_notification(CONFIG, Decision.BLOCK, sneaky)
    assert "|{username}|" in email.text_body
    assert "|{feedback-token}|" in email.text_body


def test_subject_cannot_inject_headers() -> None:
    config = replace(CONFIG, block_email=NotifyEmail("Hi {username}", "<p>body</p>", "body text"))
    evil = replace(CONTEXT, username="alice\r\nBcc: victim@example.com")
    email = render_notification(config, Decision.BLOCK, evil)
    assert "\n" not in email.subject
    assert "\r" not in email.subject
    assert email.subject == "Hi alice Bcc: victim@example.com"


def test_missing_values_render_unknown() -> None:
    bare = replace(CONTEXT, ip_address=None, city=None, country=None, device_name=None)
    text = render_notification(CONFIG, Decision.BLOCK, bare).text_body
    assert text.startswith("B Unknown|Unknown|Unknown|2024-09-18 21:16:43 UTC|Unknown|")


@pytest.mark.parametrize(
    ("decision", "kind", "subject"),
    [
        (Decision.BLOCK, "BlockEmail", "Blocked alice"),
        (Decision.MFA_IF_CONFIGURED, "MfaEmail", "MFA alice"),
        (Decision.MFA_REQUIRED, "MfaEmail", "MFA alice"),
        (Decision.NO_ACTION, "NoActionEmail", "OK alice"),
    ],
)
def test_decision_selects_email(decision: Decision, kind: str, subject: str) -> None:
    assert email_kind(decision) == kind
    email = render_notification(CONFIG, decision, CONTEXT)
    assert (email.kind, email.subject, email.decision) == (kind, subject, decision)


def test_policy_decision_uses_effective_action() -> None:
    # MFA_IF_CONFIGURED without MFA lets the user in: the NoActionEmail.
    decision = PolicyDecision(
        Decision.MFA_IF_CONFIGURED,
        Decision.NO_ACTION,
        notify=True,
        risk_decision=RiskDecision.NO_RISK,
        risk_level=None,
        rule="test",
    )
    email = render_notification(CONFIG, decision, CONTEXT)
    assert (email.kind, email.decision) == ("NoActionEmail", Decision.NO_ACTION)


@pytest.mark.parametrize("decision", list(Decision))
def test_defaults_without_configuration(decision: Decision) -> None:
    email = render_notification(None, decision, CONTEXT)
    default = DEFAULT_EMAILS[email_kind(decision)]
    assert email.subject == default.subject
    assert (email.from_address, email.reply_to) == (None, None)
    for body in (email.text_body, email.html_body):
        assert "{" not in body, body
        assert "alice" in body
        assert "Berlin" in body
        assert "192.0.2.1" in body
    assert VALID_URL in email.text_body
    assert INVALID_URL in email.text_body
    assert VALID_URL.replace("&", "&amp;") in email.html_body


def test_defaults_fit_cognito_limits() -> None:
    for email in DEFAULT_EMAILS.values():
        email.check("default")


def test_defaults_for_missing_email_and_missing_body() -> None:
    config = replace(
        CONFIG,
        block_email=None,
        mfa_email=NotifyEmail("Only a subject {username}", None, "T " + ALL),
    )
    blocked = render_notification(config, Decision.BLOCK, CONTEXT)
    assert blocked.subject == DEFAULT_EMAILS["BlockEmail"].subject
    assert blocked.from_address == "security@example.com"
    mfa = render_notification(config, Decision.MFA_REQUIRED, CONTEXT)
    assert mfa.subject == "Only a subject alice"
    assert mfa.text_body.startswith("T 192.0.2.1")
    assert mfa.html_body.startswith("<p>We asked for an extra verification step")


def test_links_are_query_encoded() -> None:
    odd = replace(CONTEXT, links=replace(LINKS, valid_token="a+b/c=&d"))
    text = render_notification(CONFIG, Decision.BLOCK, odd).text_body
    url = text.split("|")[5]
    query = parse_qs(urlsplit(url).query)
    assert query == {"token": ["a+b/c=&d"], "value": ["Valid"]}


def test_tokens_not_in_repr() -> None:
    email = render_notification(CONFIG, Decision.BLOCK, CONTEXT)
    assert "tok." not in repr(email)
    assert "tok." not in repr(CONTEXT)


@pytest.mark.parametrize(
    "changes",
    [{"login_time": datetime(2024, 1, 1)}, {"feedback_base_url": "javascript:alert(1)"}],
)
def test_bad_context(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        replace(CONTEXT, **changes)  # type: ignore[arg-type]


def test_login_time_in_utc() -> None:
    at = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    text = render_notification(CONFIG, Decision.BLOCK, replace(CONTEXT, login_time=at)).text_body
    assert "|2024-01-01 00:30:00 UTC|" in text
