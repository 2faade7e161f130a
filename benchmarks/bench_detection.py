"""Detection quality of the shipped model against the statistical one (issue #6 point 8).

    python benchmarks/bench_detection.py [--model default] [--seeds 2 3 4] [--rows 300000]

For each seed: simulate a held-out log (a different seed from the training
log of ``make model``, seed 1), score it with the service's features
(``--enrich``: geo, ASN and network type looked up from the IP, as online),
and write the full report to benchmarks/out/detection-<seed>/. Then the RBA
sample, scored from its own columns with the labels removed, judged against
``Is Attack IP``. Prints the per-seed and mean numbers as Markdown tables.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np

from riskscore.batch.cli_batch import read_validated
from riskscore.cli import build_parser, load_config
from riskscore.cli import main as cli
from riskscore.learn.cli_learn import evaluate_featurized, featurize_log
from riskscore.learn.report import ReportSummary

ROOT = Path(__file__).resolve().parents[1]
RBA = ROOT.parent / "shared" / "data" / "rba-sample-100k.csv.gz"
OUT = ROOT / "benchmarks" / "out"


def _evaluate(log: Path, report: Path, model: str, data_dir: Path, enrich: bool) -> ReportSummary:
    argv = ["evaluate", "--input", str(log), "--report", str(report), "--model", model]
    argv += ["--data-dir", str(data_dir)] + (["--enrich"] if enrich else [])
    args = build_parser().parse_args(argv)
    config = load_config(None, data_dir)
    validated, _ = read_validated(args, None, strict_labels=True)
    return evaluate_featurized(args, config, featurize_log(validated, args, config))


def _row(m: Any) -> dict[str, float]:
    row = {
        "AUC": m.auc,
        "takeover AUC": m.auc_takeover,
        "TPR@1%FPR": m.tpr_at_1pct_fpr,
        "TPR@0.1%FPR": m.tpr_at_01pct_fpr,
        "re-auth@99%": m.reauth_at_99pct_tpr.legitimate,
        "re-auth@99.9%": m.reauth_at_999pct_tpr.legitimate,
    }
    for kind, auc in sorted(m.kind_auc.items()):
        row[f"AUC {kind}"] = auc
    for d in m.detection:
        row[f">=MEDIUM {d.kind}"] = d.medium_or_above
    return row


def _table(rows: dict[str, dict[str, dict[str, float]]]) -> None:
    keys = list(next(iter(next(iter(rows.values())).values())))
    names = list(rows)
    print("| metric | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for key in keys:
        cells = []
        for name in names:
            pair = rows[name]
            cells.append(" / ".join(f"{pair[m].get(key, math.nan):.4f}" for m in pair))
        print(f"| {key} | " + " | ".join(cells) + " |")


def main() -> None:
    """Run the evaluation and print tables (learned / statistical per cell)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "build" / "model-data")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for seed in args.seeds:
        log = args.data_dir / f"heldout-{seed}-{args.rows}.csv"
        if not log.is_file():
            cli(["simulate", "--rows", str(args.rows), "--seed", str(seed), "--output", str(log),
                 "--data-dir", str(args.data_dir)])  # fmt: skip
        summary = _evaluate(log, OUT / f"detection-{seed}", args.model, args.data_dir, True)
        results[f"seed {seed}"] = {m.model: _row(m) for m in summary.metrics}
    mean: dict[str, dict[str, float]] = {}
    for model in next(iter(results.values())):
        keys = results[f"seed {args.seeds[0]}"][model]
        mean[model] = {k: float(np.nanmean([r[model][k] for r in results.values()])) for k in keys}
    results["mean"] = mean
    print("learned / statistical, held-out simulated logs (--enrich):")
    _table(results)
    rba = _evaluate(RBA, OUT / "detection-rba", args.model, args.data_dir, False)
    print("\nRBA sample (its own columns; labels removed; judged on Is Attack IP):")
    _table({"RBA": {m.model: _row(m) for m in rba.metrics}})


if __name__ == "__main__":
    main()
