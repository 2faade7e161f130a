"""The learned model at serving time: boosted trees plus isotonic calibration, in numpy.

A fitted scikit-learn ``HistGradientBoostingClassifier`` (binary, numeric
features) is exported by riskscore/learn/train.py into flat node arrays; this
module evaluates them with the predictor's own rule (sklearn
``ensemble/_hist_gradient_boosting/_predictor.pyx``): NaN follows
``missing_go_to_left``, else ``x <= num_threshold`` goes left. The raw score
is the baseline plus every tree's leaf, added in tree order as sklearn adds
them, so it matches ``decision_function`` bit for bit. The probability is
the isotonic map of that raw score, which is what
``CalibratedClassifierCV(FrozenEstimator(hgb), method="isotonic")`` fits
(sklearn 1.9 ``calibration.py``: it calibrates ``decision_function`` and
sets P(positive) to the calibrator's output). No sklearn import here: the
serving path needs numpy only.

Two walks compute the same raw scores, bit for bit. ``raw_one`` and matrices
under ``JIT_MIN_ROWS`` rows take the numpy walk (``_Walk.one`` and
``_Walk.block``: every tree one level per step, 256-row blocks). Larger
matrices take the numba kernel of core/trees_jit.py (``_Walk.compiled``),
about 9x faster on two cores (bench_model.py); it is imported on the first
such call, so the online service never loads numba.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from riskscore.core.features import Observation
from riskscore.core.levels import LevelThresholds
from riskscore.core.profile import ProfileSnapshot
from riskscore.core.result import Assessment
from riskscore.core.scorer import StatisticalScorer, threshold_reason

# sklearn rejects infinite inputs; a clipped value still lands past every
# learned threshold (they are midpoints between observed finite values).
FEATURE_CLIP: Final = 1e9
# Rows per batch block: the block's (trees x rows) walk arrays stay in cache
# (256 was fastest of 32..8192 for 200 trees of 31 leaves, bench_model.py).
_BLOCK_ROWS: Final = 256
# Matrices of this many rows or more go to the numba kernel (trees_jit.py).
# Warm, it wins from ~64 rows and is ~7x faster at 2,048 on two cores; the
# first call in a process also pays ~0.6 s to import numba and load the
# kernel, which smaller calls (one-row checks, tests) are spared.
JIT_MIN_ROWS: Final = 2048

G = TypeVar("G", bound=np.generic)
Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


def _frozen(values: object, dtype: type[G]) -> NDArray[G]:
    array = np.array(values, dtype=dtype, copy=True)
    array.flags.writeable = False
    return array


# eq=False: fields are numpy arrays, whose == is elementwise.
@dataclass(frozen=True, slots=True, eq=False)
class TreeEnsemble:
    """All trees of a binary gradient-boosting model as flat node arrays.

    Node arrays are indexed by absolute node number across all trees;
    ``roots`` holds each tree's first node, in boosting order. A leaf's
    ``left``/``right`` are ignored (the walk keeps it in place).
    """

    n_features: int
    feature: Ints
    threshold: Floats
    left: Ints
    right: Ints
    missing_left: NDArray[np.bool_]
    leaf: NDArray[np.bool_]
    value: Floats
    roots: Ints
    baseline: float
    _walk: _Walk = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name, dtype in _NODE_DTYPES.items():
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype))
        object.__setattr__(self, "roots", _frozen(self.roots, np.intp))
        nodes = self.feature.shape[0]
        if any(getattr(self, n).shape != (nodes,) for n in _NODE_DTYPES):
            raise ValueError("node arrays must be one-dimensional and of one length")
        if self.roots.ndim != 1 or not self.roots.size or not nodes:
            raise ValueError("an ensemble needs at least one tree")
        if not math.isfinite(self.baseline) or not np.isfinite(self.value).all():
            raise ValueError("baseline and leaf values must be finite")
        inner = ~self.leaf
        if self.n_features < 1 or not (
            ((self.feature[inner] >= 0) & (self.feature[inner] < self.n_features)).all()
        ):
            raise ValueError(f"split features must lie in [0, {self.n_features})")
        if np.isnan(self.threshold[inner]).any():
            raise ValueError("split thresholds must not be NaN")
        for name in ("left", "right", "roots"):
            index = getattr(self, name)
            if ((index < 0) | (index >= nodes)).any():
                raise ValueError(f"{name} holds a node index outside [0, {nodes})")
        object.__setattr__(self, "_walk", _Walk.of(self))

    @property
    def depth(self) -> int:
        """Levels of the deepest tree (0 when every tree is a single leaf)."""
        return len(self._walk.active)

    def raw_predict(self, matrix: Floats) -> Floats:
        """The decision function (log-odds) of each row of a feature matrix."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features:
            raise ValueError(f"expected an (n, {self.n_features}) matrix, got {matrix.shape}")
        if matrix.shape[0] >= JIT_MIN_ROWS:
            return self._walk.compiled(matrix)
        return self._walk.blocks(matrix)

    def raw_one(self, row: Floats) -> float:
        """The decision function of one row (a 1-d vector of ``n_features``)."""
        return self._walk.one(np.asarray(row, dtype=np.float64))


