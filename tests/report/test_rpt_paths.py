"""Where ``nats-harness run`` writes: unique names under concurrency, clashing options refused
before any work, and the retention of the default reports folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nats_fault_harness import cli
from nats_fault_harness.report import _paths
from nats_fault_harness.report._paths import claim_run_paths, clash, prune_runs


# ---------------------------------------------------------------------- unique names
def test_claims_in_one_process_and_one_second_never_share_a_name(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda _: claim_run_paths(None, None, tmp_path), range(40)))
    files = [p for r in runs for p in (r.summary, r.html, r.data)]
    assert len(set(files)) == 3 * 40
    pid = os.getpid()
    assert all(r.summary.name.startswith("run-") and f"-{pid}" in r.summary.name for r in runs)
    assert all(r.summary.exists() and r.summary.stat().st_size == 0 for r in runs)
    assert all(r.html == r.summary.with_name(f"{r.summary.stem}-report.html") for r in runs)
    assert all(r.data == r.html.with_suffix(".json") for r in runs)


def test_a_taken_name_gets_a_counter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_paths.time, "strftime", lambda fmt: "20260101-000000")
    first = claim_run_paths(None, None, tmp_path).summary
    # a report left without its summary keeps its name taken too
    taken = tmp_path / f"run-20260101-000000-{os.getpid()}-2-report.html"
    taken.touch()
    second = claim_run_paths(None, None, tmp_path).summary
    assert first.name == f"run-20260101-000000-{os.getpid()}.json"
    assert second.name == f"run-20260101-000000-{os.getpid()}-3.json"


def test_given_paths_are_used_as_given(tmp_path: Path) -> None:
    paths = claim_run_paths(tmp_path / "s.json", tmp_path / "f.json", tmp_path / "unused")
    assert (paths.summary, paths.html, paths.data) == (
        tmp_path / "s.json",
        tmp_path / "f.html",
        tmp_path / "f.json",
    )
    assert not (tmp_path / "unused").exists()


def _run_cli(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "nats_fault_harness.cli", "run", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _fast_scenario(folder: Path) -> str:
    """A copy of the quickest library scenario, as ``scenarios/fast.yaml`` under ``folder``."""
    root = Path(__file__).resolve().parents[2]
    target = folder / "scenarios" / "fast.yaml"
    target.parent.mkdir(exist_ok=True)
    target.write_text((root / "scenarios" / "request-no-responder.yaml").read_text())
    return str(target.relative_to(folder))


def test_runs_started_together_in_one_folder_write_their_own_files(tmp_path: Path) -> None:
    fast = _fast_scenario(tmp_path)
    procs = [_run_cli(tmp_path, fast, "--keep-runs", "0") for _ in range(3)]
    outs = [p.communicate(timeout=180)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    summaries = sorted((tmp_path / "reports").glob("run-*[0-9].json"))
    pages = sorted((tmp_path / "reports").glob("run-*-report.html"))
    assert len(summaries) == len(pages) == 3, outs
    assert all(s.stat().st_size > 0 for s in summaries)


# ---------------------------------------------------------------------- clashing options
NAMES = st.text("abc", min_size=1, max_size=3)


@settings(max_examples=100, deadline=None)
@given(stem=NAMES, folder=st.sampled_from(["", "out/", "./", "out/../"]), html_ext=st.booleans())
def test_a_summary_on_the_fault_reports_files_is_refused_naming_both(
    stem: str, folder: str, html_ext: bool
) -> None:
    report = Path(f"{stem}.json")
    fault = Path(f"{folder}{stem}.{'html' if html_ext else 'json'}")
    problem = clash(report, fault)
    if (Path.cwd() / folder).resolve() == Path.cwd():
        assert problem is not None
        assert f"--report {report}" in problem
        assert f"--fault-report {fault}" in problem
    else:
        assert problem is None


@settings(max_examples=100, deadline=None)
@given(a=NAMES, b=NAMES, ext=st.sampled_from([".json", ".html", ".txt", ""]))
def test_different_names_do_not_clash(a: str, b: str, ext: str) -> None:
    # any suffix: the fault report's JSON is its name with .json (b.txt -> b.json)
    problem = clash(Path(f"{a}.json"), Path(f"{b}{ext}"))
    assert (problem is not None) == (a == b)


def test_the_cli_refuses_a_clash_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()

    def no_run(*args: object, **kwargs: object) -> int:
        raise AssertionError("pytest must not start")

    monkeypatch.setattr(pytest, "main", no_run)
    code = cli.main(["run", "scenarios", "--report", "x.json", "--fault-report", "x.html"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--report x.json and --fault-report x.html name the same file" in err
    assert not list(tmp_path.glob("*.json"))
    assert not (tmp_path / "reports").exists()


def test_keep_runs_must_be_a_count(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--keep-runs", "-1"])
    assert info.value.code == 2
    assert "argument --keep-runs: expected an integer >= 0, got '-1'" in capsys.readouterr().err
    assert cli.KEEP_RUNS == _paths.KEEP_RUNS


# ---------------------------------------------------------------------- retention
def _fake_run(folder: Path, name: str, age_s: float, *, empty: bool = False) -> list[Path]:
    files = [
        folder / f"{name}.json",
        folder / f"{name}-report.html",
        folder / f"{name}-report.json",
    ]
    stamp = time.time() - age_s
    for f in files:
        f.write_text("" if empty and f == files[0] else "{}")
        os.utime(f, (stamp, stamp))
    return files


@settings(max_examples=30, deadline=None)
@given(runs=st.integers(0, 30), keep=st.integers(0, 35))
def test_prune_keeps_the_newest_runs_and_nothing_else_is_touched(
    tmp_path_factory: pytest.TempPathFactory, runs: int, keep: int
) -> None:
    folder = tmp_path_factory.mktemp("reports")
    made = [
        _fake_run(folder, f"run-2026010{i % 10}-00000{i}-7", age_s=1000 - i) for i in range(runs)
    ]
    others = [folder / "notes.txt", folder / "faults.html", folder / "faults.json"]
    (folder / "replays").mkdir()
    others.append(folder / "replays" / "run-x.yaml")
    for f in others:
        f.write_text("mine")
    deleted = prune_runs(folder, keep)
    kept_runs = made if keep == 0 else made[max(runs - keep, 0) :]
    assert all(f.exists() for run in kept_runs for f in run)
    assert sorted(deleted) == sorted(f for run in made if run not in kept_runs for f in run)
    assert all(f.exists() for f in others)


def test_a_run_in_progress_is_not_pruned_but_a_dead_one_is(tmp_path: Path) -> None:
    running = _fake_run(tmp_path, "run-a-1", age_s=5000, empty=True)
    dead = _fake_run(tmp_path, "run-b-1", age_s=3 * 24 * 3600, empty=True)
    newest = _fake_run(tmp_path, "run-c-1", age_s=1)
    prune_runs(tmp_path, 1)
    assert all(f.exists() for f in running + newest)
    assert not any(f.exists() for f in dead)


def test_the_command_prunes_the_default_folder_only(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    old = [_fake_run(reports, f"run-2025010{i}-000000-1", age_s=100 + i) for i in range(5)]
    fast = _fast_scenario(tmp_path)
    proc = _run_cli(tmp_path, fast, "--keep-runs", "2")
    out = proc.communicate(timeout=180)[0].decode()
    assert proc.returncode == 0, out
    summaries = sorted(p.name for p in reports.glob("run-*[0-9].json"))
    assert len(summaries) == 2, summaries
    assert all(f.exists() for f in old[0])  # the newest of the old runs
    assert not any(f.exists() for run in old[1:] for f in run)
    # --report: nothing in reports/ is counted or deleted
    proc = _run_cli(tmp_path, fast, "--keep-runs", "1", "--report", "own.json")
    proc.communicate(timeout=120)
    assert len(list(reports.glob("run-*[0-9].json"))) == 2
    assert (tmp_path / "own.json").is_file()
