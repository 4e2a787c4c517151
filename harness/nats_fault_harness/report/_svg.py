"""The timeline of one test as inline SVG, drawn here in Python (no script, no fonts fetched).

Rows: a time axis, then one lane per fault target (fault windows shaded), proxy and client
(marks), then the message-outcome strip (publishes per time bin, stacked by fate) and the
retry strip (each retry's measured wait, with a tick where the schedule said it should
start). Fault windows are also shaded faintly across every lane. Marks of one kind closer
than :data:`MERGE_PX` are drawn as one glyph whose tooltip counts them, which bounds the
size of a report whatever the history holds.

The work is bounded whatever the data (a report read back from hand-edited JSON): at most
:data:`MAX_TICKS` axis ticks for any span (a ``span`` of 1e12 s gets ticks a few thousand
years apart, not 1.6e9 of them), times outside the span or not finite are clamped, and a
message strip with no bins is not drawn.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from html import escape

from nats_fault_harness.report._model import FATES, Attempt, Lane, Mark, Messages, TestEntry, Window
from nats_fault_harness.report._readable import fault_label, readable

__all__ = ["MAX_TICKS", "MERGE_PX", "fault_class", "timeline_svg"]

WIDTH = 960
LABEL = 150
PLOT = WIDTH - LABEL - 12
AXIS = 18
LANE = 20
STRIP = 34
MERGE_PX = 6.0
#: this many identical marks in a row are drawn as one segment
RUN_MIN = 3
#: most ticks on the time axis, whatever the span
MAX_TICKS = 8
_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600)

XFn = Callable[[float], str]
_SEVERITY_ORDER = ("error", "warn", "good", "info")

_FAULT_CLASSES = {
    "latency": "slow",
    "bandwidth": "slow",
    "slicer": "slow",
    "slow_close": "slow",
    "blackhole": "cut",
    "drop": "cut",
    "down": "cut",
    "timeout": "cut",
    "limit_data": "cut",
    "partition": "cut",
    "isolate": "cut",
    "break_members": "cut",
    "pool_break": "cut",
    "slice": "slow",
    "reset": "rst",
    "reset_peer": "rst",
    "reset_after": "rst",
    "kill": "rst",
    "stop": "rst",
    "restart": "rst",
    "pause": "hold",
    "lame_duck": "hold",
    "frames": "frame",
    "nats": "frame",
}


def fault_class(kind: str) -> str:
    """The colour class of a fault kind (``slow``, ``cut``, ``rst``, ``hold``, ``frame``)."""
    return _FAULT_CLASSES.get(kind, _FAULT_CLASSES.get(kind.partition("_")[0], "other"))


def _fmt(x: float) -> str:
    return str(round(x))


def _step(span: float) -> float:
    """The first step of _STEPS, then of 1, 2, 5 x 10**k seconds, giving <= MAX_TICKS ticks."""
    for step in _STEPS:
        if span / step <= MAX_TICKS:
            return step
    power = 10.0 ** math.floor(math.log10(span / MAX_TICKS))
    return next(m * power for m in (1, 2, 5, 10) if span / (m * power) <= MAX_TICKS)


def _ticks(span: float) -> list[float]:
    step = _step(span)
    count = min(int(span / step + 1e-9), MAX_TICKS)
    return [i * step for i in range(count + 1)]


def _seconds(t: float) -> str:
    return f"{t:.3f}".rstrip("0").rstrip(".") + " s"


def timeline_svg(entry: TestEntry) -> str:
    """The SVG element (markup) of ``entry``'s timeline; empty when it has nothing to draw."""
    strips = (1 if entry.messages and entry.messages.bins else 0) + (1 if entry.attempts else 0)
    if not entry.lanes and not strips:
        return ""
    span = max(entry.span, 1e-3) if math.isfinite(entry.span) else 1e-3
    scale = PLOT / span
    height = AXIS + LANE * len(entry.lanes) + STRIP * strips + 4
    bottom = height - 4

    def x(t: float) -> str:
        return _fmt(LABEL + (min(max(t, 0.0), span) if math.isfinite(t) else 0.0) * scale)

    ticks = _ticks(span)
    rows = "".join(f"M0 {AXIS + i * LANE}h{WIDTH}v{LANE}H0z" for i in range(1, len(entry.lanes), 2))
    out = [
        f'<svg class="tl" viewBox="0 0 {WIDTH} {height}">',
        f'<path class="rows" d="M0 {AXIS}h{WIDTH}V{bottom}H0z"/>',
        f'<path class="odd" d="{rows}"/>' if rows else "",
        f'<path class="tick" d="{"".join(f"M{x(t)} {AXIS - 4}V{bottom}" for t in ticks)}"/>',
        '<g class="tt">',
        *(f'<text x="{x(t)}" y="{AXIS - 6}">{_seconds(t)}</text>' for t in ticks),
        "</g>",
    ]
    for lane in entry.lanes:  # faint bands first, so every lane shows the fault windows
        for w in lane.windows:
            x0, width = _extent(w, span, x)
            out.append(
                f'<rect class="band k-{fault_class(w.kind)}" x="{_fmt(x0)}" y="{AXIS}" '
                f'width="{_fmt(width)}" height="{bottom - AXIS}"/>'
            )
    y = AXIS
    for lane in entry.lanes:
        out.append(_lane(lane, y, x, span))
        y += LANE
    if entry.messages and entry.messages.bins:  # the strip is counted in the height
        out.append(_messages(entry.messages, y))
        y += STRIP
    if entry.attempts:
        out.append(_retries(entry.attempts, y, x))
    out.append("</svg>")
    return "".join(out)