@dataclass(frozen=True, slots=True, eq=False)
class _Walk:
    """Tables for walking every tree at once, one level per step.

    Nodes are renumbered breadth first with each node's two children
    adjacent, so a step is ``node = first[node] + (x > cut[node])``. ``x``
    is read from the doubled row: the row with NaN as +inf, then the row with
    NaN as -inf (``column`` points into the second half for nodes that send
    NaN left). A +inf threshold (sklearn's split of NaN from all values)
    becomes the largest double, so NaN read as +inf still goes right. A leaf
    is its own first child with a +inf cut, so it never moves.
    """

    n_features: int
    column: Ints
    cut: Floats
    first: Ints
    # Leaf values with the baseline folded into tree 0's: sklearn starts
    # from the baseline and adds the trees in order.
    leaf_value: Floats
    start: Ints
    # Steps (levels) of each tree, in boosting order: the compiled walk's loop bound.
    depth: Ints
    # Batch walks keep trees deepest first so that step k touches only the
    # first active[k] trees; restore puts them back in boosting order.
    deep_start: Ints
    active: tuple[int, ...]
    restore: Ints

    @classmethod
    def of(cls, e: TreeEnsemble) -> _Walk:
        """The walk tables of an ensemble; raises ValueError for malformed links."""
        old, tree, level = _breadth_first(e.roots, e.left, e.right, e.leaf)
        new = np.zeros(e.leaf.size, dtype=np.intp)
        new[old] = np.arange(old.size)
        leaf = e.leaf[old]
        here = np.arange(old.size, dtype=np.intp)
        threshold = e.threshold[old]
        cut = np.where(threshold == np.inf, np.finfo(np.float64).max, threshold)
        column = e.feature[old] + e.n_features * e.missing_left[old]
        value = np.where(tree == 0, e.baseline + e.value[old], e.value[old])
        depth = np.zeros(e.roots.size, dtype=np.intp)
        np.maximum.at(depth, tree, level)
        deep = np.argsort(-depth, kind="stable")
        return cls(
            n_features=e.n_features,
            column=_frozen(np.where(leaf, 0, column), np.intp),
            cut=_frozen(np.where(leaf, np.inf, cut), np.float64),
            first=_frozen(np.where(leaf, here, new[e.left[old]]), np.intp),
            leaf_value=_frozen(value, np.float64),
            start=_frozen(new[e.roots], np.intp),
            depth=_frozen(depth, np.intp),
            deep_start=_frozen(new[e.roots[deep]], np.intp),
            active=tuple(int((depth > k).sum()) for k in range(int(depth.max()))),
            restore=_frozen(np.argsort(deep), np.intp),
        )

    def one(self, row: Floats) -> float:
        """The raw score of one row."""
        # fmin/fmax read NaN as +inf / -inf: the two halves of the doubled row.
        doubled = np.concatenate((np.fmin(row, np.inf), np.fmax(row, -np.inf)))
        # One row: deciding every node at once beats gathering per level.
        step = self.first + (doubled[self.column] > self.cut)
        state = self.start
        for _ in self.active:
            state = step[state]
        # cumsum adds left to right, tree by tree, as sklearn does.
        return float(np.cumsum(self.leaf_value[state])[-1])

    def compiled(self, matrix: Floats) -> Floats:
        """The raw scores of any number of rows, by the numba kernel (all cores)."""
        # Imported here: numba costs 0.2 s to import and 0.4 s to load the
        # kernel, which the one-row service path must never pay.
        from riskscore.core import trees_jit

        return trees_jit.walk(
            matrix,
            column=self.column,
            cut=self.cut,
            first=self.first,
            value=self.leaf_value,
            start=self.start,
            depth=self.depth,
        )

    def blocks(self, matrix: Floats) -> Floats:
        """The raw scores of any number of rows, by numpy, block by block."""
        out = np.empty(matrix.shape[0], dtype=np.float64)
        for begin in range(0, matrix.shape[0], _BLOCK_ROWS):
            out[begin : begin + _BLOCK_ROWS] = self.block(matrix[begin : begin + _BLOCK_ROWS])
        return out

    def block(self, matrix: Floats) -> Floats:
        """The raw scores of a block of rows."""
        rows = matrix.shape[0]
        doubled = np.concatenate((np.fmin(matrix, np.inf), np.fmax(matrix, -np.inf)), axis=1)
        doubled = doubled.ravel()
        offset = np.arange(rows, dtype=np.intp) * (2 * self.n_features)
        # (trees, rows): the trees still walking at a step are a leading slice.
        state = np.repeat(self.deep_start[:, np.newaxis], rows, axis=1)
        column, cut, first = self.column, self.cut, self.first
        for trees in self.active:
            s = state[:trees]
            state[:trees] = first[s] + (doubled[offset + column[s]] > cut[s])
        result: Floats = np.cumsum(self.leaf_value[state][self.restore], axis=0)[-1]
        return result


