"""The seam: results, the in-memory corpus, hash helpers and the public names."""

from __future__ import annotations

import hashlib

import pytest

import riskscore.enrich.breach as breach
from riskscore.enrich.breach import (
    BreachCheckError,
    BreachCorpus,
    BreachMetrics,
    BreachResult,
    InMemoryBreachCorpus,
    NullBreachMetrics,
    sha1_digest,
    sha1_hex,
)
from riskscore.errors import InvalidArgumentError, RiskscoreError

PASSWORD = sha1_hex("password")


def test_sha1_hex_is_uppercase_hibp_spelling() -> None:
    assert PASSWORD == "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
    assert sha1_hex("pässword") == hashlib.sha1("pässword".encode()).hexdigest().upper()


def test_sha1_digest_accepts_either_case() -> None:
    assert sha1_digest(PASSWORD) == sha1_digest(PASSWORD.lower()) == bytes.fromhex(PASSWORD)


@pytest.mark.parametrize("bad", ["", PASSWORD[:-1], PASSWORD + "A", "G" * 40, " " + PASSWORD[1:]])
def test_sha1_digest_rejects_without_echo(bad: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        sha1_digest(bad)
    assert str(caught.value) == "password_sha1: must be 40 hexadecimal characters"


def test_in_memory_corpus_conforms_and_answers() -> None:
    corpus: BreachCorpus = InMemoryBreachCorpus({PASSWORD.lower(): 3})
    assert corpus.lookup(PASSWORD) == BreachResult(True, 3, "in-memory")
    assert corpus.lookup("0" * 40) == BreachResult(False, None, "in-memory")


def test_in_memory_corpus_plays_an_outage() -> None:
    corpus = InMemoryBreachCorpus({PASSWORD: 3}, source="range-api", available=False)
    assert corpus.lookup(PASSWORD) == BreachResult(False, None, "range-api", available=False)


def test_results_and_errors_do_not_carry_the_hash() -> None:
    corpus = InMemoryBreachCorpus({PASSWORD: 3})
    texts = [repr(corpus.lookup(PASSWORD)), repr(corpus), str(BreachCheckError("x", "timeout"))]
    assert not any(PASSWORD in text or PASSWORD[5:] in text for text in texts)


def test_breach_check_error_is_a_riskscore_error() -> None:
    error = BreachCheckError("range-api", "HTTP 500")
    assert isinstance(error, RiskscoreError)
    assert (error.code, error.source, error.reason) == (
        "breach_unavailable",
        "range-api",
        "HTTP 500",
    )


def test_null_metrics_conforms() -> None:
    metrics: BreachMetrics = NullBreachMetrics()
    metrics.observe_breach_check("range-api", "found")


def test_all_names_exist_once() -> None:
    assert len(set(breach.__all__)) == len(breach.__all__)
    assert all(hasattr(breach, name) for name in breach.__all__)
    public = {n for n in vars(breach) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(breach.__all__)
