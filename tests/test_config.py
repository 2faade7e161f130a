"""Configuration is validated once, and every error names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskscore.config import config_from_mapping, parse_address, with_overrides
from riskscore.errors import ConfigError


def load(raw: dict[str, object], tmp_path: Path):  # type: ignore[no-untyped-def]
    return config_from_mapping(raw, default_data_dir=tmp_path)


def test_defaults(tmp_path: Path) -> None:
    config = load({}, tmp_path)
    assert config.data_dir == tmp_path
    assert config.server.grpc_address == "127.0.0.1:50051"
    assert config.store.backend == "sqlite"
    assert config.store_path == tmp_path / "profiles.sqlite3"
    assert config.asn_db_path == tmp_path / "geo" / "asn-geoip2fast.mmdb"


def test_values_are_read(tmp_path: Path) -> None:
    config = load(
        {
            "data_dir": str(tmp_path / "d"),
            "server": {
                "grpc_address": "[::1]:0",
                "shutdown_grace_seconds": 3,
                "metrics_address": "",
            },
            "store": {"backend": "memory", "durability": "flush"},
            "scoring": {"midpoint": 10, "medium": 0.4, "high": 0.9},
        },
        tmp_path,
    )
    assert config.data_dir == tmp_path / "d"
    assert config.server.shutdown_grace_seconds == 3.0
    assert config.scoring.thresholds().midpoint == 10.0
    assert config.store.durability == "flush"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"bogus": 1}, "bogus"),
        ({"server": {"grpc_addres": "x"}}, "server.grpc_addres"),
        ({"server": {"grpc_address": "nohost"}}, "server.grpc_address"),
        ({"server": {"grpc_address": "h:99999"}}, "server.grpc_address"),
        ({"server": {"grpc_address": "h:abc"}}, "server.grpc_address"),
        ({"server": {"shutdown_grace_seconds": -1}}, "server.shutdown_grace_seconds"),
        ({"server": {"shutdown_grace_seconds": "8"}}, "server.shutdown_grace_seconds"),
        ({"server": {"tls_cert": "/nonexistent.pem"}}, "server.tls_cert"),
        ({"store": {"backend": "oracle"}}, "store.backend"),
        ({"store": {"durability": "maybe"}}, "store.durability"),
        ({"store": {"auth_event_retention_days": 0}}, "store.auth_event_retention_days"),
        ({"scoring": {"feedback_half_life_days": 0}}, "scoring.feedback_half_life_days"),
        ({"scoring": {"medium": 0.9, "high": 0.5}}, "scoring.medium"),
        ({"scoring": {"midpoint": -1}}, "scoring.midpoint"),
        ({"scoring": {"midpoint": True}}, "scoring.midpoint"),
        ({"geo": {"city_db": "/nonexistent.mmdb"}}, "geo.city_db"),
        ({"server": "x"}, "server"),
        ({"admin": {"token": "short"}}, "admin.token"),
        ({"admin": {"token": "has a space in the token"}}, "admin.token"),
        ({"admin": {"protect_scoring": True}}, "admin.protect_scoring"),
        ({"admin": {"protect_scoring": "yes"}}, "admin.protect_scoring"),
    ],
)
def test_errors_name_the_key(raw: dict[str, object], key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(raw, tmp_path)
    assert err.value.key == key
    assert repr(key) in str(err.value)


def test_tls_pair_must_be_complete(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(ConfigError) as err:
        load({"server": {"tls_cert": str(cert)}}, tmp_path)
    assert err.value.key == "server.tls_cert"


def test_flag_overrides_revalidate(tmp_path: Path) -> None:
    config = load({}, tmp_path)
    changed = with_overrides(config, server__grpc_address="0.0.0.0:7000", server__tls_cert=None)
    assert changed.server.grpc_address == "0.0.0.0:7000"
    with pytest.raises(ConfigError):
        with_overrides(config, server__grpc_address="bad")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:0", ("127.0.0.1", 0)), ("[::1]:50051", ("::1", 50051)), ("h:1", ("h", 1))],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address("k", text) == expected


def test_admin_token_is_read_and_kept_out_of_repr(tmp_path: Path) -> None:
    config = load({"admin": {"token": "a-long-enough-admin-token"}}, tmp_path)
    assert config.admin.token == "a-long-enough-admin-token"
    assert "a-long-enough-admin-token" not in repr(config)
    assert not load({}, tmp_path).admin.token
