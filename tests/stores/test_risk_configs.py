"""RiskConfigStore adapters share one contract; SQLite migrates and survives reopening."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from riskscore.core.result import Decision, RiskLevel
from riskscore.policy.config import (
    AccountTakeoverAction,
    AccountTakeoverActions,
    AccountTakeoverRiskConfiguration,
    AdvancedSecurityMode,
    RiskConfiguration,
)
from riskscore.policy.source import StaticPolicySource
from riskscore.policy.stored import RiskConfigStore, StoredPolicySource
from riskscore.stores import sqlite_schema as sql
from riskscore.stores.risk_configs import MemoryRiskConfigStore
from riskscore.stores.sqlite import SqliteProfileStore

POOL = "eu-north-1_Store"
AT = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def takeover(medium: Decision) -> AccountTakeoverRiskConfiguration:
    return AccountTakeoverRiskConfiguration(
        AccountTakeoverActions(
            medium=AccountTakeoverAction(medium), high=AccountTakeoverAction(Decision.BLOCK)
        )
    )


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RiskConfigStore]:
    if request.param == "memory":
        yield MemoryRiskConfigStore()
        return
    profiles = SqliteProfileStore(tmp_path / "profiles.sqlite3")
    try:
        yield profiles.risk_configs()
    finally:
        profiles.close()


def test_put_get_delete_per_pool_and_client(store: RiskConfigStore) -> None:
    pool = RiskConfiguration(POOL, account_takeover=takeover(Decision.BLOCK), last_modified=AT)
    client = RiskConfiguration(POOL, "app1", last_modified=AT)
    store.put(pool, AdvancedSecurityMode.AUDIT).result()
    store.put(client).result()
    assert store.get(POOL, "") == pool
    assert store.get(POOL, "app1") == client
    assert store.get(POOL, "app2") is None
    assert store.get_mode(POOL) is AdvancedSecurityMode.AUDIT
    assert store.get_mode("eu-north-1_Other") is None
    assert store.delete(POOL, "app1").result() is True
    assert store.delete(POOL, "app1").result() is False
    assert store.get(POOL, "app1") is None
    assert store.get(POOL, "") == pool


def test_sqlite_configs_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "profiles.sqlite3"
    config = RiskConfiguration(
        POOL, account_takeover=takeover(Decision.NO_ACTION), last_modified=AT
    )
    first = SqliteProfileStore(path)
    first.risk_configs().put(config, AdvancedSecurityMode.OFF).result()
    first.close()
    second = SqliteProfileStore(path)
    try:
        assert second.risk_configs().get(POOL, "") == config
        assert second.risk_configs().get_mode(POOL) is AdvancedSecurityMode.OFF
    finally:
        second.close()


def test_a_version_3_file_gains_the_configuration_tables(tmp_path: Path) -> None:
    path = tmp_path / "profiles.sqlite3"
    SqliteProfileStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE risk_configurations")
    conn.execute("DROP TABLE pool_modes")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    store = SqliteProfileStore(path)
    try:
        store.risk_configs().put(RiskConfiguration(POOL), AdvancedSecurityMode.AUDIT).result()
        assert store.risk_configs().get(POOL, "") == RiskConfiguration(POOL)
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (sql.SCHEMA_VERSION,)
    finally:
        conn.close()


class CountingStore(MemoryRiskConfigStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, pool_id: str, client_id: str) -> RiskConfiguration | None:
        self.reads += 1
        return super().get(pool_id, client_id)


def test_stored_source_caches_and_set_invalidates() -> None:
    backing = CountingStore()
    files = StaticPolicySource(
        [RiskConfiguration(POOL, account_takeover=takeover(Decision.MFA_REQUIRED))],
        mode=AdvancedSecurityMode.ENFORCED,
    )
    source = StoredPolicySource(backing, files)
    config, mode = source.effective(POOL, "app1")
    assert config.source == "pool"  # from the file
    assert (
        config.account_takeover.actions.for_level(RiskLevel.MEDIUM).event_action
        is Decision.MFA_REQUIRED
    )
    assert mode is AdvancedSecurityMode.ENFORCED
    reads = backing.reads
    source.effective(POOL, "app1")
    assert backing.reads == reads  # cached

    stored = RiskConfiguration(POOL, account_takeover=takeover(Decision.NO_ACTION))
    source.set(stored, AdvancedSecurityMode.AUDIT).result()
    config, mode = source.effective(POOL, "app1")
    assert (
        config.account_takeover.actions.for_level(RiskLevel.MEDIUM).event_action
        is Decision.NO_ACTION
    )  # store wins
    assert mode is AdvancedSecurityMode.AUDIT
    assert backing.reads > reads
