"""The login simulator: layout, determinism, labels, geography."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import geoip2.database
import numpy as np
import pandas as pd
import pytest

from riskscore.batch.rba import observation_from_row
from riskscore.enrich.geo import packaged_city_database
from riskscore.learn.simulate import ATTACK_KINDS, COLUMNS, UNKNOWN_USER_ID, simulate, write_log
from riskscore.learn.world import World, build_world

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "rba-sample-100k.csv.gz"
START = datetime(2020, 2, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    built = build_world(packaged_city_database(), seed=7, probes=200_000, max_networks=5000)
    path = tmp_path_factory.mktemp("world") / "world.npz"
    built.save(path)
    return World.load(path)


@pytest.fixture(scope="module")
def log(world: World) -> pd.DataFrame:
    return simulate(50_000, seed=11, start=START, days=30, world=world)


def test_columns_and_dtypes_match_the_rba_sample(log: pd.DataFrame, tmp_path: Path) -> None:
    real = pd.read_csv(SAMPLE, nrows=1000)
    assert list(log.columns) == [*real.columns, "attack_kind"]
    path = tmp_path / "log.csv.gz"
    write_log(log.head(1000), path)
    back = pd.read_csv(path)
    assert back.drop(columns="attack_kind").dtypes.to_dict() == real.dtypes.to_dict()
    assert set(log["Device Type"]) <= set(real["Device Type"])
    assert tuple(log.columns) == COLUMNS
    assert log["Login Timestamp"].is_monotonic_increasing


def test_same_seed_same_frame(world: World) -> None:
    first = simulate(5000, seed=3, start=START, days=5, world=world)
    pd.testing.assert_frame_equal(first, simulate(5000, seed=3, start=START, days=5, world=world))
    assert not first.equals(simulate(5000, seed=4, start=START, days=5, world=world))


def test_labels_are_sane(log: pd.DataFrame) -> None:
    attack = log["attack_kind"] != ""
    assert abs(attack.mean() - 0.05) < 0.005
    assert set(log.loc[attack, "attack_kind"]) == set(ATTACK_KINDS)
    takeover = log["Is Account Takeover"]
    assert (attack & log["Login Successful"])[takeover].all()
    assert takeover.sum() > 0
    assert not log.loc[takeover, "User ID"].eq(UNKNOWN_USER_ID).any()
    pool = log["attack_kind"].isin(["credential_stuffing", "password_spray", "bot"])
    assert log["Is Attack IP"].equals(pool)
    assert log.loc[attack, "Login Successful"].mean() < 0.25
    # Legit failures are typos: the same user succeeds within minutes.
    legit = log[~attack]
    failed = legit[~legit["Login Successful"]]
    assert 0.01 < len(failed) / len(legit) < 0.05


def test_legit_users_mostly_log_in_from_their_home_country(log: pd.DataFrame) -> None:
    legit = log[log["attack_kind"] == ""]
    home = legit.groupby("User ID")["Country"].agg(lambda c: c.mode().iloc[0])
    share = (legit["Country"] == legit["User ID"].map(home)).mean()
    assert share > 0.9
    assert (legit["Country"] == "NO").mean() > 0.5


def test_impossible_travel_is_too_far_too_fast(log: pd.DataFrame) -> None:
    reader = geoip2.database.Reader(str(packaged_city_database()))
    try:
        rows = log[log["attack_kind"] == "impossible_travel"].head(30)
        legit = log[log["attack_kind"] == ""]
        for _, row in rows.iterrows():
            before = legit[
                (legit["User ID"] == row["User ID"])
                & (legit["Login Timestamp"] <= row["Login Timestamp"])
            ].iloc[-1]
            hours = (row["Login Timestamp"] - before["Login Timestamp"]).total_seconds() / 3600
            a = reader.city(row["IP Address"]).location
            b = reader.city(before["IP Address"]).location
            km = _km(a.latitude, a.longitude, b.latitude, b.longitude)
            assert km / max(hours, 1e-3) > 1000, (row.to_dict(), before.to_dict())
    finally:
        reader.close()


def test_rows_round_trip_through_the_rba_reader(log: pd.DataFrame) -> None:
    sample = log.sample(300, random_state=1)
    for record in sample.to_dict("records"):
        row = {k: "" if pd.isna(v) else str(v) for k, v in record.items()}
        observation = observation_from_row(row)
        assert observation.place.country == record["Country"]


def test_places_come_from_geolite2(log: pd.DataFrame) -> None:
    reader = geoip2.database.Reader(str(packaged_city_database()))
    try:
        for _, row in log.sample(200, random_state=2).iterrows():
            answer = reader.city(row["IP Address"])
            assert answer.country.iso_code == row["Country"]
            assert (answer.city.name or "-") == row["City"]
    finally:
        reader.close()


def test_write_log_rejects_unknown_extensions(log: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        write_log(log.head(), tmp_path / "log.json")


def _km(lat1: float | None, lon1: float | None, lat2: float | None, lon2: float | None) -> float:
    assert None not in (lat1, lon1, lat2, lon2)
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(float(lon2) - float(lon1))  # type: ignore[arg-type]
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(12742 * np.arcsin(np.sqrt(h)))
