"""``NotifyConfigurationType``: the SES identity and the three notification emails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from riskscore.errors import InvalidArgumentError
from riskscore.policy import reader as r
from riskscore.policy.wire import NotifyConfigurationWire, NotifyEmailWire

# NotifyEmailType limits (cognito.md 1.2, BOTO-IDP).
SUBJECT_LENGTH: Final = (1, 140)
BODY_LENGTH: Final = (6, 20000)
_EMAILS: Final = ("BlockEmail", "NoActionEmail", "MfaEmail")


@dataclass(frozen=True, slots=True)
class NotifyEmail:
    """One email template; bodies may use {ip-address}, {city}, {login-time}... (DG2023)."""

    subject: str
    html_body: str | None = None
    text_body: str | None = None

    def check(self, path: str) -> None:
        """Raise InvalidArgumentError naming ``path``'s member when a length is out of range."""
        r.length(self.subject, f"{path}.Subject", *SUBJECT_LENGTH)
        if self.html_body is not None:
            r.length(self.html_body, f"{path}.HtmlBody", *BODY_LENGTH)
        if self.text_body is not None:
            r.length(self.text_body, f"{path}.TextBody", *BODY_LENGTH)

    @classmethod
    def from_wire(cls, raw: object, path: str) -> NotifyEmail:
        """Parse the wire object found at ``path``."""
        body = r.obj(raw, path, ("Subject", "HtmlBody", "TextBody"))
        html = body.get("HtmlBody")
        text = body.get("TextBody")
        email = cls(
            subject=r.string(r.required(body, "Subject", path), f"{path}.Subject"),
            html_body=None if html is None else r.string(html, f"{path}.HtmlBody"),
            text_body=None if text is None else r.string(text, f"{path}.TextBody"),
        )
        email.check(path)
        return email

    def to_wire(self) -> NotifyEmailWire:
        """The wire object."""
        out: NotifyEmailWire = {"Subject": self.subject}
        if self.html_body is not None:
            out["HtmlBody"] = self.html_body
        if self.text_body is not None:
            out["TextBody"] = self.text_body
        return out


@dataclass(frozen=True, slots=True)
class NotifyConfiguration:
    """Where notification emails come from, and their templates."""

    source_arn: str
    from_address: str | None = None
    reply_to: str | None = None
    block_email: NotifyEmail | None = None
    no_action_email: NotifyEmail | None = None
    mfa_email: NotifyEmail | None = None

    def __post_init__(self) -> None:
        path = "AccountTakeoverRiskConfiguration.NotifyConfiguration"
        # SourceArn is an SES identity ARN (cognito.md 1.2); we check the ARN form only.
        if not self.source_arn.startswith("arn:") or self.source_arn.count(":") < 5:
            raise InvalidArgumentError(f"{path}.SourceArn", "must be an ARN (arn:aws:ses:...)")
        for key, email in zip(_EMAILS, self._emails(), strict=True):
            if email is not None:
                email.check(f"{path}.{key}")

    def _emails(self) -> tuple[NotifyEmail | None, ...]:
        return (self.block_email, self.no_action_email, self.mfa_email)

    @classmethod
    def from_wire(cls, raw: object, path: str) -> NotifyConfiguration:
        """Parse the wire object found at ``path``."""
        body = r.obj(raw, path, ("From", "ReplyTo", "SourceArn", *_EMAILS))
        emails = [
            NotifyEmail.from_wire(body[key], f"{path}.{key}") if key in body else None
            for key in _EMAILS
        ]
        sender = body.get("From")
        reply = body.get("ReplyTo")
        return cls(
            source_arn=r.string(r.required(body, "SourceArn", path), f"{path}.SourceArn"),
            from_address=None if sender is None else r.string(sender, f"{path}.From"),
            reply_to=None if reply is None else r.string(reply, f"{path}.ReplyTo"),
            block_email=emails[0],
            no_action_email=emails[1],
            mfa_email=emails[2],
        )

    def to_wire(self) -> NotifyConfigurationWire:
        """The wire object."""
        out: NotifyConfigurationWire = {"SourceArn": self.source_arn}
        if self.from_address is not None:
            out["From"] = self.from_address
        if self.reply_to is not None:
            out["ReplyTo"] = self.reply_to
        if self.block_email is not None:
            out["BlockEmail"] = self.block_email.to_wire()
        if self.no_action_email is not None:
            out["NoActionEmail"] = self.no_action_email.to_wire()
        if self.mfa_email is not None:
            out["MfaEmail"] = self.mfa_email.to_wire()
        return out
