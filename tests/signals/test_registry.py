"""Every feature the scorer emits is documented, and nothing documented is missing."""

from __future__ import annotations

from datetime import timedelta

from riskscore.core.enrichment import Place
from riskscore.core.profile import History, LastLogin, ProfileSnapshot
from riskscore.core.scorer import StatisticalScorer
from riskscore.signals.registry import FEATURES
from tests.builders import T0, make_obs


def test_features_match_the_documented_table() -> None:
    snap = ProfileSnapshot(
        user=History(logins=2),
        population=History(logins=10),
        users=4,
        last_login=LastLogin(
            T0 - timedelta(hours=1), "1.2.3.4", Place("NO", "", "Oslo", 59.9, 10.7, 20)
        ),
    )
    assessment = StatisticalScorer().assess(make_obs(), snap)
    assert set(assessment.features) == set(FEATURES)


def test_readme_documents_every_feature() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in FEATURES:
        assert f"`{name}`" in readme, name


def test_signals_multiply_the_freeman_risk() -> None:
    snap = ProfileSnapshot(user=History(logins=2), population=History(logins=10), users=4)
    human = StatisticalScorer().assess(make_obs(), snap)
    script = StatisticalScorer().assess(
        make_obs(ua="python-requests/2.31", device_type="other"), snap
    )
    assert script.raw_risk > human.raw_risk * 7
    assert script.reasons[0].code in {"BOT_USER_AGENT", "FIRST_SEEN_USER", "NEW_DEVICE"}
