"""The report's pytest plugin: one entry per test, one file per run (xdist included).

Where a test runs (a worker, or the only process), the entry is built after its teardown,
when the history is complete (fault windows healed, proxy events pulled), and travels as
JSON on the teardown report (``report.fault_report_entry``), which pytest-xdist serialises
to the controller like any report attribute. Whoever is not a worker collects the entries
and writes the report at session end. Checker verdicts also become ``verdict:<checker>``
user properties, so ``--junitxml`` records them; with pytest-html, each test's row gets a
link to its entry in the fault report.

A test's data: a scenario item's :class:`~nats_fault_harness.scenario.ScenarioResult` (stashed by
the
scenario item), else the :class:`~nats_fault_harness.history.History` among its fixtures
(``nats_history``, ``fault_log``), plus any results a test attached with
:func:`record_checks`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shlex
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from nats_fault_harness.checkers import CheckResult, Validity
from nats_fault_harness.history import History
from nats_fault_harness.report._build import MAX_FAILURE, build_entry, cut_middle, verdict_word
from nats_fault_harness.report._model import Outcome, TestEntry

__all__ = ["CHECKS_KEY", "FaultReportPlugin", "anchor", "record_checks"]

CHECKS_KEY = pytest.StashKey[list[CheckResult]]()
_PHASES = pytest.StashKey[dict[str, pytest.TestReport]]()
ATTR = "fault_report_entry"


def record_checks(node: pytest.Item, results: Iterable[CheckResult]) -> None:
    """Attach checker results to a hand-written test so the report shows its verdicts.

    Use ``record_checks(request.node, run_checkers(nats_history, {...}))``.
    """
    node.stash.setdefault(CHECKS_KEY, []).extend(results)


def anchor(nodeid: str) -> str:
    """The stable HTML id of a test's entry in the report."""
    data = nodeid.encode("utf-8", "surrogatepass")  # a lone surrogate in an id still hashes
    return "t" + hashlib.sha1(data, usedforsecurity=False).hexdigest()[:12]


class _Source:
    """What an item recorded: its history, checker results and scenario facts."""

    def __init__(self, item: pytest.Item) -> None:
        from nats_fault_harness.scenario._collect import RESULT_KEY

        funcargs: dict[str, Any] = getattr(item, "funcargs", None) or {}
        result = item.stash.get(RESULT_KEY, None)
        self.results: list[CheckResult] = list(result.results) if result is not None else []
        attached: list[CheckResult] = item.stash.get(CHECKS_KEY, [])
        self.results.extend(attached)
        self.verdict: Validity | None = result.valid if result is not None else None
        self.history: History | None = result.history if result is not None else None
        if self.history is None:
            self.history = _history_among(funcargs)
        seed = getattr(funcargs.get("toxiproxy"), "seed", None)
        self.seed = seed if isinstance(seed, int) else None
        self.scenario = item.get_closest_marker("scenario") is not None
        claims = dict(item.user_properties).get("claims")
        self.claims = [c for c in str(claims or "").split(",") if c]


def _history_among(funcargs: dict[str, Any]) -> History | None:
    for name in ("nats_history", "fault_log"):
        value = funcargs.get(name)
        history = value if isinstance(value, History) else getattr(value, "history", None)
        if isinstance(history, History):
            return history
    return next((v for v in funcargs.values() if isinstance(v, History)), None)