def _extent(w: Window, span: float, x: XFn) -> tuple[float, float]:
    x0 = float(x(w.start))
    return x0, max(float(x(span if w.end is None else w.end)) - x0, 2.0)


def _label(y: int, text: str) -> str:
    if len(text) <= 22:
        return f'<text x="4" y="{y + 14}">{escape(text)}</text>'
    return f'<text x="4" y="{y + 14}">{escape(text[:21])}…<title>{escape(text)}</title></text>'


def _lane(lane: Lane, y: int, x: XFn, span: float) -> str:
    out = [
        f'<g class="lane {lane.kind}" data-lane="{escape(lane.name)}">',
        _label(y, lane.name),
    ]
    for w in lane.windows:
        x0, width = _extent(w, span, x)
        params = "; ".join(f"{k} {readable(v)}" for k, v in w.params.items())
        healed = "never healed" if w.end is None else f"to {_seconds(w.end)}"
        tip = " ".join(p for p in (w.kind, params, f"from {_seconds(w.start)}", healed) if p)
        label = fault_label(w.kind, w.params)
        if width <= 7 * len(label) and width > 8 * len(w.kind):
            label = w.kind  # the parameters do not fit inside: the tooltip has them
        inside = width > 7 * len(label)
        out.append(
            f'<rect class="win k-{fault_class(w.kind)}{" open" if w.end is None else ""}" '
            f'x="{_fmt(x0)}" y="{y + 3}" width="{_fmt(width)}" height="{LANE - 6}">'
            f"<title>{escape(tip)}</title></rect>"
            f'<text class="wl{"" if inside else " out"}" '
            f'x="{_fmt(x0 + 3 if inside else x0 + width + 3)}" y="{y + 14}">{escape(label)}</text>'
        )
    cy = y + LANE // 2
    quiet = [m for m in lane.marks if m.severity == "info"]
    if quiet:
        counts = Counter(m.kind for m in quiet)
        tip = ", ".join(f"{n}× {kind}" for kind, n in counts.items())
        d = "".join(f"M{px} {cy - 4}v8" for px in dict.fromkeys(x(m.t) for m in quiet))
        out.append(f'<path class="i" d="{d}"><title>{escape(tip)}</title></path>')
    loud = [m for m in lane.marks if m.severity != "info"]
    singles: list[Mark] = []
    for run in _runs(loud):
        if len(run) < RUN_MIN:
            singles.extend(run)
            continue
        first, last = run[0], run[-1]
        tip = f"{len(run)}× {first.label} from {_seconds(first.t)} to {_seconds(last.t)}"
        out.append(
            f'<path class="run {first.severity[0]}" d="M{x(first.t)} {cy}H{x(last.t)}">'
            f"<title>{escape(tip)}</title></path>"
        )
    for group in _merge(tuple(sorted(singles, key=lambda m: m.t)), x):
        out.append(_glyph(group, cy, x))
    if lane.dropped:
        out.append(
            f'<text class="more" x="{WIDTH - 4}" y="{y + 14}">+{lane.dropped} not shown</text>'
        )
    out.append("</g>")
    return "".join(out)


