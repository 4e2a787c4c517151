"""``nats-harness run``: selection (``--claim``, ``-k``, ``-m``) and parallel runs (``-n``).

Selection is checked on real runs of the library's quickest scenarios; a parallel run must
give the same rows (ids, verdicts, claims, in collection order) as a sequential one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "nats-harness"
ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "scenarios"
QUICK = ["pool-full.yaml", "request-no-responder.yaml", "pool-member-1-down.yaml"]


def run(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


def _summary(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def _ids(summary: dict[str, object]) -> list[str]:
    rows = summary["scenarios"]
    assert isinstance(rows, list)
    return [str(row["id"]).rsplit("::", 1)[1] for row in rows]


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (["--claim", "pool.full"], ["pool-full"]),
        (["--claim", "pool"], ["pool-full", "pool-member-1-down"]),  # pool.* below it
        (
            ["--claim", "pool.full", "--claim", "fix.typed-errors.request"],
            ["pool-full", "request-no-responder"],
        ),
        (["-k", "no-responder"], ["request-no-responder"]),
        (["-m", "pool"], ["pool-full", "pool-member-1-down"]),  # the checker's marker
        (["-m", "pool", "-k", "no-responder"], []),
    ],
)
def test_selection_runs_exactly_the_chosen_scenarios(
    tmp_path: Path, selection: list[str], expected: list[str]
) -> None:
    files = [str(LIBRARY / name) for name in QUICK]
    out = run(*files, *selection, "--report", "s.json", "--jobs", "1", cwd=tmp_path)
    if not expected:
        assert out.returncode == 2, out.stdout + out.stderr
        assert "selected none of the 3 scenario(s)" in out.stderr
        assert not (tmp_path / "s.json").exists()
        return
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{len(expected)} scenario(s) selected by" in out.stdout
    summary = _summary(tmp_path / "s.json")
    assert sorted(_ids(summary)) == sorted(expected)
    chosen = summary["selection"]
    assert isinstance(chosen, dict)
    assert chosen["found"] == 3
    assert chosen["selected"] == len(expected)


def test_an_unknown_claim_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    out = run(str(LIBRARY), "--claim", "pool.ful", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "--claim pool.ful: no scenario" in out.stderr
    assert "pool.full" in out.stderr  # the known claims are listed
    assert "[1/" not in out.stdout
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_jobs_must_be_auto_or_a_positive_integer(tmp_path: Path, value: str) -> None:
    out = run(str(LIBRARY / QUICK[0]), "--jobs", value, cwd=tmp_path)
    assert out.returncode == 2
    assert f"expected an integer >= 1, got '{value}'" in out.stderr


def test_a_parallel_run_gives_the_rows_of_a_sequential_one(tmp_path: Path) -> None:
    names = [*QUICK, "batch-queue-and-recover.yaml", "request-during-server-kill.yaml"]
    files = [str(LIBRARY / name) for name in names]
    one = run(*files, "--jobs", "1", "--report", "one.json", cwd=tmp_path)
    two = run(*files, "--jobs", "2", "--report", "two.json", cwd=tmp_path)
    assert one.returncode == 0, one.stdout + one.stderr
    assert two.returncode == 0, two.stdout + two.stderr
    assert "2 at a time" in two.stdout
    a, b = _summary(tmp_path / "one.json"), _summary(tmp_path / "two.json")
    assert (a["jobs"], b["jobs"]) == (1, 2)

    def rows(summary: dict[str, object]) -> list[tuple[object, ...]]:
        listed = summary["scenarios"]
        assert isinstance(listed, list)
        return [(r["id"], r["verdict"], tuple(r["claims"])) for r in listed]

    assert rows(a) == rows(b)
    page = (tmp_path / "two-report.json").read_text()
    for name in names:
        assert name.removesuffix(".yaml") in page  # every scenario in the fault report
