"""Run an example's scenarios several times and count what the outputs checker saw.

Usage, from an example's folder::

    python ../measure.py --runs 5 --sut adapter:make [scenario files or folders]

For each scenario and run: inputs sent and answered (as the outputs checker counts them),
handled (what the service itself counted: its adapter reports a ``handled`` event, probes
included), lost (inputs never answered, excused or not), duplicated, and the service's
outage (first ``disconnected`` to last ``reconnected``). Prints one
table row per scenario: the numbers of each run, then min to max.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path


def one_run(paths: list[str], sut: str) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "run.json"
        html = Path(tmp) / "faults.html"
        command = ["nats-harness", "run", *paths, "--sut", sut, "-n", "1"]
        subprocess.run(
            [*command, "--report", str(report), "--fault-report", str(html)],
            check=False,
            capture_output=True,
        )
        data = json.loads(html.with_suffix(".json").read_text())
    found: dict[str, dict[str, float]] = {}
    for test in data["tests"]:
        checks = {c["name"]: c for c in test["checks"]}
        out = checks.get("outputs", {}).get("details", {})
        marks = [m for lane in test["lanes"] if lane["kind"] == "client" for m in lane["marks"]]
        down = [m["t"] for m in marks if m["kind"] == "disconnected"]
        back = [m["t"] for m in marks if m["kind"] == "reconnected"]
        handled = [int(m["label"].split()[-1]) for m in marks if m["kind"] == "handled"]
        found[test["nodeid"].split("::")[-1]] = {
            "verdict": test["verdict"],  # type: ignore[dict-item]
            "sent": out.get("sent", 0),
            "answered": out.get("answered", 0),
            "handled": handled[0] if handled else -1,
            "lost": len(out.get("excused_lost", {})) + len(out.get("lost", [])),
            "duplicated": len(out.get("duplicated", {})),
            "outage_s": round(max(back) - min(down), 3) if down and back else 0.0,
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["scenarios"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sut", default="adapter:make")
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    for i in range(args.runs):
        for name, row in one_run(args.paths, args.sut).items():
            rows[name].append(row)
        print(f"run {i + 1}/{args.runs} done", file=sys.stderr)
    print("| scenario | verdicts | sent | answered | handled | lost | duplicated | outage s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, runs in sorted(rows.items()):
        cells = [", ".join(sorted({str(r["verdict"]) for r in runs}))]
        for key in ("sent", "answered", "handled", "lost", "duplicated", "outage_s"):
            values = [r[key] for r in runs]
            cells.append(f"{'/'.join(f'{v:g}' for v in values)} ({min(values):g}-{max(values):g})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
