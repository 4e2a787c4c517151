"""``make test``'s pytest part: one process against the two parallel groups, in one run.

Runs the project's whole pytest suite twice on this machine, one after the other:

  sequential   ``python -m pytest`` (what ``make pytest-sequential`` runs)
  parallel     ``make pytest``: the suite without the mutants on ``JOBS`` xdist workers
               (default 4), then the mutants group

and prints each wall time, its pass/fail counts and the ratio the issue sets a target for:

  parallel wall / sequential wall       target <= 0.5

Only prints (no assertion). It takes about 20 minutes on a 2-core machine, so it is not
part of ``make bench``; run it with ``make bench-suite`` or
``.venv/bin/python benchmarks/bench_suite.py``. Both runs must pass, or the ratio means
nothing: a run that did not says so on its line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5


def _counts(text: str) -> str:
    found = re.findall(r"=+ (.*(?:passed|failed|error).*) in [\d.]+s", text)
    return " + ".join(found) or "no summary line"


def _run(name: str, command: list[str]) -> tuple[float, int, str]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    print(f"{name:<11} {wall:8.1f} s  exit {done.returncode}  {_counts(done.stdout)}", flush=True)
    return wall, done.returncode, done.stdout


def main() -> int:
    print("make test's pytest part on this machine (one run each):", flush=True)
    seq, seq_rc, _ = _run("sequential", [sys.executable, "-m", "pytest", "-q"])
    par, par_rc, _ = _run("parallel", ["make", "-s", "pytest", "PYTEST_ARGS=-q"])
    ratio = par / seq
    ok = "meets" if ratio <= TARGET else "misses"
    print(f"parallel / sequential = {ratio:.2f}x ({ok} the <= {TARGET}x target)")
    if seq_rc or par_rc:
        print("a run failed: the ratio is not a valid measurement")
    return 0


if __name__ == "__main__":
    sys.exit(main())
