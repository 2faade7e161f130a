"""The numpy model against sklearn, node rules by hand, the numba walk, and the learned scorer."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba.core.caching import CompileResultCacheImpl
from numpy.typing import NDArray

from riskscore.core import trees_jit
from riskscore.core.learned import (
    FEATURE_CLIP,
    JIT_MIN_ROWS,
    Calibration,
    LearnedModel,
    LearnedScorer,
    TreeEnsemble,
    feature_matrix,
    feature_vector,
)
from riskscore.core.levels import LevelThresholds
from riskscore.core.profile import History, ProfileSnapshot
from riskscore.core.result import RiskLevel
from riskscore.core.scorer import StatisticalScorer
from riskscore.learn.models import open_model
from riskscore.learn.train import Boosting, TrainedModel, fit_model
from riskscore.signals.registry import FEATURES
from tests.builders import make_obs

NAMES = tuple(FEATURES)
SNAP = ProfileSnapshot(user=History(logins=2), population=History(logins=10), users=4)
BOT: dict[str, Any] = {"ua": "python-requests/2.31", "device_type": "other"}


def _columns(rows: int, seed: int) -> dict[str, NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    # Rounded, so each column has < 255 distinct values: sklearn then bins by
    # midpoints instead of a slow weighted percentile per bin (class_weight).
    columns = {n: rng.normal(0.0, 2.0, rows).round(1) for n in NAMES}
    columns["bot_user_agent"] = (rng.random(rows) < 0.1).astype(np.float64)
    for name in NAMES[:8]:
        columns[name][rng.random(rows) < 0.15] = np.nan
    return columns


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    rows = 4000
    columns = _columns(rows, seed=5)
    rng = np.random.default_rng(6)
    noise = rng.random(rows)
    labels = (
        ((columns["bot_user_agent"] > 0) & (noise < 0.7))
        | ((columns["freeman_log_raw"] > 1.5) & (noise < 0.5))
        | (np.isnan(columns[NAMES[2]]) & (noise < 0.3))
        | (noise < 0.02)
    )
    return fit_model(
        pd.DataFrame(columns),
        labels,
        np.arange(rows, dtype=np.int64),
        feature_names=NAMES,
        seed=3,
        name="unit",
        progress=False,
        params=Boosting(max_iter=40, progress_steps=1, threads=1),
    )


def _probe(rows: int, seed: int) -> dict[str, NDArray[np.float64]]:
    """Seeded rows with NaN, +-inf and a column that is never present."""
    rng = np.random.default_rng(seed)
    columns = _columns(rows, seed)
    for name in NAMES[3:10]:
        column = columns[name]
        column[rng.random(rows) < 0.03] = np.inf
        column[rng.random(rows) < 0.03] = -np.inf
        column[rng.random(rows) < 0.1] = np.nan
    columns[NAMES[10]] = np.full(rows, np.nan)
    del columns[NAMES[11]]
    return columns


def test_model_covers_every_node_rule(trained: TrainedModel) -> None:
    e = trained.model.ensemble
    inner = ~e.leaf
    assert e.missing_left[inner].any()
    assert (~e.missing_left[inner]).any()
    assert np.isinf(e.threshold[inner]).any(), "no split of NaN from all values"
    assert e.depth >= 3
    assert e.roots.size == 40


def test_batch_matches_sklearn(trained: TrainedModel) -> None:
    matrix = feature_matrix(_probe(3000, seed=8), NAMES)
    assert np.isnan(matrix).any()
    assert (np.abs(matrix) == FEATURE_CLIP).any()
    hgb = trained.estimator.estimator.estimator
    raw = trained.model.ensemble.raw_predict(matrix)
    np.testing.assert_allclose(raw, hgb.decision_function(matrix), rtol=0, atol=1e-9)
    assert np.array_equal(raw, hgb.decision_function(matrix))
    expected = trained.estimator.predict_proba(matrix)[:, 1]
    probability = trained.model.probability(matrix)
    np.testing.assert_allclose(probability, expected, rtol=0, atol=1e-9)
    assert len(np.unique(probability)) > 10


def test_one_row_matches_sklearn(trained: TrainedModel) -> None:
    columns = _probe(400, seed=9)
    matrix = feature_matrix(columns, NAMES)
    hgb = trained.estimator.estimator.estimator
    raw = hgb.decision_function(matrix)
    expected = trained.estimator.predict_proba(matrix)[:, 1]
    for i in range(len(matrix)):
        # Odd rows leave NaN features out: absent and NaN are the same input.
        row = {n: float(v[i]) for n, v in columns.items() if i % 2 == 0 or not math.isnan(v[i])}
        assert trained.model.ensemble.raw_one(feature_vector(row, NAMES)[0]) == pytest.approx(
            raw[i], abs=1e-9
        )
        assert trained.model.probability_one(row) == pytest.approx(expected[i], abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64),
        min_size=len(NAMES),
        max_size=len(NAMES),
    )
)
def test_online_equals_batch(trained: TrainedModel, values: list[float]) -> None:
    row = dict(zip(NAMES, values, strict=True))
    batch = trained.model.probability(feature_matrix({n: [v] for n, v in row.items()}, NAMES))
    assert trained.model.probability_one(row) == batch[0]
    assert 0.0 <= batch[0] <= 1.0


def _stump(cut: float, nan_left: bool, **changes: Any) -> TreeEnsemble:
    """Tree 0: x0 <= threshold ? -1 : +1. Tree 1: one leaf 0.25. Tree 2: x1 splits twice."""
    spec: dict[str, Any] = {
        "n_features": 2,
        "feature": [0, 0, 0, 0, 1, 1, 0, 0, 0],
        "threshold": [cut, 0, 0, 0, 0.0, 1.0, 0, 0, 0],
        "left": [1, 1, 2, 3, 5, 6, 6, 7, 8],
        "right": [2, 1, 2, 3, 8, 7, 6, 7, 8],
        "missing_left": [nan_left, False, False, False, True, False, False, False, False],
        "leaf": [False, True, True, True, False, False, True, True, True],
        "value": [0, -1.0, 1.0, 0.25, 0, 0, 10.0, 20.0, 30.0],
        "roots": [0, 3, 4],
        "baseline": 0.5,
    }
    spec.update(changes)
    return TreeEnsemble(**spec)


@pytest.mark.parametrize(
    ("threshold", "missing_left", "x0", "tree0"),
    [
        (0.5, False, 0.5, -1.0),  # x <= threshold goes left
        (0.5, False, np.nextafter(0.5, 1), 1.0),
        (0.5, True, np.nan, -1.0),  # NaN follows missing_left
        (0.5, False, np.nan, 1.0),
        (np.inf, False, FEATURE_CLIP, -1.0),  # sklearn's NaN-versus-values split
        (np.inf, False, np.nan, 1.0),
        (np.inf, True, np.nan, -1.0),
    ],
)
def test_node_rules_by_hand(threshold: float, missing_left: bool, x0: float, tree0: float) -> None:
    e = _stump(threshold, missing_left)
    for x1, tree2 in ((np.nan, 20.0), (0.0, 10.0), (0.5, 30.0), (2.0, 30.0)):
        matrix = np.array([[x0, x1]])
        expected = 0.5 + tree0 + 0.25 + tree2
        assert e.raw_predict(matrix)[0] == expected
        assert e.raw_one(matrix[0]) == expected
    assert e.depth == 2


def test_batch_blocks_and_tree_order_agree_with_one_row() -> None:
    e = _stump(0.1, True)
    rng = np.random.default_rng(2)
    matrix = rng.normal(size=(1000, 2))
    matrix[rng.random(matrix.shape) < 0.2] = np.nan
    assert np.array_equal(e.raw_predict(matrix), [e.raw_one(r) for r in matrix])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"left": [0, 1, 2, 3, 5, 6, 6, 7, 8]}, "acyclic"),
        ({"roots": [0, 1, 4]}, "disjoint"),
        ({"right": [9, 1, 2, 3, 8, 7, 6, 7, 8]}, "outside"),
        ({"feature": [2, 0, 0, 0, 1, 1, 0, 0, 0]}, "split features"),
        ({"threshold": [np.nan, 0, 0, 0, 0.0, 1.0, 0, 0, 0]}, "NaN"),
        ({"value": [0, 1]}, "one length"),
        ({"baseline": math.inf}, "finite"),
        ({"roots": []}, "at least one tree"),
    ],
)
def test_malformed_ensembles_are_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _stump(0.0, False, **changes)


def test_calibration_interpolates_and_clips() -> None:
    c = Calibration(x=np.array([-1.0, 1.0]), y=np.array([0.2, 0.8]))
    assert c.apply(np.array([-5.0, -1.0, 0.0, 1.0, 5.0])).tolist() == [0.2, 0.2, 0.5, 0.8, 0.8]
    assert c.apply_one(0.5) == pytest.approx(0.65)
    for x, y in (([1.0, -1.0], [0.2, 0.8]), ([-1.0, 1.0], [0.8, 0.2]), ([0.0], [1.5])):
        with pytest.raises(ValueError, match="calibrat"):
            Calibration(x=np.array(x), y=np.array(y))


def test_feature_matrix_and_vector_share_the_rules() -> None:
    columns: dict[str, Any] = {"a": [1.0, math.inf, math.nan], "b": np.array([True, False, True])}
    columns["x"] = [0, 0, 0]
    matrix = feature_matrix(columns, ("a", "c", "b"))
    expected = [[1.0, math.nan, 1.0], [FEATURE_CLIP, math.nan, 0.0], [math.nan, math.nan, 1.0]]
    np.testing.assert_array_equal(matrix, expected)
    vector = feature_vector({"a": math.inf, "b": False}, ("a", "c", "b"))
    np.testing.assert_array_equal(vector, matrix[1:2])
    assert feature_vector({"a": -math.inf}, ("a",))[0, 0] == -FEATURE_CLIP
    with pytest.raises(ValueError, match="equal length"):
        feature_matrix({"a": [1.0], "b": [1.0, 2.0]}, ("a",))


def _bot_model(medium: float = 0.5, high: float = 0.9) -> LearnedModel:
    """P(attack) 0.95 for a bot User-Agent, else 0.05."""
    split = NAMES.index("bot_user_agent")
    ensemble = TreeEnsemble(
        n_features=len(NAMES),
        feature=np.array([split, 0, 0]),
        threshold=np.array([0.5, 0.0, 0.0]),
        left=np.array([1, 1, 2]),
        right=np.array([2, 1, 2]),
        missing_left=np.array([True, False, False]),
        leaf=np.array([False, True, True]),
        value=np.array([0.0, -3.0, 3.0]),
        roots=np.array([0]),
        baseline=0.0,
    )
    calibration = Calibration(x=np.array([-3.0, 3.0]), y=np.array([0.05, 0.95]))
    return LearnedModel(
        "bot", "learned/bot/0123456789ab", NAMES, ensemble, calibration, medium, high
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"feature_names": NAMES[:-1]}, "feature names"), ({"medium": 0.9}, "medium < high")],
)
def test_learned_model_validates(changes: dict[str, Any], message: str) -> None:
    m = _bot_model()
    fields: dict[str, Any] = {"name": m.name, "version": m.version, "feature_names": NAMES}
    fields |= {"ensemble": m.ensemble, "calibration": m.calibration, "medium": 0.5, "high": 0.9}
    with pytest.raises(ValueError, match=message):
        LearnedModel(**(fields | changes))


# The statistical scorer here calls everything HIGH, so its RISK_THRESHOLD reason is present.
LOUD = StatisticalScorer(thresholds=LevelThresholds(midpoint=1e-9, medium=0.5, high=0.9))


@pytest.mark.parametrize(
    ("obs_changes", "level", "score"),
    [({}, RiskLevel.LOW, 0.05), (BOT, RiskLevel.HIGH, 0.95)],
)
def test_learned_scorer_levels_and_reasons(
    obs_changes: dict[str, Any], level: RiskLevel, score: float
) -> None:
    obs = make_obs(**obs_changes)
    base = LOUD.assess(obs, SNAP)
    assert base.risk_level is RiskLevel.HIGH
    assessment = LearnedScorer(_bot_model(), LOUD).assess(obs, SNAP)
    assert assessment.risk_score == pytest.approx(score)
    assert assessment.risk_level is level
    assert assessment.model_version == "learned/bot/0123456789ab"
    assert assessment.raw_risk == base.raw_risk
    assert assessment.features == base.features
    kept = [r for r in base.reasons if r.code != "RISK_THRESHOLD"]
    assert list(assessment.reasons[: len(kept)]) == kept
    crossed = [r for r in assessment.reasons if r.code == "RISK_THRESHOLD"]
    if level is RiskLevel.LOW:
        assert crossed == []
        assert len(assessment.reasons) == len(kept)
    else:
        assert len(crossed) == 1
        assert crossed[0].evidence["threshold"] == "high"
        assert crossed[0].evidence["value"] == "0.9"


def test_learned_scorer_medium_uses_the_models_cut() -> None:
    assessment = LearnedScorer(_bot_model(medium=0.9, high=0.99)).assess(make_obs(**BOT), SNAP)
    assert assessment.risk_level is RiskLevel.MEDIUM
    (crossed,) = [r for r in assessment.reasons if r.code == "RISK_THRESHOLD"]
    assert crossed.evidence["threshold"] == "medium"
    assert crossed.evidence["value"] == "0.9"


@pytest.mark.parametrize("obs_changes", [{}, BOT, {"country": "", "asn": "AS0"}])
def test_learned_scorer_on_a_fitted_model(
    trained: TrainedModel, obs_changes: dict[str, Any]
) -> None:
    scorer = LearnedScorer(trained.model)
    assert scorer.model_version == trained.model.version
    assessment = scorer.assess(make_obs(**obs_changes), SNAP)
    assert assessment.risk_score == trained.model.probability_one(assessment.features)
    assert assessment.risk_level is trained.model.levels.level(assessment.risk_score)
    has_reason = any(r.code == "RISK_THRESHOLD" for r in assessment.reasons)
    assert has_reason is (assessment.risk_level is not RiskLevel.LOW)


def _random_ensemble(seed: int, trees: int = 60, features: int = 5) -> TreeEnsemble:
    """Random trees up to 12 levels: single leaves, +inf cuts, NaN both ways."""
    rng = np.random.default_rng(seed)
    nodes: dict[str, list[Any]] = {k: [] for k in ("feature", "threshold", "left", "right")}
    nodes |= {"missing_left": [], "leaf": [], "value": []}

    def grow(level: int) -> int:
        index = len(nodes["leaf"])
        is_leaf = level == 12 or rng.random() < 0.15 + 0.05 * level
        nodes["leaf"].append(is_leaf)
        nodes["feature"].append(int(rng.integers(features)))
        nodes["threshold"].append(np.inf if rng.random() < 0.1 else float(rng.normal()))
        nodes["missing_left"].append(bool(rng.random() < 0.5))
        nodes["value"].append(float(rng.normal()))
        nodes["left"].append(index)
        nodes["right"].append(index)
        if not is_leaf:
            nodes["left"][index] = grow(level + 1)
            nodes["right"][index] = grow(level + 1)
        return index

    roots = np.array([grow(12)] + [grow(0) for _ in range(trees - 1)])
    arrays: dict[str, Any] = {name: np.array(values) for name, values in nodes.items()}
    return TreeEnsemble(n_features=features, roots=roots, baseline=-1.5, **arrays)


def _awkward(rows: int, features: int, seed: int, cuts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows with NaN, +-inf, -0.0 and values equal to split thresholds."""
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(rows, features))
    special = np.array([np.nan, np.inf, -np.inf, -0.0, *cuts[np.isfinite(cuts)][:20]])
    mask = rng.random(matrix.shape) < 0.3
    matrix[mask] = rng.choice(special, size=int(mask.sum()))
    return matrix


