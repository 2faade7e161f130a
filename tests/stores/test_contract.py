"""Every ProfileStore keeps the same contract; each test runs on each store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from riskscore.core import features as f
from riskscore.core.attempt import EventType, Outcome
from riskscore.core.profile import ColumnStats
from riskscore.errors import ConflictError, NotFoundError
from riskscore.stores.base import Feedback, FeedbackValue, ProfileStore
from riskscore.stores.memory import MemoryProfileStore
from riskscore.stores.sqlite import SqliteProfileStore
from tests.builders import T0, make_obs, make_record, minutes


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileStore]:
    s: ProfileStore
    if request.param == "memory":
        s = MemoryProfileStore()
    else:
        s = SqliteProfileStore(tmp_path / "profiles.sqlite3")
    yield s
    s.close()


def test_empty_store_knows_nothing(store: ProfileStore) -> None:
    snap = store.snapshot("p", "alice", make_obs())
    assert snap.user.logins == 0
    assert snap.population.logins == 0
    assert snap.users == 0
    assert snap.last_login is None
    assert snap.user.stats(f.IP).count == 0


def test_scoring_alone_teaches_nothing(store: ProfileStore) -> None:
    obs = make_obs()
    store.save_attempt(make_record("e1", obs, pool="p"))
    snap = store.snapshot("p", "alice", obs)
    assert snap.user.logins == 0
    assert snap.population.stats(f.IP).count == 0


def test_success_teaches_user_and_population(store: ProfileStore) -> None:
    obs = make_obs()
    store.save_attempt(make_record("e1", obs, pool="p"))
    result = store.apply_outcome("e1", Outcome.SUCCEEDED, T0 + minutes(1))
    assert result.profile_updated
    assert not result.already_recorded
    assert result.record.outcome is Outcome.SUCCEEDED
    snap = store.snapshot("p", "alice", obs)
    assert snap.user.logins == 1
    assert snap.users == 1
    assert snap.population.logins == 1
    for col, value in obs.values.items():
        # Value counts are looked up for the columns scoring reads; totals for all.
        assert snap.user.stats(col).count == (1 if value and col in f.USER_LOOKUPS else 0), col
        expected_pool = 1 if value and col in f.POPULATION_LOOKUPS else 0
        assert snap.population.stats(col).count == expected_pool, col
        assert snap.user.stats(col).total == (1 if value else 0), col
    assert snap.last_login is not None
    assert snap.last_login.ip_address == obs.ip_address
    assert snap.last_login.place == obs.place
    assert snap.last_login.timestamp == obs.timestamp


def test_counts_totals_and_distincts(store: ProfileStore) -> None:
    ips = ["1.1.1.1", "1.1.1.1", "2.2.2.2"]
    for i, ip in enumerate(ips):
        obs = make_obs(ip=ip, at=T0 + minutes(i))
        store.save_attempt(make_record(f"e{i}", obs, pool="p"))
        store.apply_outcome(f"e{i}", Outcome.SUCCEEDED, obs.timestamp)
    bob = make_obs(ip="1.1.1.1", at=T0 + minutes(10))
    store.save_attempt(make_record("b", bob, pool="p", user="bob"))
    store.apply_outcome("b", Outcome.SUCCEEDED, bob.timestamp)

    snap = store.snapshot("p", "alice", make_obs(ip="1.1.1.1"))
    assert snap.user.stats(f.IP) == ColumnStats(count=2, total=3, distinct=2)
    assert snap.population.stats(f.IP).count == 3
    assert snap.population.stats(f.IP).total == 4
    assert snap.population.stats(f.IP).distinct == 2
    assert snap.users == 2
    assert snap.population.logins == 4
    unseen = store.snapshot("p", "alice", make_obs(ip="9.9.9.9"))
    assert unseen.user.stats(f.IP).count == 0
    assert unseen.user.stats(f.IP).total == 3
    # Pools are separate worlds.
    other = store.snapshot("other-pool", "alice", make_obs(ip="1.1.1.1"))
    assert other.user.logins == 0
    assert other.population.logins == 0


def test_missing_values_are_not_counted(store: ProfileStore) -> None:
    obs = make_obs(country="", asn="")
    store.save_attempt(make_record("e1", obs, pool="p"))
    store.apply_outcome("e1", Outcome.SUCCEEDED, T0)
    snap = store.snapshot("p", "alice", make_obs(country="", asn=""))
    assert snap.user.stats(f.COUNTRY).total == 0
    assert snap.user.stats(f.COUNTRY).distinct == 0
    assert snap.user.stats(f.IP).total == 1


def test_failures_count_until_success(store: ProfileStore) -> None:
    for i, outcome in enumerate([Outcome.FAILED_PASSWORD, Outcome.FAILED_MFA, Outcome.ABANDONED]):
        obs = make_obs(at=T0 + minutes(i))
        store.save_attempt(make_record(f"e{i}", obs, pool="p"))
        result = store.apply_outcome(f"e{i}", outcome, obs.timestamp)
        assert not result.profile_updated
    snap = store.snapshot("p", "alice", make_obs())
    assert snap.failures_since_success == 2
    assert snap.user.logins == 0
    store.save_attempt(make_record("ok", make_obs(), pool="p"))
    store.apply_outcome("ok", Outcome.SUCCEEDED, T0 + minutes(5))
    assert store.snapshot("p", "alice", make_obs()).failures_since_success == 0


def test_outcome_is_idempotent_and_not_changeable(store: ProfileStore) -> None:
    store.save_attempt(make_record("e1", make_obs(), pool="p"))
    store.apply_outcome("e1", Outcome.SUCCEEDED, T0)
    again = store.apply_outcome("e1", Outcome.SUCCEEDED, T0)
    assert again.already_recorded
    assert not again.profile_updated
    assert store.snapshot("p", "alice", make_obs()).user.logins == 1
    with pytest.raises(ConflictError):
        store.apply_outcome("e1", Outcome.FAILED_PASSWORD, T0)


def test_unknown_event_is_not_found(store: ProfileStore) -> None:
    with pytest.raises(NotFoundError):
        store.apply_outcome("nope", Outcome.SUCCEEDED, T0)


def test_last_login_keeps_the_latest(store: ProfileStore) -> None:
    late = make_obs(ip="2.2.2.2", at=T0 + minutes(30))
    early = make_obs(ip="1.1.1.1", at=T0)
    for name, obs in (("late", late), ("early", early)):
        store.save_attempt(make_record(name, obs, pool="p"))
        store.apply_outcome(name, Outcome.SUCCEEDED, obs.timestamp)
    last = store.snapshot("p", "alice", make_obs()).last_login
    assert last is not None
    assert last.ip_address == "2.2.2.2"


def test_last_login_keeps_its_network_type(store: ProfileStore) -> None:
    vpn = make_obs(ip="2.2.2.2", at=T0, network_type="vpn", network_source="vpn:x4b/2.2.2.0/24")
    store.save_attempt(make_record("vpn", vpn, pool="p"))
    store.apply_outcome("vpn", Outcome.SUCCEEDED, vpn.timestamp)
    last = store.snapshot("p", "alice", make_obs()).last_login
    assert last is not None
    assert last.network_type == "vpn"
    # Only a proven sign-in moves it: a failure from a hosting network does not.
    hosting = make_obs(ip="3.3.3.3", at=T0 + minutes(5), network_type="hosting")
    store.save_attempt(make_record("hosting", hosting, pool="p"))
    store.apply_outcome("hosting", Outcome.FAILED_PASSWORD, hosting.timestamp)
    last = store.snapshot("p", "alice", make_obs()).last_login
    assert last is not None
    assert last.network_type == "vpn"
    home = make_obs(ip="4.4.4.4", at=T0 + minutes(10))
    store.save_attempt(make_record("home", home, pool="p"))
    store.apply_outcome("home", Outcome.SUCCEEDED, home.timestamp)
    last = store.snapshot("p", "alice", make_obs()).last_login
    assert last is not None
    assert (last.ip_address, last.network_type) == ("4.4.4.4", "")


def test_purge_forgets_old_attempts(store: ProfileStore) -> None:
    store.save_attempt(make_record("old", make_obs(at=T0), pool="p"))
    store.save_attempt(make_record("new", make_obs(at=T0 + minutes(60)), pool="p"))
    assert store.purge_attempts(T0 + minutes(30)) == 1
    with pytest.raises(NotFoundError):
        store.apply_outcome("old", Outcome.SUCCEEDED, T0)
    store.apply_outcome("new", Outcome.SUCCEEDED, T0 + minutes(61))


def test_submitted_writes_resolve_once_durable(store: ProfileStore) -> None:
    obs = make_obs()
    store.submit_attempt(make_record("s1", obs, pool="p")).result(timeout=10)
    result = store.submit_outcome("s1", Outcome.SUCCEEDED, T0).result(timeout=10)
    assert result.profile_updated
    assert store.snapshot("p", "alice", obs).user.logins == 1
    missing = store.submit_outcome("nope", Outcome.SUCCEEDED, T0)
    with pytest.raises(NotFoundError):
        missing.result(timeout=10)


def _attempt(store: ProfileStore, n: int, user: str, ip: str, minute: int, *, fail: bool) -> None:
    obs = make_obs(ip=ip, at=T0 + minutes(minute))
    store.save_attempt(make_record(f"w{n}", obs, pool="p", user=user))
    if fail:
        store.apply_outcome(f"w{n}", Outcome.FAILED_PASSWORD, obs.timestamp)


def test_velocity_windows_count_recent_attempts(store: ProfileStore) -> None:
    # 30 users tried from one IP within 5 minutes, all failing: a stuffing run.
    for n in range(30):
        _attempt(store, n, f"victim{n}", "198.51.100.7", n // 6, fail=True)
    # Alice failed twice from home, once long before the window.
    _attempt(store, 100, "alice", "84.208.0.1", -60, fail=True)
    _attempt(store, 101, "alice", "84.208.0.1", 3, fail=True)
    _attempt(store, 102, "alice", "84.208.0.1", 4, fail=True)

    at = T0 + minutes(5)
    probe = store.snapshot("p", "victim99", make_obs(ip="198.51.100.7", at=at)).window
    assert probe.ip_users == 30
    assert probe.ip_attempts == 30
    assert probe.ip_failures == 30
    assert probe.user_attempts == 0
    home = store.snapshot("p", "alice", make_obs(ip="84.208.0.1", at=at)).window
    assert home.user_failures == 2
    assert home.user_attempts == 2
    assert home.ip_users == 1
    # The shared ASN of the default observation saw every attempt in the window.
    assert home.asn_attempts == 32
    # An hour later the window is empty again.
    later = store.snapshot("p", "alice", make_obs(ip="198.51.100.7", at=at + minutes(60))).window
    assert later == later.__class__()


def test_velocity_counts_sign_ups_per_ip(store: ProfileStore) -> None:
    for n in range(4):
        obs = make_obs(ip="203.0.113.5")
        record = replace(
            make_record(f"s{n}", obs, pool="p", user=f"new{n}"), event_type=EventType.SIGN_UP
        )
        store.save_attempt(record)
    assert store.snapshot("p", "x", make_obs(ip="203.0.113.5")).window.ip_signups == 4


def test_purge_drops_old_window_buckets(store: ProfileStore) -> None:
    _attempt(store, 1, "alice", "84.208.0.1", 0, fail=True)
    store.purge_attempts(T0 + minutes(120))
    assert store.snapshot("p", "alice", make_obs(at=T0 + minutes(1))).window.user_failures == 0


def test_user_hours_histogram(store: ProfileStore) -> None:
    for n, hour in enumerate((9, 9, 10, 23)):
        obs = make_obs(at=T0.replace(hour=hour))
        store.save_attempt(make_record(f"h{n}", obs, pool="p"))
        store.apply_outcome(f"h{n}", Outcome.SUCCEEDED, obs.timestamp)
    hours = store.snapshot("p", "alice", make_obs()).user_hours
    assert len(hours) == 24
    assert (hours[9], hours[10], hours[23], sum(hours)) == (2, 1, 1, 4)
    assert store.snapshot("p", "nobody", make_obs()).user_hours == ()


def _feedback(value: FeedbackValue, at: datetime | None = None) -> Feedback:
    return Feedback(value, "Admin", at or T0 + minutes(30))


def test_history_lists_newest_first_with_outcomes_and_pages(store: ProfileStore) -> None:
    for i in range(5):
        obs = make_obs(at=T0 + minutes(i))
        store.save_attempt(replace(make_record(f"e{i}", obs, pool="p"), compromised=i == 4))
    store.save_attempt(make_record("bob1", make_obs(), pool="p", user="bob"))
    store.apply_outcome("e1", Outcome.SUCCEEDED, T0 + minutes(2))
    store.apply_outcome("e2", Outcome.FAILED_MFA, T0 + minutes(3))

    first = store.list_auth_events("p", "alice", 2, None)
    assert [e.event_id for e in first.events] == ["e4", "e3"]
    assert first.more
    assert first.events[0].record.compromised
    last = first.events[-1].record
    second = store.list_auth_events("p", "alice", 2, (last.created, last.event_id))
    assert [e.event_id for e in second.events] == ["e2", "e1"]
    assert second.events[0].record.outcome is Outcome.FAILED_MFA
    assert second.events[1].record.outcome is Outcome.SUCCEEDED
    assert second.events[1].taught
    last = second.events[-1].record
    third = store.list_auth_events("p", "alice", 2, (last.created, last.event_id))
    assert [e.event_id for e in third.events] == ["e0"]
    assert not third.more
    assert store.list_auth_events("other", "alice", 60, None).events == ()


def test_history_outlives_the_outcome_window_until_its_retention(store: ProfileStore) -> None:
    store.save_attempt(make_record("e1", make_obs(), pool="p"))
    assert store.purge_attempts(T0 + timedelta(days=2)) == 1
    assert [e.event_id for e in store.list_auth_events("p", "alice", 60, None).events] == ["e1"]
    # Feedback still works on an event whose attempt was purged.
    assert store.submit_feedback("p", "alice", "e1", _feedback("Invalid")).result().changed
    assert store.purge_auth_events(T0 + timedelta(days=800)) == 1
    assert store.list_auth_events("p", "alice", 60, None).events == ()
    assert store.snapshot("p", "alice", make_obs()).attacker_marks == ()


def test_valid_feedback_teaches_once(store: ProfileStore) -> None:
    obs = make_obs()
    store.save_attempt(make_record("e1", obs, pool="p"))
    result = store.submit_feedback("p", "alice", "e1", _feedback("Valid")).result()
    assert result.changed
    assert result.profile_updated
    assert result.event.feedback == _feedback("Valid")
    again = store.submit_feedback("p", "alice", "e1", _feedback("Valid", T0 + minutes(40)))
    assert not again.result().changed
    snap = store.snapshot("p", "alice", obs)
    assert snap.user.logins == 1
    assert snap.user.stats(f.IP).count == 1
    assert snap.last_login is not None
    # Its SUCCEEDED outcome does not teach the same attempt a second time.
    assert not store.apply_outcome("e1", Outcome.SUCCEEDED, T0 + minutes(5)).profile_updated
    assert store.snapshot("p", "alice", obs).user.logins == 1
    listed = store.list_auth_events("p", "alice", 60, None).events[0]
    assert listed.feedback == _feedback("Valid")
    assert listed.record.outcome is Outcome.SUCCEEDED


def test_valid_feedback_after_a_success_does_not_teach_again(store: ProfileStore) -> None:
    store.save_attempt(make_record("e1", make_obs(), pool="p"))
    store.apply_outcome("e1", Outcome.SUCCEEDED, T0)
    result = store.submit_feedback("p", "alice", "e1", _feedback("Valid")).result()
    assert result.changed
    assert not result.profile_updated
    assert store.snapshot("p", "alice", make_obs()).user.logins == 1


def test_invalid_feedback_marks_the_user_and_the_pool(store: ProfileStore) -> None:
    bad = make_obs(ip="203.0.113.9", asn="AS64500", browser="Chrome 120.0", os_="Linux")
    store.save_attempt(make_record("e1", bad, pool="p"))
    reported = T0 + minutes(30)
    store.submit_feedback("p", "alice", "e1", _feedback("Invalid", reported)).result()
    marks = store.snapshot("p", "alice", bad).attacker_marks
    assert {(m.scope, m.kind, m.value) for m in marks} == {
        ("user", "ip", "203.0.113.9"),
        ("user", "asn", "AS64500"),
        ("user", "device", bad.get(f.DEVICE)),
        ("pool", "ip", "203.0.113.9"),
        ("pool", "asn", "AS64500"),
    }
    assert {m.reported_at for m in marks} == {reported}
    bob = store.snapshot("p", "bob", bad).attacker_marks
    assert {(m.scope, m.kind) for m in bob} == {("pool", "ip"), ("pool", "asn")}
    assert store.snapshot("other", "bob", bad).attacker_marks == ()
    assert store.snapshot("p", "alice", make_obs()).attacker_marks == ()
    # Repeating Invalid changes nothing; another user's report counts again.
    assert not store.submit_feedback("p", "alice", "e1", _feedback("Invalid")).result().changed
    store.save_attempt(make_record("b1", bad, pool="p", user="bob"))
    store.submit_feedback("p", "bob", "b1", _feedback("Invalid")).result()
    pooled = [m for m in store.snapshot("p", "cy", bad).attacker_marks if m.kind == "ip"]
    assert [m.reports for m in pooled] == [2]
    # Valid afterwards lifts the user's marks from that event (the pool's decay instead).
    store.submit_feedback("p", "alice", "e1", _feedback("Valid")).result()
    after = store.snapshot("p", "alice", bad).attacker_marks
    assert {m.scope for m in after} == {"pool"}


def test_feedback_on_an_unknown_or_someone_elses_event_is_not_found(store: ProfileStore) -> None:
    store.save_attempt(make_record("e1", make_obs(), pool="p"))
    with pytest.raises(NotFoundError):
        store.submit_feedback("p", "alice", "nope", _feedback("Valid")).result()
    with pytest.raises(NotFoundError):
        store.submit_feedback("p", "bob", "e1", _feedback("Valid")).result()
