"""Kill a writer with SIGKILL mid-stream and collect what it had acknowledged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def acknowledged_before_sigkill(script: str, arg: str, at_least: int) -> list[str]:
    """Run ``script`` (printing one acknowledged id a line), SIGKILL it after ``at_least`` ids.

    Every line printed before the kill was acknowledged too, so they are all
    returned. The caller asserts the writer's file holds every one.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", script, arg], stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    acked: list[str] = []
    assert child.stdout is not None
    try:
        deadline = time.monotonic() + 20
        while len(acked) < at_least and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acked.append(line.strip())
        os.kill(child.pid, signal.SIGKILL)
        acked.extend(line.strip() for line in child.stdout)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert len(acked) >= at_least, "child did not get going"
    assert child.returncode == -signal.SIGKILL
    return acked
