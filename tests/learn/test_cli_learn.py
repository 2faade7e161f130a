"""train, evaluate and batch score --model through the command line, on a small simulated log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from riskscore.cli import main
from riskscore.core.learned import LearnedModel, StatisticalModel
from riskscore.enrich.geo import packaged_city_database
from riskscore.learn.artifact import load_model
from riskscore.learn.simulate import simulate
from riskscore.learn.world import build_world


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    world = build_world(packaged_city_database(), seed=5, probes=60_000, max_networks=1500)
    frame = simulate(
        20_000, seed=3, start=datetime(2026, 1, 1, tzinfo=UTC), days=5, world=world,
        attack_share=0.1,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("log") / "log.csv"
    frame.to_csv(path, index=False)
    return path


def test_train_evaluate_and_score_with_the_model(log: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "models" / "small"
    data = ["--data-dir", str(tmp_path / "data")]
    assert (
        main(["train", "--input", str(log), "--output", str(model_dir), "--seed", "4", *data]) == 0
    )
    model = load_model(model_dir)
    assert isinstance(model, LearnedModel)
    assert 0 < model.medium < model.high <= 1
    report = tmp_path / "report"
    args = ["evaluate", "--input", str(log), "--model", str(model_dir), "--report", str(report)]
    assert main([*args, *data]) == 0
    text = (report / "report.md").read_text(encoding="utf-8")
    assert model.version in text
    assert "freeman-2016/1+signals/1" in text
    assert (report / "roc.png").read_bytes().startswith(b"\x89PNG")
    out = tmp_path / "scored.csv"
    args = ["batch", "score", "--input", str(log), "--output", str(out), "--model", str(model_dir)]
    assert main([*args, *data]) == 0
    scored = pd.read_csv(out, keep_default_na=False)
    assert len(scored) == 20_000
    assert set(scored["risk_level"]) <= {"low", "medium", "high"}
    assert scored["risk_score"].between(0, 1).all()


def test_train_without_labels_writes_a_statistical_card(log: Path, tmp_path: Path) -> None:
    unlabelled = tmp_path / "unlabelled.csv"
    frame = pd.read_csv(log, dtype=str, keep_default_na=False)
    frame.drop(columns=["Is Attack IP", "Is Account Takeover", "attack_kind"]).to_csv(
        unlabelled, index=False
    )
    out = tmp_path / "stat"
    args = ["--data-dir", str(tmp_path / "data")]
    assert main(["train", "--input", str(unlabelled), "--output", str(out), *args]) == 0
    model = load_model(out)
    assert isinstance(model, StatisticalModel)
    assert model.version.startswith("statistical/stat/")
