"""``nats-harness run``: run scenario files with a progress line each, and write a summary.

The scenarios run as pytest items (the plugin's collection), so a scenario behaves the same
under ``nats-harness run`` and under ``pytest scenarios/``; this command only replaces
pytest's terminal output with one line per scenario and writes ``reports/run-*.json``.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.report._paths import (
    DEFAULT_FOLDER,
    KEEP_RUNS,
    _report_files,
    claim_run_paths,
    clash,
    prune_runs,
)
from harness.report._text import clean_data, clean_text

__all__ = ["EXIT_INTERRUPTED", "run_scenarios"]

EXIT_INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT, as a shell reports it)."""


class _Progress:
    """A pytest plugin printing one line per scenario and collecting the summary."""

    def __init__(self, sut: str | None = None, paths: Sequence[str] = ()) -> None:
        self.sut = sut
        self.paths = list(paths)
        self.total = 0
        self.done = 0
        self.rows: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.empty: list[str] = []
        """Paths given on the command line that hold no scenario."""
        self.causes: dict[str, int] = {}
        """Error cause -> the number of the first scenario it ended (printed once)."""
        self.interrupted = False
        """Ctrl-C (pytest also says "interrupted" after a collection error)."""

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest stops a session after a collection error with Session.Interrupted, a
        # KeyboardInterrupt subclass, and pytest.exit() with its own; only Ctrl-C counts.
        self.interrupted = excinfo.type is KeyboardInterrupt

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr)
            self.errors.append(text)
            print(f"ERROR collecting {report.nodeid}:\n{_indent(text)}", flush=True)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from harness.scenario._collect import DEFAULT_SUT, describe_sut

        self.total = len(session.items)
        files = {Path(str(item.path)).resolve() for item in session.items}
        self.empty = [p for p in self.paths if not _holds_any(Path(p).resolve(), files)]
        if self.empty and not self.errors:
            print(f"nats-harness run: no scenario in {', '.join(self.empty)}", flush=True)
            pytest.exit("no scenario", returncode=pytest.ExitCode.USAGE_ERROR)
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
        label = report.nodeid  # odd bytes of a file name print as escapes (see above)
        print(
            f"[{self.done}/{self.total}] {label:<60} {verdict:<8} {report.duration:6.1f}s",
            flush=True,
        )
        if props.get("evidence"):
            print(_indent(str(props["evidence"])), flush=True)
        if verdict == "ERROR":
            self._print_cause(report)
        elif verdict not in ("valid", "skipped"):
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

    def _print_cause(self, report: pytest.TestReport) -> None:
        """The exception that ended a scenario, in a line or two; once for a repeated cause.

        The whole traceback is in the JSON summary and the HTML fault report.
        """
        from harness.report._pytest import crash_message

        cause = crash_message(report) or report.longreprtext.strip().splitlines()[-1:][0]
        first = self.causes.setdefault(cause, self.done)
        if first != self.done:
            print(f"    the same error as [{first}/{self.total}]", flush=True)
        else:
            print(_indent(cause, limit=4), flush=True)


def _holds_any(path: Path, files: set[Path]) -> bool:
    """Whether ``path`` is one of ``files`` or a folder above one."""
    return any(f == path or path in f.parents for f in files)


def _writable(path: Path, option: str) -> str | None:
    """Why ``path`` cannot be written (``None`` if it can), checked before any scenario runs.

    Creates the missing folders (as the run would); leaves no file behind.
    """
    if path.is_dir():
        return f"{option} {path}: is a folder, not a file"
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as exc:
        return f"{option} {path}: cannot be written ({exc.strerror or exc})"
    if not existed:
        path.unlink(missing_ok=True)
    return None


def _indent(text: str, limit: int = 40) -> str:
    lines = clean_text(text).splitlines()
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
    2 a file could not be loaded, a path holds no scenario, or the report options clash
    or name a file that cannot be written (checked before anything runs); 130 interrupted
    (Ctrl-C), after writing the summary of what ran.
    """
    _escape_odd_output()
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"nats-harness run: no such file or folder: {', '.join(missing)}")
        return 2
    from harness.scenario._collect import is_scenario_file

    not_scenarios = [
        p for p in paths if Path(p).is_file() and not is_scenario_file(Path(p).resolve())
    ]
    if not_scenarios:
        print(
            f"nats-harness run: no scenario in {', '.join(not_scenarios)} (a scenario file is "
            "a .yaml or .yml file, other than claims.yaml, below a folder named scenarios or "
            "replays)"
        )
        return 2
    problem = clash(report, fault_report)
    if problem:
        print(f"nats-harness run: {problem}", file=sys.stderr)
        return 2
    for option, target_path in (("--report", report), ("--fault-report", fault_report)):
        if target_path is None:
            continue
        files = [target_path]
        if option == "--fault-report":
            files = list(_report_files(target_path))
        for file in files:
            if problem := _writable(file, option):
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
    folder_existed = DEFAULT_FOLDER.is_dir()
    run_paths = claim_run_paths(report, fault_report, DEFAULT_FOLDER)
    ours = [p for p in (run_paths.html, run_paths.data) if not p.exists()]
    summary_path, html = run_paths.summary, run_paths.html
    command = shlex.join(["nats-harness", "run", *paths, *(["--sut", sut] if sut else [])])
    args += ["--fault-report", str(html), "--fault-report-command", command]
    progress = _Progress(sut, paths)
    started = time.monotonic()
    code = int(pytest.main(args, plugins=[progress]))
    elapsed = time.monotonic() - started
    if progress.empty and not progress.errors:  # said in collection; nothing ran
        for path in ours:  # leave nothing behind: an empty fault report,
            path.unlink(missing_ok=True)
        if report is None:  # the claimed summary name, a new reports/
            summary_path.unlink(missing_ok=True)
            if not folder_existed:
                with contextlib.suppress(OSError):
                    DEFAULT_FOLDER.rmdir()
        return 2
    counts: dict[str, int] = {}
    for row in progress.rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "nothing ran"
    interrupted = progress.interrupted
    if interrupted:
        summary = f"interrupted after {progress.done} of {progress.total} scenario(s): {summary}"
    target = summary_path
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "paths": list(paths),
        "sut": sut,
        "elapsed_s": elapsed,
        "scenarios": progress.rows,
        "errors": progress.errors,
    }
    # odd text (a lone surrogate from a file name, NUL, control bytes) replaced as the
    # fault report does, so any JSON reader can read the summary
    target.write_text(json.dumps(clean_data(data), indent=2), encoding="utf-8")
    print(f"{summary} in {elapsed:.1f}s; summary written to {target}", flush=True)
    if html.exists():
        print(f"fault report: {html}", flush=True)
    if report is None:
        prune_runs(DEFAULT_FOLDER, keep_runs)
    if interrupted:
        return EXIT_INTERRUPTED
    if progress.errors or code in (pytest.ExitCode.NO_TESTS_COLLECTED, pytest.ExitCode.USAGE_ERROR):
        return 2
    return 0 if code == pytest.ExitCode.OK else 1
