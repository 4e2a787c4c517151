"""``nats-harness run``: run scenario files with a progress line each, and write a summary.

The scenarios run as pytest items (the plugin's collection), so a scenario behaves the same
under ``nats-harness run`` and under ``pytest scenarios/``; this command only replaces
pytest's terminal output with one line per scenario and writes ``reports/run-*.json``.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nats_fault_harness._live import LiveLine
from nats_fault_harness.report._paths import (
    DEFAULT_FOLDER,
    KEEP_RUNS,
    _report_files,
    claim_run_paths,
    clash,
    prune_runs,
)
from nats_fault_harness.report._text import clean_data, clean_text

__all__ = ["EXIT_INTERRUPTED", "Selection", "run_scenarios"]

EXIT_INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT, as a shell reports it)."""


class _Collected:
    """A pytest plugin for the collection pass: what the paths hold and what is selected."""

    def __init__(self) -> None:
        self.files: set[Path] = set()
        """Every scenario file found, before any selection."""
        self.found = 0
        self.claims: set[str] = set()
        self.selected: list[str] = []
        """Node ids of the selected scenarios, in collection order."""
        self.errors: list[str] = []
        self.interrupted = False

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupted = _is_ctrl_c(excinfo)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr)
            self.errors.append(text)
            print(f"ERROR collecting {report.nodeid}:\n{_indent(text)}", flush=True)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.found = len(items)
        from nats_fault_harness.scenario._collect import claims_of

        for item in items:
            self.files.add(Path(str(item.path)).resolve())
            self.claims.update(claims_of(item))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.selected = [item.nodeid for item in session.items]


def _is_ctrl_c(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    # pytest stops a session after a collection error with Session.Interrupted, a
    # KeyboardInterrupt subclass, and pytest.exit() with its own; only Ctrl-C counts.
    return excinfo.type is KeyboardInterrupt


class _Progress:
    """A pytest plugin printing one line per scenario and collecting the summary.

    Under ``-n`` the reports arrive at the controller as each worker finishes a scenario,
    so the lines come in completion order; the summary's rows follow ``order``.
    """

    def __init__(self, order: Sequence[str], live: LiveLine | None = None) -> None:
        self.order = {nodeid: i for i, nodeid in enumerate(order)}
        self.live = live
        self.width = min(max((len(n) for n in order), default=20), 120)
        """The name column: the longest node id (up to 120), so verdicts line up."""
        self.total = len(order)
        self.done = 0
        self.rows: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.causes: dict[str, int] = {}
        """Error cause -> the number of the first scenario it ended (printed once)."""
        self.interrupted = False
        """Ctrl-C (pytest also says "interrupted" after a collection error)."""

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupted = _is_ctrl_c(excinfo)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # a file changed between the two passes
            text = str(report.longrepr)
            self.errors.append(text)
            print(f"ERROR collecting {report.nodeid}:\n{_indent(text)}", flush=True)

    def sorted_rows(self) -> list[dict[str, Any]]:
        """The rows in collection order, whatever order the scenarios finished in."""
        return sorted(self.rows, key=lambda row: self.order.get(row["id"], len(self.order)))

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        if self.live is not None:
            self.live.started(nodeid)

    def _print(self, text: str) -> None:
        if self.live is not None:
            self.live.print(text)
        else:
            print(text, flush=True)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        final = report.when == "call" or (report.when == "setup" and not report.passed)
        if not final:
            return
        if self.live is not None:
            self.live.finished(report.nodeid)
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
        if report.skipped and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2]).removeprefix("Skipped: ")
        label = report.nodeid  # odd bytes of a file name print as escapes (see above)
        counter = f"[{self.done}/{self.total}]".ljust(len(f"[{self.total}/{self.total}]"))
        line = f"{counter} {label:<{self.width}} {verdict:<8} {report.duration:6.1f}s"
        if props.get("evidence"):
            line += "\n" + _indent(str(props["evidence"]))
        if verdict == "ERROR":
            line += "\n" + self._cause(report)
        elif verdict != "valid":
            line += "\n" + _indent(message.strip())
        self._print(line)
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

    def _cause(self, report: pytest.TestReport) -> str:
        """The exception that ended a scenario, in a line or two; once for a repeated cause.

        The whole traceback is in the JSON summary and the HTML fault report.
        """
        from nats_fault_harness.report._pytest import crash_message

        cause = crash_message(report) or report.longreprtext.strip().splitlines()[-1:][0]
        first = self.causes.setdefault(cause, self.done)
        if first != self.done:
            return f"    the same error as [{first}/{self.total}]"
        return _indent(cause, limit=4)


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


