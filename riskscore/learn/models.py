"""Where models live and how a configured one becomes what scores.

``--model NAME`` (and ``scoring.model``) is a directory holding model.json and
model.npz, or the name of one under the project's ``models/`` directory (the
shipped default is ``models/default``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Final

from riskscore.core.learned import LearnedModel, StatisticalModel
from riskscore.errors import ModelError
from riskscore.learn.artifact import load_model

MODELS_DIR: Final = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MODEL: Final = "default"


def model_path(name: str) -> Path:
    """The directory of a model given by path or by name under models/."""
    given = Path(name).expanduser()
    if given.is_dir() or given.is_absolute() or len(given.parts) > 1:
        return given
    return MODELS_DIR / name


def open_model(
    name: str, *, medium: float = 0.0, high: float = 0.0
) -> LearnedModel | StatisticalModel:
    """Load (and verify) a model; ``medium``/``high`` > 0 override its card's thresholds."""
    path = model_path(name)
    if not (path / "model.json").is_file():
        raise ModelError(str(path), "no model here (expected model.json and model.npz)")
    model = load_model(path)
    if not (medium or high):
        return model
    if isinstance(model, LearnedModel):
        return replace(model, medium=medium or model.medium, high=high or model.high)
    t = model.thresholds
    return replace(model, thresholds=replace(t, medium=medium or t.medium, high=high or t.high))
