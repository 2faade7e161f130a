"""Model artifacts: round trip, integrity before loading, and no pickle anywhere."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from riskscore.core.learned import (
    Calibration,
    LearnedModel,
    StatisticalModel,
    TreeEnsemble,
    feature_matrix,
)
from riskscore.core.levels import LevelThresholds
from riskscore.errors import ModelError
from riskscore.learn import artifact
from riskscore.learn.artifact import CardFacts, load_model, model_arrays, save_model, stamp

NAMES = ("freeman_log_raw", "bot_user_agent", "ip_failures_window")
CARD: CardFacts = {
    "created": "2026-11-27",
    "data": {"rows": 1000},
    "hyperparameters": {"max_iter": 2},
    "metrics": {"auc": 0.9},
    "challenge_budget": [0.02, 0.002],
}


def _model() -> LearnedModel:
    """Two trees: a stump on feature 1 and a two-level tree on features 0 and 2."""
    ensemble = TreeEnsemble(
        n_features=3,
        feature=np.array([1, 0, 0, 0, 2, 0, 0, 0]),
        threshold=np.array([0.5, 0, 0, -1.25, np.inf, 0, 0, 0]),
        left=np.array([1, 1, 2, 4, 5, 5, 6, 7]),
        right=np.array([2, 1, 2, 7, 6, 5, 6, 7]),
        missing_left=np.array([True, False, False, False, False, False, False, False]),
        leaf=np.array([False, True, True, False, False, True, True, True]),
        value=np.array([0, -1.5, 2.0, 0, 0, -0.25, 0.75, 0.5]),
        roots=np.array([0, 3]),
        baseline=-2.0,
    )
    calibration = Calibration(x=np.array([-3.75, -1.0, 1.0]), y=np.array([0.01, 0.2, 0.9]))
    return stamp(LearnedModel("unit", "", NAMES, ensemble, calibration, medium=0.3, high=0.8))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    save_model(_model(), tmp_path / "m", CARD)
    return tmp_path / "m"


def _card(directory: Path) -> dict[str, Any]:
    card: dict[str, Any] = json.loads((directory / "model.json").read_text())
    return card


def _reseal(directory: Path, card: dict[str, Any] | None = None) -> None:
    """Rewrite model.json so its hash and version name model.npz as it now is."""
    card = card or _card(directory)
    digest = hashlib.sha256((directory / "model.npz").read_bytes()).hexdigest()
    card["sha256"] = digest
    card["version"] = f"{card['kind']}/{card['name']}/{digest[:12]}"
    (directory / "model.json").write_text(json.dumps(card))


def test_round_trip(saved: Path) -> None:
    model, loaded = _model(), load_model(saved)
    assert isinstance(loaded, LearnedModel)
    assert loaded.version == model.version
    assert loaded.version.startswith("learned/unit/")
    assert (loaded.name, loaded.feature_names) == ("unit", NAMES)
    assert (loaded.medium, loaded.high) == (0.3, 0.8)
    original, again = model_arrays(model), model_arrays(loaded)
    assert original.keys() == again.keys()
    for key, array in original.items():
        assert again[key].dtype == array.dtype
        np.testing.assert_array_equal(again[key], array, err_msg=key)
    rng = np.random.default_rng(1)
    matrix = feature_matrix({n: rng.normal(size=200) for n in NAMES}, NAMES)
    matrix[rng.random(matrix.shape) < 0.2] = np.nan
    assert np.array_equal(loaded.probability(matrix), model.probability(matrix))


def test_card_and_readme(saved: Path) -> None:
    card = _card(saved)
    assert card["kind"] == "learned"
    assert card["features"] == list(NAMES)
    assert card["created"] == "2026-11-27"
    assert card["metrics"] == {"auc": 0.9}
    assert card["thresholds"] == {"medium": 0.3, "high": 0.8, "challenge_budget": [0.02, 0.002]}
    assert card["sha256"] == hashlib.sha256((saved / "model.npz").read_bytes()).hexdigest()
    assert set(card["software"]) == {"scikit-learn", "numpy", "riskscore"}
    readme = (saved / "README.md").read_text()
    for text in (card["version"], card["sha256"], "`bot_user_agent`", "| auc | 0.9 |"):
        assert text in readme
    assert sorted(p.name for p in saved.iterdir()) == ["README.md", "model.json", "model.npz"]


def test_saving_twice_writes_the_same_bytes(saved: Path, tmp_path: Path) -> None:
    save_model(load_model(saved), tmp_path / "again", CARD)
    for name in ("model.npz", "model.json", "README.md"):
        assert (tmp_path / "again" / name).read_bytes() == (saved / name).read_bytes()


def test_npz_holds_plain_arrays_only(saved: Path) -> None:
    with np.load(saved / "model.npz", allow_pickle=False) as archive:
        assert all(archive[k].dtype != object for k in archive.files)
    with pytest.raises(ValueError, match="allow_pickle"):
        artifact.npz_bytes({"x": np.array([{}], dtype=object)})


def test_flipped_byte_fails_before_np_load(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = bytearray((saved / "model.npz").read_bytes())
    payload[len(payload) // 2] ^= 0x01
    (saved / "model.npz").write_bytes(bytes(payload))

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("np.load ran before the hash check")

    monkeypatch.setattr(np, "load", forbidden)
    with pytest.raises(ModelError, match=r"model\.npz: SHA-256") as caught:
        load_model(saved)
    assert caught.value.code == "model_error"


@pytest.mark.parametrize(
    "features",
    [
        ["freeman_log_raw", "ip_failures_window", "bot_user_agent"],
        ["freeman_log_raw", "bot_user_agent"],
        [*NAMES, "extra"],
    ],
)
def test_card_feature_list_must_match_the_arrays(saved: Path, features: list[str]) -> None:
    card = _card(saved)
    card["features"] = features
    (saved / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"model\.json: the feature list disagrees"):
        load_model(saved)


def test_card_thresholds_must_match_the_arrays(saved: Path) -> None:
    card = _card(saved)
    card["thresholds"]["high"] = 0.9
    (saved / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"model\.json: thresholds disagree"):
        load_model(saved)


def test_pickled_arrays_are_never_unpickled(saved: Path) -> None:
    arrays: dict[str, Any] = dict(model_arrays(_model()))
    arrays["value"] = np.array([{"boom": 1}] * 8, dtype=object)
    np.savez(saved / "model.npz", **arrays)  # np.savez pickles object arrays
    _reseal(saved)
    with pytest.raises(ModelError, match=r"model\.npz: not a readable \.npz of plain arrays"):
        load_model(saved)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(feature=a["feature"].astype(np.float64)), "array 'feature' is <f8"),
        (lambda a: a.pop("roots"), "expected"),
        (lambda a: a.update(extra=np.zeros(1)), "expected"),
        (lambda a: a.update(left=np.full(8, 99)), "outside"),
        (lambda a: a.update(calibration_y=a["calibration_y"][::-1].copy()), "calibration"),
    ],
)
def test_wrong_arrays_are_named(saved: Path, change: Any, message: str) -> None:
    arrays = dict(model_arrays(_model()))
    change(arrays)
    (saved / "model.npz").write_bytes(artifact.npz_bytes(arrays))
    _reseal(saved)
    with pytest.raises(ModelError, match=rf"model\.npz: .*{message}"):
        load_model(saved)


@pytest.mark.parametrize(
    ("damage", "file", "message"),
    [
        (lambda d: (d / "model.json").unlink(), "model.json", "cannot read"),
        (lambda d: (d / "model.npz").unlink(), "model.npz", "cannot read"),
        (lambda d: (d / "model.json").write_text("{"), "model.json", "not valid JSON"),
        (lambda d: (d / "model.json").write_text("[]"), "model.json", "not a JSON object"),
    ],
)
def test_missing_or_unreadable_files_are_named(
    saved: Path, damage: Any, file: str, message: str
) -> None:
    damage(saved)
    with pytest.raises(ModelError, match=rf"{file}: {message}"):
        load_model(saved)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("version", "learned/unit/000000000000", "does not name this model"),
        ("kind", "forest", "unsupported"),
        ("sha256", 7, "'sha256' is missing"),
        ("features", [1, 2, 3], "list of names"),
    ],
)
def test_bad_card_fields_are_named(saved: Path, key: str, value: object, message: str) -> None:
    card = _card(saved)
    card[key] = value
    (saved / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=rf"model\.json: .*{message}"):
        load_model(saved)


def test_statistical_card_round_trip(tmp_path: Path) -> None:
    model = stamp(StatisticalModel("stat", "", LevelThresholds(7.0, 0.41, 0.9)))
    save_model(model, tmp_path, {"created": "2026-11-27"})
    loaded = load_model(tmp_path)
    assert loaded == model
    assert loaded.version.startswith("statistical/stat/")
    assert _card(tmp_path)["features"] == []
    card = _card(tmp_path)
    card["thresholds"]["medium"] = 0.5
    (tmp_path / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="thresholds disagree"):
        load_model(tmp_path)


def test_save_fills_an_empty_version_and_rejects_a_wrong_one(tmp_path: Path) -> None:
    unstamped = StatisticalModel("stat", "", LevelThresholds())
    save_model(unstamped, tmp_path / "a", {"created": "2026-11-27"})
    assert load_model(tmp_path / "a").version == stamp(unstamped).version
    with pytest.raises(ValueError, match="not its content"):
        save_model(StatisticalModel("stat", "x/y/z", LevelThresholds()), tmp_path / "b", CARD)
    with pytest.raises(ValueError, match="model name"):
        save_model(StatisticalModel("../up", "", LevelThresholds()), tmp_path / "c", CARD)
