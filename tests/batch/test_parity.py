"""Batch scoring equals the online service, row by row (issue #7 point 4; STYLE.md 5).

Three replays of the same log:
* through the real gRPC service (Score then ReportOutcome per row) and through
  ``riskscore batch score`` on the same rows: scores to 1e-9, levels,
  decisions and reason codes in order;
* through the memory store and the scorers in-process, comparing every
  feature, for the statistical and a learned model;
* batch with and without the label columns: identical output.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscore.batch import observe, replay
from riskscore.batch.io import chunk_from_frame
from riskscore.batch.rba import observation_from_row
from riskscore.batch.validate import validate
from riskscore.cli import main
from riskscore.core.attempt import EventType, Outcome
from riskscore.core.learned import LearnedScorer
from riskscore.core.result import Decision
from riskscore.core.scorer import Scorer, StatisticalScorer
from riskscore.learn.cli_learn import MODEL_FEATURES
from riskscore.learn.train import Boosting, fit_model
from riskscore.signals.base import SignalSettings
from riskscore.stores.base import AttemptRecord
from riskscore.stores.memory import MemoryProfileStore
from tests.batch.online import (
    ONLINE_COLUMNS,
    score_online,
    simulated_log,
)
from tests.service.harness import ServerThread, service_config

RBA = Path(__file__).parents[2].parent / "shared" / "data" / "rba-sample-100k.csv.gz"


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """A small simulated log of real GeoLite2 networks: few users, so histories build up."""
    return simulated_log()


def test_grpc_service_and_batch_score_alike(
    simulated: pd.DataFrame, asn_db: Path, tmp_path: Path
) -> None:
    log = simulated
    with ServerThread(service_config(tmp_path / "service", asn_db)) as server:
        online = score_online(server, log)
    # No Country column: batch enriches from the IP and User-Agent as the service does.
    source = tmp_path / "log.csv"
    log[[*ONLINE_COLUMNS, "Login Successful", "Is Attack IP"]].to_csv(source, index=False)
    config = tmp_path / "batch.toml"
    # The service under test runs the statistical model (service_config's default).
    config.write_text(f'[geo]\nasn_db = "{asn_db}"\n[scoring]\nmodel = ""\n', encoding="utf-8")
    output = tmp_path / "scored.csv"
    code = main(
        [
            "batch", "score", "--input", str(source), "--output", str(output),
            "--config", str(config), "--data-dir", str(tmp_path / "batch"),
        ]
    )  # fmt: skip
    assert code == 0
    batch = pd.read_csv(output, keep_default_na=False)
    assert batch["index"].tolist() == log["index"].tolist()
    np.testing.assert_allclose(batch["risk_score"], online["risk_score"], rtol=0, atol=1e-9)
    assert batch["risk_level"].tolist() == online["risk_level"].tolist()
    assert batch["decision"].tolist() == online["decision"].tolist()
    assert batch["reasons"].tolist() == online["reasons"].tolist()
    # The log must exercise the rules, or agreement proves little.
    codes = set(",".join(online["reasons"]).split(","))
    assert {"NEW_IP", "NEW_DEVICE", "FIRST_SEEN_USER", "RISK_THRESHOLD"} <= codes
    assert len(set(online["risk_level"])) == 3


def _rba_head(rows: int) -> pd.DataFrame:
    raw = pd.read_csv(RBA, nrows=rows, dtype=str, keep_default_na=False)
    order = np.argsort(pd.to_datetime(raw["Login Timestamp"]).to_numpy(), kind="stable")
    return raw.iloc[order].reset_index(drop=True)


def _in_process(raw: pd.DataFrame, scorer: Scorer) -> list[tuple[dict[str, float], float, str]]:
    store = MemoryProfileStore()
    out = []
    for i, row in enumerate(raw.to_dict("records")):
        obs = observation_from_row(row)
        assessment = scorer.assess(obs, store.snapshot("p", row["User ID"], obs))
        codes = ",".join(r.code for r in assessment.reasons)
        out.append((dict(assessment.features), assessment.risk_score, codes))
        record = AttemptRecord(
            event_id=str(i),
            pool_id="p",
            username=row["User ID"],
            event_type=EventType.SIGN_IN,
            created=obs.timestamp,
            observation=obs,
            risk_score=assessment.risk_score,
            risk_level=assessment.risk_level,
            decision=Decision.NO_ACTION,
        )
        store.save_attempt(record)
        ok = row["Login Successful"] == "True"
        store.apply_outcome(
            str(i), Outcome.SUCCEEDED if ok else Outcome.FAILED_PASSWORD, obs.timestamp
        )
    return out


def _batch(raw: pd.DataFrame, model: replay.BatchModel) -> replay.Replayed:
    checked = validate(chunk_from_frame(raw)).sorted_by_time()
    return replay.replay(observe.from_columns(checked.frame), SignalSettings(), model)


def _assert_same(online: list[tuple[dict[str, float], float, str]], batch: replay.Replayed) -> None:
    for i, (features, score, codes) in enumerate(online):
        for name, value in features.items():
            got = batch.features[name].iloc[i]
            assert got == value or math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-9), (
                i,
                name,
            )
        assert abs(batch.score[i] - score) <= 1e-9, i
        assert batch.reasons[i] == codes, i


def test_every_feature_agrees_with_the_memory_store() -> None:
    raw = _rba_head(2500)
    batch = _batch(raw, replay.Statistical())
    _assert_same(_in_process(raw, StatisticalScorer()), batch)
    assert set(batch.features.columns) == set(_in_process(raw.head(1), StatisticalScorer())[0][0])


def test_learned_model_agrees_online_and_in_batch() -> None:
    raw = _rba_head(2500)
    statistical = _batch(raw, replay.Statistical())
    labels = raw["Is Attack IP"].eq("True").to_numpy()
    trained = fit_model(
        statistical.features,
        labels,
        np.arange(len(raw), dtype=np.int64),
        feature_names=MODEL_FEATURES,
        seed=1,
        name="parity",
        progress=False,
        params=Boosting(max_iter=15, progress_steps=1),
    )
    scorer = LearnedScorer(trained.model)
    _assert_same(_in_process(raw, scorer), _batch(raw, replay.Learned(trained.model)))


def test_labels_never_change_a_score() -> None:
    raw = _rba_head(4000)
    with_labels = _batch(raw, replay.Statistical())
    unlabelled = raw.drop(columns=["Is Attack IP", "Is Account Takeover"])
    flipped = raw.assign(
        **{"Is Attack IP": np.where(raw["Is Attack IP"] == "True", "False", "True")}
    )
    for other in (unlabelled, flipped):
        again = _batch(other, replay.Statistical())
        np.testing.assert_array_equal(again.score, with_labels.score)
        np.testing.assert_array_equal(again.reasons, with_labels.reasons)
        pd.testing.assert_frame_equal(again.features, with_labels.features)
