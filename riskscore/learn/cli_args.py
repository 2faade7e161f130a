"""The options of ``riskscore train`` and ``evaluate`` (see riskscore/batch/cli_args.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from riskscore.batch.cli_args import add_input_options


def add_learn_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``train`` and ``evaluate`` to the ``riskscore`` parser."""
    train = subparsers.add_parser(
        "train",
        help="train a model on a labelled login log",
        description="Train a calibrated gradient-boosted model (scikit-learn "
        "HistGradientBoostingClassifier, class-balanced, seeded) on the service's features "
        "of a labelled log (Is Attack IP / Is Account Takeover / attack_kind), calibrate it "
        "on the latest 20% of rows and set MEDIUM/HIGH at the challenge budget. Writes "
        "model.npz (plain arrays, SHA-256 in the card), model.json and README.md. Without "
        "labels it writes a statistical-model card with thresholds from the score "
        "distribution instead.",
    )
    add_input_options(train, scoring=False)
    train.add_argument("--output", type=Path, required=True, help="model directory to write")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument(
        "--budget",
        default="0.02,0.002",
        help="share of legitimate logins at MEDIUM+ and at HIGH (default 0.02,0.002)",
    )
    evaluate = subparsers.add_parser(
        "evaluate",
        help="evaluate the learned and statistical models on a labelled log",
        description="Score a labelled log with the model (--model, else scoring.model) and "
        "the statistical model and write a Markdown/HTML report with ROC curves, score "
        "distributions per attack kind and the level mix over time.",
    )
    add_input_options(evaluate)
    evaluate.add_argument("--report", type=Path, required=True, help="report directory")
    evaluate.add_argument("--title", default="riskscore evaluation", help="report title")