@dataclass(frozen=True)
class Selection:
    """Which scenarios of the paths run: ``--claim`` (any of), ``-k`` and ``-m`` (pytest's)."""

    claims: tuple[str, ...] = ()
    keyword: str | None = None
    marker: str | None = None

    def __bool__(self) -> bool:
        return bool(self.claims or self.keyword or self.marker)

    def args(self) -> list[str]:
        """The pytest arguments that make this selection."""
        out = [arg for claim in self.claims for arg in ("--claim", claim)]
        out += ["-k", self.keyword] if self.keyword else []
        out += ["-m", self.marker] if self.marker else []
        return out

    def describe(self) -> str:
        parts = [f"--claim {c}" for c in self.claims]
        parts += [f"-k {self.keyword!r}"] if self.keyword else []
        parts += [f"-m {self.marker!r}"] if self.marker else []
        return " ".join(parts)


JOBS_PER_CPU = 2
"""``--jobs auto``: scenarios spend most of their time waiting (retry back-offs, ping
intervals, fault windows), not computing, so two run per CPU (see docs/configuration.md)."""


def _jobs(jobs: int | None, count: int) -> int:
    """Worker processes for ``count`` scenarios: ``None`` (auto) is two per CPU."""
    wanted = jobs if jobs is not None else JOBS_PER_CPU * (os.cpu_count() or 1)
    return max(1, min(wanted, count))


def _base_args(paths: Sequence[str], sut: str | None, selection: Selection) -> list[str]:
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
    return args + selection.args()


