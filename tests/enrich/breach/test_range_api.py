"""RangeApiCorpus against a real HTTP server speaking the HIBP range API."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from riskscore.enrich.breach import (
    BreachCheckError,
    BreachCorpus,
    BreachResult,
    RangeApiCorpus,
    sha1_hex,
)
from riskscore.errors import InvalidArgumentError
from tests.enrich.breach.support import LEAKED, PADDED_ONLY, RangeServerState, range_body

PASSWORD = sha1_hex("password")
NOT_LEAKED = sha1_hex("correct horse battery staple riskscore")


class RecordingMetrics:
    """Every observe_breach_check call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def observe_breach_check(self, source: str, outcome: str) -> None:
        self.calls.append((source, outcome))


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def corpus(
    range_server: tuple[str, RangeServerState], metrics: RecordingMetrics
) -> Iterator[RangeApiCorpus]:
    base_url, _ = range_server
    with RangeApiCorpus(
        base_url, timeout_s=0.5, trust_env=False, metrics=metrics, user_agent="riskscore-test"
    ) as client:
        yield client


def make_corpus(base_url: str, **options: object) -> RangeApiCorpus:
    return RangeApiCorpus(base_url, trust_env=False, **options)  # type: ignore[arg-type]


def test_conforms_to_the_seam(corpus: RangeApiCorpus) -> None:
    seam: BreachCorpus = corpus
    assert seam.lookup(PASSWORD).source == "range-api"


@pytest.mark.parametrize(("password", "count"), sorted(LEAKED.items()))
def test_leaked_password_is_found_with_its_count(
    corpus: RangeApiCorpus, password: str, count: int
) -> None:
    assert corpus.lookup(sha1_hex(password)) == BreachResult(
        found=True, count=count, source="range-api", available=True
    )


def test_unknown_password_is_not_found(corpus: RangeApiCorpus, metrics: RecordingMetrics) -> None:
    assert corpus.lookup(NOT_LEAKED) == BreachResult(found=False, count=None, source="range-api")
    assert metrics.calls == [("range-api", "not_found")]


def test_padding_rows_are_ignored(
    corpus: RangeApiCorpus, range_server: tuple[str, RangeServerState]
) -> None:
    assert f"{PADDED_ONLY[5:]}:0" in range_body(PADDED_ONLY[:5])
    assert not corpus.lookup(PADDED_ONLY).found


def test_lowercase_hash_sends_uppercase_prefix(
    corpus: RangeApiCorpus, range_server: tuple[str, RangeServerState]
) -> None:
    _, state = range_server
    assert corpus.lookup(PASSWORD.lower()).count == LEAKED["password"]
    assert state.request_lines == [f"GET /range/{PASSWORD[:5]} HTTP/1.1"]


def test_lowercase_suffixes_in_the_answer_match(
    corpus: RangeApiCorpus, range_server: tuple[str, RangeServerState]
) -> None:
    _, state = range_server
    state.mode = "lowercase"
    assert corpus.lookup(PASSWORD).found


def test_headers_ask_for_padding_and_name_the_client(
    corpus: RangeApiCorpus, range_server: tuple[str, RangeServerState]
) -> None:
    _, state = range_server
    corpus.lookup(PASSWORD)
    (headers,) = state.headers
    assert headers["Add-Padding"] == "true"
    assert headers["User-Agent"] == "riskscore-test"


def test_second_lookup_of_a_prefix_is_served_from_cache(
    corpus: RangeApiCorpus, range_server: tuple[str, RangeServerState]
) -> None:
    _, state = range_server
    first = corpus.lookup(PASSWORD)
    assert corpus.lookup(PASSWORD) == first
    # A different hash under the same prefix needs no request either.
    sibling = PASSWORD[:5] + "0" * 35
    assert not corpus.lookup(sibling).found
    assert state.requests_for(PASSWORD[:5]) == 1
    stats = corpus.cache_stats()
    assert (stats.hits, stats.misses, stats.size) == (2, 1, 1)


def test_cache_entry_expires_after_ttl(range_server: tuple[str, RangeServerState]) -> None:
    base_url, state = range_server
    clock = [100.0]
    with make_corpus(base_url, cache_ttl_s=60, now=lambda: clock[0]) as client:
        client.lookup(PASSWORD)
        clock[0] += 59.9
        client.lookup(PASSWORD)
        assert state.requests_for(PASSWORD[:5]) == 1
        clock[0] += 0.1
        client.lookup(PASSWORD)
        assert state.requests_for(PASSWORD[:5]) == 2


