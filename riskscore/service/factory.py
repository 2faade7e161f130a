"""Builds the object graph from a Config: the only place that opens files for the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from riskscore.config import Config
from riskscore.core.scorer import StatisticalScorer
from riskscore.engine import Clock, RiskEngine, SystemClock
from riskscore.enrich.enricher import AttemptEnricher
from riskscore.enrich.geo import GeoLookup, MaxMindGeoLookup, packaged_city_database
from riskscore.enrich.useragent import UaParserAdapter
from riskscore.errors import ConfigError
from riskscore.events.metrics import Metrics, NullMetrics
from riskscore.signals.base import SignalSettings, VelocitySettings
from riskscore.stores.base import ProfileStore
from riskscore.stores.memory import MemoryProfileStore
from riskscore.stores.sqlite import SqliteProfileStore


@dataclass(frozen=True, slots=True)
class Wiring:
    """The engine and the resources that must be closed with it."""

    engine: RiskEngine
    store: ProfileStore
    geo: GeoLookup


def open_store(config: Config) -> ProfileStore:
    """The configured profile store."""
    window = timedelta(minutes=config.scoring.window_minutes)
    if config.store.backend == "memory":
        return MemoryProfileStore(window=window)
    return SqliteProfileStore(config.store_path, durability=config.store.durability, window=window)


def scorer_of(config: Config) -> StatisticalScorer:
    """The statistical scorer with the configured thresholds and window."""
    velocity = VelocitySettings(window_minutes=config.scoring.window_minutes)
    return StatisticalScorer(config.scoring.thresholds(), signals=SignalSettings(velocity=velocity))


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
    config: Config, *, clock: Clock | None = None, metrics: Metrics | None = None
) -> Wiring:
    """Wire the engine with the configured geo data, store and scorer."""
    geo = open_geo(config)
    store = open_store(config)
    engine = RiskEngine(
        AttemptEnricher(geo, UaParserAdapter()),
        store,
        scorer_of(config),
        clock=clock or SystemClock(),
        metrics=metrics or NullMetrics(),
        outcome_window=timedelta(seconds=config.scoring.outcome_window_seconds),
    )
    return Wiring(engine=engine, store=store, geo=geo)
