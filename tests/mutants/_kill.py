"""Run the scenario library against a mutant with ``nats-harness run`` and report the kill.

A mutant is *killed* when a scenario that verifies one of its claims ends INVALID (not
UNKNOWN, not ERROR): the row of ``nats-harness run --report`` names the scenario, its
claims, and in its message the checkers that found the violation
(``"exceptions: INVALID: ..."``). Scenarios run one file per ``nats-harness run``, the
mutant's ``first`` ones first, and the run stops at the first kill (``stop=False`` runs
them all, for the full matrix).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.mutants._mutant import Mutant

__all__ = ["Kill", "Run", "candidates", "kill", "kill_all", "run_files"]

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 180.0
_CHECKER = re.compile(r"^([\w#.-]+): INVALID: ", re.MULTILINE)


@dataclass(frozen=True)
class Run:
    """One scenario's row, as ``nats-harness run`` reported it."""

    scenario: str
    verdict: str
    claims: tuple[str, ...]
    checkers: tuple[str, ...]
    message: str
    duration_s: float


@dataclass
class Kill:
    """What happened to one mutant (``scenario`` is None if it survived)."""

    mutant: str
    claims: tuple[str, ...]
    survives: str = ""
    scenario: str | None = None
    claim: str | None = None
    checkers: tuple[str, ...] = ()
    message: str = ""
    runs: list[Run] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def killed(self) -> bool:
        return self.scenario is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"killed": self.killed}


def _claims_of(path: Path) -> tuple[str, ...]:
    data = yaml.safe_load(path.read_text())
    return tuple(data.get("claims") or ())


def candidates(mutant: Mutant, scenarios: Path = ROOT / "scenarios") -> list[Path]:
    """The scenario files verifying one of the mutant's claims, its ``first`` ones first."""
    files = sorted(p for p in scenarios.glob("**/*.yaml") if p.name != "claims.yaml")
    matching = [p for p in files if set(_claims_of(p)) & set(mutant.claims)]
    rank = {name: i for i, name in enumerate(mutant.first)}
    return sorted(matching, key=lambda p: (rank.get(p.stem, len(rank)), p.name))


def _harness() -> list[str]:
    script = Path(sys.executable).parent / "nats-harness"
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from nats_fault_harness.cli import main; sys.exit(main())",
    ]


def run_files(files: Sequence[Path], sut: str | None, workdir: Path) -> list[Run]:
    """``nats-harness run FILES --sut SUT``; the rows of its JSON report."""
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [
        *_harness(),
        "run",
        *(str(f.relative_to(ROOT)) for f in files),
        *(["--sut", sut] if sut else []),
        "--report",
        str(report),
        "--fault-report",
        str(workdir / "fault-report.html"),
        # the mutants already run two at a time, one scenario each: no workers on top
        "--jobs",
        "1",
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if not report.exists():
        raise RuntimeError(
            f"{' '.join(command)} wrote no report (exit {done.returncode}):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    rows = json.loads(report.read_text()).get("scenarios") or []
    return [
        Run(
            scenario=str(row["id"]).rsplit("::", 1)[-1],
            verdict=str(row["verdict"]),
            claims=tuple(row.get("claims") or ()),
            checkers=tuple(_CHECKER.findall(str(row.get("message") or ""))),
            message=str(row.get("message") or ""),
            duration_s=float(row.get("duration_s") or 0.0),
        )
        for row in rows
    ]


def kill(mutant: Mutant, *, stop: bool = True) -> Kill:
    """Run the mutant's candidate scenarios, one file at a time until one kills it
    (``stop=False``: all of them, in one ``nats-harness run``)."""
    result = Kill(mutant.name, mutant.claims, mutant.survives)
    started = time.monotonic()
    files = candidates(mutant)
    # a known survivor runs everything anyway: one ``nats-harness run`` is quicker
    batches = [[f] for f in files] if stop and not mutant.survives else [files]
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.name}-") as tmp:
        for batch in batches:
            for run in run_files(batch, mutant.spec, Path(tmp)):
                result.runs.append(run)
                broken = [c for c in mutant.claims if c in run.claims]
                if run.verdict == "INVALID" and broken and not result.killed:
                    result.scenario, result.claim = run.scenario, broken[0]
                    result.checkers, result.message = run.checkers, run.message
            if stop and result.killed:
                break
    result.elapsed_s = time.monotonic() - started
    return result


def kill_all(mutants: Iterable[Mutant], *, workers: int = 2, stop: bool = True) -> list[Kill]:
    """:func:`kill` every mutant, ``workers`` at a time; results in the mutants' order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda m: kill(m, stop=stop), mutants))
