"""Run a documented script as a user runs it: its own process, another working folder, the
same ``nats_fault_harness`` as the tests import."""

import os
import subprocess
import sys
from pathlib import Path

import nats_fault_harness

PACKAGE_ROOT = str(Path(nats_fault_harness.__file__).parents[1])


def run_script(script: Path, cwd: Path, *, timeout: float) -> list[str]:
    """Run ``script``; assert it exits 0 (its stderr as the message); return its lines."""
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()
