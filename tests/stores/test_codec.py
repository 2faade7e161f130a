"""The stored forms of observations, attempt records and datetimes round-trip exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from riskscore.core.attempt import EventType, Outcome
from riskscore.core.enrichment import Place
from riskscore.core.features import Observation
from riskscore.core.result import Decision, RiskLevel
from riskscore.stores.base import AttemptRecord
from riskscore.stores.codec import (
    from_micros,
    observation_from_json,
    observation_to_json,
    record_from_json,
    record_to_json,
    to_micros,
)
from tests.builders import T0, make_obs, make_record

GOLDEN_OBSERVATION = (
    '{"ip_address":"185.220.101.7","network_source":"vpn:x4bnet-vpn/185.220.101.0/24",'
    '"network_type":"vpn","place":{"accuracy_radius_km":20,"city":"Oslo","country":"NO",'
    '"latitude":59.9,"longitude":10.7,"region":""},"reputation_category":"attacks",'
    '"reputation_cidr":"185.220.101.0/24","reputation_list":"firehol_level1","rtt_ms":null,'
    '"timestamp_us":1767603600000000,"values":{"asn":"AS2119","browser":"Firefox 120.0",'
    '"city":"NO/Oslo County/Oslo","country":"NO","device":"Firefox|Windows|desktop",'
    '"device_key":"","device_type":"desktop","hour":"09","ip":"185.220.101.7",'
    '"os":"Windows 10",'
    '"region":"NO/Oslo County","ua":"Mozilla/5.0 Firefox/120.0"}}'
)
NETWORK_KEYS = (
    "network_type",
    "network_source",
    "reputation_list",
    "reputation_cidr",
    "reputation_category",
)
# Written before the network signals: no network or reputation keys.
GOLDEN_OBSERVATION_BEFORE_NETWORK = (
    '{"ip_address":"84.208.0.1","place":{"accuracy_radius_km":20,"city":"Oslo",'
    '"country":"NO","latitude":59.9,"longitude":10.7,"region":""},"rtt_ms":null,'
    '"timestamp_us":1767603600000000,"values":{"asn":"AS2119","browser":"Firefox 120.0",'
    '"city":"NO/Oslo County/Oslo","country":"NO","device":"Firefox|Windows|desktop",'
    '"device_key":"","device_type":"desktop","hour":"09","ip":"84.208.0.1",'
    '"os":"Windows 10",'
    '"region":"NO/Oslo County","ua":"Mozilla/5.0 Firefox/120.0"}}'
)

utc_datetimes = st.datetimes(timezones=st.just(UTC))
maybe_float = st.none() | st.floats(allow_nan=False)
places = st.builds(Place, st.text(), st.text(), st.text(), maybe_float, maybe_float, maybe_float)
observations = st.builds(
    Observation,
    values=st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=12),
    place=places,
    timestamp=utc_datetimes,
    ip_address=st.text(max_size=45),
    rtt_ms=maybe_float,
    network_type=st.text(max_size=20),
    network_source=st.text(max_size=60),
    reputation_list=st.text(max_size=30),
    reputation_cidr=st.text(max_size=43),
    reputation_category=st.text(max_size=20),
)
records = st.builds(
    AttemptRecord,
    event_id=st.text(min_size=1),
    pool_id=st.text(),
    username=st.text(),
    event_type=st.sampled_from(EventType),
    created=utc_datetimes,
    observation=observations,
    risk_score=st.floats(0, 1),
    risk_level=st.sampled_from(RiskLevel),
    decision=st.sampled_from(Decision),
    outcome=st.none() | st.sampled_from(Outcome),
    outcome_at=st.none() | utc_datetimes,
)


def golden_obs() -> Observation:
    """A VPN exit on a deny list: every field of the wire form set."""
    obs = make_obs(
        ip="185.220.101.7", network_type="vpn", network_source="vpn:x4bnet-vpn/185.220.101.0/24"
    )
    return replace(
        obs,
        reputation_list="firehol_level1",
        reputation_cidr="185.220.101.0/24",
        reputation_category="attacks",
    )


def test_observation_wire_form_is_stable() -> None:
    assert observation_to_json(golden_obs()) == GOLDEN_OBSERVATION
    assert observation_from_json(GOLDEN_OBSERVATION) == golden_obs()


def test_observations_stored_before_the_network_fields_still_read() -> None:
    obs = observation_from_json(GOLDEN_OBSERVATION_BEFORE_NETWORK)
    assert obs == make_obs()
    assert (obs.network_type, obs.network_source) == ("", "")
    assert (obs.reputation_list, obs.reputation_cidr, obs.reputation_category) == ("", "", "")
    record = json.loads(record_to_json(make_record("e1", make_obs())))
    for key in NETWORK_KEYS:
        del record["observation"][key]
    assert record_from_json(json.dumps(record)) == make_record("e1", make_obs())


@seed(20260105)
@settings(max_examples=200)
@given(observations)
def test_observation_round_trips(obs: Observation) -> None:
    assert observation_from_json(observation_to_json(obs)) == obs


@seed(20260105)
@settings(max_examples=200)
@given(records)
def test_record_round_trips(record: AttemptRecord) -> None:
    assert record_from_json(record_to_json(record)) == record


def test_record_with_outcome_round_trips() -> None:
    record = make_record("e1", make_obs())
    closed = replace(
        record, outcome=Outcome.FAILED_MFA, outcome_at=T0 + timedelta(seconds=3, microseconds=7)
    )
    assert record_from_json(record_to_json(closed)) == closed


@seed(20260105)
@given(utc_datetimes)
def test_micros_round_trip_exactly(at: datetime) -> None:
    assert from_micros(to_micros(at)) == at
    assert from_micros(to_micros(at)).tzinfo is UTC


@pytest.mark.parametrize(
    ("at", "micros"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC), 1),
        (datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1),
        (datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=1))), 1767603600000000),
    ],
)
def test_micros_count_from_the_epoch_in_utc(at: datetime, micros: int) -> None:
    assert to_micros(at) == micros


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_micros(datetime(2026, 1, 5, 9, 0))


@pytest.mark.parametrize("text", ["", "{", '{"values": {}}', "[]"])
def test_malformed_observations_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="stored"):
        observation_from_json(text)


def test_malformed_records_raise_value_error() -> None:
    with pytest.raises(ValueError, match="stored attempt"):
        record_from_json('{"event_id": "e1"}')
