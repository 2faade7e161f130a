"""What the SQLite store adds to the contract: durability, group commit, lifecycle."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from riskscore.core import features as f
from riskscore.core.attempt import Outcome
from riskscore.errors import ConflictError, NotFoundError, StoreUnavailableError
from riskscore.stores import sqlite_schema as sql
from riskscore.stores.sqlite import Durability, SqliteProfileStore
from riskscore.stores.sqlite_writer import GroupCommitWriter
from tests.builders import T0, make_obs, make_record, minutes

ROOT = Path(__file__).resolve().parents[2]

Opener = Callable[..., SqliteProfileStore]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "profiles.sqlite3"


@pytest.fixture
def open_store() -> Iterator[Opener]:
    """Opens stores and closes whichever the test left open."""
    opened: list[SqliteProfileStore] = []

    def opener(path: Path, **kwargs: Any) -> SqliteProfileStore:
        store = SqliteProfileStore(path, **kwargs)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Hold the database's write lock from another connection."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def teach(
    store: SqliteProfileStore, event_id: str, user: str = "alice", ip: str = "1.1.1.1"
) -> None:
    obs = make_obs(ip=ip)
    store.save_attempt(make_record(event_id, obs, pool="p", user=user))
    store.apply_outcome(event_id, Outcome.SUCCEEDED, obs.timestamp)


def capture(call: Callable[[], object]) -> Callable[[], object]:
    """A thunk that returns the call's result or the exception it raised."""

    def run() -> object:
        try:
            return call()
        except Exception as exc:
            return exc

    return run


KILLED_CHILD = """
import sys, threading
from pathlib import Path
from riskscore.core.attempt import Outcome
from riskscore.stores.sqlite import Durability, SqliteProfileStore
from tests.builders import T0, make_obs, make_record, minutes

store = SqliteProfileStore(Path(sys.argv[1]), durability=sys.argv[2])
out = threading.Lock()

def run(t):
    for i in range(1_000_000):
        event_id = f"u{t}-{i}"
        obs = make_obs(ip=f"10.{t}.{i // 250 % 250}.{i % 250}", at=T0 + minutes(i))
        store.save_attempt(make_record(event_id, obs, pool="p", user=f"u{t}"))
        store.apply_outcome(event_id, Outcome.SUCCEEDED, obs.timestamp)
        with out:
            sys.stdout.write(event_id + "\\n")
            sys.stdout.flush()

for t in range(4):
    threading.Thread(target=run, args=(t,)).start()
"""


# "flush" skips the fsync, which only matters when the machine loses power.
@pytest.mark.parametrize("durability", ["fsync", "flush"])
def test_acknowledged_writes_survive_a_kill(
    durability: Durability, db: Path, open_store: Opener
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(db), durability],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        acknowledged: list[str] = []
        for line in child.stdout:
            acknowledged.append(line.decode().strip())
            if len(acknowledged) == 500:
                break
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        assert len(acknowledged) == 500, child.stderr.read().decode()
        assert child.returncode == -signal.SIGKILL
    # A line cut short by the kill was never acknowledged.
    acknowledged += rest.decode().split("\n")[:-1]

    store = open_store(db)
    for event_id in acknowledged:
        result = store.apply_outcome(event_id, Outcome.SUCCEEDED, T0)
        assert result.already_recorded, event_id
    logins = {}
    for t in range(4):
        user = f"u{t}"
        logins[user] = store.snapshot("p", user, make_obs()).user.logins
        assert logins[user] >= sum(e.startswith(f"{user}-") for e in acknowledged), user
    population = store.snapshot("p", "u0", make_obs()).population
    assert population.logins == sum(logins.values())
    assert population.stats(f.IP).total == population.logins


def test_concurrent_writes_share_commits(db: Path, open_store: Opener) -> None:
    store = open_store(db)
    threads, each = 32, 20
    start = threading.Barrier(threads)

    def write(t: int) -> None:
        start.wait()
        for i in range(each):
            store.save_attempt(make_record(f"e{t}-{i}", make_obs(), pool="p"))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(threads)))
    stats = store.stats
    assert stats.jobs == threads * each
    assert stats.commits <= stats.jobs / 4
    assert stats.largest_batch > 8


def test_a_failing_job_fails_alone(db: Path, open_store: Opener) -> None:
    store = open_store(db)
    teach(store, "done")
    store.save_attempt(make_record("open", make_obs(ip="2.2.2.2"), pool="p"))
    before = store.stats
    calls = {
        "new": lambda: store.save_attempt(make_record("new", make_obs(), pool="p")),
        "missing": lambda: store.apply_outcome("missing", Outcome.SUCCEEDED, T0),
        "conflict": lambda: store.apply_outcome("done", Outcome.FAILED_PASSWORD, T0),
        "open": lambda: store.apply_outcome("open", Outcome.SUCCEEDED, T0),
    }
    with ThreadPoolExecutor(len(calls) + 1) as pool, write_lock(db):
        # The writer takes this job alone and waits for the lock; the rest queue.
        blocker = pool.submit(store.save_attempt, make_record("blocker", make_obs(), pool="p"))
        wait_until(lambda: store.stats.jobs == before.jobs + 1)
        futures = {name: pool.submit(capture(call)) for name, call in calls.items()}
        wait_until(lambda: store.stats.pending == len(calls))
    blocker.result()
    results = {name: future.result() for name, future in futures.items()}

    assert store.stats.commits == before.commits + 2
    assert store.stats.largest_batch >= len(calls)
    assert results["new"] is None
    assert isinstance(results["missing"], NotFoundError)
    assert isinstance(results["conflict"], ConflictError)
    assert not isinstance(results["open"], Exception)
    snap = store.snapshot("p", "alice", make_obs(ip="2.2.2.2"))
    assert snap.user.logins == 2
    assert snap.user.stats(f.IP).count == 1
    assert store.apply_outcome("new", Outcome.ABANDONED, T0).record.event_id == "new"