def test_least_recently_used_prefix_is_evicted(
    range_server: tuple[str, RangeServerState],
) -> None:
    base_url, state = range_server
    first, second = PASSWORD, NOT_LEAKED
    assert first[:5] != second[:5]
    with make_corpus(base_url, cache_size=1) as client:
        for sha1 in (first, second, first):
            client.lookup(sha1)
    assert state.requests_for(first[:5]) == 2
    assert state.requests_for(second[:5]) == 1


def test_cache_size_zero_disables_the_cache(
    range_server: tuple[str, RangeServerState],
) -> None:
    base_url, state = range_server
    with make_corpus(base_url, cache_size=0) as client:
        client.lookup(PASSWORD)
        client.lookup(PASSWORD)
    assert state.requests_for(PASSWORD[:5]) == 2


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("sleep", "timeout"),
        ("error", "http_status"),
        ("malformed", "malformed"),
        ("huge", "malformed"),
    ],
)
def test_unavailable_source_fails_open_and_is_counted(
    range_server: tuple[str, RangeServerState],
    metrics: RecordingMetrics,
    mode: str,
    reason: str,
) -> None:
    base_url, state = range_server
    state.mode = mode
    with make_corpus(base_url, timeout_s=0.2, metrics=metrics) as client:
        result = client.lookup(PASSWORD)
        state.release.set()
    assert result == BreachResult(found=False, count=None, source="range-api", available=False)
    assert metrics.calls == [("range-api", f"fail_open_{reason}")]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("sleep", "timeout"), ("error", "http_status"), ("malformed", "malformed")],
)
def test_unavailable_source_fails_closed_when_configured(
    range_server: tuple[str, RangeServerState],
    metrics: RecordingMetrics,
    mode: str,
    reason: str,
) -> None:
    base_url, state = range_server
    state.mode = mode
    with (
        make_corpus(base_url, timeout_s=0.2, fail_closed=True, metrics=metrics) as client,
        pytest.raises(BreachCheckError) as caught,
    ):
        client.lookup(PASSWORD)
    state.release.set()
    assert caught.value.code == "breach_unavailable"
    assert metrics.calls == [("range-api", f"fail_closed_{reason}")]


def test_failures_are_not_cached(range_server: tuple[str, RangeServerState]) -> None:
    base_url, state = range_server
    state.mode = "error"
    with make_corpus(base_url) as client:
        assert not client.lookup(PASSWORD).available
        state.mode = "ok"
        assert client.lookup(PASSWORD).found


def test_unreachable_server_fails_open() -> None:
    # Port 9 (discard) on loopback: nothing listens there in a test sandbox.
    with make_corpus("http://127.0.0.1:9", timeout_s=0.5) as client:
        assert not client.lookup(PASSWORD).available


def test_base_url_path_is_kept(range_server: tuple[str, RangeServerState]) -> None:
    base_url, state = range_server
    with make_corpus(base_url + "/mirror") as client:
        client.lookup(PASSWORD)
    assert state.request_lines == [f"GET /mirror/range/{PASSWORD[:5]} HTTP/1.1"]


@pytest.mark.parametrize(
    "bad", ["", PASSWORD[:39], PASSWORD + "0", "Z" * 40, PASSWORD[:20] + " " * 20]
)
def test_malformed_hash_is_rejected_without_echo(corpus: RangeApiCorpus, bad: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        corpus.lookup(bad)
    assert caught.value.field == "password_sha1"
    if bad:
        assert bad not in str(caught.value)
        assert bad not in repr(caught.value)


@pytest.mark.parametrize("mode", ["ok", "sleep", "error", "malformed"])
def test_full_hash_never_leaves_or_leaks(
    range_server: tuple[str, RangeServerState],
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    base_url, state = range_server
    state.mode = mode
    caplog.set_level(logging.DEBUG)
    secrets = [sha1_hex(p) for p in LEAKED] + [NOT_LEAKED]
    texts: list[str] = []
    for fail_closed in (False, True):
        with make_corpus(base_url, timeout_s=0.2, fail_closed=fail_closed) as client:
            for sha1 in secrets:
                try:
                    texts.append(repr(client.lookup(sha1)))
                except BreachCheckError as exc:
                    error: BaseException | None = exc
                    while error is not None:
                        texts += [str(error), repr(error)]
                        error = error.__cause__ or error.__context__
            texts.append(repr(client))
    state.release.set()
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.__dict__) for record in caplog.records]
    texts += state.request_lines + [repr(h) for h in state.headers]
    assert len(state.request_lines) >= 2
    for sha1 in secrets:
        for form in (sha1, sha1.lower(), sha1[5:], sha1[5:].lower()):
            assert not any(form in text for text in texts)
    for line in state.request_lines:
        assert line.split()[1].rsplit("/", 1)[1] in {s[:5] for s in secrets}
