"""RiskConfigStore adapters: in memory, and tables in the profile store's SQLite file.

The SQLite one writes through the profile store's group-commit writer, so a
SetRiskConfiguration is as durable as a Score when its future resolves
(``[store] durability``). A configuration is kept as its Cognito JSON without
LastModifiedDate, which has its own integer-microseconds column.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace

from riskscore.errors import StoreUnavailableError
from riskscore.futures import done
from riskscore.policy.config import AdvancedSecurityMode, RiskConfiguration
from riskscore.stores import sqlite_schema as sql
from riskscore.stores.codec import from_micros, to_micros
from riskscore.stores.sqlite_writer import GroupCommitWriter

__all__ = ["MemoryRiskConfigStore", "SqliteRiskConfigStore"]


def _key(config: RiskConfiguration) -> tuple[str, str]:
    return config.user_pool_id, config.client_id or ""


class MemoryRiskConfigStore:
    """A RiskConfigStore in dicts: nothing survives the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._configs: dict[tuple[str, str], RiskConfiguration] = {}
        self._modes: dict[str, AdvancedSecurityMode] = {}

    def get(self, pool_id: str, client_id: str) -> RiskConfiguration | None:
        """The stored configuration of a pool (``client_id`` "") or app client."""
        with self._lock:
            return self._configs.get((pool_id, client_id))

    def get_mode(self, pool_id: str) -> AdvancedSecurityMode | None:
        """The pool's stored mode."""
        with self._lock:
            return self._modes.get(pool_id)

    def put(
        self, config: RiskConfiguration, mode: AdvancedSecurityMode | None = None
    ) -> Future[None]:
        """Store a configuration (and the pool's mode, when given)."""
        with self._lock:
            self._configs[_key(config)] = config
            if mode is not None:
                self._modes[config.user_pool_id] = mode
        return done(None)

    def delete(self, pool_id: str, client_id: str) -> Future[bool]:
        """Forget a stored configuration; resolves to whether there was one."""
        with self._lock:
            return done(self._configs.pop((pool_id, client_id), None) is not None)


class SqliteRiskConfigStore:
    """A RiskConfigStore sharing a SqliteProfileStore's file, writer and readers."""

    def __init__(self, writer: GroupCommitWriter, reader: Callable[[], sqlite3.Connection]) -> None:
        self._writer = writer
        self._reader = reader

    def get(self, pool_id: str, client_id: str) -> RiskConfiguration | None:
        """The stored configuration of a pool (``client_id`` "") or app client."""
        try:
            row = self._reader().execute(sql.LOAD_RISK_CONFIGURATION, (pool_id, client_id))
            found = row.fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"risk configuration read failed: {exc}") from exc
        if found is None:
            return None
        body, modified_us = found
        config = RiskConfiguration.from_wire(json.loads(body))
        modified = from_micros(modified_us) if modified_us is not None else None
        return replace(config, last_modified=modified)

    def get_mode(self, pool_id: str) -> AdvancedSecurityMode | None:
        """The pool's stored mode."""
        try:
            found = self._reader().execute(sql.LOAD_POOL_MODE, (pool_id,)).fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"risk configuration read failed: {exc}") from exc
        return AdvancedSecurityMode(found[0]) if found is not None else None

    def put(
        self, config: RiskConfiguration, mode: AdvancedSecurityMode | None = None
    ) -> Future[None]:
        """Queue the configuration (and mode); the future resolves once durable."""
        body = json.dumps(replace(config, last_modified=None).to_wire(), sort_keys=True)
        modified = to_micros(config.last_modified) if config.last_modified is not None else None
        row = (*_key(config), body, modified)
        mode_row = (config.user_pool_id, mode.value) if mode is not None else None
        return self._writer.submit_nowait(functools.partial(_put, row, mode_row))

    def delete(self, pool_id: str, client_id: str) -> Future[bool]:
        """Queue the removal; resolves to whether there was a configuration."""
        return self._writer.submit_nowait(functools.partial(_delete, (pool_id, client_id)))


def _put(
    row: tuple[str, str, str, int | None],
    mode_row: tuple[str, str] | None,
    conn: sqlite3.Connection,
) -> None:
    conn.execute(sql.SAVE_RISK_CONFIGURATION, row)
    if mode_row is not None:
        conn.execute(sql.SAVE_POOL_MODE, mode_row)


def _delete(key: tuple[str, str], conn: sqlite3.Connection) -> bool:
    return conn.execute(sql.DELETE_RISK_CONFIGURATION, key).rowcount > 0