def test_a_failing_job_rolls_back_its_own_writes(tmp_path: Path) -> None:
    conn = sqlite3.connect(
        tmp_path / "plain.sqlite3", isolation_level=None, check_same_thread=False
    )
    conn.execute("CREATE TABLE t (x INTEGER)")
    writer = GroupCommitWriter(conn, max_batch=16, max_delay_s=0.0)

    def half_done(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("half done")

    with pytest.raises(RuntimeError, match="half done"):
        writer.submit(half_done)
    writer.submit(lambda c: c.execute("INSERT INTO t VALUES (2)"))
    assert writer.submit(lambda c: c.execute("SELECT x FROM t").fetchall()) == [(2,)]
    writer.close()


def test_a_full_queue_blocks_callers(tmp_path: Path) -> None:
    path = tmp_path / "plain.sqlite3"
    conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x INTEGER)")
    writer = GroupCommitWriter(conn, max_batch=16, max_delay_s=0.0, max_pending=2)

    def insert(x: int) -> Callable[[sqlite3.Connection], object]:
        return lambda c: c.execute("INSERT INTO t VALUES (?)", (x,))

    with ThreadPoolExecutor(4) as pool:
        with write_lock(path):
            first = pool.submit(writer.submit, insert(0))
            wait_until(lambda: writer.stats.jobs == 1)
            queued = [pool.submit(writer.submit, insert(x)) for x in (1, 2)]
            wait_until(lambda: writer.stats.pending == 2)
            blocked = pool.submit(writer.submit, insert(3))
            time.sleep(0.05)
            assert not blocked.done()
            assert writer.stats.pending == 2
        for future in [first, *queued, blocked]:
            future.result()
    assert writer.submit(lambda c: c.execute("SELECT count(*) FROM t").fetchone()) == (4,)
    writer.close()


def test_close_drains_the_queue(db: Path, open_store: Opener) -> None:
    store = open_store(db)
    store.save_attempt(make_record("first", make_obs(), pool="p"))
    queued = [f"q{i}" for i in range(20)]
    with ThreadPoolExecutor(len(queued) + 2) as pool:
        with write_lock(db):
            blocker = pool.submit(store.save_attempt, make_record("blocker", make_obs(), pool="p"))
            wait_until(lambda: store.stats.jobs == 2)
            saves = [
                pool.submit(store.save_attempt, make_record(e, make_obs(), pool="p"))
                for e in queued
            ]
            wait_until(lambda: store.stats.pending == len(queued))
            closing = pool.submit(store.close)
            time.sleep(0.05)
            assert not closing.done()
        closing.result()
        blocker.result()
        for save in saves:
            save.result()

    with pytest.raises(StoreUnavailableError, match="closed"):
        store.save_attempt(make_record("late", make_obs(), pool="p"))
    with pytest.raises(StoreUnavailableError, match="closed"):
        store.snapshot("p", "alice", make_obs())
    store.close()  # a second close is harmless

    reopened = open_store(db)
    for event_id in ["first", "blocker", *queued]:
        reopened.apply_outcome(event_id, Outcome.ABANDONED, T0)


def test_reopening_sees_everything(db: Path, open_store: Opener) -> None:
    store = open_store(db)
    teach(store, "e1", ip="1.1.1.1")
    teach(store, "e2", ip="2.2.2.2")
    teach(store, "b1", user="bob", ip="1.1.1.1")
    store.save_attempt(make_record("fail", make_obs(at=T0 + minutes(5)), pool="p"))
    store.apply_outcome("fail", Outcome.FAILED_MFA, T0 + minutes(6))
    store.save_attempt(make_record("later", make_obs(), pool="p"))
    before = store.snapshot("p", "alice", make_obs(ip="1.1.1.1"))
    store.close()

    reopened = open_store(db)
    assert reopened.snapshot("p", "alice", make_obs(ip="1.1.1.1")) == before
    assert before.failures_since_success == 1
    assert before.users == 2
    with pytest.raises(ConflictError):
        reopened.apply_outcome("fail", Outcome.SUCCEEDED, T0)
    assert not reopened.apply_outcome("later", Outcome.SUCCEEDED, T0).already_recorded


