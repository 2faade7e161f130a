"""Builds the object graph from a Config: the only place that opens files for the service."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from riskscore.config import Config
from riskscore.core.attempt import EventType
from riskscore.core.learned import LearnedModel, LearnedScorer, StatisticalModel
from riskscore.core.scorer import Scorer, StatisticalScorer
from riskscore.engine import Clock, RiskEngine, SystemClock
from riskscore.enrich.breach import (
    OUTCOME_FOUND,
    OUTCOME_NOT_FOUND,
    BreachCorpus,
    BreachMetrics,
    BreachResult,
    PwnedDumpCorpus,
    RangeApiCorpus,
    embedded_corpus,
)
from riskscore.enrich.enricher import AttemptEnricher
from riskscore.enrich.geo import GeoLookup, MaxMindGeoLookup, packaged_city_database
from riskscore.enrich.network_type import ListNetworkClassifier, NetworkListPaths, NetworkType
from riskscore.enrich.reputation import DenyListReputation
from riskscore.enrich.useragent import UaParserAdapter
from riskscore.errors import ConfigError, InvalidArgumentError
from riskscore.events.log import EventLog, EventLogMetrics
from riskscore.events.metrics import NullMetrics, ServiceMetrics
from riskscore.events.recorder import AuthEventRecorder, EventNames
from riskscore.learn.models import open_model
from riskscore.notify import FeedbackTokens, FileOutbox, Notifier, load_or_create_secret
from riskscore.policy.config import AdvancedSecurityMode, RiskConfiguration
from riskscore.policy.source import StaticPolicySource
from riskscore.policy.stored import RiskConfigStore, StoredPolicySource
from riskscore.signals.base import FeedbackSettings, SignalSettings, VelocitySettings
from riskscore.stores.base import ProfileStore
from riskscore.stores.memory import MemoryProfileStore
from riskscore.stores.risk_configs import MemoryRiskConfigStore
from riskscore.stores.sqlite import SqliteProfileStore


@dataclass(frozen=True, slots=True)
class Wiring:
    """The engine and the resources that must be closed with it."""

    engine: RiskEngine
    store: ProfileStore
    geo: GeoLookup
    events: EventLog
    breach: Closeable | None
    events_root: Path
    reputation: DenyListReputation
    policy: StoredPolicySource
    notifier: Notifier | None = None
    feedback_tokens: FeedbackTokens | None = None

    def close(self) -> None:
        """Flush and release everything, the event log last (it records the others' work)."""
        if self.notifier is not None:
            self.notifier.close()
        self.store.close()
        if self.breach is not None:
            self.breach.close()
        self.events.close()


class Closeable(Protocol):
    """Something holding a file, a mapping or a connection pool."""

    def close(self) -> None:
        """Release it."""
        ...


class ClosableBreachCorpus(BreachCorpus, Closeable, Protocol):
    """A breach corpus that holds resources."""


class CountedBreachCorpus:
    """A local corpus whose every answer is counted (the range API counts its own)."""

    def __init__(self, corpus: ClosableBreachCorpus, metrics: BreachMetrics) -> None:
        self._corpus = corpus
        self._metrics = metrics

    def lookup(self, sha1_hex: str) -> BreachResult:
        """Look up and count found / not_found under the answer's source."""
        result = self._corpus.lookup(sha1_hex)
        outcome = OUTCOME_FOUND if result.found else OUTCOME_NOT_FOUND
        self._metrics.observe_breach_check(result.source, outcome)
        return result

    def close(self) -> None:
        """Close the wrapped corpus."""
        self._corpus.close()


def open_breach(
    config: Config, metrics: BreachMetrics | None = None
) -> ClosableBreachCorpus | None:
    """The configured compromised-credentials source (None when off)."""
    breach = config.breach
    metrics = metrics or NullMetrics()
    corpus: ClosableBreachCorpus
    if breach.source == "off":
        return None
    if breach.source == "range-api":
        return RangeApiCorpus(
            breach.range_url,
            timeout_s=breach.timeout_seconds,
            fail_closed=breach.fail_closed,
            metrics=metrics,
        )
    if breach.source == "dump":
        assert breach.dump_path is not None  # validated
        corpus = PwnedDumpCorpus(breach.dump_path)
    else:
        corpus = embedded_corpus(config.data_dir / "breach")
    return CountedBreachCorpus(corpus, metrics)


def open_lists(config: Config, clock: Clock) -> tuple[ListNetworkClassifier, DenyListReputation]:
    """The network-type classifier and the reputation deny lists from config."""
    lists = config.lists

    def paths(names: tuple[str, ...]) -> list[Path]:
        return [Path(n).expanduser() for n in names]

    networks = ListNetworkClassifier(
        NetworkListPaths(
            cidr_lists={
                NetworkType.TOR: paths(lists.tor),
                NetworkType.VPN: paths(lists.vpn),
                NetworkType.HOSTING: paths(lists.hosting),
                NetworkType.MOBILE: paths(lists.mobile),
            },
            asn_lists={
                NetworkType.VPN: paths(lists.vpn_asns),
                NetworkType.HOSTING: paths(lists.hosting_asns),
                NetworkType.MOBILE: paths(lists.mobile_asns),
            },
        ),
        packaged_ranges=lists.packaged,
        builtin_lists=lists.packaged,
    )
    return networks, DenyListReputation(paths(lists.reputation), clock=clock)


def open_policy(config: Config) -> StaticPolicySource:
    """The mode and the RiskConfiguration files of ``[policy]``, parsed and validated."""
    configurations = []
    for name in config.policy.configurations:
        path = Path(name).expanduser()
        try:
            configurations.append(RiskConfiguration.from_json(json.loads(path.read_text())))
        except (OSError, ValueError, InvalidArgumentError) as exc:
            raise ConfigError("policy.configurations", f"{path}: {exc}") from exc
    return StaticPolicySource(configurations, mode=AdvancedSecurityMode(config.policy.mode))


def open_feedback_tokens(config: Config, clock: Clock) -> FeedbackTokens | None:
    """The feedback-token issuer and verifier (None when notifications are off)."""
    settings = config.notifications
    if not settings.enabled:
        return None
    secret = load_or_create_secret(
        settings.secret_file or config.data_dir / "secrets" / "feedback-token.key"
    )
    return FeedbackTokens(secret, now=clock.now)


def open_notifier(
    config: Config, events: EventLog, tokens: FeedbackTokens | None, clock: Clock
) -> Notifier | None:
    """The notifier of ``[notifications]`` (None when disabled)."""
    settings = config.notifications
    if not settings.enabled or tokens is None:
        return None
    outbox = FileOutbox(settings.outbox or config.data_dir / "outbox" / "notifications.jsonl")
    return Notifier(
        outbox,
        tokens,
        events,
        event_names(config),
        feedback_base_url=settings.feedback_base_url,
        now=clock.now,
    )


def open_events(config: Config, metrics: EventLogMetrics | None = None) -> EventLog:
    """The auth event log under <data_dir>/logs."""
    return EventLog(
        events_root(config),
        durability=config.events.durability,
        rotate_bytes=config.events.rotate_megabytes * 1024 * 1024,
        retention_days=config.events.retention_days,
        metrics=metrics,
    )


def events_root(config: Config) -> Path:
    """Where the auth event log lives."""
    return config.data_dir / "logs"


def event_names(config: Config) -> EventNames:
    """Group and stream names, the stream defaulting to one per host."""
    stream = config.events.stream or f"riskscore-{socket.gethostname()}"
    return EventNames(
        activity_group=config.events.activity_group,
        notification_group=config.events.notification_group,
        stream=stream.replace(":", "-").replace("*", "-"),
    )


def open_store(config: Config) -> ProfileStore:
    """The configured profile store."""
    window = timedelta(minutes=config.scoring.window_minutes)
    if config.store.backend == "memory":
        return MemoryProfileStore(window=window)
    return SqliteProfileStore(config.store_path, durability=config.store.durability, window=window)


def open_risk_configs(store: ProfileStore) -> RiskConfigStore:
    """The admin RPCs' configuration store: in the SQLite profile file, or in memory."""
    if isinstance(store, SqliteProfileStore):
        return store.risk_configs()
    return MemoryRiskConfigStore()


def signals_of(config: Config) -> SignalSettings:
    """The signals' settings from ``[scoring]``."""
    velocity = VelocitySettings(window_minutes=config.scoring.window_minutes)
    feedback = FeedbackSettings(half_life_days=config.scoring.feedback_half_life_days)
    return SignalSettings(velocity=velocity, feedback=feedback)


def model_of(config: Config) -> LearnedModel | StatisticalModel | None:
    """The configured model (verified against its SHA-256), or None for the statistical one."""
    s = config.scoring
    if not s.model:
        return None
    return open_model(s.model, medium=s.model_medium, high=s.model_high)


def scorer_of(config: Config) -> Scorer:
    """The configured model as a Scorer, with the configured thresholds and window."""
    model = model_of(config)
    statistical = StatisticalScorer(config.scoring.thresholds(), signals=signals_of(config))
    if model is None:
        return statistical
    if isinstance(model, LearnedModel):
        return LearnedScorer(model, statistical)
    return replace(statistical, thresholds=model.thresholds)


def open_geo(config: Config) -> GeoLookup:
    """The configured (or packaged) MaxMind databases."""
    asn = config.asn_db_path
    if not asn.is_file():
        key = "geo.asn_db" if config.geo.asn_db else "data_dir"
        raise ConfigError(
            key,
            f"ASN database {str(asn)!r} is missing; build it with "
            f"`riskscore geo build-asn --data-dir {config.data_dir}` or set geo.asn_db",
        )
    return MaxMindGeoLookup(config.geo.city_db or packaged_city_database(), asn)


def build_engine(
    config: Config, *, clock: Clock | None = None, metrics: ServiceMetrics | None = None
) -> Wiring:
    """Wire the engine with the configured geo data, store and scorer."""
    clock = clock or SystemClock()
    metrics = metrics or NullMetrics()
    # The model first: a missing or tampered artifact stops startup before anything opens.
    scorer = scorer_of(config)
    files = open_policy(config)
    geo = open_geo(config)
    store = open_store(config)
    # Stored configurations (SetRiskConfiguration) override the [policy] files.
    policy = StoredPolicySource(open_risk_configs(store), files)
    events = open_events(config, metrics)
    try:
        networks, reputation = open_lists(config, clock)
        breach = open_breach(config, metrics)
        tokens = open_feedback_tokens(config, clock)
        notifier = open_notifier(config, events, tokens, clock)
    except BaseException:
        store.close()
        events.close()
        raise
    engine = RiskEngine(
        AttemptEnricher(geo, UaParserAdapter(), networks=networks, reputation=reputation),
        store,
        scorer,
        clock=clock,
        metrics=metrics,
        outcome_window=timedelta(seconds=config.scoring.outcome_window_seconds),
        history_retention=timedelta(days=config.store.auth_event_retention_days),
        events=AuthEventRecorder(events, event_names(config), clock.now),
        breach=breach,
        breach_events=frozenset(EventType(e) for e in config.breach.events),
        policy=policy,
        notifier=notifier,
    )
    return Wiring(
        engine=engine,
        store=store,
        geo=geo,
        events=events,
        breach=breach,
        events_root=events_root(config),
        reputation=reputation,
        policy=policy,
        notifier=notifier,
        feedback_tokens=tokens,
    )
