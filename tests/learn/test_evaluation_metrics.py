"""Detection metrics: known answers on hand-built and seeded synthetic logs."""

from __future__ import annotations

import json
import math
from dataclasses import astuple

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from riskscore.core.levels import LevelThresholds
from riskscore.learn.metrics import (
    LEGITIMATE,
    UNNAMED_ATTACK,
    Thresholds,
    attack_kinds,
    detection_by_kind,
    evaluate_model,
    level_mix_over_time,
    reauth_rate_at_tpr,
    risk_score_relation,
    roc_auc,
    roc_curve,
    time_bucket,
    tpr_at_fpr,
)

# Ten legitimate rows and five attacks, with ties across the classes at 0.9 and 0.5.
TIED_SCORES = np.array([0.9, 0.5, 0.5, *[0.1] * 7, 0.9, 0.5, 0.5, 0.5, 0.2])
TIED_LABELS = np.array([False] * 10 + [True] * 5)


def separated(
    seed: int, legit: int = 900, attacks: int = 100
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.uniform(0.0, 0.4, legit), rng.uniform(0.6, 1.0, attacks)])
    return scores, np.arange(legit + attacks) >= legit


@pytest.mark.parametrize("fpr", [0.0, 0.001, 0.01, 0.5])
def test_perfect_separation(fpr: float) -> None:
    scores, labels = separated(1)
    assert roc_auc(scores, labels).value == 1.0
    assert tpr_at_fpr(scores, labels, fpr) == 1.0
    for tpr in (0.99, 0.999, 1.0):
        reauth = reauth_rate_at_tpr(scores, labels, tpr, success=np.ones(labels.size, bool))
        assert reauth.legitimate == 0.0
        assert reauth.legitimate_successful == 0.0
        assert reauth.threshold >= 0.6
    assert risk_score_relation(scores, labels) > 1.0


def test_reversed_scores() -> None:
    scores, labels = separated(2)
    assert roc_auc(1.0 - scores, labels).value == 0.0
    assert tpr_at_fpr(1.0 - scores, labels, 0.01) == 0.0
    assert reauth_rate_at_tpr(1.0 - scores, labels, 0.99).legitimate == 1.0
    assert risk_score_relation(1.0 - scores, labels) < 1.0


@pytest.mark.parametrize(
    ("fpr", "expected"),
    [(0.0, 0.0), (0.1, 0.2), (0.2, 0.2), (0.29, 0.2), (0.3, 1.0), (1.0, 1.0)],
)
def test_tpr_at_fpr_never_exceeds_the_budget_on_ties(fpr: float, expected: float) -> None:
    # >= 0.5 flags 3 of 10 legitimate rows at once, so a 0.2 budget stays at >= 0.9.
    assert tpr_at_fpr(TIED_SCORES, TIED_LABELS, fpr) == expected


@pytest.mark.parametrize(
    ("tpr", "threshold", "achieved", "rate"),
    [(0.2, 0.9, 0.2, 0.1), (0.8, 0.5, 0.8, 0.3), (0.81, 0.2, 1.0, 0.3), (1.0, 0.2, 1.0, 0.3)],
)
def test_reauth_rate_on_ties(tpr: float, threshold: float, achieved: float, rate: float) -> None:
    reauth = reauth_rate_at_tpr(TIED_SCORES, TIED_LABELS, tpr)
    assert (reauth.threshold, reauth.achieved_tpr, reauth.legitimate) == (threshold, achieved, rate)
    assert math.isnan(reauth.legitimate_successful)


