"""Chunked scoring with carried profile state equals the one-pass replay, bit for bit.

Issue #7 points 3 and 5: a log is scored in time-ordered chunks, the state
(profiles, pool counts, the velocity windows' tail) carried from chunk to
chunk and saved to / loaded from disk (``--state-out`` / ``--state-in``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
import pytest

from riskscore.batch import cli_batch, observe, replay
from riskscore.batch.categories import concat_frames
from riskscore.batch.columns import DEFAULT_MAPPING, BatchInputError, parse_mapping
from riskscore.batch.io import read_log
from riskscore.batch.observe import BatchEnricher
from riskscore.batch.score import (
    BatchSettings,
    Policy,
    Scored,
    Tally,
    score_chunks,
    score_log,
    summarize,
)
from riskscore.batch.state import META_FILE, ReplayState
from riskscore.batch.validate import Validated, validate
from riskscore.cli import main
from riskscore.config import Config
from riskscore.engine import SystemClock
from riskscore.enrich.enricher import AttemptEnricher
from riskscore.enrich.geo import MaxMindGeoLookup, packaged_city_database
from riskscore.enrich.useragent import UaParserAdapter
from riskscore.errors import ConfigError
from riskscore.learn.simulate import simulate
from riskscore.learn.world import build_world
from riskscore.policy.source import StaticPolicySource
from riskscore.service.factory import open_lists
from riskscore.signals.base import SignalSettings, VelocitySettings


def plain(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows with categorical columns as plain objects (category order is not a result)."""
    return rows.astype(
        {c: object for c in rows.columns if isinstance(rows[c].dtype, pd.CategoricalDtype)}
    )


RBA = Path(__file__).parents[2].parent / "shared" / "data" / "rba-sample-100k.csv.gz"
WINDOW = SignalSettings().velocity.window_minutes