def _runs(marks: list[Mark]) -> list[list[Mark]]:
    """Split time-ordered marks into runs of consecutive marks with the same label."""
    runs: list[list[Mark]] = []
    for m in marks:
        if runs and runs[-1][0].label == m.label:
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


def _merge(marks: tuple[Mark, ...], x: XFn) -> list[list[Mark]]:
    """Group marks closer than MERGE_PX to the group's first (marks are in time order)."""
    groups: list[list[Mark]] = []
    anchor = -MERGE_PX
    for m in marks:
        px = float(x(m.t))
        if groups and px - anchor < MERGE_PX:
            groups[-1].append(m)
            continue
        groups.append([m])
        anchor = px
    return groups


def _glyph(group: list[Mark], cy: int, x: XFn) -> str:
    first = group[0]
    cx = x(first.t)
    worst = min(group, key=lambda m: _SEVERITY_ORDER.index(m.severity))
    labels = list(dict.fromkeys(m.label for m in group))
    tip = f"{_seconds(first.t)} " + "; ".join(labels[:4])
    if len(labels) > 4:
        tip += f" (+{len(group) - 4} more)"
    title = f"<title>{escape(tip)}</title>"
    if worst.kind == "exception":
        return f'<path class="x" d="M{cx} {cy - 5}l5 5-5 5-5-5z">{title}</path>'
    r = 4 if len(group) == 1 else 5
    return f'<circle class="{worst.severity[0]}" cx="{cx}" cy="{cy}" r="{r}">{title}</circle>'


def _messages(messages: Messages, y: int) -> str:
    """Publishes per time bin as stacked step areas, one path per fate."""
    bins = messages.bins
    n = min(len(row) for row in bins.values())  # rows of unequal length: the common part
    if n == 0:
        return ""
    totals = [sum(row[i] for row in bins.values()) for i in range(n)]
    peak = max(totals) or 1
    base = y + STRIP - 4
    height = STRIP - 8
    out = [f'<g class="msgs" data-lane="messages"><text x="4" y="{y + 20}">messages</text>']
    present = [f for f in FATES if bins.get(f)]
    cumulative = [0] * n
    layers = []
    for fate in present:  # each layer is the running total up to this fate
        cumulative = [c + v for c, v in zip(cumulative, bins[fate][:n], strict=True)]
        layers.append((fate, list(cumulative), sum(bins[fate][:n])))
    for fate, tops, total in reversed(layers):  # tallest first, the others over it
        steps = _steps([str(round(base - top / peak * height)) for top in tops], PLOT / n)
        out.append(
            f'<path class="f-{fate}" d="M{LABEL} {base}{steps}V{base}z">'
            f"<title>{total} {fate.replace('_', ' ')}</title></path>"
        )
    out.append("</g>")
    return "".join(out)


def _steps(levels: list[str], width: float) -> str:
    """A step line through ``levels`` (one per bin), equal neighbours merged."""
    out = []
    i = 0
    while i < len(levels):
        j = i
        while j + 1 < len(levels) and levels[j + 1] == levels[i]:
            j += 1
        out.append(f"V{levels[i]}h{_fmt(width * (j - i + 1))}")
        i = j + 1
    return "".join(out)


def _retries(attempts: tuple[Attempt, ...], y: int, x: XFn) -> str:
    """Each retry's measured wait as a bar ending when it started; a tick where it was due."""
    out = [f'<g class="retries" data-lane="retries"><text x="4" y="{y + 20}">retries']
    out.append("</text>")
    due = []
    for i, a in enumerate(attempts):
        if a.actual is None:
            continue
        start = a.t - a.actual
        x0 = float(x(start))
        width = max(float(x(a.t)) - x0, 1.5)
        expected = "" if a.expected is None else f", schedule {a.expected * 1000:.0f} ms"
        tip = f"{a.group} retry {a.attempt}: waited {a.actual * 1000:.1f} ms{expected}"
        row_y = y + 5 + i % 4 * 6
        out.append(
            f'<rect class="{"bad" if a.ok is False else "ok"}" x="{_fmt(x0)}" y="{row_y}" '
            f'width="{_fmt(width)}" height="5"><title>{escape(tip)}</title></rect>'
        )
        if a.expected is not None:
            due.append(f"M{x(start + a.expected)} {row_y - 1}v7")
    if due:
        out.append(f'<path class="due" d="{"".join(due)}"/>')
    out.append("</g>")
    return "".join(out)
