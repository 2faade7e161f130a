"""Calibrate the default level thresholds on the RBA sample's proven sign-ins.

Replays ../shared/data/rba-sample-100k.csv.gz in time order through the
statistical scorer (the dataset's own geo / ASN / UA columns, in-memory
store; only successful logins teach), collects the raw risk of every
successful login not flagged as an attack IP, and prints the raw-risk
quantiles that put MEDIUM on the riskiest 2% and HIGH on the riskiest 0.2%.

    python benchmarks/calibrate_levels.py [--input PATH] [--medium-share 0.02] [--high-share 0.002]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from riskscore.batch.rba import SUCCESS, USER, observation_from_row  # noqa: E402
from riskscore.core.attempt import EventType, Outcome  # noqa: E402
from riskscore.core.freeman import score  # noqa: E402
from riskscore.core.result import Decision, RiskLevel  # noqa: E402
from riskscore.stores.base import AttemptRecord  # noqa: E402
from riskscore.stores.memory import MemoryProfileStore  # noqa: E402

DEFAULT_INPUT = ROOT.parent / "shared/data/rba-sample-100k.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--medium-share", type=float, default=0.02)
    parser.add_argument("--high-share", type=float, default=0.002)
    args = parser.parse_args()

    store = MemoryProfileStore()
    legit: list[float] = []
    attack: list[float] = []
    started = time.perf_counter()
    with gzip.open(args.input, "rt", newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: (r["Login Timestamp"], int(r["index"])))
    for i, row in enumerate(rows):
        obs = observation_from_row(row)
        snap = store.snapshot("rba", row[USER], obs)
        raw = score(obs, snap).raw
        ok = row[SUCCESS] == "True"
        if ok and snap.user.logins > 0:
            (attack if row["Is Attack IP"] == "True" else legit).append(raw)
        record = AttemptRecord(
            str(i),
            "rba",
            row[USER],
            EventType.SIGN_IN,
            obs.timestamp,
            obs,
            0.0,
            RiskLevel.LOW,
            Decision.NO_ACTION,
        )
        store.save_attempt(record)
        store.apply_outcome(
            str(i), Outcome.SUCCEEDED if ok else Outcome.FAILED_PASSWORD, obs.timestamp
        )
    elapsed = time.perf_counter() - started
    legit_a = np.array(legit)
    q_medium = float(np.quantile(legit_a, 1 - args.medium_share))
    q_high = float(np.quantile(legit_a, 1 - args.high_share))
    high_threshold = q_high / (q_high + q_medium)
    attack_a = np.array(attack)
    print(
        json.dumps(
            {
                "rows": len(rows),
                "seconds": round(elapsed, 1),
                "legit_successes_with_history": len(legit),
                "attack_ip_successes_with_history": len(attack),
                "raw_quantiles_legit": {
                    q: float(np.quantile(legit_a, q)) for q in (0.5, 0.9, 0.98, 0.998)
                },
                "midpoint": q_medium,
                "medium": 0.5,
                "high": round(high_threshold, 4),
                "attack_share_at_or_above_medium": float(np.mean(attack_a >= q_medium))
                if len(attack)
                else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