_NODE_DTYPES: Final[dict[str, type[np.generic]]] = {
    "feature": np.intp,
    "threshold": np.float64,
    "left": np.intp,
    "right": np.intp,
    "missing_left": np.bool_,
    "leaf": np.bool_,
    "value": np.float64,
}


def _breadth_first(
    roots: Ints, left: Ints, right: Ints, leaf: NDArray[np.bool_]
) -> tuple[Ints, Ints, Ints]:
    """Reachable nodes breadth first, children in adjacent pairs; their tree and level."""
    seen = np.zeros(leaf.size, dtype=np.bool_)
    frontier, trees = roots, np.arange(roots.size, dtype=np.intp)
    order: list[Ints] = []
    tree: list[Ints] = []
    level: list[Ints] = []
    while frontier.size:
        if seen[frontier].any() or np.unique(frontier).size != frontier.size:
            raise ValueError("trees must be disjoint and acyclic")
        seen[frontier] = True
        order.append(frontier)
        tree.append(trees)
        level.append(np.full(frontier.size, len(level), dtype=np.intp))
        inner = ~leaf[frontier]
        frontier = np.stack((left[frontier[inner]], right[frontier[inner]]), axis=1).ravel()
        trees = np.repeat(trees[inner], 2)
    return np.concatenate(order), np.concatenate(tree), np.concatenate(level)


@dataclass(frozen=True, slots=True, eq=False)
class Calibration:
    """Isotonic map from the raw score to a probability, clipped at both ends."""

    x: Floats
    y: Floats

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _frozen(self.x, np.float64))
        object.__setattr__(self, "y", _frozen(self.y, np.float64))
        if self.x.ndim != 1 or self.x.shape != self.y.shape or not self.x.size:
            raise ValueError("calibration needs equal, non-empty 1-d x and y")
        if not (np.isfinite(self.x).all() and np.isfinite(self.y).all()):
            raise ValueError("calibration points must be finite")
        if (np.diff(self.x) <= 0).any() or (np.diff(self.y) < 0).any():
            raise ValueError("calibration x must increase strictly and y must not decrease")
        if self.y[0] < 0.0 or self.y[-1] > 1.0:
            raise ValueError("calibrated probabilities must lie in [0, 1]")

    def apply(self, raw: Floats) -> Floats:
        """Probabilities for raw scores (np.interp holds the end values outside x)."""
        return np.interp(raw, self.x, self.y)

    def apply_one(self, raw: float) -> float:
        """The probability for one raw score."""
        return float(np.interp(raw, self.x, self.y))


