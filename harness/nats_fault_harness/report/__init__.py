"""The HTML fault report: what was injected, what the client did, which promise broke.

One self-contained HTML file (inline CSS and SVG, a few lines of script for the failure
filter, nothing fetched) plus the same data as JSON beside it. Written by ``pytest
--fault-report=PATH`` (ini ``fault_report``) and by ``nats-harness run``; rendered again from
the JSON by ``nats-harness report IN.json -o OUT.html``.

The pieces: a frozen data model (:class:`Report`, :class:`TestEntry`, :class:`Lane`,
:class:`Window`, :class:`Mark`...) with a versioned JSON form; :func:`build_entry` (a
:class:`~nats_fault_harness.history.History` and checker results to an entry); :func:`render_html`;
:func:`write_report`; and the pytest plugin (``nats_fault_harness.report._pytest``), registered by
the
harness's plugin only when a report is asked for. See ``docs/report.md``.
"""

from nats_fault_harness.report._build import build_entry
from nats_fault_harness.report._json import read_report, report_from_dict
from nats_fault_harness.report._model import (
    SCHEMA,
    SCHEMA_VERSION,
    Attempt,
    Check,
    Environment,
    Lane,
    Mark,
    Messages,
    Report,
    ReportFormatError,
    Summary,
    TestEntry,
    Window,
)
from nats_fault_harness.report._pytest import record_checks
from nats_fault_harness.report._write import environment, write_report


def render_html(report: Report) -> str:
    """The self-contained HTML page of ``report`` (imports Jinja2 on first use)."""
    from nats_fault_harness.report._render import render_html as render

    return render(report)


__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "Attempt",
    "Check",
    "Environment",
    "Lane",
    "Mark",
    "Messages",
    "Report",
    "ReportFormatError",
    "Summary",
    "TestEntry",
    "Window",
    "build_entry",
    "environment",
    "read_report",
    "record_checks",
    "render_html",
    "report_from_dict",
    "write_report",
]
