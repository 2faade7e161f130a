"""Render a risk notification from a NotifyConfiguration's templates (cognito.md 1.2).

Which email: BLOCK -> BlockEmail, MFA_IF_CONFIGURED / MFA_REQUIRED -> MfaEmail,
NO_ACTION -> NoActionEmail, applied to the action actually taken (the policy's
``effective_action``: MFA_IF_CONFIGURED without MFA lets the user in, so the
user gets the NoActionEmail). A missing template, or a missing body of one,
falls back to our own short default for that decision.

Placeholders are Cognito's (DG2023 message-templates): ``{ip-address}``,
``{city}``, ``{country}``, ``{login-time}``, ``{device-name}``,
``{one-click-link-valid}``, ``{one-click-link-invalid}``, ``{event-id}``,
``{feedback-token}``, ``{username}``. Substitution is a single pass, so a value
that itself looks like a placeholder (a device name of ``{feedback-token}``)
is never expanded; unknown placeholders are left as written. Values are
HTML-escaped in the HTML body only, and stripped of line breaks in the subject.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal
from urllib.parse import urlencode

from riskscore.core.result import Decision
from riskscore.errors import InvalidArgumentError
from riskscore.notify.tokens import FeedbackLinks
from riskscore.policy.decide import PolicyDecision
from riskscore.policy.notify import NotifyConfiguration, NotifyEmail

__all__ = [
    "DEFAULT_EMAILS",
    "EmailKind",
    "NotificationContext",
    "RenderedEmail",
    "email_kind",
    "feedback_url",
    "render_notification",
]

EmailKind = Literal["BlockEmail", "MfaEmail", "NoActionEmail"]
_KINDS: Final[Mapping[Decision, EmailKind]] = {
    Decision.BLOCK: "BlockEmail",
    Decision.MFA_IF_CONFIGURED: "MfaEmail",
    Decision.MFA_REQUIRED: "MfaEmail",
    Decision.NO_ACTION: "NoActionEmail",
}
UNKNOWN: Final = "Unknown"
_PLACEHOLDER: Final = re.compile(r"\{([a-z-]+)\}")
_LINE_BREAKS: Final = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]+")

_FOOTER_TEXT: Final = (
    "\n\nIf this was you, confirm: {one-click-link-valid}\n"
    "If this was not you, report it and change your password: {one-click-link-invalid}\n"
)
_FOOTER_HTML: Final = (
    '<p><a href="{one-click-link-valid}">This was me</a> | '
    '<a href="{one-click-link-invalid}">This was not me</a></p>'
)
_DETAILS_TEXT: Final = (
    "Account: {username}\nTime: {login-time}\nIP address: {ip-address}\n"
    "Location: {city}, {country}\nDevice: {device-name}"
)
_DETAILS_HTML: Final = (
    "<ul><li>Account: {username}</li><li>Time: {login-time}</li>"
    "<li>IP address: {ip-address}</li><li>Location: {city}, {country}</li>"
    "<li>Device: {device-name}</li></ul>"
)


def _default(subject: str, lead: str) -> NotifyEmail:
    return NotifyEmail(
        subject=subject,
        html_body=f"<p>{lead}</p>{_DETAILS_HTML}{_FOOTER_HTML}",
        text_body=f"{lead}\n\n{_DETAILS_TEXT}{_FOOTER_TEXT}",
    )


DEFAULT_EMAILS: Final[Mapping[EmailKind, NotifyEmail]] = {
    "BlockEmail": _default(
        "Blocked sign-in attempt", "We blocked a suspicious sign-in to your account."
    ),
    "MfaEmail": _default(
        "New sign-in needs verification",
        "We asked for an extra verification step on a sign-in to your account.",
    ),
    "NoActionEmail": _default(
        "New sign-in to your account", "We noticed a new sign-in to your account."
    ),
}


@dataclass(frozen=True, slots=True)
class NotificationContext:
    """The attempt a notification is about, and where its feedback links point."""

    pool_id: str
    username: str
    event_id: str
    login_time: datetime
    links: FeedbackLinks
    # The hosted UI origin serving /feedback (one-click links need a pool domain).
    feedback_base_url: str
    ip_address: str | None = None
    city: str | None = None
    country: str | None = None
    device_name: str | None = None

    def __post_init__(self) -> None:
        if self.login_time.tzinfo is None:
            raise InvalidArgumentError("login_time", "must be timezone-aware")
        if not self.feedback_base_url.startswith(("https://", "http://")):
            raise InvalidArgumentError("feedback_base_url", "must be an http(s) URL")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One notification ready for the outbox; bodies hold feedback tokens by design."""

    kind: EmailKind
    decision: Decision
    pool_id: str
    username: str
    event_id: str
    from_address: str | None
    reply_to: str | None
    subject: str
    html_body: str = field(repr=False)
    text_body: str = field(repr=False)


def email_kind(decision: Decision) -> EmailKind:
    """The NotifyConfiguration email used for an action (cognito.md 1.2)."""
    return _KINDS[decision]


def feedback_url(base_url: str, token: str, value: Literal["Valid", "Invalid"]) -> str:
    """``{base_url}/feedback?token=...&value=...``, query-encoded."""
    return f"{base_url.rstrip('/')}/feedback?{urlencode({'token': token, 'value': value})}"


def render_notification(
    config: NotifyConfiguration | None,
    decision: Decision | PolicyDecision,
    context: NotificationContext,
) -> RenderedEmail:
    """The email for ``decision`` (a PolicyDecision's effective_action), rendered."""
    action = decision.effective_action if isinstance(decision, PolicyDecision) else decision
    kind = email_kind(action)
    template = _configured(config, kind)
    default = DEFAULT_EMAILS[kind]
    values = _values(context)
    return RenderedEmail(
        kind=kind,
        decision=action,
        pool_id=context.pool_id,
        username=context.username,
        event_id=context.event_id,
        from_address=None if config is None else config.from_address,
        reply_to=None if config is None else config.reply_to,
        subject=_one_line(_render(template.subject if template else default.subject, values, str)),
        html_body=_render(_body(template, default, "html"), values, html.escape),
        text_body=_render(_body(template, default, "text"), values, str),
    )


def _configured(config: NotifyConfiguration | None, kind: EmailKind) -> NotifyEmail | None:
    if config is None:
        return None
    if kind == "BlockEmail":
        return config.block_email
    if kind == "MfaEmail":
        return config.mfa_email
    return config.no_action_email


def _body(template: NotifyEmail | None, default: NotifyEmail, which: str) -> str:
    chosen = None
    if template is not None:
        chosen = template.html_body if which == "html" else template.text_body
    if chosen is None:
        chosen = default.html_body if which == "html" else default.text_body
    assert chosen is not None
    return chosen


def _values(context: NotificationContext) -> dict[str, str]:
    links = context.links
    base = context.feedback_base_url
    return {
        "ip-address": context.ip_address or UNKNOWN,
        "city": context.city or UNKNOWN,
        "country": context.country or UNKNOWN,
        "login-time": context.login_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "device-name": context.device_name or UNKNOWN,
        "one-click-link-valid": feedback_url(base, links.valid_token, "Valid"),
        "one-click-link-invalid": feedback_url(base, links.invalid_token, "Invalid"),
        "event-id": context.event_id,
        "feedback-token": links.any_token,
        "username": context.username,
    }


def _one_line(value: str) -> str:
    # A subject is a mail header: a line break must not start another header.
    return _LINE_BREAKS.sub(" ", value)


def _render(template: str, values: Mapping[str, str], escape: Callable[[str], str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else escape(value)

    return _PLACEHOLDER.sub(substitute, template)
