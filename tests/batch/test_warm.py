"""``riskscore batch warm``: a saved batch state becomes the service's SQLite profiles.

The decisive test cuts a log in two: the first part is scored by ``batch score
--state-out`` and warmed into a fresh store, the real gRPC service is started on
that store and the second part goes through Score/ReportOutcome as
tests/batch/test_parity.py sends it; every row must score as one batch pass over
the whole log does. A second test holds the warmed store's snapshots to the
memory store's (the reference) after the same rows, field by field. The rest:
refusals, and all or nothing.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskscore.batch import warm as warm_module
from riskscore.batch.rba import observation_from_row
from riskscore.batch.state import ReplayState
from riskscore.batch.warm import CARRIED_COLUMNS, PROFILE_TABLES, warm
from riskscore.cli import main
from riskscore.core import features as f
from riskscore.core.attempt import EventType, Outcome
from riskscore.core.profile import History, ProfileSnapshot
from riskscore.core.result import Decision, RiskLevel
from riskscore.core.velocity import WindowCounts
from riskscore.stores.base import AttemptRecord, ProfileStore
from riskscore.stores.memory import MemoryProfileStore
from riskscore.stores.sqlite import SqliteProfileStore
from tests.batch.online import (
    ONLINE_COLUMNS,
    RESULTS,
    score_online,
    simulated_log,
)
from tests.service.harness import ServerThread, service_config

RBA = Path(__file__).parents[2].parent / "shared" / "data" / "rba-sample-100k.csv.gz"
WINDOW = 10  # scoring.window_minutes' default


def _cli(*args: str | Path) -> int:
    return main([str(a) for a in args])


def _warm(data_dir: Path, state: Path, *args: str | Path) -> int:
    return _cli("batch", "warm", "--state", state, "--data-dir", data_dir, *args)


# --- the decisive test: batch history, then the live service ---------------------------


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """test_parity's log: real GeoLite2 networks, few users, so histories build up."""
    return simulated_log()


