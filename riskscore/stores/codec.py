"""Wire forms of stored values, shared by the persistent stores.

Datetimes are stored as integer microseconds since the Unix epoch (UTC): exact,
compact, and ordered the same way as the instants they encode. Observations
and attempt records are compact JSON; keys added since the first version
(the network and reputation ones) may be missing from stored text and read
as "".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, NotRequired, TypedDict

from riskscore.core.attempt import EventType, Outcome
from riskscore.core.enrichment import Place
from riskscore.core.features import Observation
from riskscore.core.result import Decision, RiskLevel
from riskscore.stores.base import AttemptRecord

__all__ = [
    "AttemptJson",
    "ObservationJson",
    "PlaceJson",
    "from_micros",
    "observation_from_json",
    "observation_to_json",
    "record_from_json",
    "record_to_json",
    "to_micros",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_COMPACT = (",", ":")


class PlaceJson(TypedDict):
    """The JSON shape of a Place."""

    country: str
    region: str
    city: str
    latitude: float | None
    longitude: float | None
    accuracy_radius_km: float | None


class ObservationJson(TypedDict):
    """The JSON shape of an Observation; ``timestamp_us`` as in :func:`to_micros`."""

    values: dict[str, str]
    place: PlaceJson
    timestamp_us: int
    ip_address: str
    rtt_ms: float | None
    # Written since the network signals; attempts stored before lack them.
    network_type: NotRequired[str]
    network_source: NotRequired[str]
    reputation_list: NotRequired[str]
    reputation_cidr: NotRequired[str]
    reputation_category: NotRequired[str]


class AttemptJson(TypedDict):
    """The JSON shape of an AttemptRecord; enums by value, datetimes in microseconds."""

    event_id: str
    pool_id: str
    username: str
    event_type: str
    created_us: int
    observation: ObservationJson
    risk_score: float
    risk_level: str
    decision: str
    outcome: str | None
    outcome_at_us: int | None


def to_micros(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()} cannot be stored; use UTC")
    return (at - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC datetime of :func:`to_micros`'s microseconds."""
    return _EPOCH + timedelta(microseconds=micros)


def _observation_dict(obs: Observation) -> ObservationJson:
    place = obs.place
    return {
        "values": dict(obs.values),
        "place": {
            "country": place.country,
            "region": place.region,
            "city": place.city,
            "latitude": place.latitude,
            "longitude": place.longitude,
            "accuracy_radius_km": place.accuracy_radius_km,
        },
        "timestamp_us": to_micros(obs.timestamp),
        "ip_address": obs.ip_address,
        "rtt_ms": obs.rtt_ms,
        "network_type": obs.network_type,
        "network_source": obs.network_source,
        "reputation_list": obs.reputation_list,
        "reputation_cidr": obs.reputation_cidr,
        "reputation_category": obs.reputation_category,
    }


def _observation_of(data: ObservationJson) -> Observation:
    place = data["place"]
    return Observation(
        values=dict(data["values"]),
        place=Place(
            country=place["country"],
            region=place["region"],
            city=place["city"],
            latitude=place["latitude"],
            longitude=place["longitude"],
            accuracy_radius_km=place["accuracy_radius_km"],
        ),
        timestamp=from_micros(data["timestamp_us"]),
        ip_address=data["ip_address"],
        rtt_ms=data["rtt_ms"],
        network_type=data.get("network_type", ""),
        network_source=data.get("network_source", ""),
        reputation_list=data.get("reputation_list", ""),
        reputation_cidr=data.get("reputation_cidr", ""),
        reputation_category=data.get("reputation_category", ""),
    )


def _loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"stored value is not valid JSON: {exc}") from exc


def observation_to_json(obs: Observation) -> str:
    """Compact JSON of an observation (keys sorted, so equal values give equal text)."""
    return json.dumps(_observation_dict(obs), separators=_COMPACT, sort_keys=True)


def observation_from_json(text: str | bytes) -> Observation:
    """The observation :func:`observation_to_json` encoded."""
    data: ObservationJson = _loads(text)
    try:
        return _observation_of(data)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"stored observation is malformed: {exc!r}") from exc


def record_to_json(record: AttemptRecord) -> str:
    """Compact JSON of an attempt record."""
    data: AttemptJson = {
        "event_id": record.event_id,
        "pool_id": record.pool_id,
        "username": record.username,
        "event_type": record.event_type.value,
        "created_us": to_micros(record.created),
        "observation": _observation_dict(record.observation),
        "risk_score": record.risk_score,
        "risk_level": record.risk_level.value,
        "decision": record.decision.value,
        "outcome": record.outcome.value if record.outcome is not None else None,
        "outcome_at_us": (to_micros(record.outcome_at) if record.outcome_at is not None else None),
    }
    return json.dumps(data, separators=_COMPACT, sort_keys=True)


def record_from_json(text: str | bytes) -> AttemptRecord:
    """The attempt record :func:`record_to_json` encoded."""
    data: AttemptJson = _loads(text)
    try:
        outcome = data["outcome"]
        outcome_at = data["outcome_at_us"]
        return AttemptRecord(
            event_id=data["event_id"],
            pool_id=data["pool_id"],
            username=data["username"],
            event_type=EventType(data["event_type"]),
            created=from_micros(data["created_us"]),
            observation=_observation_of(data["observation"]),
            risk_score=data["risk_score"],
            risk_level=RiskLevel(data["risk_level"]),
            decision=Decision(data["decision"]),
            outcome=Outcome(outcome) if outcome is not None else None,
            outcome_at=from_micros(outcome_at) if outcome_at is not None else None,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"stored attempt is malformed: {exc!r}") from exc
