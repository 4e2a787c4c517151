"""The scenario library run in parallel against one after another, side by side in one run.

Runs ``nats-harness run scenarios`` with ``--jobs 1`` and with ``--jobs auto`` (two per
CPU), alternating, ``--rounds`` times each, and prints for each: wall time, the sum of its
scenarios' own durations, the verdicts, and the ratios the issue sets targets for:

  parallel wall / sum of its scenarios' durations      target <= 0.45
  parallel wall / sequential wall                      (for the record)

Only prints (no assertion); the exit code is 0 unless something crashed. All runs must be
all valid, or the figures mean nothing: a run that is not says so on its line.

Usage: .venv/bin/python benchmarks/bench_parallel.py [--rounds N] [--jobs auto|N] [PATH...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.45


def _run(paths: list[str], jobs: str, folder: Path) -> dict[str, float | int | str]:
    summary = folder / f"summary-{jobs}-{time.monotonic_ns()}.json"
    command = [
        str(Path(sys.executable).parent / "nats-harness"),
        "run",
        *paths,
        "--jobs",
        jobs,
        "--report",
        str(summary),
        "--fault-report",
        str(summary.with_suffix(".html")),
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    data = json.loads(summary.read_text())
    rows = data["scenarios"]
    verdicts: dict[str, int] = {}
    for row in rows:
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    return {
        "jobs": data["jobs"],
        "wall_s": wall,
        "sum_s": sum(row["duration_s"] for row in rows),
        "scenarios": len(rows),
        "verdicts": ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())),
        "exit": done.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["scenarios"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--jobs", default="auto", help="the parallel run's --jobs")
    args = parser.parse_args()
    sequential: list[dict[str, float | int | str]] = []
    parallel: list[dict[str, float | int | str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp:
        for i in range(args.rounds):
            for label, jobs, into in (
                ("sequential", "1", sequential),
                ("parallel", args.jobs, parallel),
            ):
                result = _run(args.paths, jobs, Path(tmp))
                into.append(result)
                print(
                    f"round {i + 1} {label:<10} jobs={result['jobs']} "
                    f"wall {result['wall_s']:6.1f}s  sum of scenarios {result['sum_s']:6.1f}s  "
                    f"{result['verdicts']} (exit {result['exit']})",
                    flush=True,
                )
    seq_wall = statistics.median(float(r["wall_s"]) for r in sequential)
    par_wall = statistics.median(float(r["wall_s"]) for r in parallel)
    par_sum = statistics.median(float(r["sum_s"]) for r in parallel)
    ratio = par_wall / par_sum
    print()
    print(
        f"parallel wall / sum of its scenarios  {ratio:5.2f}  (target <= {TARGET}: "
        f"{'met' if ratio <= TARGET else 'NOT met'})"
    )
    print(f"parallel wall / sequential wall       {par_wall / seq_wall:5.2f}")
    all_valid = all(r["exit"] == 0 for r in sequential + parallel)
    print(f"every run all valid: {'yes' if all_valid else 'NO (figures unreliable)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
