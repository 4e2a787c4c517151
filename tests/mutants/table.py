"""Run every mutant and print the table: mutant, claim, scenario that caught it, checker.

Usage (from the repository root)::

    .venv/bin/python tests/mutants/table.py                   # stop at each mutant's first kill
    .venv/bin/python tests/mutants/table.py --full            # every candidate scenario
    .venv/bin/python tests/mutants/table.py --results FILE    # print a saved run
    .venv/bin/python tests/mutants/table.py -k request_       # only matching mutants

Results are saved as JSON (``--save``, default ``reports/mutants.json``); ``test_mutants.py``
saves its run there too. Exit status 1 if a mutant survived.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``tests.mutants`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.mutants._kill import ROOT, kill_all
from tests.mutants.catalog import MUTANTS

__all__ = ["markdown", "save"]

DEFAULT_RESULTS = ROOT / "reports" / "mutants.json"


def _row(k: dict[str, Any]) -> str:
    checkers = ", ".join(k.get("checkers") or ()) or "-"
    if not k.get("scenario"):
        why = " (known: needs a checker change)" if k.get("survives") else ""
        return f"| `{k['mutant']}` | {', '.join(k['claims'])} | **survived**{why} | - |"
    return f"| `{k['mutant']}` | {k['claim']} | `{k['scenario']}` | {checkers} |"


def markdown(kills: Iterable[dict[str, Any]]) -> str:
    """The table as Markdown, in the catalogue's order."""
    header = ["| mutant | claim | scenario that caught it | checker |", "|---|---|---|---|"]
    return "\n".join([*header, *(_row(k) for k in kills)])


def _full_matrix(kills: Iterable[dict[str, Any]]) -> str:
    lines = []
    for k in kills:
        killers = [r["scenario"] for r in k["runs"] if r["verdict"] == "INVALID"]
        lines.append(
            f"{k['mutant']}: killed by {len(killers)} of {len(k['runs'])} scenarios"
            + (f" ({', '.join(killers)})" if killers else "")
        )
    return "\n".join(lines)


def save(kills: Sequence[dict[str, Any]], path: Path, *, elapsed_s: float, full: bool) -> None:
    """Write a run's results as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"elapsed_s": round(elapsed_s, 1), "full": full, "mutants": list(kills)}
    path.write_text(json.dumps(data, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run every candidate scenario")
    parser.add_argument("--results", type=Path, help="print a saved run instead of running")
    parser.add_argument("--save", type=Path, default=DEFAULT_RESULTS, help="where to save")
    parser.add_argument("-k", dest="select", default="", help="only mutants containing this")
    parser.add_argument("-j", dest="workers", type=int, default=2, help="mutants at a time")
    args = parser.parse_args(argv)
    if args.results:
        data = json.loads(args.results.read_text())
        kills, elapsed, full = data["mutants"], data.get("elapsed_s", 0.0), data.get("full")
    else:
        chosen = [m for m in MUTANTS if args.select in m.name]
        started = time.monotonic()
        kills = [k.to_dict() for k in kill_all(chosen, workers=args.workers, stop=not args.full)]
        elapsed, full = time.monotonic() - started, args.full
        save(kills, args.save, elapsed_s=elapsed, full=full)
    print(markdown(kills))
    survivors = [k["mutant"] for k in kills if not k.get("scenario") and not k.get("survives")]
    known = [k["mutant"] for k in kills if not k.get("scenario") and k.get("survives")]
    print()
    if full:
        print(_full_matrix(kills))
    print(
        f"{sum(1 for k in kills if k.get('scenario'))} of {len(kills)} mutants killed "
        f"in {elapsed:.0f} s"
        + (f"; survived: {', '.join(survivors)}" if survivors else "")
        + (f"; known survivors: {', '.join(known)}" if known else "")
    )
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
