"""The harness catches every anti-pattern: each mutant must fail a scenario of its claims.

For each mutant of :data:`tests.mutants.catalog.MUTANTS`, the scenarios verifying one of
its claims run against it through ``nats-harness run --sut`` (real servers, real faults),
one file at a time until one ends INVALID; a mutant none of them catches fails its test.
The mutants run two at a time (the machine has two cores); under pytest-xdist each worker
runs only its own. The run's results go to ``reports/mutants.json`` (printed as a table
by ``tests/mutants/table.py --results reports/mutants.json``).

A control (the same seams, no defect) must pass every scenario that killed a mutant, so a
kill is the defect's doing and not the plumbing's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from nats_fault_harness.scenario import ServiceUnderTest, load_sut
from tests.mutants._kill import ROOT, Kill, candidates, kill, kill_all, run_files
from tests.mutants.catalog import MUTANTS, Mutant
from tests.mutants.table import DEFAULT_RESULTS, save

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CONTROL = "tests.mutants._base:make_control"
_XDIST = bool(os.environ.get("PYTEST_XDIST_WORKER"))


def _selected(request: pytest.FixtureRequest) -> list[Mutant]:
    names = {
        item.callspec.params["mutant"].name
        for item in request.session.items
        if item.originalname == "test_mutant_is_killed" and hasattr(item, "callspec")
    }
    return [m for m in MUTANTS if m.name in names]


@pytest.fixture(scope="module")
def kills(request: pytest.FixtureRequest) -> dict[str, Kill]:
    """Every selected mutant, killed two at a time (each on its own under xdist)."""
    if _XDIST:
        return {}
    started = time.monotonic()
    results = kill_all(_selected(request), workers=2)
    elapsed = time.monotonic() - started
    save([k.to_dict() for k in results], DEFAULT_RESULTS, elapsed_s=elapsed, full=False)
    return {k.mutant: k for k in results}


def _report(k: Kill) -> str:
    lines = [
        f"{r.scenario}: {r.verdict} {r.message.splitlines()[0] if r.message else ''}"
        for r in k.runs
    ]
    return "\n".join(lines) or "no scenario verifies its claims"


def _params() -> list[object]:
    return [
        pytest.param(
            m,
            id=m.name,
            marks=[pytest.mark.xfail(reason=f"known survivor: {m.survives}", strict=True)]
            if m.survives
            else [],
        )
        for m in MUTANTS
    ]


@pytest.mark.parametrize("mutant", _params())
def test_mutant_is_killed(mutant: Mutant, kills: dict[str, Kill]) -> None:
    result = kills.get(mutant.name) or kill(mutant)
    assert result.killed, (
        f"mutant {mutant.name} ({mutant.defect}) survived every scenario of "
        f"{', '.join(mutant.claims)}:\n{_report(result)}"
    )
    assert result.claim in mutant.claims
    assert result.checkers, f"no checker named in {result.message!r}"


def test_control_passes_what_killed_the_mutants(kills: dict[str, Kill], tmp_path: Path) -> None:
    """The seams without a defect pass every scenario that killed a mutant."""
    killers = sorted({k.scenario for k in kills.values() if k.scenario is not None})
    if not killers:
        pytest.skip("no kills in this session (deselected, or run under xdist)")
    files = [ROOT / "scenarios" / f"{name}.yaml" for name in killers]
    runs = run_files(files, CONTROL, tmp_path)
    bad = [f"{r.scenario}: {r.verdict}: {r.message}" for r in runs if r.verdict != "valid"]
    assert len(runs) == len(files)
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------- the catalogue
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_catalogue_entry(mutant: Mutant) -> None:
    """Each factory loads as a ``--sut``, its claims exist, some scenario verifies them."""
    sut = load_sut(mutant.spec)()
    assert isinstance(sut, ServiceUnderTest)
    claims = yaml.safe_load((ROOT / "scenarios" / "claims.yaml").read_text())
    assert set(mutant.claims) <= set(claims)
    names = [p.stem for p in candidates(mutant)]
    assert names, f"no scenario verifies {mutant.claims}"
    assert set(mutant.first) <= set(names), f"{mutant.first} do not verify {mutant.claims}"


def test_every_claim_has_a_mutant() -> None:
    """Every claim of the catalogue is broken by at least one mutant."""
    claims = yaml.safe_load((ROOT / "scenarios" / "claims.yaml").read_text())
    broken = {c for m in MUTANTS for c in m.claims}
    assert sorted(set(claims) - broken) == []
