"""``CompromisedCredentialsRiskConfigurationType``: leaked-password checks (cognito.md 1.2, 10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

from riskscore.core.attempt import EventType
from riskscore.core.result import Decision
from riskscore.errors import InvalidArgumentError
from riskscore.policy import reader as r
from riskscore.policy.wire import CompromisedCredentialsRiskConfigurationWire, EventFilterName

COMPROMISED: Final = "CompromisedCredentialsRiskConfiguration"
# EventFilterType (cognito.md 1.2); FORGOT_PASSWORD is never checked.
FILTERABLE_EVENTS: Final = (EventType.SIGN_IN, EventType.PASSWORD_CHANGE, EventType.SIGN_UP)
COMPROMISED_ACTIONS: Final = (Decision.BLOCK, Decision.NO_ACTION)


@dataclass(frozen=True, slots=True)
class CompromisedCredentialsRiskConfiguration:
    """Which events are checked for leaked passwords and what a hit does."""

    event_action: Decision = Decision.BLOCK
    # None: EventFilter absent, which "defaults to all events" (cognito.md 1.2);
    # an explicit empty list checks no event.
    event_filter: tuple[EventType, ...] | None = None

    def __post_init__(self) -> None:
        if self.event_action not in COMPROMISED_ACTIONS:
            raise InvalidArgumentError(
                f"{COMPROMISED}.Actions.EventAction", "must be BLOCK or NO_ACTION"
            )
        for i, event in enumerate(self.event_filter or ()):
            path = f"{COMPROMISED}.EventFilter[{i}]"
            if event not in FILTERABLE_EVENTS:
                raise InvalidArgumentError(path, "must be SIGN_IN, PASSWORD_CHANGE or SIGN_UP")
            if event in (self.event_filter or ())[:i]:
                raise InvalidArgumentError(path, f"duplicate event {event.value}")

    def applies_to(self, event_type: EventType) -> bool:
        """True when this event type is checked."""
        return event_type in (FILTERABLE_EVENTS if self.event_filter is None else self.event_filter)

    @classmethod
    def from_wire(cls, raw: object) -> CompromisedCredentialsRiskConfiguration:
        """Parse the wire object."""
        body = r.obj(raw, COMPROMISED, ("EventFilter", "Actions"))
        actions = r.obj(
            r.required(body, "Actions", COMPROMISED), f"{COMPROMISED}.Actions", ("EventAction",)
        )
        action = r.choice(
            r.required(actions, "EventAction", f"{COMPROMISED}.Actions"),
            f"{COMPROMISED}.Actions.EventAction",
            [a.value for a in COMPROMISED_ACTIONS],
        )
        events: tuple[EventType, ...] | None = None
        if "EventFilter" in body:
            names = r.strings(body["EventFilter"], f"{COMPROMISED}.EventFilter")
            allowed = [e.value for e in FILTERABLE_EVENTS]
            events = tuple(
                EventType(r.choice(n, f"{COMPROMISED}.EventFilter[{i}]", allowed))
                for i, n in enumerate(names)
            )
        return cls(Decision(action), events)

    def to_wire(self) -> CompromisedCredentialsRiskConfigurationWire:
        """The wire object."""
        out: CompromisedCredentialsRiskConfigurationWire = {
            "Actions": {
                "EventAction": "BLOCK" if self.event_action is Decision.BLOCK else "NO_ACTION"
            }
        }
        if self.event_filter is not None:
            out["EventFilter"] = [cast(EventFilterName, e.value) for e in self.event_filter]
        return out
