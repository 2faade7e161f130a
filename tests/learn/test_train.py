"""Training: reproducible, split by time, thresholds within the challenge budget."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]
from sklearn.frozen import FrozenEstimator  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from riskscore.learn.artifact import model_arrays, npz_bytes
from riskscore.learn.train import (
    Boosting,
    TrainedModel,
    calibrate_statistical,
    export_calibration,
    export_ensemble,
    fit_model,
    frame_matrix,
    level_cuts,
)

NAMES = ("a", "b", "c", "flag")
PARAMS = Boosting(max_iter=30, progress_steps=1, threads=1)
Data = tuple[pd.DataFrame, NDArray[np.bool_], NDArray[np.int64]]


def _data(rows: int = 5000, seed: int = 4) -> Data:
    """Rows in shuffled time order; ~12% attacks, driven by ``a`` and ``flag``."""
    rng = np.random.default_rng(seed)
    # Rounded: few distinct values keep sklearn's weighted binning fast.
    frame = pd.DataFrame({n: rng.normal(0.0, 1.0, rows).round(1) for n in NAMES[:3]})
    frame.loc[rng.random(rows) < 0.1, "b"] = np.nan
    frame["flag"] = rng.random(rows) < 0.1
    frame["unused"] = 0.0
    labels = (frame["a"] + 2.0 * frame["flag"] + rng.logistic(0.0, 0.5, rows)).to_numpy() > 2.0
    times = rng.permutation(rows).astype(np.int64) * 60_000_000_000
    return frame, labels, times


def _fit(data: Data, **kwargs: object) -> TrainedModel:
    frame, labels, times = data
    options: dict[str, object] = {"seed": 1, "name": "t", "progress": False, "params": PARAMS}
    options.update(kwargs)
    return fit_model(frame, labels, times, feature_names=NAMES, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data() -> Data:
    return _data()


@pytest.fixture(scope="module")
def trained(data: Data) -> TrainedModel:
    return _fit(data)


def _npz(trained: TrainedModel) -> bytes:
    return npz_bytes(model_arrays(trained.model))


def test_same_seed_same_bytes(data: Data, trained: TrainedModel) -> None:
    again = _fit(data, params=Boosting(max_iter=30, progress_steps=1, threads=2))
    assert _npz(again) == _npz(trained)
    assert again.model.version == trained.model.version
    assert trained.model.version.startswith("learned/t/")


def test_warm_started_progress_equals_one_fit(
    data: Data, trained: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits: list[int] = []
    fit = HistGradientBoostingClassifier.fit

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        fits.append(self.max_iter)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", counted)
    stepped = _fit(data, params=Boosting(max_iter=30, progress_steps=7, threads=1), progress=True)
    assert fits == [5, 10, 15, 20, 25, 30]
    assert stepped.estimator.estimator.estimator.n_iter_ == 30
    assert _npz(stepped) == _npz(trained)


def test_earliest_rows_train_and_latest_calibrate(data: Data, trained: TrainedModel) -> None:
    facts = trained.metadata["data"]
    assert (facts["training_rows"], facts["calibration_rows"]) == (4000, 1000)
    assert facts["training_period"][1] < facts["calibration_period"][0]
    _, labels, times = data
    held = np.argsort(times)[4000:]
    assert facts["calibration_positives"] == labels[held].sum()
    hgb = trained.estimator.estimator.estimator
    assert hgb.n_iter_ == 30
    assert hgb.n_features_in_ == len(NAMES)


def test_thresholds_stay_within_the_budget(data: Data, trained: TrainedModel) -> None:
    frame, labels, times = data
    held = np.argsort(times)[4000:]
    legit = held[~labels[held]]
    scores = trained.estimator.predict_proba(frame_matrix(frame.iloc[legit], NAMES))[:, 1]
    m = trained.model
    assert 0.0 < m.medium < m.high <= 1.0
    medium_share, high_share = (scores >= m.medium).mean(), (scores >= m.high).mean()
    assert medium_share <= 0.02
    assert high_share <= 0.002
    assert medium_share > 0.0
    # As close as the ties allow: the next lower score would flag too many.
    lower = scores[scores < m.medium]
    assert lower.size == 0 or (scores >= lower.max()).mean() > 0.02
    flagged = trained.metadata["flagged_legitimate"]
    assert flagged == {"medium": medium_share, "high": high_share}


@pytest.mark.parametrize(
    ("reference", "budget", "expected"),
    [
        ([0.1] * 90 + [0.5] * 9 + [0.9], (0.1, 0.01), (0.5, 0.9)),
        ([0.1] * 90 + [0.5] * 9 + [0.9], (0.05, 0.005), (0.9, np.nextafter(0.9, 1))),
        ([i / 1000 for i in range(1000)], (0.02, 0.002), (0.98, 0.998)),
        ([0.3] * 100, (0.02, 0.002), (np.nextafter(0.3, 1), np.nextafter(np.nextafter(0.3, 1), 1))),
    ],
)
def test_level_cuts_by_hand(
    reference: list[float], budget: tuple[float, float], expected: tuple[float, float]
) -> None:
    assert level_cuts(np.array(reference), budget) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 60), min_size=1, max_size=400),
    st.sampled_from([(0.02, 0.002), (0.2, 0.05), (0.5, 0.4)]),
)
def test_level_cuts_properties(steps: list[int], budget: tuple[float, float]) -> None:
    reference = np.array(steps) / 64.0  # ties, as isotonic output has
    medium, high = level_cuts(reference, budget)
    assert 0.0 < medium < high <= 1.0
    assert (reference >= medium).mean() <= budget[0]
    assert (reference >= high).mean() <= budget[1]
    below = reference[reference < medium]
    assert below.size == 0 or (reference >= below.max()).mean() > budget[0]


def test_level_cuts_reject_what_cannot_be_cut() -> None:
    with pytest.raises(ValueError, match="concentrated"):
        level_cuts(np.ones(100))
    with pytest.raises(ValueError, match="finite"):
        level_cuts(np.array([0.1, np.nan]))


def test_calibrate_statistical_uses_legitimate_rows_only() -> None:
    scores = np.concatenate((np.linspace(0.0, 0.5, 1000), np.full(100, 0.99)))
    labels = np.arange(1100) >= 1000
    with_labels = calibrate_statistical(scores, labels, midpoint=3.0)
    assert with_labels.midpoint == 3.0
    assert with_labels.medium <= 0.5 < 0.99
    assert (scores[:1000] >= with_labels.medium).mean() <= 0.02
    # Without labels the 100 rows at 0.99 are 9% of all: no cut at or below flags <= 2%.
    without = calibrate_statistical(scores)
    assert without.medium == np.nextafter(0.99, 1)
    assert without.medium < without.high <= 1.0


def _broken(data: Data, what: str) -> Data:
    frame, labels, times = data
    if what == "no positives":
        return frame, np.zeros_like(labels), times
    if what == "no negatives":
        return frame, np.ones_like(labels), times
    if what == "too few rows":
        return frame.head(20), labels[:20], times[:20]
    if what == "length":
        return frame, labels[:-1], times
    if what == "late positives":  # every attack in the calibration period
        return frame, labels & (times >= np.sort(times)[4000]), times
    return frame.drop(columns=["b", "flag"]), labels, times


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("no positives", "no positive labels"),
        ("no negatives", "no negative labels"),
        ("too few rows", "too few rows"),
        ("length", "one row each"),
        ("late positives", "training rows"),
        ("missing columns", "missing from the frame: b, flag"),
    ],
)
def test_bad_inputs_are_named(data: Data, what: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _fit(_broken(data, what))


def test_bad_budget_is_rejected(data: Data) -> None:
    with pytest.raises(ValueError, match="challenge_budget"):
        _fit(data, challenge_budget=(0.002, 0.02))


def test_export_rejects_categorical_and_multiclass_models() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (300, 2)).astype(np.float64)
    y = x[:, 0] > 1
    with threadpool_limits(limits=1, user_api="openmp"):
        categorical = HistGradientBoostingClassifier(max_iter=3, categorical_features=[0])
        categorical.fit(x, y)
        multiclass = HistGradientBoostingClassifier(max_iter=3).fit(x, x[:, 0])
        sigmoid = CalibratedClassifierCV(FrozenEstimator(categorical), method="sigmoid").fit(x, y)
    with pytest.raises(ValueError, match="categorical"):
        export_ensemble(categorical)
    with pytest.raises(ValueError, match="binary"):
        export_ensemble(multiclass)
    with pytest.raises(ValueError, match="isotonic"):
        export_calibration(sigmoid)