def _both_walks(e: TreeEnsemble, matrix: NDArray[np.float64]) -> tuple[Any, Any]:
    """The numba kernel's and the numpy block walk's raw scores, whatever the size."""
    return e._walk.compiled(matrix), e._walk.blocks(matrix)


SIZES = [0, 1, 63, 65, JIT_MIN_ROWS - 1, JIT_MIN_ROWS, 5003]


@pytest.mark.parametrize("rows", SIZES)
def test_jit_walk_equals_numpy_walk_on_random_trees(rows: int) -> None:
    e = _random_ensemble(seed=rows)
    assert e.depth == 12
    assert (e._walk.depth == 0).any()
    matrix = _awkward(rows, e.n_features, seed=rows + 1, cuts=e.threshold[~e.leaf])
    jit, numpy = _both_walks(e, matrix)
    assert jit.shape == numpy.shape == (rows,)
    assert np.array_equal(jit, numpy)
    assert np.array_equal(e.raw_predict(matrix), numpy)
    if rows:
        assert jit[0] == e.raw_one(matrix[0])


@pytest.fixture(scope="module")
def shipped() -> LearnedModel:
    model = open_model("default")
    assert isinstance(model, LearnedModel)
    return model


@pytest.mark.parametrize("rows", SIZES)
def test_jit_walk_equals_numpy_walk_on_the_shipped_model(shipped: LearnedModel, rows: int) -> None:
    e = shipped.ensemble
    assert len(shipped.feature_names) == e.n_features
    matrix = _awkward(rows, e.n_features, seed=rows, cuts=e.threshold[~e.leaf])
    matrix *= np.random.default_rng(rows).choice([1.0, 10.0, 1000.0], size=e.n_features)
    jit, numpy = _both_walks(e, matrix)
    assert np.array_equal(jit, numpy)
    assert np.array_equal(e.raw_predict(matrix), numpy)
    assert len(np.unique(jit)) >= min(rows, 100) // 2


