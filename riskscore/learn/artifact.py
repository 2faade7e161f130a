"""A model on disk: numeric arrays, a JSON model card and its README.

``model.npz`` holds numbers only and is loaded with ``allow_pickle=False``
after its SHA-256 matches the one in ``model.json``, so a model file can
neither run code nor be swapped under its card. The version names the bytes:
``{kind}/{name}/{sha256[:12]}``. The archive is written with fixed member
timestamps (np.savez stamps the wall clock), so one model always has one hash.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Literal, NotRequired, TypedDict, TypeVar

import numpy as np
from numpy.typing import NDArray

from riskscore.core.learned import Calibration, LearnedModel, StatisticalModel, TreeEnsemble
from riskscore.core.levels import LevelThresholds
from riskscore.durable import fsync_dir, replace_file
from riskscore.errors import ConfigError, ModelError

FORMAT: Final = 1
ARRAYS: Final = "model.npz"
CARD: Final = "model.json"
README: Final = "README.md"
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)

Model = LearnedModel | StatisticalModel
Kind = Literal["learned", "statistical"]
M = TypeVar("M", LearnedModel, StatisticalModel)

# name -> (dtype, ndim) of every array a kind's npz holds.
_LEARNED: Final[dict[str, tuple[str, int]]] = {
    "n_features": ("<i8", 0),
    "features_sha256": ("|u1", 1),
    "feature": ("<i8", 1),
    "threshold": ("<f8", 1),
    "left": ("<i8", 1),
    "right": ("<i8", 1),
    "missing_left": ("|b1", 1),
    "leaf": ("|b1", 1),
    "value": ("<f8", 1),
    "roots": ("<i8", 1),
    "baseline": ("<f8", 0),
    "calibration_x": ("<f8", 1),
    "calibration_y": ("<f8", 1),
    "levels": ("<f8", 1),
}
_STATISTICAL: Final[dict[str, tuple[str, int]]] = {"levels": ("<f8", 1)}


class CardFacts(TypedDict):
    """What training knows about a model, for its card (``created`` comes from the caller)."""

    created: str
    data: NotRequired[dict[str, Any]]
    hyperparameters: NotRequired[dict[str, Any]]
    metrics: NotRequired[dict[str, Any]]
    challenge_budget: NotRequired[list[float]]


class ModelCard(TypedDict):
    """The shape of model.json."""

    format: int
    name: str
    kind: Kind
    version: str
    created: str
    features: list[str]
    data: dict[str, Any]
    hyperparameters: dict[str, Any]
    metrics: dict[str, Any]
    thresholds: dict[str, Any]
    sha256: str
    software: dict[str, str]


def model_arrays(model: Model) -> dict[str, NDArray[Any]]:
    """Every number of a model, as the plain arrays model.npz stores."""
    if isinstance(model, StatisticalModel):
        t = model.thresholds
        return {"levels": np.array([t.midpoint, t.medium, t.high], dtype="<f8")}
    e, c = model.ensemble, model.calibration
    arrays: dict[str, Any] = {
        "n_features": e.n_features,
        "features_sha256": np.frombuffer(_features_digest(model.feature_names), dtype=np.uint8),
        "feature": e.feature,
        "threshold": e.threshold,
        "left": e.left,
        "right": e.right,
        "missing_left": e.missing_left,
        "leaf": e.leaf,
        "value": e.value,
        "roots": e.roots,
        "baseline": e.baseline,
        "calibration_x": c.x,
        "calibration_y": c.y,
        "levels": [model.medium, model.high],
    }
    return {k: np.asarray(arrays[k], dtype=dtype) for k, (dtype, _) in _LEARNED.items()}


def npz_bytes(arrays: Mapping[str, NDArray[Any]]) -> bytes:
    """An uncompressed .npz archive, byte-identical for identical arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(arrays[key]), allow_pickle=False)
    return buffer.getvalue()