def _check_arguments(
    paths: Sequence[str], report: Path | None, fault_report: Path | None
) -> str | None:
    """What is wrong with the arguments, before any collection (``None``: nothing)."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        return f"no such file or folder: {', '.join(missing)}"
    from nats_fault_harness.scenario._collect import is_scenario_file

    not_scenarios = [
        p for p in paths if Path(p).is_file() and not is_scenario_file(Path(p).resolve())
    ]
    if not_scenarios:
        return (
            f"no scenario in {', '.join(not_scenarios)} (a scenario file is a .yaml or .yml "
            "file, other than claims.yaml, below a folder named scenarios or replays)"
        )
    problem = clash(report, fault_report)
    if problem:
        return problem
    for option, target in (("--report", report), ("--fault-report", fault_report)):
        if target is None:
            continue
        files = list(_report_files(target)) if option == "--fault-report" else [target]
        for file in files:
            if problem := _writable(file, option):
                return problem
    return None


def _collect(
    paths: Sequence[str], sut: str | None, selection: Selection
) -> tuple[_Collected, str | None]:
    """Collect once, without running; the collection and what is wrong with it, if anything."""
    collected = _Collected()
    args = [*_base_args(paths, sut, selection), "--collect-only", "-p", "no:xdist"]
    pytest.main(args, plugins=[collected])
    if collected.interrupted or collected.errors:
        return collected, None  # said already
    empty = [p for p in paths if not _holds_any(Path(p).resolve(), collected.files)]
    if empty:
        return collected, f"no scenario in {', '.join(empty)}"
    unknown = [c for c in selection.claims if not _claimed(c, collected.claims)]
    if unknown:
        return collected, (
            f"--claim {', '.join(unknown)}: no scenario in {', '.join(paths)} verifies it; "
            f"claims verified there: {', '.join(sorted(collected.claims))}"
        )
    if not collected.selected:
        return collected, (
            f"{selection.describe()} selected none of the {collected.found} scenario(s) "
            f"in {', '.join(paths)}"
        )
    return collected, None


def _claimed(wanted: str, claims: set[str]) -> bool:
    return any(c == wanted or c.startswith(wanted + ".") for c in claims)


def run_scenarios(
    paths: Sequence[str],
    *,
    sut: str | None,
    report: Path | None,
    fault_report: Path | None = None,
    keep_runs: int = KEEP_RUNS,
    jobs: int | None = 1,
    selection: Selection | None = None,
) -> int:
    """Run the scenario files or folders in ``paths``; return the process exit code.

    The scenarios are collected once first (nothing runs), so every bad argument is refused
    before any scenario starts; then they run, ``jobs`` at a time in worker processes
    (pytest-xdist; ``None`` = two per CPU, ``1`` = in this process), each scenario with its
    own servers and proxies. Also writes the HTML fault report (default: beside the
    summary, ``<summary stem>-report.html``, with its JSON). Without ``report``, the summary
    gets a unique stamped name in ``reports/`` and only the newest ``keep_runs`` runs there
    are kept (0 keeps all; see :mod:`nats_fault_harness.report._paths`).

    Exit codes: 0 every scenario valid; 1 some scenario invalid, unknown or erroring;
    2 a bad argument, refused before anything runs and leaving nothing behind (a file that
    cannot be loaded, a path holding no scenario, a selection matching none, report options
    that clash or name a file that cannot be written); 130 interrupted (Ctrl-C), after
    writing the summary of what ran.
    """
    _escape_odd_output()
    selection = selection or Selection()
    problem = _check_arguments(paths, report, fault_report)
    if problem:
        print(f"nats-harness run: {problem}", file=sys.stderr, flush=True)
        return 2
    collected, problem = _collect(paths, sut, selection)
    if collected.interrupted:
        print("nats-harness run: interrupted while collecting; nothing ran", flush=True)
        return EXIT_INTERRUPTED
    if problem:
        print(f"nats-harness run: {problem}", file=sys.stderr, flush=True)
    if problem or collected.errors:
        return 2
    from nats_fault_harness.scenario._collect import DEFAULT_SUT, describe_sut

    total = len(collected.selected)
    workers = _jobs(jobs, total)
    chosen = f" selected by {selection.describe()} of {collected.found}" if selection else ""
    parallel = f", {workers} at a time" if workers > 1 else ""
    print(f"nats-harness run: {total} scenario(s){chosen}{parallel}", flush=True)
    print(f"service under test: {describe_sut(sut or DEFAULT_SUT)}", flush=True)

    run_paths = claim_run_paths(report, fault_report, DEFAULT_FOLDER)
    summary_path, html = run_paths.summary, run_paths.html
    command = shlex.join(
        ["nats-harness", "run", *paths, *(["--sut", sut] if sut else []), *selection.args()]
    )
    args = _base_args(paths, sut, selection)
    args += ["--fault-report", str(html), "--fault-report-command", command]
    args += ["-n", str(workers)] if workers > 1 else ["-p", "no:xdist"]
    from nats_fault_harness import _proc
    from nats_fault_harness.scenario._progress import ENV

    folder = _proc.own_temp_dir("nfh-progress-")
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(folder)  # the xdist workers inherit it
    started = time.monotonic()
    try:
        with LiveLine(folder) as live:
            progress = _Progress(collected.selected, live)
            code = int(pytest.main(args, plugins=[progress]))
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        _proc.forget_dir(folder)
    elapsed = time.monotonic() - started
    counts: dict[str, int] = {}
    for row in progress.rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "nothing ran"
    if progress.interrupted:
        summary = f"interrupted after {progress.done} of {progress.total} scenario(s): {summary}"
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "paths": list(paths),
        "sut": sut,
        "selection": {
            "claims": list(selection.claims),
            "keyword": selection.keyword,
            "marker": selection.marker,
            "found": collected.found,
            "selected": total,
        },
        "jobs": workers,
        "elapsed_s": elapsed,
        "scenarios": progress.sorted_rows(),
        "errors": progress.errors,
    }
    # odd text (a lone surrogate from a file name, NUL, control bytes) replaced as the
    # fault report does, so any JSON reader can read the summary
    summary_path.write_text(json.dumps(clean_data(data), indent=2), encoding="utf-8")
    print(f"{summary} in {elapsed:.1f}s; summary written to {summary_path}", flush=True)
    if html.exists():
        print(f"fault report: {html}", flush=True)
    if report is None:
        prune_runs(DEFAULT_FOLDER, keep_runs)
    if progress.interrupted:
        return EXIT_INTERRUPTED
    if progress.errors:
        return 2
    return 0 if code == pytest.ExitCode.OK else 1
