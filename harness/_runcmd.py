"""``nats-harness run``: run scenario files with a progress line each, and write a summary.

The scenarios run as pytest items (the plugin's collection), so a scenario behaves the same
under ``nats-harness run`` and under ``pytest scenarios/``; this command only replaces
pytest's terminal output with one line per scenario and writes ``reports/run-*.json``.
"""

from __future__ import annotations

import io
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.report._paths import DEFAULT_FOLDER, KEEP_RUNS, claim_run_paths, clash, prune_runs

__all__ = ["run_scenarios"]


class _Progress:
    """A pytest plugin printing one line per scenario and collecting the summary."""

    def __init__(self, sut: str | None = None) -> None:
        self.sut = sut
        self.total = 0
        self.done = 0
        self.rows: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr)
            self.errors.append(text)
            print(f"ERROR collecting {report.nodeid}:\n{_indent(text)}", flush=True)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from harness.scenario._collect import DEFAULT_SUT, describe_sut

        self.total = len(session.items)
        print(f"nats-harness run: {self.total} scenario(s)", flush=True)
        print(f"service under test: {describe_sut(self.sut or DEFAULT_SUT)}", flush=True)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        final = report.when == "call" or (report.when == "setup" and not report.passed)
        if not final:
            return
        self.done += 1
        props = dict(report.user_properties)
        if report.passed:
            verdict = "valid"
        elif report.skipped:
            verdict = "skipped"
        elif props.get("verdict") == "unknown":
            verdict = "UNKNOWN"
        else:
            verdict = "INVALID" if "verdict" in props else "ERROR"
        message = str(props.get("message") or (report.longreprtext if report.failed else ""))
        print(
            f"[{self.done}/{self.total}] {report.nodeid:<60} {verdict:<8} {report.duration:6.1f}s",
            flush=True,
        )
        if props.get("evidence"):
            print(_indent(str(props["evidence"])), flush=True)
        if verdict not in ("valid", "skipped"):
            print(_indent(message.strip()), flush=True)
        self.rows.append(
            {
                "id": report.nodeid,
                "verdict": verdict,
                "claims": str(props.get("claims", "")).split(",") if props.get("claims") else [],
                "duration_s": round(report.duration, 3),
                "message": message,
                "evidence": str(props.get("evidence", "")),
            }
        )


def _indent(text: str, limit: int = 40) -> str:
    lines = text.splitlines()
    shown = lines[:limit] + (
        [f"... ({len(lines) - limit} more lines)"] if len(lines) > limit else []
    )
    return "\n".join("    " + line for line in shown)


def _escape_odd_output() -> None:
    """Print text that cannot be encoded (a non-UTF-8 file name, a lone surrogate in a
    failure) as escapes, instead of failing inside pytest with an INTERNALERROR."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


def run_scenarios(
    paths: Sequence[str],
    *,
    sut: str | None,
    report: Path | None,
    fault_report: Path | None = None,
    keep_runs: int = KEEP_RUNS,
) -> int:
    """Run the scenario files or folders in ``paths``; return the process exit code.

    Also writes the HTML fault report (default: beside the summary, ``<summary
    stem>-report.html``, with its JSON). Without ``report``, the summary gets a unique
    stamped name in ``reports/`` and only the newest ``keep_runs`` runs there are kept
    (0 keeps all; see :mod:`harness.report._paths`).

    Exit codes: 0 every scenario valid; 1 some scenario invalid, unknown or erroring;
    2 a file could not be loaded, or nothing was found, or the report options clash.
    """
    _escape_odd_output()
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"nats-harness run: no such file or folder: {', '.join(missing)}")
        return 2
    problem = clash(report, fault_report)
    if problem:
        print(f"nats-harness run: {problem}", file=sys.stderr)
        return 2
    # harness is imported before pytest starts here, so pytest cannot rewrite its asserts
    # (it says so with a warning, an error under a project's filterwarnings = error); the
    # harness has no asserts to rewrite.
    args = [
        *paths,
        "-p",
        "no:terminal",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        # scenarios use no pytest-asyncio fixture; without this, projects that do not set
        # it get pytest-asyncio's deprecation warning printed before the first line
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if sut:
        args += ["--sut", sut]
    run_paths = claim_run_paths(report, fault_report, DEFAULT_FOLDER)
    summary_path, html = run_paths.summary, run_paths.html
    command = shlex.join(["nats-harness", "run", *paths, *(["--sut", sut] if sut else [])])
    args += ["--fault-report", str(html), "--fault-report-command", command]
    progress = _Progress(sut)
    started = time.monotonic()
    code = int(pytest.main(args, plugins=[progress]))
    elapsed = time.monotonic() - started
    counts: dict[str, int] = {}
    for row in progress.rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "nothing ran"
    target = summary_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        json.dumps(
            {
                "paths": list(paths),
                "sut": sut,
                "elapsed_s": elapsed,
                "scenarios": progress.rows,
                "errors": progress.errors,
            },
            indent=2,
        )
    )
    print(f"{summary} in {elapsed:.1f}s; summary written to {target}", flush=True)
    if html.exists():
        print(f"fault report: {html}", flush=True)
    if report is None:
        prune_runs(DEFAULT_FOLDER, keep_runs)
    if progress.errors or code == pytest.ExitCode.NO_TESTS_COLLECTED:
        return 2
    return 0 if code == pytest.ExitCode.OK else 1