def stamp(model: M) -> M:
    """The model with its content version ``{kind}/{name}/{sha256[:12]}``."""
    digest = hashlib.sha256(npz_bytes(model_arrays(model))).hexdigest()
    return replace(model, version=_version(_kind(model), model.name, digest))


def save_model(model: Model, directory: Path, card: CardFacts) -> None:
    """Write model.npz, model.json and README.md atomically; model.json goes last.

    The card's version is the content version; ``model.version`` must be it or "".
    """
    if not _NAME.fullmatch(model.name):
        raise ValueError(f"model name {model.name!r} must match {_NAME.pattern}")
    payload = npz_bytes(model_arrays(model))
    digest = hashlib.sha256(payload).hexdigest()
    kind = _kind(model)
    version = _version(kind, model.name, digest)
    if model.version not in ("", version):
        raise ValueError(f"model version {model.version!r} is not its content's {version!r}")
    budget = card.get("challenge_budget")
    if isinstance(model, StatisticalModel):
        t = model.thresholds
        thresholds = {"midpoint": t.midpoint, "medium": t.medium, "high": t.high}
        features: list[str] = []
    else:
        thresholds = {"medium": model.medium, "high": model.high}
        features = list(model.feature_names)
    full: ModelCard = {
        "format": FORMAT,
        "name": model.name,
        "kind": kind,
        "version": version,
        "created": card["created"],
        "features": features,
        "data": card.get("data", {}),
        "hyperparameters": card.get("hyperparameters", {}),
        "metrics": card.get("metrics", {}),
        "thresholds": {**thresholds, "challenge_budget": budget},
        "sha256": digest,
        "software": {p: _installed(p) for p in ("scikit-learn", "numpy", "riskscore")},
    }
    text = json.dumps(full, indent=2, sort_keys=True, allow_nan=False) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    replace_file(directory / ARRAYS, payload)
    replace_file(directory / README, render_readme(full).encode())
    replace_file(directory / CARD, text.encode())
    fsync_dir(directory)


def load_model(directory: Path) -> Model:
    """The model in ``directory``, verified against its card; ModelError names the bad file."""
    card_path, npz_path = directory / CARD, directory / ARRAYS
    card = _read_card(card_path)
    try:
        payload = npz_path.read_bytes()
    except OSError as exc:
        raise ModelError(str(npz_path), f"cannot read: {exc.strerror}") from exc
    digest = hashlib.sha256(payload).hexdigest()
    if digest != card["sha256"]:
        raise ModelError(str(npz_path), f"SHA-256 {digest} is not the card's {card['sha256']}")
    if card["version"] != _version(card["kind"], card["name"], digest):
        raise ModelError(str(card_path), f"version {card['version']!r} does not name this model")
    arrays = _read_arrays(npz_path, payload, card["kind"])
    try:
        return _build(card, arrays, str(card_path))
    except (ValueError, ConfigError) as exc:
        raise ModelError(str(npz_path), str(exc)) from exc


def _build(card: ModelCard, arrays: dict[str, NDArray[Any]], card_path: str) -> Model:
    levels = arrays["levels"]
    t = card["thresholds"]
    if card["kind"] == "statistical":
        if levels.shape != (3,) or levels.tolist() != [t["midpoint"], t["medium"], t["high"]]:
            raise ModelError(card_path, "thresholds disagree with model.npz")
        midpoint, medium, high = (float(v) for v in levels)
        thresholds = LevelThresholds(midpoint=midpoint, medium=medium, high=high)
        return StatisticalModel(card["name"], card["version"], thresholds)
    names = tuple(card["features"])
    if _features_digest(names) != arrays["features_sha256"].tobytes():
        raise ModelError(card_path, "the feature list disagrees with model.npz")
    if int(arrays["n_features"]) != len(names):
        raise ModelError(
            card_path, f"{len(names)} features listed, model.npz has a different count"
        )
    if levels.shape != (2,) or levels.tolist() != [t["medium"], t["high"]]:
        raise ModelError(card_path, "thresholds disagree with model.npz")
    ensemble = TreeEnsemble(
        n_features=len(names),
        feature=arrays["feature"],
        threshold=arrays["threshold"],
        left=arrays["left"],
        right=arrays["right"],
        missing_left=arrays["missing_left"],
        leaf=arrays["leaf"],
        value=arrays["value"],
        roots=arrays["roots"],
        baseline=float(arrays["baseline"]),
    )
    calibration = Calibration(x=arrays["calibration_x"], y=arrays["calibration_y"])
    medium, high = (float(v) for v in levels)
    return LearnedModel(card["name"], card["version"], names, ensemble, calibration, medium, high)


