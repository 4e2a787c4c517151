"""``nats-harness report IN.json [-o OUT.html]``: render a report again from its JSON."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.report._json import read_report
from harness.report._model import ReportFormatError

__all__ = ["report_command"]


def report_command(source: Path, output: Path | None = None) -> int:
    """Render ``source`` (a report's JSON) to ``output`` (default: beside it, ``.html``).

    Returns the exit code: 0 written, 2 the JSON could not be read (one line on stderr
    naming the file and the field).
    """
    from harness.report._render import render_html

    try:
        report = read_report(source)
    except ReportFormatError as exc:
        print(f"nats-harness report: {exc}", file=sys.stderr)
        return 2
    target = output or source.with_suffix(".html")
    if target.resolve() == source.resolve():
        print(f"nats-harness report: {target}: would overwrite the input", file=sys.stderr)
        return 2
    text = render_html(report)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"nats-harness report: {target}: cannot write: {exc.strerror}", file=sys.stderr)
        return 2
    failing = report.summary.failing
    print(
        f"wrote {target}: {len(report.tests)} entries, {failing} failing, "
        f"{len(text.encode()) / 1024:.0f} KB"
    )
    return 0
