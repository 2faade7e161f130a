"""Cognito's RiskConfiguration as values, the defaults, and pool/client resolution.

Shapes and limits follow SetRiskConfiguration / DescribeRiskConfiguration
(cognito.md 1.2, BOTO-IDP); the three sub-configurations live in
``compromised``, ``takeover`` and ``ip_ranges`` and are re-exported here. Every
validation error is an InvalidArgumentError naming the wire field path, e.g.
``AccountTakeoverRiskConfiguration.Actions.HighAction.EventAction``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from riskscore.core.levels import DEFAULT_DECISIONS
from riskscore.core.result import Decision, RiskLevel
from riskscore.errors import InvalidArgumentError
from riskscore.policy import reader as r
from riskscore.policy.compromised import COMPROMISED, CompromisedCredentialsRiskConfiguration
from riskscore.policy.ip_ranges import EXCEPTIONS, RiskExceptionConfiguration
from riskscore.policy.notify import NotifyConfiguration, NotifyEmail
from riskscore.policy.takeover import (
    TAKEOVER,
    AccountTakeoverAction,
    AccountTakeoverActions,
    AccountTakeoverRiskConfiguration,
)
from riskscore.policy.wire import DescribeRiskConfigurationResponseWire, RiskConfigurationWire

__all__ = [
    "COGNITO_DEFAULT",
    "RISKSCORE_DEFAULT",
    "AccountTakeoverAction",
    "AccountTakeoverActions",
    "AccountTakeoverRiskConfiguration",
    "AdvancedSecurityMode",
    "CompromisedCredentialsRiskConfiguration",
    "EffectiveRiskConfiguration",
    "NotifyConfiguration",
    "NotifyEmail",
    "RiskConfiguration",
    "RiskExceptionConfiguration",
    "resolve",
]

_USER_POOL_ID: Final = re.compile(r"[\w-]+_[0-9a-zA-Z]+")  # UserPoolIdType, 1-55
_CLIENT_ID: Final = re.compile(r"[\w+]+")  # ClientIdType, 1-128


class AdvancedSecurityMode(enum.Enum):
    """``UserPoolAddOns.AdvancedSecurityMode`` (cognito.md 1.1)."""

    OFF = "OFF"
    AUDIT = "AUDIT"
    ENFORCED = "ENFORCED"


@dataclass(frozen=True, slots=True)
class RiskConfiguration:
    """``RiskConfigurationType`` for a pool (``client_id`` None) or one app client."""

    user_pool_id: str
    client_id: str | None = None
    compromised: CompromisedCredentialsRiskConfiguration | None = None
    account_takeover: AccountTakeoverRiskConfiguration | None = None
    exceptions: RiskExceptionConfiguration | None = None
    last_modified: datetime | None = None

    def __post_init__(self) -> None:
        if not (1 <= len(self.user_pool_id) <= 55 and _USER_POOL_ID.fullmatch(self.user_pool_id)):
            raise InvalidArgumentError("UserPoolId", "must match [\\w-]+_[0-9a-zA-Z]+ (1-55)")
        if self.client_id is not None and not (
            1 <= len(self.client_id) <= 128 and _CLIENT_ID.fullmatch(self.client_id)
        ):
            raise InvalidArgumentError("ClientId", "must match [\\w+]+ (1-128)")
        if self.last_modified is not None and self.last_modified.tzinfo is None:
            raise InvalidArgumentError("LastModifiedDate", "must be timezone-aware")

    @property
    def is_empty(self) -> bool:
        """No sub-configuration: a pool reset to defaults, or a client inheriting the pool.

        SetRiskConfiguration with only UserPoolId (and ClientId) resets (cognito.md 1.2).
        """
        parts = (self.compromised, self.account_takeover, self.exceptions)
        return all(part is None for part in parts)

    @classmethod
    def from_wire(cls, raw: object) -> RiskConfiguration:
        """Parse a bare ``RiskConfigurationType`` object."""
        body = r.obj(
            raw,
            "",
            (
                "UserPoolId",
                "ClientId",
                COMPROMISED,
                TAKEOVER,
                EXCEPTIONS,
                "LastModifiedDate",
            ),
        )
        pool = r.string(r.required(body, "UserPoolId", ""), "UserPoolId")
        client = r.string(body["ClientId"], "ClientId") if "ClientId" in body else None
        modified = None
        if "LastModifiedDate" in body:
            stamp = body["LastModifiedDate"]
            if isinstance(stamp, bool) or not isinstance(stamp, int | float):
                raise InvalidArgumentError("LastModifiedDate", "must be epoch seconds")
            modified = datetime.fromtimestamp(stamp, UTC)
        return cls(
            user_pool_id=pool,
            client_id=client,
            compromised=(
                CompromisedCredentialsRiskConfiguration.from_wire(body[COMPROMISED])
                if COMPROMISED in body
                else None
            ),
            account_takeover=(
                AccountTakeoverRiskConfiguration.from_wire(body[TAKEOVER])
                if TAKEOVER in body
                else None
            ),
            exceptions=(
                RiskExceptionConfiguration.from_wire(body[EXCEPTIONS])
                if EXCEPTIONS in body
                else None
            ),
            last_modified=modified,
        )

    @classmethod
    def from_json(cls, doc: object) -> RiskConfiguration:
        """Parse the bare object or DescribeRiskConfiguration's ``{"RiskConfiguration": ...}``."""
        if isinstance(doc, Mapping) and set(doc) == {"RiskConfiguration"}:
            return cls.from_wire(doc["RiskConfiguration"])
        return cls.from_wire(doc)

    def to_wire(self) -> RiskConfigurationWire:
        """The bare ``RiskConfigurationType`` object, absent members omitted."""
        out: RiskConfigurationWire = {"UserPoolId": self.user_pool_id}
        if self.client_id is not None:
            out["ClientId"] = self.client_id
        if self.compromised is not None:
            out[COMPROMISED] = self.compromised.to_wire()
        if self.account_takeover is not None:
            out[TAKEOVER] = self.account_takeover.to_wire()
        if self.exceptions is not None:
            out[EXCEPTIONS] = self.exceptions.to_wire()
        if self.last_modified is not None:
            out["LastModifiedDate"] = self.last_modified.timestamp()
        return out

    def to_response(self) -> DescribeRiskConfigurationResponseWire:
        """DescribeRiskConfiguration's response body."""
        return {"RiskConfiguration": self.to_wire()}