def feature_matrix(
    columns: Mapping[str, NDArray[np.generic] | Sequence[float]], names: Sequence[str]
) -> Floats:
    """Model input (n, k) from named columns: absent names are NaN, +-inf clipped."""
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError("columns must be non-empty and of equal length")
    rows = lengths.pop()
    matrix = np.full((rows, len(names)), np.nan, dtype=np.float64)
    for j, name in enumerate(names):
        if name in columns:
            matrix[:, j] = columns[name]
    return np.clip(matrix, -FEATURE_CLIP, FEATURE_CLIP, out=matrix)


def feature_vector(features: Mapping[str, float], names: Sequence[str]) -> Floats:
    """Model input (1, k) for one attempt, by the same rules as :func:`feature_matrix`."""
    row = np.array([features.get(name, math.nan) for name in names], dtype=np.float64)
    return np.clip(row, -FEATURE_CLIP, FEATURE_CLIP, out=row).reshape(1, -1)


@dataclass(frozen=True, slots=True, eq=False)
class LearnedModel:
    """A trained, calibrated model: its features, trees, calibration and level cut-offs."""

    name: str
    version: str
    feature_names: tuple[str, ...]
    ensemble: TreeEnsemble
    calibration: Calibration
    medium: float
    high: float
    levels: LevelThresholds = field(init=False)

    def __post_init__(self) -> None:
        if len(self.feature_names) != self.ensemble.n_features:
            raise ValueError(
                f"{len(self.feature_names)} feature names for a model of "
                f"{self.ensemble.n_features} features"
            )
        if len(set(self.feature_names)) != len(self.feature_names):
            raise ValueError("feature names repeat")
        if not 0.0 < self.medium < self.high <= 1.0:
            raise ValueError(f"need 0 < medium < high <= 1, got {self.medium}, {self.high}")
        object.__setattr__(self, "levels", LevelThresholds(medium=self.medium, high=self.high))

    def probability(self, matrix: Floats) -> Floats:
        """P(attack) for each row of a :func:`feature_matrix`."""
        return self.calibration.apply(self.ensemble.raw_predict(matrix))

    def probability_one(self, features: Mapping[str, float]) -> float:
        """P(attack) for one attempt's named features."""
        row = feature_vector(features, self.feature_names)[0]
        return self.calibration.apply_one(self.ensemble.raw_one(row))


@dataclass(frozen=True, slots=True)
class StatisticalModel:
    """A model card without trees: level cut-offs calibrated for the statistical score."""

    name: str
    version: str
    thresholds: LevelThresholds


@dataclass(frozen=True, slots=True)
class LearnedScorer:
    """The statistical scorer's features, scored by a learned model (issue #6)."""

    model: LearnedModel
    statistical: StatisticalScorer = field(default_factory=StatisticalScorer)

    @property
    def model_version(self) -> str:
        """The learned model's version string."""
        return self.model.version

    def assess(self, obs: Observation, snapshot: ProfileSnapshot) -> Assessment:
        """Score one observation with the learned model over the statistical features."""
        base = self.statistical.assess(obs, snapshot)
        risk = self.model.probability_one(base.features)
        level = self.model.levels.level(risk)
        # The statistical RISK_THRESHOLD reason names a score this scorer did not give.
        reasons = [r for r in base.reasons if r.code != "RISK_THRESHOLD"]
        if (crossed := threshold_reason(risk, level, self.model.levels)) is not None:
            reasons.append(crossed)
        return Assessment(
            risk_score=risk,
            risk_level=level,
            reasons=tuple(reasons),
            model_version=self.model.version,
            raw_risk=base.raw_risk,
            features=base.features,
        )