def test_a_newer_schema_is_refused(db: Path) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    newer = f"schema version 99, newer than version {sql.SCHEMA_VERSION}"
    with pytest.raises(StoreUnavailableError, match=newer):
        SqliteProfileStore(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone() == (99,)
    conn.close()


def test_a_locked_database_is_unavailable_not_a_hang(db: Path, open_store: Opener) -> None:
    store = open_store(db, busy_timeout_s=0.01)
    with write_lock(db), pytest.raises(StoreUnavailableError, match="locked"):
        store.save_attempt(make_record("e1", make_obs(), pool="p"))
    store.save_attempt(make_record("e1", make_obs(), pool="p"))
    assert store.stats.failed_batches == 1


def test_a_dead_writer_fails_callers_instead_of_hanging(tmp_path: Path) -> None:
    conn = sqlite3.connect(
        tmp_path / "plain.sqlite3", isolation_level=None, check_same_thread=False
    )
    writer = GroupCommitWriter(conn, max_batch=16, max_delay_s=0.0)

    def kill_writer(c: sqlite3.Connection) -> None:
        raise SystemExit

    with pytest.raises(StoreUnavailableError, match="writer stopped"):
        writer.submit(kill_writer)
    with pytest.raises(StoreUnavailableError, match="writer stopped"):
        writer.submit(lambda c: None)
    writer.close()


@pytest.mark.parametrize("durability", ["fsync", "flush", "none"])
def test_every_durability_keeps_data_across_a_close(
    durability: Durability, db: Path, open_store: Opener
) -> None:
    store = open_store(db, durability=durability)
    teach(store, "e1")
    store.close()
    reopened = open_store(db, durability=durability)
    assert reopened.snapshot("p", "alice", make_obs()).user.logins == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"durability": "paranoid"}, "durability"),
        ({"max_batch": 0}, "max_batch"),
        ({"max_delay_s": -1.0}, "max_delay_s"),
    ],
)
def test_bad_settings_are_refused(db: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SqliteProfileStore(db, **kwargs)


def test_reads_from_many_threads_while_writing(db: Path, open_store: Opener) -> None:
    store = open_store(db)
    teach(store, "seed")

    def read(i: int) -> int:
        return store.snapshot("p", "alice", make_obs()).user.logins

    def write(i: int) -> None:
        teach(store, f"w{i}", ip=f"3.3.3.{i}")

    with ThreadPoolExecutor(8) as pool:
        writes = [pool.submit(write, i) for i in range(20)]
        logins = list(pool.map(read, range(200)))
        for w in writes:
            w.result()
    assert all(1 <= n <= 21 for n in logins)
    assert store.snapshot("p", "alice", make_obs()).user.logins == 21


def test_a_version_1_file_is_upgraded_in_place(db: Path) -> None:
    store = SqliteProfileStore(db)
    store.save_attempt(make_record("old", make_obs(), pool="p"))
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE window_counts")
    conn.execute("DROP TABLE window_members")
    conn.execute("ALTER TABLE users DROP COLUMN last_network_type")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = SqliteProfileStore(db)
    try:
        assert store.apply_outcome("old", Outcome.SUCCEEDED, T0).profile_updated
        store.save_attempt(make_record("new", make_obs(), pool="p"))
        assert store.snapshot("p", "alice", make_obs()).window.user_attempts == 1
    finally:
        store.close()


def test_a_version_2_file_gains_the_last_network_type(db: Path) -> None:
    store = SqliteProfileStore(db)
    teach(store, "before")
    store.save_attempt(
        make_record("vpn", make_obs(at=T0 + minutes(5), network_type="vpn"), pool="p")
    )
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE users DROP COLUMN last_network_type")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    store = SqliteProfileStore(db)
    try:
        last = store.snapshot("p", "alice", make_obs()).last_login
        assert last is not None
        assert last.network_type == ""
        assert store.apply_outcome("vpn", Outcome.SUCCEEDED, T0 + minutes(5)).profile_updated
        last = store.snapshot("p", "alice", make_obs()).last_login
        assert last is not None
        assert last.network_type == "vpn"
    finally:
        store.close()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (sql.SCHEMA_VERSION,)
        columns = [row[1] for row in conn.execute("PRAGMA table_info(users)")]
        assert columns.count("last_network_type") == 1
    finally:
        conn.close()


def test_a_version_4_file_gains_the_auth_event_history(db: Path) -> None:
    store = SqliteProfileStore(db)
    store.save_attempt(make_record("old", make_obs(), pool="p"))
    store.close()
    conn = sqlite3.connect(db)
    for table in ("auth_events", "user_attacker_marks", "pool_attacker_marks"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    store = SqliteProfileStore(db)
    try:
        # An attempt from before the history has none, but its outcome still teaches.
        assert store.apply_outcome("old", Outcome.SUCCEEDED, T0).profile_updated
        assert store.list_auth_events("p", "alice", 60, None).events == ()
        store.save_attempt(make_record("new", make_obs(at=T0 + minutes(1)), pool="p"))
        page = store.list_auth_events("p", "alice", 60, None)
        assert [e.event_id for e in page.events] == ["new"]
    finally:
        store.close()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (sql.SCHEMA_VERSION,)
    finally:
        conn.close()
