"""The report's data: frozen records built from histories and verdicts, and their JSON.

A :class:`Report` holds the run's :class:`Environment` and one :class:`TestEntry` per test or
scenario; its :class:`Summary` is derived from the entries, never stored separately (the
JSON carries a copy for other readers, ignored on load). Every time is seconds of the test's
history clock (0 = the history began). The JSON form is versioned: ``{"schema":
"nats-fault-harness/report", "version": 1, ...}``; :meth:`Report.from_dict` rejects another
schema or version with a :class:`ReportFormatError` naming the field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "FAILING",
    "FATES",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Attempt",
    "Check",
    "Environment",
    "Lane",
    "Mark",
    "Matrix",
    "MatrixCell",
    "MatrixRow",
    "Messages",
    "Report",
    "ReportFormatError",
    "Summary",
    "TestEntry",
    "Window",
]

SCHEMA = "nats-fault-harness/report"
SCHEMA_VERSION = 1

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
Verdict = Literal["valid", "invalid", "unknown"]
Severity = Literal["info", "good", "warn", "error"]
LaneKind = Literal["link", "pool", "server", "cluster", "proxy", "client", "target"]

#: Outcomes that count as failures (listed first, kept by the failure filter).
FAILING: frozenset[str] = frozenset({"failed", "error", "xpassed"})
#: Message fates, in drawing order (see :func:`nats_fault_harness.checkers.check_accounting`).
FATES = ("delivered", "recovered", "kept", "reported_failed", "pending", "silently_gone", "lost")


class ReportFormatError(ValueError):
    """Report JSON that cannot be read; ``field`` names where (``tests[3].lanes[0].name``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Window:
    """A fault window on a lane; ``end`` is ``None`` if the fault was never healed."""

    fault_id: int
    kind: str
    start: float
    end: float | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mark:
    """A point on a lane: a client callback, a proxy event, an exception."""

    t: float
    kind: str
    label: str
    severity: Severity = "info"


@dataclass(frozen=True)
class Lane:
    """One row of the timeline: a fault target, a proxy, or a client."""

    name: str
    kind: LaneKind
    windows: tuple[Window, ...] = ()
    marks: tuple[Mark, ...] = ()
    #: marks left out of ``marks`` to bound the report's size
    dropped: int = 0


@dataclass(frozen=True)
class Messages:
    """Message outcomes: counts, and per fate the publishes per time bin over the span."""

    counts: dict[str, int]
    bins: dict[str, tuple[int, ...]]
    lost: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One retry against the configured schedule (seconds; ``None`` where unknown)."""

    group: str
    attempt: int
    t: float
    expected: float | None
    actual: float | None
    ok: bool | None


@dataclass(frozen=True)
class Check:
    """A checker's verdict with its (trimmed) details."""

    name: str
    verdict: Verdict
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TestEntry:
    """Everything the report shows about one test or scenario."""

    __test__ = False  # not a pytest test class

    nodeid: str
    kind: Literal["scenario", "test", "collect"]
    outcome: Outcome
    duration_s: float
    verdict: Verdict | None = None
    claims: tuple[str, ...] = ()
    replay: tuple[str, ...] = ()
    failure: str = ""
    checks: tuple[Check, ...] = ()
    lanes: tuple[Lane, ...] = ()
    span: float = 0.0
    messages: Messages | None = None
    attempts: tuple[Attempt, ...] = ()
    schedule: dict[str, Any] = field(default_factory=dict)
    exceptions: dict[str, int] = field(default_factory=dict)
    seed: int | None = None

    @property
    def failing(self) -> bool:
        """A failed or erroring test, or a verdict that is not valid."""
        return self.outcome in FAILING or self.verdict in ("invalid", "unknown")

    @property
    def faults(self) -> Counter[str]:
        """Fault windows by kind."""
        return Counter(w.kind for lane in self.lanes for w in lane.windows)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "test") -> TestEntry:
        """Inverse of :meth:`to_dict`; raises :class:`ReportFormatError` naming the field."""
        from nats_fault_harness.report._json import entry_from_dict

        return entry_from_dict(data, where)


@dataclass(frozen=True)
class Environment:
    """Where the run happened: versions, seeds, command line and time."""

    harness: str
    nats_py: str
    nats_server: str
    python: str
    platform: str
    seeds: tuple[int, ...] = ()
    command: str = ""
    started: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True)
class Summary:
    """Totals over the entries (derived)."""

    tests: int
    scenarios: int
    outcomes: dict[str, int]
    verdicts: dict[str, int]
    faults: dict[str, int]
    messages: dict[str, int]
    failing: int

    @classmethod
    def of(cls, entries: tuple[TestEntry, ...]) -> Summary:
        """Add up ``entries``."""
        faults: Counter[str] = Counter()
        messages: Counter[str] = Counter()
        for e in entries:
            faults.update(e.faults)
            if e.messages is not None:
                messages.update(e.messages.counts)
        keys = ("published", "confirmed", "lost", "duplicated", "recovered")
        return cls(
            tests=sum(1 for e in entries if e.kind != "scenario"),
            scenarios=sum(1 for e in entries if e.kind == "scenario"),
            outcomes=dict(Counter(e.outcome for e in entries)),
            verdicts=dict(Counter(e.verdict for e in entries if e.verdict is not None)),
            faults=dict(sorted(faults.items())),
            messages={k: messages.get(k, 0) for k in keys}
            | {k: v for k, v in sorted(messages.items()) if k not in keys},
            failing=sum(1 for e in entries if e.failing),
        )


#: What a matrix cell may say: a scenario's line in ``nats-harness run``, or ``missing``
#: (the client's run did not reach the scenario).
MATRIX_VERDICTS = ("valid", "INVALID", "UNKNOWN", "skipped", "ERROR", "missing")


@dataclass(frozen=True)
class MatrixCell:
    """One scenario against one client: the verdict and its one-line reason."""

    verdict: str
    reason: str = ""


@dataclass(frozen=True)
class MatrixRow:
    """One scenario: a cell per client, in the order of :attr:`Matrix.clients`."""

    scenario: str
    cells: tuple[MatrixCell, ...]


@dataclass(frozen=True)
class Matrix:
    """The client matrix (``nats-harness matrix``): scenarios by clients."""

    clients: tuple[str, ...]
    rows: tuple[MatrixRow, ...]


@dataclass(frozen=True)
class Report:
    """A whole report: environment and entries, failing entries first; a client matrix's
    report also carries the :class:`Matrix` (shown above the entries)."""

    environment: Environment
    tests: tuple[TestEntry, ...]
    title: str = "NATS fault report"
    matrix: Matrix | None = None

    @property
    def summary(self) -> Summary:
        """Totals over :attr:`tests`."""
        return Summary.of(self.tests)

    def ordered(self) -> list[TestEntry]:
        """Failing entries first, each group in run order."""
        return sorted(self.tests, key=lambda e: not e.failing)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data with the schema name and version."""
        data = {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "title": self.title,
            "environment": asdict(self.environment),
            "summary": asdict(self.summary),
            "tests": [t.to_dict() for t in self.tests],
        }
        if self.matrix is not None:
            data["matrix"] = asdict(self.matrix)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Report:
        """Inverse of :meth:`to_dict`; raises :class:`ReportFormatError` naming the field."""
        from nats_fault_harness.report._json import report_from_dict

        return report_from_dict(data)