@pytest.fixture(scope="module")
def rba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's first 20,000 rows (in time order, as the file is)."""
    path = tmp_path_factory.mktemp("rba") / "rba.csv"
    pd.read_csv(RBA, nrows=20_000, dtype=str, keep_default_na=False).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated log without Country columns (so it is enriched): travel, networks, history."""
    world = build_world(packaged_city_database(), seed=3, probes=60_000, max_networks=1500)
    log = simulate(3000, seed=5, start=pd.Timestamp("2026-01-05").to_pydatetime(), days=3,
                   world=world, users=40, attack_share=0.2)  # fmt: skip
    path = tmp_path_factory.mktemp("sim") / "sim.csv"
    log.drop(columns=["Country", "Region", "City", "ASN"]).to_csv(path, index=False)
    return path


def _settings(*, enrich: bool = False) -> BatchSettings:
    config, mode = StaticPolicySource().effective("batch", "")
    return BatchSettings(replay.Statistical(), Policy(config, mode), enrich=enrich, features=True)


def _chunks(path: Path, rows: int, columns: str | None = None) -> Iterator[Validated]:
    mapping = parse_mapping(columns) if columns else DEFAULT_MAPPING
    return (validate(chunk) for chunk in read_log(path, mapping, chunk_rows=rows))


def _whole(path: Path) -> Validated:
    (only,) = list(_chunks(path, 10**9))
    return only


def _chunked(
    path: Path, rows: int, settings: BatchSettings, enricher: BatchEnricher | None = None
) -> tuple[Scored, ReplayState]:
    state = ReplayState.empty(WINDOW)
    parts = []
    for step in score_chunks(_chunks(path, rows), enricher, settings, state):
        parts.append(step.scored)
        state = step.state
    rows_ = pd.concat([p.rows for p in parts], ignore_index=True)
    labels = pd.concat([p.labels for p in parts], ignore_index=True)
    return Scored(rows_, labels), state


def _assert_same_state(a: ReplayState, b: ReplayState) -> None:
    assert (a.window_minutes, a.rows, a.last_ts_ns) == (b.window_minutes, b.rows, b.last_ts_ns)
    for name, table in a.tables().items():
        pd.testing.assert_frame_equal(table, b.tables()[name], obj=name)


@pytest.fixture(scope="module")
def one_pass(rba: Path) -> tuple[Scored, ReplayState]:
    """The sample scored in one pass, and the state after it as one chunk."""
    _, state = _chunked(rba, 10**9, _settings())
    return score_log(_whole(rba), None, _settings()), state


@pytest.mark.parametrize("rows", [997, 6000])
def test_chunks_score_the_rba_sample_as_one_pass_does(
    rba: Path, one_pass: tuple[Scored, ReplayState], rows: int
) -> None:
    expected, whole = one_pass
    got, state = _chunked(rba, rows, _settings())
    pd.testing.assert_frame_equal(plain(got.rows), plain(expected.rows))
    assert set(expected.rows["risk_level"]) == {"low", "medium", "high"}
    tally = Tally()
    tally.add(Scored(got.rows.iloc[:rows], got.labels.iloc[:rows]))
    tally.add(Scored(got.rows.iloc[rows:], got.labels.iloc[rows:]))
    assert tally.summary(0, 1.0) == summarize(expected, 0, 1.0)
    # However the log was cut, the state after it is the same.
    _assert_same_state(state, whole)
    assert state.rows == 20_000
    assert 0 < len(state.tail) < 20_000


def test_chunks_score_an_enriched_simulated_log_as_one_pass_does(
    simulated: Path, tmp_path: Path
) -> None:
    # The service's enricher less the ASN database (building it takes a minute).
    networks, reputation = open_lists(Config(data_dir=tmp_path), SystemClock())
    settings = _settings(enrich=True)
    with MaxMindGeoLookup(packaged_city_database()) as geo:
        enricher = AttemptEnricher(geo, UaParserAdapter(), networks=networks, reputation=reputation)
        expected = score_log(_whole(simulated), enricher, settings)
        got, _ = _chunked(simulated, 211, settings, enricher)
    pd.testing.assert_frame_equal(plain(got.rows), plain(expected.rows))
    # The log must exercise what the anchors carry: travel and network types.
    reasons = set(",".join(expected.rows["reasons"]).split(","))
    assert {"IMPOSSIBLE_TRAVEL", "USER_FAILURE_VELOCITY", "UNUSUAL_HOUR", "NEW_IP"} <= reasons
    assert (expected.rows["network_hosting"] > 0).any()


def _cli(tmp_path: Path, *args: str | Path) -> int:
    """``batch score --features`` with the statistical model (the shipped one may change)."""
    config = tmp_path / "batch.toml"
    config.write_text('[scoring]\nmodel = ""\n', encoding="utf-8")
    options = ["--config", config, "--data-dir", tmp_path / "data", "--features", *args]
    return main(["batch", "score", *(str(a) for a in options)])


def test_state_out_then_in_equals_one_pass_through_the_cli(
    rba: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = pd.read_csv(rba, dtype=str, keep_default_na=False)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    raw.iloc[:12_345].to_csv(first, index=False)
    raw.iloc[12_345:].to_csv(second, index=False)
    state, later = tmp_path / "state", tmp_path / "later"
    one, a, b = tmp_path / "one.parquet", tmp_path / "a.parquet", tmp_path / "b.csv"
    assert _cli(tmp_path, "--input", rba, "--output", one, "--state-out", later) == 0
    assert _cli(tmp_path, "--input", first, "--output", a, "--state-out", state) == 0
    assert _cli(tmp_path, "--input", second, "--output", b, "--state-in", state,
                "--state-out", state) == 0  # fmt: skip
    first_half = pd.read_parquet(a)
    second_half = pd.read_csv(b, keep_default_na=False).astype(first_half.dtypes.to_dict())
    both = pd.concat([first_half, second_half], ignore_index=True)
    pd.testing.assert_frame_equal(both, pd.read_parquet(one))
    assert set(both["risk_level"]) == {"low", "medium", "high"}
    _assert_same_state(ReplayState.load(state), ReplayState.load(later))
    # Without state options a log of at most --chunk-rows rows is one pass: the same.
    assert _cli(tmp_path, "--input", rba, "--output", tmp_path / "two.parquet") == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "two.parquet"), pd.read_parquet(one))
    # A longer one is scored in chunks (here of 6,000 rows, read 700 at a time): the same.
    monkeypatch.setattr(cli_batch, "READ_ROWS", 700)
    three = tmp_path / "three.parquet"
    assert _cli(tmp_path, "--input", rba, "--output", three, "--chunk-rows", "6000") == 0
    pd.testing.assert_frame_equal(pd.read_parquet(three), pd.read_parquet(one))
    # A state continues only with later rows.
    capsys.readouterr()
    assert (
        _cli(tmp_path, "--input", first, "--output", tmp_path / "x.csv", "--state-in", state) == 2
    )
    assert (
        "row 1 (index 100000), column 'Login Timestamp': earlier than the last row of the state"
        in capsys.readouterr().err
    )


def test_the_cli_reads_chunks_of_exactly_chunk_rows(
    rba: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = pd.read_csv(rba, nrows=3500, dtype=str, keep_default_na=False)
    ips = raw["IP Address"].to_numpy(copy=True)
    ips[[5, 1500]] = "999.1.1.1"
    raw["IP Address"] = ips
    path = tmp_path / "log.csv"
    raw.to_csv(path, index=False)
    monkeypatch.setattr(cli_batch, "READ_ROWS", 700)
    read = list(cli_batch.read_chunks(path, DEFAULT_MAPPING, 1000, "skip", None))
    assert [more for _, more in read] == [True, True, True, False]
    # A log of exactly one chunk says so, and is scored in one pass.
    ((_, more),) = cli_batch.read_chunks(path, DEFAULT_MAPPING, 3500, "skip", None)
    assert not more
    chunks = [v for v, _ in read]
    assert [len(v.frame) + len(v.rejects) for v in chunks] == [1000, 1000, 1000, 500]
    assert pd.concat([v.rejects for v in chunks])["row"].tolist() == [6, 1501]
    whole = validate(next(read_log(path, chunk_rows=10**9)), "skip")
    for part in ("frame", "labels"):
        joined = concat_frames([getattr(v, part) for v in chunks])
        pd.testing.assert_frame_equal(joined, getattr(whole, part))


@pytest.fixture(scope="module")
def saved(
    one_pass: tuple[Scored, ReplayState], tmp_path_factory: pytest.TempPathFactory
) -> tuple[ReplayState, Path]:
    """The state after the sample, saved."""
    state = one_pass[1]
    path = tmp_path_factory.mktemp("state") / "state"
    state.save(path)
    return state, path


def test_a_saved_state_loads_back_equal(saved: tuple[ReplayState, Path], tmp_path: Path) -> None:
    state, path = saved
    _assert_same_state(ReplayState.load(path, WINDOW), state)
    # Saving over a saved state replaces it, leaving nothing else behind.
    target = tmp_path / "again"
    ReplayState.empty(WINDOW).save(target)
    state.save(target)
    _assert_same_state(ReplayState.load(target), state)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]
    assert ReplayState.load(path).inconsistency() is None


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    target.mkdir()
    for file in path.iterdir():
        (target / file.name).write_bytes(file.read_bytes())
    return target


def _edit_meta(path: Path, **changes: object) -> None:
    meta = json.loads((path / META_FILE).read_text())
    meta.update(changes)
    (path / META_FILE).write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "counts.parquet").unlink(), "counts.parquet: missing"),
        (lambda p: (p / META_FILE).unlink(), "state.json: missing"),
        (lambda p: (p / META_FILE).write_text("{"), "state.json: not a saved batch state"),
        (lambda p: _edit_meta(p, version=99), "state.json: format version 99"),
        (lambda p: _edit_meta(p, window_minutes=5), "scoring.window_minutes is 10"),
        (lambda p: _edit_meta(p, rows=-1), "state.json: window_minutes, rows"),
        (
            lambda p: (p / "users.parquet").write_bytes((p / "users.parquet").read_bytes()[:-9]),
            "users.parquet: changed since the state was saved",
        ),
    ],
)
def test_damaged_state_is_refused_naming_the_file(
    saved: tuple[ReplayState, Path], tmp_path: Path, damage: object, message: str
) -> None:
    path = _copy(saved[1], tmp_path)
    damage(path)  # type: ignore[operator]
    with pytest.raises(BatchInputError, match=message):
        ReplayState.load(path, WINDOW)


def test_tampering_behind_the_checksums_is_caught(
    saved: tuple[ReplayState, Path], tmp_path: Path
) -> None:
    path = _copy(saved[1], tmp_path)
    values = path / "values.parquet"
    table = pq.read_table(values)
    counts = table.column("count").to_numpy().copy()
    counts[3] += 1
    pq.write_table(table.set_column(2, "count", pa.array(counts)), values)
    meta = json.loads((path / META_FILE).read_text())
    digest = hashlib.sha256(values.read_bytes()).hexdigest()
    _edit_meta(path, sha256={**meta["sha256"], "values": digest})
    with pytest.raises(BatchInputError, match=r"users' .* counts do not add up to the pool's"):
        ReplayState.load(path)


def test_save_never_replaces_a_directory_that_is_not_a_state(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    for target in (tmp_path, tmp_path / "notes.txt"):
        with pytest.raises(BatchInputError, match="holds no saved state"):
            ReplayState.empty(WINDOW).save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_state_with_other_windows_is_refused(saved: tuple[ReplayState, Path], rba: Path) -> None:
    settings = SignalSettings(velocity=VelocitySettings(window_minutes=5))
    obs = observe.from_columns(next(_chunks(rba, 100)).frame)
    with pytest.raises(ConfigError, match=r"scoring\.window_minutes"):
        replay.replay_chunk(obs, settings, replay.Statistical(), saved[0])


@pytest.mark.parametrize("columns", [None, "timestamp=When"])
def test_a_row_before_an_earlier_chunk_is_an_error_naming_it(
    rba: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], columns: str | None
) -> None:
    raw = pd.read_csv(rba, nrows=300, dtype=str, keep_default_na=False)
    # Row 250 (1-based, after the header) goes back before the first chunk's end.
    times = raw["Login Timestamp"].to_numpy(copy=True)
    times[249] = times[10]
    raw["Login Timestamp"] = times
    if columns:
        raw = raw.rename(columns={"Login Timestamp": "When"})
    path = tmp_path / "log.csv"
    raw.to_csv(path, index=False)
    state = ReplayState.empty(WINDOW)
    chunks = _chunks(path, 100, columns)
    name = "When" if columns else "Login Timestamp"
    steps = score_chunks(chunks, None, _settings(), state, time_column=name)
    with pytest.raises(BatchInputError, match=rf"row 250 .*column '{name}'.*time order"):
        list(steps)
    # The CLI says the same; one chunk (the default) sorts the rows itself.
    mapped = ["--columns", columns] if columns else []
    out = tmp_path / "out.csv"
    assert _cli(tmp_path, "--input", path, *mapped, "--output", out, "--chunk-rows", "100") == 2
    assert f"row 250 (index 100249), column '{name}'" in capsys.readouterr().err
    assert not out.exists()
    assert _cli(tmp_path, "--input", path, *mapped, "--output", out) == 0


def test_skip_mode_rejects_a_row_before_an_earlier_chunk_and_goes_on(
    rba: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = pd.read_csv(rba, nrows=300, dtype=str, keep_default_na=False)
    times = raw["Login Timestamp"].to_numpy(copy=True)
    times[249] = times[10]
    raw["Login Timestamp"] = times
    path = tmp_path / "log.csv"
    raw.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    args = ("--input", path, "--output", out, "--chunk-rows", "100", "--on-error", "skip")
    assert _cli(tmp_path, *args) == 0
    assert "rejected: 1" in capsys.readouterr().out
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str, keep_default_na=False)
    assert rejects[["row", "index", "column"]].values.tolist() == [
        ["250", "100249", "Login Timestamp"]
    ]
    assert rejects["reason"].iloc[0] == cli_batch.EARLIER_ROW
    scored = pd.read_csv(out)
    assert len(scored) == 299
    assert 100249 not in set(scored["index"])


def test_a_text_index_after_integer_chunks_is_an_error_not_a_crash(
    rba: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = pd.read_csv(rba, nrows=300, dtype=str, keep_default_na=False)
    index = raw["index"].to_numpy(copy=True)
    index[250] = "row-x"
    raw["index"] = index
    path = tmp_path / "log.csv"
    raw.to_csv(path, index=False)
    out = tmp_path / "out.parquet"
    assert _cli(tmp_path, "--input", path, "--output", out, "--chunk-rows", "100") == 2
    err = capsys.readouterr().err
    assert "column 'index': not an integer" in err
    assert "'row-x'" in err
    assert not out.exists()
    # In one chunk the index is text throughout, as given.
    assert _cli(tmp_path, "--input", path, "--output", out) == 0
    assert pd.read_parquet(out)["index"].tolist()[250] == "row-x"


def test_the_dask_engine_refuses_state_options(
    rba: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.csv"
    assert _cli(tmp_path, "--input", rba, "--output", out, "--engine", "dask",
                "--state-out", tmp_path / "s") == 2  # fmt: skip
    assert "--state-out needs --engine pandas" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_state_counts_match_the_log(saved: tuple[ReplayState, Path], rba: Path) -> None:
    state, _ = saved
    raw = pd.read_csv(rba, dtype=str, keep_default_na=False)
    ok = raw["Login Successful"] == "True"
    users = state.users.set_index("user")
    logins = ok.groupby(raw["User ID"]).sum()
    assert users["logins"].sort_index().to_dict() == logins.sort_index().to_dict()
    ips, pool = state.values["ip"]
    assert dict(zip(ips, pool, strict=True)) == raw.loc[ok, "IP Address"].value_counts().to_dict()
    last = raw.loc[ok].groupby("User ID")["IP Address"].last()
    assert users.loc[last.index, "last_ip"].tolist() == last.tolist()
    assert np.array_equal(users[[f"hour_{h:02d}" for h in range(24)]].sum(axis=1), users["logins"])