def test_jit_walk_takes_any_layout(shipped: LearnedModel) -> None:
    e = shipped.ensemble
    matrix = _awkward(3000, e.n_features, seed=4, cuts=e.threshold[~e.leaf])
    frozen = matrix.copy()
    frozen.flags.writeable = False
    wide = np.concatenate((matrix, matrix), axis=1)[:, : e.n_features]
    for variant in (np.asfortranarray(matrix), frozen, wide, matrix[::-1]):
        assert not variant.flags.c_contiguous or not variant.flags.writeable
        assert np.array_equal(e.raw_predict(variant), e._walk.blocks(variant))
    with pytest.raises(ValueError, match="narrower"):
        trees_jit.walk(
            matrix[:, :3],
            column=e._walk.column,
            cut=e._walk.cut,
            first=e._walk.first,
            value=e._walk.leaf_value,
            start=e._walk.start,
            depth=e._walk.depth,
        )


def test_jit_compiles_without_a_cache_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    # What numba does when neither __pycache__ nor its user-wide cache is writable.
    monkeypatch.setattr(CompileResultCacheImpl, "_locator_classes", [])
    e = _random_ensemble(seed=1, trees=8)
    matrix = _awkward(300, e.n_features, seed=2, cuts=e.threshold[~e.leaf])
    w = e._walk
    with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):
        kernel = trees_jit.compiled()
    raw = kernel(matrix, w.column, w.cut, w.first, w.leaf_value, w.start, w.depth, 64)
    assert np.array_equal(raw, w.blocks(matrix))


def test_only_large_matrices_import_numba() -> None:
    code = (
        "import sys, numpy as np\n"
        "import riskscore.core.learned\n"
        "assert 'numba' not in sys.modules, 'numba imported with learned'\n"
        "from riskscore.core.learned import JIT_MIN_ROWS\n"
        "from riskscore.learn.models import open_model\n"
        "m = open_model('default')\n"
        "m.probability_one({})\n"
        "m.probability(np.zeros((JIT_MIN_ROWS - 1, len(m.feature_names))))\n"
        "assert 'numba' not in sys.modules, 'numba imported online or below the threshold'\n"
        "m.probability(np.zeros((JIT_MIN_ROWS, len(m.feature_names))))\n"
        "assert 'numba' in sys.modules, 'no numba walk from the threshold'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
