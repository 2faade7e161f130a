"""Where the engine gets the configuration in force for a pool and app client.

``StaticPolicySource`` holds configurations loaded once (from the files named in
``[policy]``); ``policy/stored.py`` layers what the admin RPCs stored over it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from riskscore.policy.config import (
    RISKSCORE_DEFAULT,
    AdvancedSecurityMode,
    EffectiveRiskConfiguration,
    RiskConfiguration,
    resolve,
)


class PolicySource(Protocol):
    """The configuration and mode that apply to an attempt."""

    def effective(
        self, pool_id: str, client_id: str
    ) -> tuple[EffectiveRiskConfiguration, AdvancedSecurityMode]:
        """Client configuration over pool configuration over the default, and the mode."""
        ...


class StaticPolicySource:
    """Fixed configurations by pool (and app client), and one mode with per-pool overrides."""

    def __init__(
        self,
        configurations: Iterable[RiskConfiguration] = (),
        *,
        mode: AdvancedSecurityMode = AdvancedSecurityMode.ENFORCED,
        pool_modes: dict[str, AdvancedSecurityMode] | None = None,
        unconfigured: EffectiveRiskConfiguration = RISKSCORE_DEFAULT,
    ) -> None:
        self._pools: dict[str, RiskConfiguration] = {}
        self._clients: dict[tuple[str, str], RiskConfiguration] = {}
        for config in configurations:
            if config.client_id:
                self._clients[config.user_pool_id, config.client_id] = config
            else:
                self._pools[config.user_pool_id] = config
        self._mode = mode
        self._pool_modes = dict(pool_modes or {})
        self._unconfigured = unconfigured

    def configured(self, pool_id: str, client_id: str = "") -> RiskConfiguration | None:
        """The file configuration of a pool (``client_id`` empty) or app client, if any."""
        if client_id:
            return self._clients.get((pool_id, client_id))
        return self._pools.get(pool_id)

    def mode_of(self, pool_id: str) -> AdvancedSecurityMode:
        """The pool's mode: its override, else the one mode."""
        return self._pool_modes.get(pool_id, self._mode)

    @property
    def unconfigured(self) -> EffectiveRiskConfiguration:
        """What applies when neither the pool nor the client was ever configured."""
        return self._unconfigured

    def effective(
        self, pool_id: str, client_id: str
    ) -> tuple[EffectiveRiskConfiguration, AdvancedSecurityMode]:
        """The configuration in force, resolved as Cognito does (client wins)."""
        config = resolve(
            self._pools.get(pool_id),
            self._clients.get((pool_id, client_id)) if client_id else None,
            unconfigured=self._unconfigured,
        )
        return config, self._pool_modes.get(pool_id, self._mode)
