"""Batch scoring speed against a bare pandas.read_csv of the same file, in the same run.

    python benchmarks/bench_batch.py [--sim-rows 1000000] [--data-dir DIR] [--repeat 2]

For the 100k-row RBA sample and a simulated log, each measurement runs in a
fresh subprocess (so its peak RSS is its own):
* ``read_csv``: ``pandas.read_csv(path)`` with default options (the baseline);
* ``statistical`` / ``learned``: ``riskscore batch score`` in-process (read,
  validate, sort, observe, replay, decide, write Parquet) from the log's own
  columns, with the statistical model (``--model ""``) or the shipped one.
Targets (issue #7): >= 200k rows/s and <= 3x the bare parse.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RBA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rba-sample-100k.csv.gz"


def _child(kind: str, path: str, out: str, data_dir: str) -> None:
    started = time.perf_counter()
    if kind == "read_csv":
        import pandas as pd

        rows = len(pd.read_csv(path))
    else:
        from riskscore.cli import main

        args = ["batch", "score", "--input", path, "--output", out, "--data-dir", data_dir]
        args += ["--model", "" if kind == "statistical" else "default"]
        if main(args) != 0:
            raise SystemExit(1)
        rows = -1
    seconds = time.perf_counter() - started
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent.
    status = Path("/proc/self/status").read_text(encoding="ascii")
    hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    peak_mb = int(hwm.split()[1]) / 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak_mb}))


def _measure(kind: str, path: Path, data_dir: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scored.parquet"
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(path), str(out), str(data_dir)],
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sim-rows", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "rs-bench")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    sim = args.data_dir / f"sim-{args.sim_rows}.csv"
    if not sim.is_file():
        from riskscore.cli import main as cli

        cli(["simulate", "--rows", str(args.sim_rows), "--seed", "1", "--output", str(sim),
             "--data-dir", str(args.data_dir)])  # fmt: skip
    print("| log | model | rows | read_csv s | batch s | rows/s | x read_csv | MB read_csv | MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, path in (("RBA sample (csv.gz)", RBA), ("simulated (csv)", sim)):
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for kind in ("read_csv", "statistical", "learned"):
                m = _measure(kind, path, args.data_dir)
                if kind not in best or m["seconds"] < best[kind]["seconds"]:
                    best[kind] = m
        r = best["read_csv"]
        rows = r["rows"]
        for kind in ("statistical", "learned"):
            b = best[kind]
            print(
                f"| {name} | {kind} | {rows:,.0f} | {r['seconds']:.2f} | {b['seconds']:.2f} | "
                f"{rows / b['seconds']:,.0f} | {b['seconds'] / r['seconds']:.2f} | "
                f"{r['peak_mb']:,.0f} | {b['peak_mb']:,.0f} |"
            )


if __name__ == "__main__":
    main()