@pytest.mark.parametrize("seed", range(5))
def test_rates_match_a_brute_force_sweep(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(400) < 0.2
    scores = np.round(rng.beta(2, 5, 400) + 0.3 * labels, 1).clip(0, 1)  # many ties
    legit, attack = scores[~labels], scores[labels]
    cuts = [math.inf, *np.unique(scores)]
    fprs = np.array([(legit >= t).mean() for t in cuts])
    tprs = np.array([(attack >= t).mean() for t in cuts])
    for budget in (0.0, 0.01, 0.1, 0.3):
        assert tpr_at_fpr(scores, labels, budget) == tprs[fprs <= budget].max()
    for target in (0.5, 0.9, 0.99):
        best = max(t for t, rate in zip(cuts, tprs, strict=True) if rate >= target)
        assert reauth_rate_at_tpr(scores, labels, target).legitimate == (legit >= best).mean()


@pytest.mark.parametrize(("attacks", "target"), [(1000, 0.999), (10, 0.1 * 3)])
def test_target_met_exactly_by_a_ratio_of_counts(attacks: int, target: float) -> None:
    # 999 of 1000 is 0.999 and 3 of 10 is 0.1 * 3 (0.30000000000000004): the
    # threshold must stop at the attack that meets the target, not one lower.
    scores = np.concatenate([np.zeros(10), np.linspace(0.1, 1.0, attacks)])
    labels = np.arange(10 + attacks) >= 10
    caught = round(target * attacks)
    reauth = reauth_rate_at_tpr(scores, labels, target)
    assert reauth.threshold == scores[-caught]
    assert reauth.achieved_tpr == caught / attacks


def test_reauth_on_successful_legitimate_logins_only() -> None:
    scores = np.array([0.9, 0.8, 0.1, 0.1, 0.95])
    labels = np.array([False, False, False, False, True])
    success = np.array([False, True, True, True, True])
    reauth = reauth_rate_at_tpr(scores, labels, 1.0, success=success)
    assert reauth.threshold == 0.95
    assert (reauth.legitimate, reauth.legitimate_successful) == (0.0, 0.0)
    lower = reauth_rate_at_tpr(np.where(labels, 0.85, scores), labels, 1.0, success=success)
    assert (lower.legitimate, lower.legitimate_successful) == (0.25, 0.0)


@pytest.mark.parametrize("labels", [np.zeros(6, bool), np.ones(6, bool)])
def test_one_class_gives_nan_without_warnings(labels: NDArray[np.bool_]) -> None:
    scores = np.linspace(0, 1, 6)
    auc = roc_auc(scores, labels)
    assert math.isnan(auc.value)
    assert not auc.defined
    assert (auc.positives, auc.negatives) == (int(labels.sum()), int((~labels).sum()))
    assert roc_curve(scores, labels) is None
    assert math.isnan(tpr_at_fpr(scores, labels, 0.01))
    assert math.isnan(reauth_rate_at_tpr(scores, labels, 0.99).legitimate)
    assert math.isnan(risk_score_relation(scores, labels))


def test_rsr_is_the_ratio_of_raw_risks_for_the_statistical_score() -> None:
    rng = np.random.default_rng(3)
    raw_legit = rng.lognormal(-2.0, 1.0, 501)  # odd, so the median is one row
    raw_attack = rng.lognormal(3.0, 1.0, 1000)
    levels = LevelThresholds()
    scores = np.array([levels.to_score(r) for r in (*raw_legit, *raw_attack)])
    labels = np.arange(scores.size) >= raw_legit.size
    weakest_caught = np.sort(raw_attack)[1]  # catching 999 of 1000 spares only the lowest
    expected = weakest_caught / np.median(raw_legit)
    assert risk_score_relation(scores, labels, 0.999) == pytest.approx(expected, rel=1e-9)


def test_rsr_edges() -> None:
    labels = np.array([False, False, False, True])
    assert risk_score_relation(np.array([0.2, 0.2, 0.9, 0.8]), labels) == pytest.approx(16.0)
    assert risk_score_relation(np.array([0.0, 0.0, 0.9, 0.8]), labels) == math.inf
    assert math.isnan(risk_score_relation(np.zeros(4), labels))


def test_detection_by_kind_counts() -> None:
    kinds = ["", "", "", "", "bot", "bot", "targeted", "targeted", "targeted"]
    levels = ["low", "medium", "low", "high", "high", "low", "medium", "high", "HIGH"]
    success = [True, True, False, True, False, False, True, True, False]
    got = detection_by_kind(levels, kinds, success)
    want = [
        (LEGITIMATE, 4, 0.5, 0.25, 3, 2 / 3, 1 / 3),
        ("bot", 2, 0.5, 0.5, 0, math.nan, math.nan),
        ("targeted", 3, 1.0, 2 / 3, 2, 1.0, 0.5),
    ]
    assert [d.kind for d in got] == [w[0] for w in want]
    numbers = [x for d in got for x in astuple(d)[1:]]
    assert numbers == pytest.approx([x for w in want for x in w[1:]], nan_ok=True)


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown levels"):
        detection_by_kind(["low", "severe"], ["", ""], [True, True])


def test_level_mix_counts_per_bucket_keeps_empty_buckets() -> None:
    start = pd.Timestamp("2020-02-01", tz="UTC")
    times = pd.Series(start + pd.to_timedelta([0, 10, 20, 130, 140], unit="min"))
    mix = level_mix_over_time(times, ["low", "high", "low", "medium", "low"], "1h")
    assert list(mix.columns) == ["low", "medium", "high"]
    assert mix.to_numpy().tolist() == [[2, 0, 1], [0, 0, 0], [1, 1, 0]]
    assert mix.index[0] == start


@pytest.mark.parametrize(
    ("span", "freq"),
    [
        ("0s", "1min"),
        ("40min", "1min"),
        ("2h", "5min"),
        ("2D", "1h"),
        ("30D", "1D"),
        ("3000D", "30D"),
    ],
)
def test_time_bucket(span: str, freq: str) -> None:
    start = pd.Timestamp("2020-01-01", tz="UTC")
    assert time_bucket(start, start + pd.Timedelta(span)) == freq


def scored_log(seed: int, n: int = 4000) -> pd.DataFrame:
    """A log where the "good" model separates every kind perfectly and "coin" is random."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(["", "bot", "credential_stuffing", "targeted"], n, p=[0.85, 0.05, 0.05, 0.05])
    attack = kind != ""
    success = np.where(attack, rng.random(n) < 0.3, rng.random(n) < 0.9)
    good = np.where(attack, rng.uniform(0.7, 1.0, n), rng.uniform(0.0, 0.3, n))
    coin = rng.random(n)
    frame = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2020-02-01", tz="UTC") + pd.to_timedelta(np.arange(n), "s"),
            "success": success,
            "is_attack": attack,
            "is_takeover": attack & success & (kind == "targeted"),
            "attack_kind": kind,
            "good_score": good,
            "coin_score": coin,
        }
    )
    for name, scores in (("good", good), ("coin", coin)):
        frame[f"{name}_level"] = np.select(
            [scores >= 0.9, scores >= 0.5], ["high", "medium"], "low"
        )
    return frame


def test_evaluate_model_on_a_perfect_model() -> None:
    frame = scored_log(5)
    metrics = evaluate_model(frame, "good", Thresholds(0.5, 0.9), label="good/1")
    assert (metrics.auc, metrics.auc_takeover, metrics.tpr_at_01pct_fpr) == (1.0, 1.0, 1.0)
    assert metrics.reauth_at_999pct_tpr.legitimate_successful == 0.0
    assert metrics.kind_auc == {"bot": 1.0, "credential_stuffing": 1.0, "targeted": 1.0}
    assert metrics.attacks == int(frame["is_attack"].sum())
    assert metrics.takeovers == int(frame["is_takeover"].sum()) > 0
    legit = metrics.detection[0]
    assert (legit.kind, legit.rows, legit.medium_or_above) == (LEGITIMATE, metrics.legitimate, 0.0)
    assert all(d.medium_or_above == 1.0 for d in metrics.detection[1:])
    coin = evaluate_model(frame, "coin", Thresholds(0.5, 0.9))
    assert 0.4 < coin.auc < 0.6
    assert 0.9 < coin.reauth_at_99pct_tpr.legitimate <= 1.0
    json.dumps(metrics.to_dict(), allow_nan=False)


def test_evaluate_model_degenerate_logs_give_nan_and_null() -> None:
    frame = scored_log(6)
    legit_only = frame[~frame["is_attack"]]
    metrics = evaluate_model(legit_only, "good", Thresholds(0.5, 0.9))
    assert math.isnan(metrics.auc)
    assert math.isnan(metrics.auc_takeover)
    assert math.isnan(metrics.reauth_at_99pct_tpr.threshold)
    assert metrics.kind_auc == {}
    as_json = metrics.to_dict()
    assert as_json["auc"] is None
    assert as_json["rsr"] is None
    json.dumps(as_json, allow_nan=False)
    one_bot = pd.concat([legit_only, frame[frame["attack_kind"] == "bot"].head(1)])
    assert evaluate_model(one_bot, "good", Thresholds(0.5, 0.9)).kind_auc == {"bot": 1.0}


def test_rba_like_log_without_attack_kind() -> None:
    frame = scored_log(7).drop(columns="attack_kind")
    # A takeover is an attack even where the attack-IP label is missing.
    frame.loc[frame.index[frame["is_takeover"]][:1], "is_attack"] = False
    kinds = attack_kinds(frame)
    assert set(kinds) == {"", UNNAMED_ATTACK}
    metrics = evaluate_model(frame, "good", Thresholds(0.5, 0.9))
    assert metrics.attacks == int((frame["is_attack"] | frame["is_takeover"]).sum())
    assert [d.kind for d in metrics.detection] == [LEGITIMATE, UNNAMED_ATTACK]
    assert metrics.kind_auc == {UNNAMED_ATTACK: 1.0}
