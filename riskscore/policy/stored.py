"""Configurations set through the admin RPCs, layered over the ``[policy]`` files.

Precedence, per pool or app client, highest first:

1. what SetRiskConfiguration stored (a reset is stored too, so it also
   overrides a file);
2. the ``[policy] configurations`` file for the same pool or client;
3. nothing: the pool gets ``StaticPolicySource.unconfigured`` (riskscore's
   default), a client inherits its pool (cognito.md 1.1, "client config wins").

The mode follows the same order: the pool's stored AdvancedSecurityMode, else
``[policy] mode``. Files only seed defaults at start; they are never written.

Score reads the policy on every call, so lookups are cached in process and the
cache is invalidated by ``set`` once the store has made the change durable.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Protocol

from riskscore.futures import done, then
from riskscore.policy.config import (
    AdvancedSecurityMode,
    EffectiveRiskConfiguration,
    RiskConfiguration,
    resolve,
)
from riskscore.policy.source import StaticPolicySource


class RiskConfigStore(Protocol):
    """Durable RiskConfigurations per (pool, client or "") and modes per pool.

    Reads block; writes return futures that resolve once durable.
    """

    def get(self, pool_id: str, client_id: str) -> RiskConfiguration | None:
        """The stored configuration of a pool (``client_id`` "") or app client."""
        ...

    def get_mode(self, pool_id: str) -> AdvancedSecurityMode | None:
        """The pool's stored mode."""
        ...

    def put(
        self, config: RiskConfiguration, mode: AdvancedSecurityMode | None = None
    ) -> Future[None]:
        """Store a configuration (and the pool's mode, when given) in one transaction."""
        ...

    def delete(self, pool_id: str, client_id: str) -> Future[bool]:
        """Forget a stored configuration; resolves to whether there was one."""
        ...


class StoredPolicySource:
    """A PolicySource reading ``RiskConfigStore`` over the file configurations."""

    def __init__(self, store: RiskConfigStore, files: StaticPolicySource | None = None) -> None:
        self._store = store
        self._files = files or StaticPolicySource()
        self._lock = threading.Lock()
        self._configs: dict[tuple[str, str], RiskConfiguration | None] = {}
        self._modes: dict[str, AdvancedSecurityMode | None] = {}
        # Bumped by every invalidation: a lookup that raced a Set is not cached.
        self._generation = 0

    def configured(self, pool_id: str, client_id: str = "") -> RiskConfiguration | None:
        """The configuration set for exactly this pool or client: stored, else from a file."""
        key = (pool_id, client_id)
        with self._lock:
            if key in self._configs:
                stored = self._configs[key]
                return stored if stored is not None else self._files.configured(*key)
            generation = self._generation
        stored = self._store.get(pool_id, client_id)
        with self._lock:
            if generation == self._generation:
                self._configs[key] = stored
        return stored if stored is not None else self._files.configured(*key)

    def mode_of(self, pool_id: str) -> AdvancedSecurityMode:
        """The pool's mode: stored, else the ``[policy]`` mode."""
        with self._lock:
            if pool_id in self._modes:
                mode = self._modes[pool_id]
                return mode if mode is not None else self._files.mode_of(pool_id)
            generation = self._generation
        mode = self._store.get_mode(pool_id)
        with self._lock:
            if generation == self._generation:
                self._modes[pool_id] = mode
        return mode if mode is not None else self._files.mode_of(pool_id)

    def effective(
        self, pool_id: str, client_id: str
    ) -> tuple[EffectiveRiskConfiguration, AdvancedSecurityMode]:
        """Client configuration over pool configuration over the default, and the mode."""
        config = resolve(
            self.configured(pool_id),
            self.configured(pool_id, client_id) if client_id else None,
            unconfigured=self._files.unconfigured,
        )
        return config, self.mode_of(pool_id)

    def set(
        self, config: RiskConfiguration, mode: AdvancedSecurityMode | None = None
    ) -> Future[None]:
        """Store a configuration (and mode); the cache forgets it once it is durable."""

        def invalidate(_: None) -> Future[None]:
            self.invalidate()
            return done(None)

        self.invalidate()
        return then(self._store.put(config, mode), invalidate)

    def invalidate(self) -> None:
        """Forget every cached lookup."""
        with self._lock:
            self._generation += 1
            self._configs.clear()
            self._modes.clear()
