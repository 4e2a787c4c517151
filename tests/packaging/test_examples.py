"""The example projects in ``examples/`` run as their users run them: from the INSTALLED
WHEEL, each in a copy of its own folder, with its own scenarios, claims and tests.

- ``nats-harness run scenarios --sut adapter:make``: every scenario valid, exit 0;
- ``--sut adapter:make_broken``: exit 1, and the checker (``outputs``, or ``consumer`` for
  the JetStream billing service) names the defect the broken build carries (and only
  scenarios whose fault provokes it are invalid);
- ``pytest``: the example's own tests (real servers, faults through ``nats_link``) and its
  scenario files as pytest items (``nats_sut`` in its ``pyproject.toml``).

Slow: each example's scenarios run twice and its tests once (about a minute per example
on a busy 2-core machine), after the session's wheel build.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging_support import ROOT, Venv

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "examples"
RUN_GOOD = ("nats-harness", "run", "scenarios", "--sut", "adapter:make")
RUN_BROKEN = ("nats-harness", "run", "scenarios", "--sut", "adapter:make_broken")
RUN_TESTS = ("pytest",)
"""The commands a user of an example runs (docs/your-service.md shows them)."""


@dataclass(frozen=True)
class Example:
    """One example project and what its broken build must be caught doing."""

    folder: str
    scenarios: int
    tests: int
    requirements: tuple[str, ...]
    broken_in: frozenset[str]
    """The scenarios whose fault provokes the broken build's defect."""
    defect: str
    """What the checker says about it."""
    broken_maybe: frozenset[str] = frozenset()
    """Scenarios whose fault provokes the defect in some runs and hides it in others
    (the example's README says why); their broken verdict may go either way."""


RESPONDER = Example(
    folder="responder",
    scenarios=5,
    tests=4,
    requirements=(),
    broken_in=frozenset({"quote-link-reset", "quote-link-down", "quote-server-restart"}),
    defect=r"outputs: INVALID: \d+ inputs answered more than once: \S+ x2",
)
FASTSTREAM_ORDERS = Example(
    folder="faststream_orders",
    scenarios=5,
    tests=3,
    requirements=("faststream[nats]",),
    broken_in=frozenset({"orders-blackhole"}),
    defect=r"outputs: INVALID: \d+ inputs were never answered",
    # the broken build drops orders delayed past its stale guard: a kill may delay one
    broken_maybe=frozenset({"orders-server-kill"}),
)
BILLING = Example(
    folder="billing",
    scenarios=4,
    tests=5,
    requirements=(),
    broken_in=frozenset({"billing-link-down"}),
    defect=r"consumer: INVALID: \d+ acked without its effect: \S+",
    # a SIGKILL can take the premature acks with it: the orders are then redelivered
    broken_maybe=frozenset({"billing-server-kill"}),
)
EXAMPLES_RUN = (RESPONDER, FASTSTREAM_ORDERS, BILLING)


@pytest.fixture(scope="module")
def example_venv(wheel_venv: Venv) -> Venv:
    """The session's wheel venv, with what the examples need besides the wheel."""
    needed = sorted({r for e in EXAMPLES_RUN for r in e.requirements})
    out = wheel_venv.run("pip", "install", "--quiet", *needed, cwd=wheel_venv.path, timeout=600)
    assert out.returncode == 0, f"pip install {needed} failed:\n{out.stdout}\n{out.stderr}"
    return wheel_venv


def _copy(example: Example, tmp_path: Path) -> Path:
    project = tmp_path / example.folder
    shutil.copytree(
        EXAMPLES / example.folder,
        project,
        ignore=shutil.ignore_patterns("__pycache__", "reports", ".pytest_cache"),
    )
    return project


def _verdicts(project: Path) -> dict[str, str]:
    (summary,) = (project / "reports").glob("run-*[0-9].json")
    rows = json.loads(summary.read_text())["scenarios"]
    summary.unlink()  # the next run writes its own
    return {row["id"].split("::")[-1]: row["verdict"].lower() for row in rows}


@pytest.mark.parametrize("example", EXAMPLES_RUN, ids=lambda e: e.folder)
def test_example_scenarios_pass_and_the_broken_build_is_caught(
    example_venv: Venv, tmp_path: Path, example: Example
) -> None:
    project = _copy(example, tmp_path)

    good = example_venv.run(*RUN_GOOD, cwd=project, timeout=300)
    text = good.stdout + good.stderr
    assert good.returncode == 0, text
    assert f"{example.scenarios} valid in" in text, text
    verdicts = _verdicts(project)
    assert len(verdicts) == example.scenarios, verdicts
    assert set(verdicts.values()) == {"valid"}, verdicts

    broken = example_venv.run(*RUN_BROKEN, cwd=project, timeout=300)
    text = broken.stdout + broken.stderr
    assert broken.returncode == 1, text
    verdicts = _verdicts(project)
    invalid = {name for name, verdict in verdicts.items() if verdict != "valid"}
    assert example.broken_in <= invalid <= example.broken_in | example.broken_maybe, text
    assert {verdicts[name] for name in invalid} == {"invalid"}, text
    assert len(re.findall(example.defect, text)) == len(invalid), text


@pytest.mark.parametrize("example", EXAMPLES_RUN, ids=lambda e: e.folder)
def test_example_own_tests_pass(example_venv: Venv, tmp_path: Path, example: Example) -> None:
    project = _copy(example, tmp_path)
    out = example_venv.run(*RUN_TESTS, cwd=project)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    # its test file and its scenario files (run against adapter:make, the nats_sut ini key)
    assert re.search(rf"=+ {example.tests + example.scenarios} passed", text), text
    assert "service under test: adapter:make" in text, text
