"""A :class:`Report` as one self-contained HTML page (inline CSS, SVG and a tiny script).

The page is the Jinja2 template ``report.html.j2`` shipped in this package; timelines are
drawn by :mod:`nats_fault_harness.report._svg`. Nothing is fetched: no fonts, styles, scripts or
images from anywhere, so the file opens the same from a CI artifact, an e-mail or offline.
The page passes through :func:`~nats_fault_harness.report._text.clean_text` last, so odd text in a
test id or a failure (a lone surrogate, NUL) never stops it from being written.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from nats_fault_harness.report._model import Check, Report, TestEntry
from nats_fault_harness.report._pytest import anchor
from nats_fault_harness.report._svg import fault_class, timeline_svg
from nats_fault_harness.report._text import clean_text

__all__ = ["render_html"]

TEMPLATE = "report.html.j2"
DETAIL_CHARS = 800


@cache
def _template() -> jinja2.Template:
    text = (
        resources.files("nats_fault_harness.report").joinpath(TEMPLATE).read_text(encoding="utf-8")
    )
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["fault_class"] = fault_class
    env.filters["ms"] = _ms
    env.globals["timeline"] = lambda entry: Markup(timeline_svg(entry))
    env.globals["details_text"] = _details_text
    env.globals["anchor"] = anchor
    return env.from_string(text)


def _ms(value: object) -> str:
    """Seconds as milliseconds; "–" for anything that is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    ms = value * 1000
    return f"{ms:.1f}" if math.isfinite(ms) else "–"


def _details_text(check: Check) -> str:
    """Details as short ``key: value`` lines (the JSON file has them in full)."""
    lines = []
    for key, value in check.details.items():
        if value in ([], {}, None, ""):
            continue
        text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False, default=str)
        lines.append(f"{key}: {text}")
    out = "\n".join(lines)
    return out if len(out) <= DETAIL_CHARS else out[: DETAIL_CHARS - 1] + "…"


def render_html(report: Report) -> str:
    """The whole page for ``report`` (failing entries first)."""
    summary = report.summary
    tests: list[TestEntry] = report.ordered()
    context: dict[str, Any] = {
        "title": report.title,
        "env": report.environment,
        "summary": summary,
        "tests": tests,
        "total": len(tests),
        "fault_kinds": sorted({w.kind for e in tests for lane in e.lanes for w in lane.windows}),
        "matrix": report.matrix,
    }
    return clean_text(_template().render(**context))