def _read_card(path: Path) -> ModelCard:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(str(path), f"cannot read: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(str(path), f"not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ModelError(str(path), "not a JSON object")
    expected = {"format": int, "name": str, "kind": str, "version": str, "sha256": str}
    for key, kind in {**expected, "features": list, "thresholds": dict}.items():
        if not isinstance(raw.get(key), kind):
            raise ModelError(str(path), f"{key!r} is missing or not a {kind.__name__}")
    if raw["format"] != FORMAT or raw["kind"] not in ("learned", "statistical"):
        raise ModelError(str(path), f"unsupported format {raw['format']} or kind {raw['kind']!r}")
    if not all(isinstance(n, str) for n in raw["features"]):
        raise ModelError(str(path), "'features' must be a list of names")
    wanted = ("midpoint", "medium", "high") if raw["kind"] == "statistical" else ("medium", "high")
    if not all(isinstance(raw["thresholds"].get(k), float) for k in wanted):
        raise ModelError(str(path), f"'thresholds' needs numbers {', '.join(wanted)}")
    card: ModelCard = raw  # type: ignore[assignment]  # checked field by field above
    return card


def _read_arrays(path: Path, payload: bytes, kind: str) -> dict[str, NDArray[Any]]:
    spec = _STATISTICAL if kind == "statistical" else _LEARNED
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(str(path), f"not a readable .npz of plain arrays: {exc}") from exc
    if set(arrays) != set(spec):
        raise ModelError(str(path), f"holds arrays {sorted(arrays)}, expected {sorted(spec)}")
    for key, (dtype, ndim) in spec.items():
        if arrays[key].dtype.str != dtype or arrays[key].ndim != ndim:
            raise ModelError(
                str(path), f"array {key!r} is {arrays[key].dtype.str}[{arrays[key].ndim}-d]"
            )
    return arrays


def render_readme(card: ModelCard) -> str:
    """The human-readable model card."""
    t = card["thresholds"]
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"- version: `{card['version']}` ({card['kind']})",
        f"- created: {card['created']}",
        f"- model.npz SHA-256: `{card['sha256']}`",
        f"- software: {', '.join(f'{k} {v}' for k, v in sorted(card['software'].items()))}",
        "",
        "## Levels",
        "",
        "| threshold | value |",
        "| --- | ---: |",
        *(f"| {k} | {v} |" for k, v in t.items()),
        "",
    ]
    if card["features"]:
        lines += ["## Features", "", *(f"{i}. `{n}`" for i, n in enumerate(card["features"])), ""]
    sections = {"data": card["data"], "hyperparameters": card["hyperparameters"]}
    for title, section in {**sections, "metrics": card["metrics"]}.items():
        if section:
            lines += [f"## {title.capitalize()}", "", "| key | value |", "| --- | --- |"]
            lines += [f"| {k} | {json.dumps(v)} |" for k, v in sorted(section.items())]
            lines.append("")
    return "\n".join(lines)


def _installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _kind(model: Model) -> Kind:
    return "statistical" if isinstance(model, StatisticalModel) else "learned"


def _version(kind: str, name: str, digest: str) -> str:
    return f"{kind}/{name}/{digest[:12]}"


def _features_digest(names: tuple[str, ...]) -> bytes:
    return hashlib.sha256(json.dumps(list(names)).encode()).digest()
