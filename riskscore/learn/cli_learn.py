"""``riskscore train`` and ``riskscore evaluate``: learn from and judge on labelled logs.

Both featurize the log with batch scoring's replay (the service's features,
causal, labels never read), so a model is trained and judged on exactly what
it will see online.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch import observe, replay
from riskscore.batch.cli_batch import (
    batch_model,
    needs_enricher,
    open_enricher,
    read_validated,
)
from riskscore.batch.score import attack_labels
from riskscore.batch.validate import Validated, time_order
from riskscore.config import Config
from riskscore.core.learned import StatisticalModel
from riskscore.core.levels import LevelThresholds
from riskscore.service.factory import signals_of
from riskscore.signals.registry import FEATURES

if TYPE_CHECKING:
    from riskscore.learn.report import ReportSummary

# Features a login log cannot carry (remembered-device keys, feedback, sign-ups)
# are constant in training data, so the model leaves them out.
NOT_IN_LOGS: Final = frozenset(
    {
        "device_key_present",
        "device_key_known",
        "feedback_user_matches",
        "feedback_pool_weight",
        "ip_signups_window",
    }
)
MODEL_FEATURES: Final = tuple(name for name in FEATURES if name not in NOT_IN_LOGS)


def _budget(text: str) -> tuple[float, float]:
    try:
        medium, high = (float(x) for x in text.split(","))
    except ValueError:
        raise SystemExit(
            f"riskscore: --budget {text!r}: expected two shares, e.g. 0.02,0.002"
        ) from None
    if not 0 < high < medium < 1:
        raise SystemExit("riskscore: --budget needs 0 < high share < medium share < 1")
    return medium, high


@dataclass(frozen=True, slots=True)
class Featurized:
    """A log in time order: its features, the statistical raw risk, labels and facts."""

    frame: pd.DataFrame
    labels: pd.DataFrame
    result: replay.Replayed


def featurize_log(validated: Validated, args: argparse.Namespace, config: Config) -> Featurized:
    """The service's features of every row (time order), via batch replay."""
    order = time_order(validated.frame)
    frame = validated.frame.take(order).reset_index(drop=True)
    labels = validated.labels.take(order).reset_index(drop=True)
    enricher = open_enricher(config) if needs_enricher(validated, args) else None
    obs = observe.observations(frame, enricher)
    print(f"featurizing {len(frame):,} rows", file=sys.stderr)
    statistical = replay.Statistical(config.scoring.thresholds())
    result = replay.replay(obs, signals_of(config), statistical)
    return Featurized(frame, labels, result)


def run_learn(args: argparse.Namespace, config: Config) -> int:
    """Run ``train`` or ``evaluate``."""
    validated, _ = read_validated(args, None, strict_labels=True)
    data = featurize_log(validated, args, config)
    if args.command == "train":
        return _train(args, data)
    return _evaluate(args, config, data)


def _train(args: argparse.Namespace, data: Featurized) -> int:
    from riskscore.learn.artifact import save_model
    from riskscore.learn.train import fit_model, level_cuts

    budget = _budget(args.budget)
    name = args.output.name
    created = datetime.now(UTC).date().isoformat()
    labels = attack_labels(data.labels)
    times = data.frame["ts_ns"].to_numpy(np.int64)
    facts: dict[str, Any] = {"input": str(args.input), "rows": len(data.frame)}
    if labels is None:
        # No labels: the statistical model needs no training; calibrate its levels only.
        midpoint = LevelThresholds().midpoint
        score = replay.Statistical().score(data.result.raw, data.result.features)
        medium, high = level_cuts(score, budget)
        model = StatisticalModel(name, "", LevelThresholds(midpoint, medium, high))
        save_model(model, args.output, {"created": created, "data": facts})
        print(f"no label columns: wrote a statistical-model card to {args.output}")
        return 0
    facts["attack_rows"] = int(labels.sum())
    if "attack_kind" in data.labels:
        kinds = data.labels["attack_kind"].fillna("").astype(str)
        facts["attack_kinds"] = {k: int(v) for k, v in kinds[kinds != ""].value_counts().items()}
    trained = fit_model(
        data.result.features,
        labels,
        times,
        feature_names=MODEL_FEATURES,
        seed=args.seed,
        name=name,
        challenge_budget=budget,
    )
    card = trained.card(created, {"calibration_split": trained.metadata["flagged_legitimate"]})
    card["data"] = {**facts, **card.get("data", {})}
    save_model(trained.model, args.output, card)
    print(
        f"wrote {args.output} ({trained.model.version}); thresholds medium "
        f"{trained.model.medium:.4f}, high {trained.model.high:.4f}"
    )
    return 0


def _levels(score: NDArray[np.float64], t: LevelThresholds) -> NDArray[np.object_]:
    return replay.LEVEL_NAMES[replay.level_ids_of(score, t)]


def _evaluate(args: argparse.Namespace, config: Config, data: Featurized) -> int:
    summary = evaluate_featurized(args, config, data)
    for m in summary.metrics:
        print(
            f"{m.model}: ROC AUC {m.auc:.4f}, TPR@1%FPR {m.tpr_at_1pct_fpr:.3f}, "
            f"TPR@0.1%FPR {m.tpr_at_01pct_fpr:.3f}"
        )
    print(f"wrote {summary.files.markdown} and {summary.files.html}")
    return 0


def evaluate_featurized(
    args: argparse.Namespace, config: Config, data: Featurized
) -> ReportSummary:
    """Score a featurized log with the model and the statistical one; write the report."""
    from riskscore.learn.metrics import ModelSpec, Thresholds
    from riskscore.learn.report import write_report

    labels = attack_labels(data.labels)
    if labels is None:
        raise SystemExit("riskscore: evaluate needs label columns (Is Attack IP, ...)")
    frame = pd.DataFrame(
        {
            "timestamp": data.frame["timestamp"],
            "success": data.frame["success"].to_numpy(bool),
            "is_attack": labels,
            "is_takeover": _flag(data.labels, "is_takeover"),
            "attack_kind": _kinds(data.labels),
        }
    )
    models: list[tuple[str, replay.BatchModel]] = []
    chosen = batch_model(config, args.model)
    if not isinstance(chosen, replay.Statistical):
        models.append(("learned", chosen))
    models.append(("statistical", replay.Statistical(config.scoring.thresholds())))
    specs = []
    for key, model in models:
        score = model.score(data.result.raw, data.result.features)
        t = model.thresholds()
        frame[f"{key}_score"] = score
        frame[f"{key}_level"] = _levels(score, t)
        specs.append(ModelSpec(key, model.version, Thresholds(t.medium, t.high)))
    notes = [
        f"Input: {args.input} ({len(frame):,} rows, {int(labels.sum()):,} attack rows). "
        "Every row was scored causally from the rows before it, with the label columns "
        "never read as features.",
    ]
    return write_report(frame, specs, args.report, title=args.title, notes=notes)


def _flag(labels: pd.DataFrame, col: str) -> NDArray[np.bool_]:
    if col not in labels:
        return np.zeros(len(labels), dtype=bool)
    return labels[col].fillna(False).to_numpy(bool)


def _kinds(labels: pd.DataFrame) -> NDArray[np.object_]:
    if "attack_kind" not in labels:
        return np.full(len(labels), "", dtype=object)
    return labels["attack_kind"].fillna("").astype(str).to_numpy(object)
