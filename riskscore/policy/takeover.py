"""``AccountTakeoverRiskConfigurationType``: adaptive responses per risk level (cognito.md 1.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import InvalidArgumentError
from riskscore.policy import reader as r
from riskscore.policy.notify import NotifyConfiguration
from riskscore.policy.wire import (
    AccountTakeoverActionsWire,
    AccountTakeoverActionWire,
    AccountTakeoverRiskConfigurationWire,
)

TAKEOVER: Final = "AccountTakeoverRiskConfiguration"
# Least to most restrictive: the console's order for "no less restrictive
# response at a higher risk level" (cognito.md 1.2, DG2023).
RESTRICTIVENESS: Final = (
    Decision.NO_ACTION,
    Decision.MFA_IF_CONFIGURED,
    Decision.MFA_REQUIRED,
    Decision.BLOCK,
)
LEVEL_KEYS: Final = (
    (RiskLevel.LOW, "LowAction"),
    (RiskLevel.MEDIUM, "MediumAction"),
    (RiskLevel.HIGH, "HighAction"),
)


@dataclass(frozen=True, slots=True)
class AccountTakeoverAction:
    """``AccountTakeoverActionType``: the response to one risk level."""

    event_action: Decision
    notify: bool = False

    def to_wire(self) -> AccountTakeoverActionWire:
        """The wire object."""
        return cast(
            AccountTakeoverActionWire,
            {"Notify": self.notify, "EventAction": self.event_action.value},
        )


# The API marks every level optional without a documented default; an absent
# level reads as "no configured response": NO_ACTION, no notification.
_ABSENT: Final = AccountTakeoverAction(Decision.NO_ACTION, False)


@dataclass(frozen=True, slots=True)
class AccountTakeoverActions:
    """``AccountTakeoverActionsType``; ``None`` keeps a level absent on the wire."""

    low: AccountTakeoverAction | None = None
    medium: AccountTakeoverAction | None = None
    high: AccountTakeoverAction | None = None

    def __post_init__(self) -> None:
        # The console refuses a less restrictive response at a higher level
        # (cognito.md 1.2, "Console rules", DG2023). The API reference
        # (BOTO-IDP AccountTakeoverActionsType) states no such constraint and
        # Terraform's aws_cognito_risk_configuration validates each level's
        # enum only, so SetRiskConfiguration itself probably accepts an
        # inverted order; we reject it everywhere, on purpose.
        previous: tuple[str, Decision] | None = None
        for level, key in LEVEL_KEYS:
            action = self.for_level(level).event_action
            if previous is not None and _rank(action) < _rank(previous[1]):
                raise InvalidArgumentError(
                    f"{TAKEOVER}.Actions.{key}.EventAction",
                    f"{action.value} is less restrictive than {previous[0]}'s "
                    f"{previous[1].value}; a higher risk level needs an equal or stricter "
                    "response (NO_ACTION < MFA_IF_CONFIGURED < MFA_REQUIRED < BLOCK)",
                )
            previous = (key, action)

    def for_level(self, level: RiskLevel) -> AccountTakeoverAction:
        """The response configured for ``level`` (absent: NO_ACTION, no notify)."""
        action = {RiskLevel.LOW: self.low, RiskLevel.MEDIUM: self.medium}.get(level, self.high)
        return action or _ABSENT

    @classmethod
    def from_wire(cls, raw: object) -> AccountTakeoverActions:
        """Parse the wire object."""
        path = f"{TAKEOVER}.Actions"
        body = r.obj(raw, path, [key for _, key in LEVEL_KEYS])
        parsed: dict[str, AccountTakeoverAction | None] = {}
        for level, key in LEVEL_KEYS:
            if key not in body:
                parsed[level.name.lower()] = None
                continue
            at = f"{path}.{key}"
            item = r.obj(body[key], at, ("Notify", "EventAction"))
            notify = r.boolean(r.required(item, "Notify", at), f"{at}.Notify")
            action = r.choice(
                r.required(item, "EventAction", at),
                f"{at}.EventAction",
                [a.value for a in RESTRICTIVENESS],
            )
            parsed[level.name.lower()] = AccountTakeoverAction(Decision(action), notify)
        return cls(**parsed)

    def to_wire(self) -> AccountTakeoverActionsWire:
        """The wire object, absent levels omitted."""
        out: AccountTakeoverActionsWire = {}
        if self.low is not None:
            out["LowAction"] = self.low.to_wire()
        if self.medium is not None:
            out["MediumAction"] = self.medium.to_wire()
        if self.high is not None:
            out["HighAction"] = self.high.to_wire()
        return out


@dataclass(frozen=True, slots=True)
class AccountTakeoverRiskConfiguration:
    """Adaptive authentication: per-level responses and the notification emails."""

    actions: AccountTakeoverActions
    notify_configuration: NotifyConfiguration | None = None

    @classmethod
    def from_wire(cls, raw: object) -> AccountTakeoverRiskConfiguration:
        """Parse the wire object."""
        body = r.obj(raw, TAKEOVER, ("NotifyConfiguration", "Actions"))
        actions = AccountTakeoverActions.from_wire(r.required(body, "Actions", TAKEOVER))
        notify = None
        if "NotifyConfiguration" in body:
            notify = NotifyConfiguration.from_wire(
                body["NotifyConfiguration"], f"{TAKEOVER}.NotifyConfiguration"
            )
        return cls(actions, notify)

    def to_wire(self) -> AccountTakeoverRiskConfigurationWire:
        """The wire object."""
        out: AccountTakeoverRiskConfigurationWire = {"Actions": self.actions.to_wire()}
        if self.notify_configuration is not None:
            out["NotifyConfiguration"] = self.notify_configuration.to_wire()
        return out


def _rank(action: Decision) -> int:
    return RESTRICTIVENESS.index(action)
