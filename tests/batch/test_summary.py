"""The batch summary's AUC: scikit-learn's number without importing scikit-learn."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from riskscore.batch.score import rank_auc


@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.1, 0.5, 0.5, 0.9, 1.0]), st.booleans()),
        min_size=2,
        max_size=60,
    )
)
@settings(max_examples=200, deadline=None)
def test_rank_auc_equals_roc_auc_score_with_ties(pairs: list[tuple[float, bool]]) -> None:
    scores = np.array([s for s, _ in pairs])
    labels = np.array([y for _, y in pairs])
    if labels.all() or not labels.any():
        return
    assert rank_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_rank_auc_on_a_large_random_log() -> None:
    rng = np.random.default_rng(7)
    labels = rng.random(200_000) < 0.05
    scores = np.round(rng.random(200_000) + labels * 0.3, 3)
    assert rank_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_perfect_and_inverted_rankings() -> None:
    labels = np.array([False, False, True, True])
    assert rank_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert rank_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    assert rank_auc(np.array([0.5, 0.5, 0.5, 0.5]), labels) == 0.5


def test_batch_scoring_does_not_import_scikit_learn() -> None:
    code = "import riskscore.batch.score, sys; print('sklearn' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
