"""Fit the learned model: boosted trees, isotonic calibration and level cut-offs.

Rows are split by time, not at random, because the model scores the future:
the earliest share trains the trees and the latest calibrates them and sets
the thresholds, so both are measured on attempts the trees never saw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]
from sklearn.frozen import FrozenEstimator  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
from tqdm import tqdm

from riskscore.core.learned import Calibration, LearnedModel, TreeEnsemble, feature_matrix
from riskscore.core.levels import DEFAULT_MIDPOINT, LevelThresholds
from riskscore.learn.artifact import CardFacts, stamp

DEFAULT_BUDGET: Final = (0.02, 0.002)
# CalibratedClassifierCV splits its data 5-fold even around a frozen model.
_MIN_CLASS_ROWS: Final = 5
_MIN_ROWS: Final = 50


@dataclass(frozen=True, slots=True)
class Boosting:
    """Hyperparameters of the gradient-boosted trees.

    Sized for ~1M rows x ~30 features on two cores: 200 rounds of 31-leaf
    trees fit in minutes; no early stopping, so a seed fixes the model.
    """

    max_iter: int = 200
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 0.1
    max_bins: int = 255
    # The tqdm bar advances this many times (warm-started refits, only with
    # progress on). Each refit re-bins the data; with class weights and at
    # most 200k rows sklearn bins by a weighted percentile per bin, ~6 s for
    # 160k x 30 features (bench_model.py), so 10 steps there cost ~2.5x a fit.
    progress_steps: int = 10
    calibration_share: float = 0.2
    # OpenMP threads for sklearn (None: all cores). The model does not depend
    # on it: sklearn sums each feature's histogram over rows in a fixed order.
    threads: int | None = None


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """The exported model, the sklearn estimator it came from, and what training saw."""

    model: LearnedModel
    estimator: Any  # CalibratedClassifierCV over a FrozenEstimator(HGB); kept for tests
    metadata: dict[str, Any] = field(default_factory=dict)

    def card(self, created: str, metrics: dict[str, Any]) -> CardFacts:
        """The model-card facts for :func:`riskscore.learn.artifact.save_model`."""
        return {
            "created": created,
            "data": self.metadata["data"],
            "hyperparameters": self.metadata["hyperparameters"],
            "metrics": metrics,
            "challenge_budget": list(self.metadata["challenge_budget"]),
        }


def fit_model(
    features: pd.DataFrame,
    labels: NDArray[np.bool_],
    times: NDArray[np.int64],
    *,
    feature_names: Sequence[str],
    seed: int,
    name: str,
    challenge_budget: tuple[float, float] = DEFAULT_BUDGET,
    progress: bool = True,
    params: Boosting = Boosting(),
) -> TrainedModel:
    """Train, calibrate and threshold a model on a labelled feature frame (times in ns)."""
    names = tuple(feature_names)
    labels = np.asarray(labels, dtype=np.bool_)
    times = np.asarray(times, dtype=np.int64)
    _check_inputs(features, labels, times, names, challenge_budget)
    order = np.argsort(times, kind="stable")
    cut = len(order) - round(len(order) * params.calibration_share)
    train, held = order[:cut], order[cut:]
    matrix = frame_matrix(features, names)
    for part, rows in (("training", train), ("calibration", held)):
        positives = int(labels[rows].sum())
        if min(positives, len(rows) - positives) < _MIN_CLASS_ROWS:
            raise ValueError(
                f"the {part} rows (by time) need at least {_MIN_CLASS_ROWS} positive "
                f"and {_MIN_CLASS_ROWS} negative labels, have {positives} of {len(rows)}"
            )
    with threadpool_limits(limits=params.threads, user_api="openmp"):
        hgb = _fit_trees(matrix[train], labels[train], seed, params, progress)
        calibrated = CalibratedClassifierCV(FrozenEstimator(hgb), method="isotonic")
        calibrated.fit(matrix[held], labels[held])
    ensemble, calibration = export_ensemble(hgb), export_calibration(calibrated)
    legit = calibration.apply(ensemble.raw_predict(matrix[held][~labels[held]]))
    medium, high = level_cuts(legit, challenge_budget)
    model = stamp(LearnedModel(name, "", names, ensemble, calibration, medium=medium, high=high))
    metadata = {
        "data": {
            "rows": len(order),
            "positives": int(labels.sum()),
            "training_rows": len(train),
            "training_positives": int(labels[train].sum()),
            "training_period": _period(times[train]),
            "calibration_rows": len(held),
            "calibration_positives": int(labels[held].sum()),
            "calibration_period": _period(times[held]),
        },
        "hyperparameters": {**_hyperparameters(params), "seed": seed, "class_weight": "balanced"},
        "challenge_budget": challenge_budget,
        "flagged_legitimate": {
            "medium": float((legit >= medium).mean()),
            "high": float((legit >= high).mean()),
        },
    }
    return TrainedModel(model, calibrated, metadata)


def frame_matrix(frame: pd.DataFrame, names: Sequence[str]) -> NDArray[np.float64]:
    """A feature frame as model input, through :func:`feature_matrix`."""
    columns = {n: frame[n].to_numpy(dtype=np.float64, na_value=np.nan) for n in names}
    return feature_matrix(columns, names)


def _check_inputs(
    frame: pd.DataFrame,
    labels: NDArray[np.bool_],
    times: NDArray[np.int64],
    names: tuple[str, ...],
    budget: tuple[float, float],
) -> None:
    if not names:
        raise ValueError("feature_names is empty")
    if missing := [n for n in names if n not in frame.columns]:
        raise ValueError(f"feature columns missing from the frame: {', '.join(missing)}")
    if not len(frame) == len(labels) == len(times):
        raise ValueError("features, labels and times must have one row each")
    if len(frame) < _MIN_ROWS:
        raise ValueError(f"too few rows to train and calibrate: {len(frame)}")
    if not labels.any():
        raise ValueError("no positive labels: nothing to learn attacks from")
    if labels.all():
        raise ValueError("no negative labels: nothing to learn legitimate sign-ins from")
    if not 0.0 < budget[1] < budget[0] < 1.0:
        raise ValueError(f"challenge_budget must satisfy 0 < high < medium < 1, got {budget}")


def _fit_trees(
    matrix: NDArray[np.float64],
    y: NDArray[np.bool_],
    seed: int,
    params: Boosting,
    progress: bool,
) -> Any:
    hgb = HistGradientBoostingClassifier(
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        max_bins=params.max_bins,
        categorical_features=None,
        class_weight="balanced",
        early_stopping=False,
        random_state=seed,
        warm_start=True,
    )
    # Warm-started refits grow the same trees as one fit (same binning seed,
    # raw predictions re-summed in the same order; tests/learn/test_train.py).
    steps = params.progress_steps if progress else 1
    step = max(1, math.ceil(params.max_iter / steps))
    with tqdm(total=params.max_iter, unit="tree", disable=not progress) as bar:
        for stop in range(step, params.max_iter + step, step):
            hgb.set_params(max_iter=min(stop, params.max_iter))
            hgb.fit(matrix, y)
            bar.update(hgb.n_iter_ - bar.n)
    return hgb


def export_ensemble(hgb: Any) -> TreeEnsemble:
    """Flat node arrays of a fitted binary HistGradientBoostingClassifier."""
    if hgb.n_trees_per_iteration_ != 1:
        raise ValueError("only binary classifiers can be exported")
    if hgb.is_categorical_ is not None and np.asarray(hgb.is_categorical_).any():
        raise ValueError("categorical splits are not supported")
    trees = [iteration[0].nodes for iteration in hgb._predictors]
    if any(nodes["is_categorical"].any() for nodes in trees):
        raise ValueError("categorical splits are not supported")
    offsets = np.cumsum([0, *(len(nodes) for nodes in trees)])[:-1]
    nodes = np.concatenate(trees)
    shift = np.repeat(offsets, [len(t) for t in trees])
    leaf = nodes["is_leaf"].astype(np.bool_)
    here = np.arange(len(nodes))
    return TreeEnsemble(
        n_features=int(hgb.n_features_in_),
        feature=np.where(leaf, 0, nodes["feature_idx"]),
        threshold=np.where(leaf, 0.0, nodes["num_threshold"]),
        left=np.where(leaf, here, nodes["left"].astype(np.intp) + shift),
        right=np.where(leaf, here, nodes["right"].astype(np.intp) + shift),
        missing_left=nodes["missing_go_to_left"].astype(np.bool_) & ~leaf,
        leaf=leaf,
        value=np.where(leaf, nodes["value"], 0.0),
        roots=offsets,
        baseline=float(np.asarray(hgb._baseline_prediction).ravel()[0]),
    )


def export_calibration(calibrated: Any) -> Calibration:
    """The isotonic map of a CalibratedClassifierCV fitted around a frozen model."""
    if calibrated.method != "isotonic" or len(calibrated.calibrated_classifiers_) != 1:
        raise ValueError("expected one isotonic calibrator (a FrozenEstimator, ensemble off)")
    (isotonic,) = calibrated.calibrated_classifiers_[0].calibrators
    if not isotonic.increasing_ or isotonic.out_of_bounds != "clip":
        raise ValueError("expected an increasing isotonic calibrator that clips")
    return Calibration(x=isotonic.X_thresholds_, y=isotonic.y_thresholds_)


def level_cuts(
    reference: NDArray[np.float64], budget: tuple[float, float] = DEFAULT_BUDGET
) -> tuple[float, float]:
    """MEDIUM and HIGH score cut-offs that flag at most ``budget`` of ``reference``.

    A level is reached at ``score >= cut``. Scores tie (isotonic output is a
    step function), so each cut is the lowest reference score that flags no
    more than its share; that flags the largest share the ties allow without
    going over. When even the top score is too common, the cut sits just
    above it (nothing flagged). HIGH is raised past MEDIUM when both land on
    one tie, so 0 < medium < high <= 1 always holds.
    """
    values = np.sort(np.asarray(reference, dtype=np.float64))
    if not values.size or not np.isfinite(values).all():
        raise ValueError("need finite reference scores")
    if values[0] < 0.0 or values[-1] > 1.0:
        raise ValueError("reference scores must lie in [0, 1]")
    distinct = np.unique(values)
    # flagged[i]: share of reference scores >= distinct[i]
    flagged = (values.size - np.searchsorted(values, distinct, side="left")) / values.size

    def cut(share: float, above: float) -> float:
        fits = np.flatnonzero((flagged <= share) & (distinct > above))
        if fits.size:
            return float(distinct[fits[0]])
        return float(np.nextafter(max(values[-1], above), np.inf))

    medium = cut(budget[0], 0.0)
    high = cut(budget[1], medium)
    if high > 1.0:
        raise ValueError("scores are too concentrated at 1 to place two cut-offs within budget")
    return medium, high


def calibrate_statistical(
    scores: NDArray[np.float64],
    labels: NDArray[np.bool_] | None = None,
    budget: tuple[float, float] = DEFAULT_BUDGET,
    midpoint: float = DEFAULT_MIDPOINT,
) -> LevelThresholds:
    """Level cut-offs for statistical scores (made with ``midpoint``).

    The budget applies to the legitimate rows, or to every row without labels.
    """
    scores = np.asarray(scores, dtype=np.float64)
    reference = scores if labels is None else scores[~np.asarray(labels, dtype=np.bool_)]
    medium, high = level_cuts(reference, budget)
    return LevelThresholds(midpoint=midpoint, medium=medium, high=high)


def _hyperparameters(params: Boosting) -> dict[str, Any]:
    # Neither the progress steps nor the thread count change the model.
    return {k: v for k, v in asdict(params).items() if k not in ("progress_steps", "threads")}


def _period(times: NDArray[np.int64]) -> list[str]:
    return [str(np.datetime64(int(t), "ns")) for t in (times.min(), times.max())]
