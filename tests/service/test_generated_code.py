"""The committed riskscore/v1 package matches protos/ (regenerate with `make protos`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    subprocess.run(
        ["bash", str(ROOT / "scripts/gen_protos.sh"), str(tmp_path)], check=True, env=env
    )
    generated = sorted(p.name for p in (tmp_path / "riskscore/v1").iterdir())
    committed = sorted(p.name for p in (ROOT / "riskscore/v1").iterdir() if p.name != "__pycache__")
    assert generated == committed
    for name in generated:
        fresh = (tmp_path / "riskscore/v1" / name).read_text()
        assert fresh == (ROOT / "riskscore/v1" / name).read_text(), f"{name} is stale"