def failure_text(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The failure's cause (the exception and its message) first, then the full text."""
    text = report.longreprtext
    cause = crash_message(report)
    return f"{cause}\n\n{text}" if cause and not text.startswith(cause) else text


def crash_message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """``Type: message`` of the exception that failed ``report`` (``""`` if not known)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if isinstance(message, str) and message.strip():
        return message.strip()
    lines = [line for line in report.longreprtext.splitlines() if line.startswith("E ")]
    return "\n".join(line[1:].strip() for line in lines[-2:])


def _outcome(phases: dict[str, pytest.TestReport]) -> tuple[Outcome, str]:
    """The test's outcome and failure text from its setup, call and teardown reports."""
    for when in ("setup", "call", "teardown"):
        r = phases.get(when)
        if r is not None and r.failed:
            return ("failed" if when == "call" else "error"), failure_text(r)
    call = phases.get("call")
    if call is not None and hasattr(call, "wasxfail"):
        return ("xfailed" if call.skipped else "xpassed"), ""
    if any(r.skipped for r in phases.values()):
        return "skipped", ""
    return "passed", ""


class FaultReportPlugin:
    """Builds entries where tests run; collects them and writes the report elsewhere."""

    def __init__(self, config: pytest.Config, path: Path, *, writer: bool) -> None:
        self.config = config
        self.path = path
        self.writer = writer
        self.entries: dict[str, str] = {}
        self.collect_errors: dict[str, TestEntry] = {}
        self.started = time.time()
        self.written: str | None = None

    # ------------------------------------------------------------------ where tests run
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        source = None
        if call.when == "teardown":  # properties before the report copies them (junitxml)
            source = _Source(item)
            for r in source.results:
                item.user_properties.append((f"verdict:{r.name}", verdict_word(r.valid)))
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        phases = item.stash.setdefault(_PHASES, {})
        phases[call.when] = report
        if self.config.pluginmanager.hasplugin("html"):
            self._html_link(report)
        if source is not None:
            entry = self._entry(item, phases, source)
            setattr(report, ATTR, json.dumps(entry.to_dict(), separators=(",", ":")))

    def _entry(
        self, item: pytest.Item, phases: dict[str, pytest.TestReport], source: _Source
    ) -> TestEntry:
        outcome, failure = _outcome(phases)
        return build_entry(
            item.nodeid,
            outcome=outcome,
            duration_s=sum(r.duration for r in phases.values()),
            kind="scenario" if source.scenario else "test",
            history=source.history,
            results=source.results,
            verdict=source.verdict,
            claims=source.claims,
            replay=self._replay(item.nodeid, source),
            failure=failure,
            seed=source.seed,
        )

    def _replay(self, nodeid: str, source: _Source) -> list[str]:
        sut = self.config.getoption("nats_sut", None)
        extra = ["--sut", str(sut)] if sut else []
        commands = []
        if source.scenario:
            commands.append(shlex.join(["nats-harness", "run", nodeid.split("::")[0], *extra]))
        if source.seed is not None:
            extra += ["--toxiproxy-seed", str(source.seed)]
        commands.append(shlex.join(["pytest", nodeid, *extra]))
        return commands

    def _html_link(self, report: pytest.TestReport) -> None:
        """pytest-html: link the test's row to its entry in the fault report."""
        if report.when != "call":
            return
        try:
            extras: Any = importlib.import_module("pytest_html.extras")
        except ImportError:  # pragma: no cover - depends on the environment
            return
        html = self.config.getoption("htmlpath", None)
        base = Path(str(html)).resolve().parent if html else Path.cwd()
        href = Path(_relpath(self.path, base)).as_posix() + "#" + anchor(report.nodeid)
        links = [*getattr(report, "extras", []), extras.url(href, name="fault report")]
        setattr(report, "extras", links)  # noqa: B010 - pytest-html's attribute

    # ------------------------------------------------------------------ where the report is written
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        raw = getattr(report, ATTR, None)
        if self.writer and report.when == "teardown" and isinstance(raw, str):
            self.entries[report.nodeid] = raw

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if self.writer and report.failed:
            self.collect_errors[report.nodeid] = TestEntry(
                report.nodeid,
                "collect",
                "error",
                0.0,
                failure=cut_middle(failure_text(report), MAX_FAILURE),
            )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.writer:
            return
        from nats_fault_harness.report._write import assemble, write_report

        try:
            report = assemble(
                self.config, self.entries.values(), self.collect_errors.values(), self.started
            )
            html, data = write_report(report, self.path)
        except Exception as exc:  # never hide pytest's own summary behind a report error
            self.written = f"fault report NOT written: {type(exc).__name__}: {exc}"
        else:
            self.written = f"fault report: {html} ({len(report.tests)} entries; data {data})"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written:
            terminalreporter.write_sep("-", self.written)


def _relpath(target: Path, base: Path) -> str:
    return os.path.relpath(target.resolve(), base)
