"""``nats-harness report IN.json [-o OUT.html]``: render a report again from its JSON."""

from __future__ import annotations

import sys
from pathlib import Path

from nats_fault_harness.report._json import read_report
from nats_fault_harness.report._model import ReportFormatError

__all__ = ["report_command"]


def report_command(source: Path, output: Path | None = None) -> int:
    """Render ``source`` (a report's JSON) to ``output`` (default: beside it, ``.html``).

    Returns the exit code: 0 written, 2 the JSON could not be read or is invalid (one line
    on stderr naming the file, the field and the value), or the HTML cannot be written.
    The input is validated like a scenario file: types, finite numbers, bounded size and
    nesting (see :mod:`nats_fault_harness.report._json`), so no input makes it fail otherwise.
    """
    from nats_fault_harness.report._render import render_html
    from nats_fault_harness.report._write import replace_text

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
        replace_text(target, text)
    except OSError as exc:
        print(f"nats-harness report: {target}: cannot write: {exc.strerror}", file=sys.stderr)
        return 2
    failing = report.summary.failing
    print(
        f"wrote {target}: {len(report.tests)} entries, {failing} failing, "
        f"{len(text.encode()) / 1024:.0f} KB"
    )
    return 0