def _cut(log: pd.DataFrame) -> int:
    """A cut between distinct times in the second half, where most attempts are in the windows."""
    ns = log["Login Timestamp"].to_numpy("datetime64[ns]").astype(np.int64)
    minute = ns // 60_000_000_000
    cuts = [i for i in range(len(log) // 2, len(log) * 9 // 10) if ns[i - 1] < ns[i]]
    return max(cuts, key=lambda i: (int((minute[:i] > minute[i] - WINDOW).sum()), -i))


def _assert_alike(online: pd.DataFrame, batch: pd.DataFrame) -> None:
    np.testing.assert_allclose(online["risk_score"], batch["risk_score"], rtol=0, atol=1e-9)
    for col in RESULTS[1:]:
        assert online[col].tolist() == batch[col].tolist(), col


def test_a_warmed_service_scores_the_rest_of_the_log_as_one_batch_pass(
    simulated: pd.DataFrame, asn_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = simulated
    cut = _cut(log)
    whole, first = tmp_path / "log.csv", tmp_path / "first.csv"
    # No Country column: batch enriches from the IP and User-Agent as the service does.
    columns = [*ONLINE_COLUMNS, "Login Successful", "Is Attack IP"]
    log[columns].to_csv(whole, index=False)
    log[columns].iloc[:cut].to_csv(first, index=False)
    config = tmp_path / "batch.toml"
    config.write_text(f'[geo]\nasn_db = "{asn_db}"\n[scoring]\nmodel = ""\n', encoding="utf-8")
    common = ("--config", config, "--data-dir", tmp_path / "batch")
    one, part, state = tmp_path / "one.csv", tmp_path / "first-out.csv", tmp_path / "state"
    assert _cli("batch", "score", "--input", whole, "--output", one, *common) == 0
    assert _cli("batch", "score", "--input", first, "--output", part, "--state-out", state,
                *common) == 0  # fmt: skip
    expected = pd.read_csv(one, keep_default_na=False)
    assert expected["index"].tolist() == log["index"].tolist()
    _assert_alike(pd.read_csv(part, keep_default_na=False), expected.iloc[:cut])
    # The cut leaves attempts in the velocity windows, and users with history.
    saved = ReplayState.load(state, WINDOW)
    assert len(saved.tail) >= 5
    assert (saved.users["logins"] > 0).sum() >= 20

    capsys.readouterr()
    assert _warm(tmp_path / "service", state, "--config", config) == 0
    summary = capsys.readouterr().out.strip()
    assert summary.startswith("warmed pool 'batch'")
    assert f"{len(saved.users)} users" in summary

    rest = log.iloc[cut:]
    with ServerThread(service_config(tmp_path / "service", asn_db)) as server:
        online = score_online(server, rest)
    _assert_alike(online, expected.iloc[cut:].reset_index(drop=True))
    codes = set(",".join(online["reasons"]).split(","))
    assert {"NEW_IP", "RISK_THRESHOLD"} <= codes

    # A cold service scores the same rows otherwise: the warm start is what agrees.
    with ServerThread(service_config(tmp_path / "cold", asn_db)) as server:
        cold = score_online(server, rest)
    differs = (cold["reasons"] != online["reasons"]) | (cold["risk_score"] != online["risk_score"])
    assert differs.mean() > 0.5


# --- the warmed store against the reference memory store ---------------------------------


@pytest.fixture(scope="module")
def rba(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, int, Path]:
    """The RBA sample's first 3,000 rows (time order), the cut, and the state before it."""
    raw = pd.read_csv(RBA, nrows=3000, dtype=str, keep_default_na=False)
    order = np.argsort(pd.to_datetime(raw["Login Timestamp"]).to_numpy(), kind="stable")
    raw = raw.iloc[order].reset_index(drop=True)
    ts = raw["Login Timestamp"]
    cut = next(i for i in range(2000, len(raw)) if ts[i] != ts[i - 1])
    root = tmp_path_factory.mktemp("rba")
    raw.iloc[:cut].to_csv(root / "first.csv", index=False)
    config = root / "batch.toml"
    config.write_text('[scoring]\nmodel = ""\n', encoding="utf-8")
    scored = ("--input", root / "first.csv", "--output", root / "out.csv")
    options = ("--state-out", root / "state", "--config", config, "--data-dir", root / "data")
    assert _cli("batch", "score", *scored, *options) == 0
    return raw, cut, root / "state"


def _prove(store: ProfileStore, i: int, row: dict[str, str], pool_id: str = "p") -> None:
    """Score-time save and outcome of one row, as the engine does them."""
    obs = observation_from_row(row)
    record = AttemptRecord(
        event_id=str(i),
        pool_id=pool_id,
        username=row["User ID"],
        event_type=EventType.SIGN_IN,
        created=obs.timestamp,
        observation=obs,
        risk_score=0.0,
        risk_level=RiskLevel.LOW,
        decision=Decision.NO_ACTION,
    )
    store.save_attempt(record)
    ok = row["Login Successful"] == "True"
    store.apply_outcome(str(i), Outcome.SUCCEEDED if ok else Outcome.FAILED_PASSWORD, obs.timestamp)


def _comparable(snap: ProfileSnapshot) -> ProfileSnapshot:
    """``snap`` less what a state does not carry: region and city counts, the last region."""
    from dataclasses import replace

    def carried(history: History) -> History:
        kept = {c: s for c, s in history.columns.items() if c in CARRIED_COLUMNS}
        return History(history.logins, kept)

    last = snap.last_login
    if last is not None:
        last = replace(last, place=replace(last.place, region=""))
    return replace(
        snap, user=carried(snap.user), population=carried(snap.population), last_login=last
    )


def test_the_warmed_store_answers_as_the_memory_store_after_the_same_rows(
    rba: tuple[pd.DataFrame, int, Path], tmp_path: Path
) -> None:
    raw, cut, state = rba
    rows = raw.to_dict("records")
    memory = MemoryProfileStore()
    for i, row in enumerate(rows[:cut]):
        _prove(memory, i, row)
    store = SqliteProfileStore(tmp_path / "profiles.sqlite3", durability="none")
    try:
        done = warm(store, ReplayState.load(state, WINDOW), "p")
        assert done.users == len({r["User ID"] for r in rows[:cut]})
        busy = returning = 0
        for i, row in enumerate(rows[cut:], start=cut):
            obs = observation_from_row(row)
            expected = _comparable(memory.snapshot("p", row["User ID"], obs))
            assert _comparable(store.snapshot("p", row["User ID"], obs)) == expected, i
            busy += expected.window != WindowCounts()
            returning += expected.user.logins > 0 and i < cut + 200
            _prove(memory, i, row)
            _prove(store, i, row)
    finally:
        store.close()
    # The windows carried over (right after the cut) and the profiles both mattered.
    assert busy > 0
    assert returning > 20


def test_the_store_columns_a_state_leaves_out_are_region_and_city() -> None:
    # The module docstring and the README promise exactly these; the snapshot test skips them.
    assert set(f.PROFILE_COLUMNS) - set(CARRIED_COLUMNS) == {f.REGION, f.CITY}
    assert set(CARRIED_COLUMNS) <= set(f.PROFILE_COLUMNS)


# --- refusals and all or nothing -------------------------------------------------------------


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every profile row, and the attempts and auth events, of a store file."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in (*PROFILE_TABLES, "attempts", "auth_events")
        }


def _pool(dump: dict[str, list[tuple[Any, ...]]], pool_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """One pool's profile rows (pool_id leads every profile table's key)."""
    return {t: [r for r in dump[t] if r[0] == pool_id] for t in PROFILE_TABLES}


def test_a_pool_with_profiles_is_refused_unless_replace(
    rba: tuple[pd.DataFrame, int, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, cut, state = rba
    data, path = tmp_path / "data", tmp_path / "data" / "profiles.sqlite3"
    assert _warm(data, state) == 0
    fresh = _dump(path)
    assert all(fresh[t] for t in PROFILE_TABLES)
    capsys.readouterr()
    assert _warm(data, state) == 2
    err = capsys.readouterr().err
    assert "already has profiles for pool 'batch'" in err
    assert "--replace" in err
    assert "Traceback" not in err
    assert _dump(path) == fresh
    # Another pool of the same file is its own.
    assert _warm(data, state, "--pool-id", "other") == 0
    # Live traffic after the warm start: a new user, new counts and window rows.
    row = raw.iloc[cut].to_dict() | {"User ID": "someone-new", "Login Successful": "True"}
    store = SqliteProfileStore(path)
    try:
        _prove(store, 0, row, "batch")
    finally:
        store.close()
    live = _dump(path)
    assert _pool(live, "batch") != _pool(fresh, "batch")
    assert _warm(data, state, "--replace") == 0
    assert "replaced its earlier profiles" in capsys.readouterr().out
    again = _dump(path)
    # The pool is the state again; other pools, attempts and auth events are untouched.
    assert _pool(again, "batch") == _pool(fresh, "batch")
    assert _pool(again, "other") == _pool(live, "other")
    assert again["attempts"] == live["attempts"]
    assert again["auth_events"] == live["auth_events"]


def test_a_failed_write_leaves_the_store_as_it_was(
    rba: tuple[pd.DataFrame, int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, state = rba
    data, path = tmp_path / "data", tmp_path / "data" / "profiles.sqlite3"
    # The last statement fails, after the pool's rows were deleted and the rest inserted.
    assert list(warm_module.INSERTS)[-1] == "window_members"
    broken = "INSERT INTO no_such_table VALUES (?, ?, ?, ?, ?)"
    with monkeypatch.context() as patched:
        patched.setitem(warm_module.INSERTS, "window_members", broken)
        assert _warm(data, state) == 2
    empty = _dump(path)
    assert not any(empty.values())
    assert _warm(data, state) == 0
    before = _dump(path)
    with monkeypatch.context() as patched:
        patched.setitem(warm_module.INSERTS, "window_members", broken)
        assert _warm(data, state, "--replace") == 2
    assert _dump(path) == before


def _damage(state: Path, tmp_path: Path, how: str) -> Path:
    if how == "missing":
        return tmp_path / "no-state"
    copy = tmp_path / "state"
    shutil.copytree(state, copy)
    if how == "changed":
        with (copy / "users.parquet").open("ab") as handle:
            handle.write(b"\0")
    else:
        (copy / "state.json").write_text("{not json", encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("missing", "no saved batch state here"),
        ("changed", "users.parquet: changed since the state was saved"),
        ("garbled", "state.json: not a saved batch state"),
    ],
)
def test_a_missing_or_damaged_state_is_refused_naming_it(
    rba: tuple[pd.DataFrame, int, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    how: str,
    message: str,
) -> None:
    state = _damage(rba[2], tmp_path, how)
    assert _warm(tmp_path / "data", state) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "data" / "profiles.sqlite3").exists()


@pytest.mark.parametrize(
    ("config", "args", "message"),
    [
        ("[scoring]\nwindow_minutes = 5\n", (), "but scoring.window_minutes is 5"),
        ('[store]\nbackend = "memory"\n', (), "store.backend"),
        ("", ("--pool-id", "no spaces"), "--pool-id: may only contain"),
    ],
)
def test_settings_that_cannot_be_warmed_are_refused(
    rba: tuple[pd.DataFrame, int, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    config: str,
    args: tuple[str, ...],
    message: str,
) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text(config, encoding="utf-8")
    assert _warm(tmp_path / "data", rba[2], "--config", conf, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "data" / "profiles.sqlite3").exists()


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["batch", "warm", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--state", "--config", "--data-dir", "--pool-id", "--replace"):
        assert flag in out