@dataclass(frozen=True, slots=True)
class EffectiveRiskConfiguration:
    """The configuration that applies to one attempt: every part present.

    ``source`` says where it came from: ``client:<id>``, ``pool``,
    ``cognito-default`` or ``riskscore-default``.
    """

    compromised: CompromisedCredentialsRiskConfiguration
    account_takeover: AccountTakeoverRiskConfiguration
    exceptions: RiskExceptionConfiguration
    source: str


def _takeover(actions: Mapping[RiskLevel, Decision]) -> AccountTakeoverRiskConfiguration:
    return AccountTakeoverRiskConfiguration(
        AccountTakeoverActions(
            low=AccountTakeoverAction(actions[RiskLevel.LOW]),
            medium=AccountTakeoverAction(actions[RiskLevel.MEDIUM]),
            high=AccountTakeoverAction(actions[RiskLevel.HIGH]),
        )
    )


COGNITO_DEFAULT: Final = EffectiveRiskConfiguration(
    # Console "Cognito defaults" (cognito.md 1.2, DG2023): detect leaked
    # passwords on sign-in, sign-up and password change and block; adaptive
    # authentication blocks at every level without notifying; no IP exceptions.
    compromised=CompromisedCredentialsRiskConfiguration(Decision.BLOCK, None),
    account_takeover=_takeover(dict.fromkeys(RiskLevel, Decision.BLOCK)),
    exceptions=RiskExceptionConfiguration(),
    source="cognito-default",
)

RISKSCORE_DEFAULT: Final = EffectiveRiskConfiguration(
    # What riskscore did before per-pool configuration existed (core/levels.py
    # DEFAULT_DECISIONS and engine.py): LOW allow, MEDIUM MFA_IF_CONFIGURED,
    # HIGH block, no notifications; leaked passwords blocked on all three events.
    compromised=CompromisedCredentialsRiskConfiguration(Decision.BLOCK, None),
    account_takeover=_takeover(DEFAULT_DECISIONS),
    exceptions=RiskExceptionConfiguration(),
    source="riskscore-default",
)


def resolve(
    pool_config: RiskConfiguration | None,
    client_config: RiskConfiguration | None = None,
    *,
    unconfigured: EffectiveRiskConfiguration = RISKSCORE_DEFAULT,
) -> EffectiveRiskConfiguration:
    """The configuration in force for an app client of a pool.

    Which default applies when:

    * Neither the pool nor the client was ever configured: ``unconfigured``,
      by default ``RISKSCORE_DEFAULT``, so existing deployments keep deciding
      as the engine always has.
    * A configuration exists: the client's wins when present (cognito.md 1.1,
      "client config wins") and replaces the pool's whole object, since a
      client RiskConfiguration is its own SetRiskConfiguration target. A client
      configuration without sub-configurations is a reset that "inherits pool"
      (cognito.md 1.2), so the pool's applies.
    * Sub-configurations absent from the winning object take ``COGNITO_DEFAULT``'s
      (SetRiskConfiguration with only UserPoolId "resets pool config to
      defaults", cognito.md 1.2); absent IP exceptions mean none.
    """
    if client_config is not None:
        if client_config.client_id is None:
            raise InvalidArgumentError("ClientId", "a client configuration needs its ClientId")
        if pool_config is not None and client_config.user_pool_id != pool_config.user_pool_id:
            raise InvalidArgumentError(
                "UserPoolId",
                f"client configuration of {client_config.user_pool_id!r} "
                f"given for pool {pool_config.user_pool_id!r}",
            )
    if client_config is not None and not client_config.is_empty:
        chosen, source = client_config, f"client:{client_config.client_id}"
    elif pool_config is not None:
        chosen, source = pool_config, "pool"
    else:
        return unconfigured
    return EffectiveRiskConfiguration(
        compromised=chosen.compromised or COGNITO_DEFAULT.compromised,
        account_takeover=chosen.account_takeover or COGNITO_DEFAULT.account_takeover,
        exceptions=chosen.exceptions or COGNITO_DEFAULT.exceptions,
        source=source,
    )
