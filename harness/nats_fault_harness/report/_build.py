"""From a :class:`~nats_fault_harness.history.History` and checker results to a :class:`TestEntry`.

Lanes: one per fault target (``link:x``, ``pool:x``, ``server:x``, ``cluster:x``) carrying its
fault windows, one per proxy with what the proxy did to connections, and one per client
(the service, the runner) with its callbacks and the exceptions its operations raised.
Message outcomes come from the accounting checker's fates (the same rules that decide the
verdict), placed at each publish's invocation time. Retries are the backoff checker's
attempts when it ran, else the service's ``retry_scheduled`` events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nats_fault_harness.checkers import CheckResult, Validity, check_accounting, merge_valid
from nats_fault_harness.history import ClientEvent, History, Op, ProxyEvent
from nats_fault_harness.report._model import (
    FATES,
    Attempt,
    Check,
    Lane,
    LaneKind,
    Mark,
    Messages,
    Outcome,
    Severity,
    TestEntry,
    Verdict,
    Window,
)
from nats_fault_harness.report._readable import readable

__all__ = ["BINS", "MAX_FAILURE", "MAX_MARKS", "build_entry", "cut_middle", "verdict_word"]

#: time bins of the message-outcome strip
BINS = 40
#: marks kept per lane (the most severe first); the rest are counted as dropped
MAX_MARKS = 300
MAX_ATTEMPTS = 200
MAX_LIST = 12
MAX_TEXT = 400
MAX_FAILURE = 6000

_TARGET_KINDS: dict[str, LaneKind] = {
    "link": "link",
    "pool": "pool",
    "server": "server",
    "cluster": "cluster",
}
_CLIENT_SEVERITY: dict[str, Severity] = {
    "connected": "good",
    "reconnected": "good",
    "disconnected": "warn",
    "closed": "warn",
    "lame_duck": "warn",
    "group_failed": "warn",
    "retry_scheduled": "warn",
    "retry_started": "warn",
    "batch_queued_failed": "error",
    "stop_timeout": "error",
    "drain_timeout": "error",
    "error": "error",
    "slow_consumer": "error",
}
_PROXY_KINDS: dict[str, Severity] = {
    "connection_opened": "info",
    "connection_failed": "warn",
    "connection_closed": "info",
    "connections_reset": "error",
    "toxic_fired": "error",
    "proxy_disabled": "warn",
    "proxy_enabled": "good",
}
_LABEL_KEYS = ("member", "group", "subject", "attempt", "delay", "count", "reason", "error")
_BARE_KEYS = frozenset({"member", "group", "subject", "error"})
_RANK: dict[str, int] = {"error": 0, "warn": 1, "good": 2, "info": 3}


def verdict_word(valid: Validity) -> Verdict:
    """``True`` -> ``"valid"``, ``False`` -> ``"invalid"``, else ``"unknown"``."""
    return "valid" if valid is True else ("invalid" if valid is False else "unknown")


def build_entry(
    nodeid: str,
    *,
    outcome: Outcome,
    duration_s: float,
    kind: str = "test",
    history: History | None = None,
    results: Sequence[CheckResult] = (),
    verdict: Validity | None = None,
    claims: Iterable[str] = (),
    replay: Iterable[str] = (),
    failure: str = "",
    seed: int | None = None,
) -> TestEntry:
    """Everything the report shows about one test.

    Args:
        nodeid: the pytest node id.
        outcome: ``passed``, ``failed``, ``error``, ``skipped``, ``xfailed`` or ``xpassed``.
        duration_s: setup + call + teardown, seconds.
        kind: ``"scenario"`` for a scenario file's item, ``"test"`` otherwise.
        history: the test's history, if it had one.
        results: checker results (a scenario's, or attached by the test).
        verdict: the composed verdict; defaults to the worst of ``results``.
        claims: the claims a scenario verifies.
        replay: shell commands that run the test again.
        failure: the failure text pytest reported.
        seed: the fault proxy's seed.
    """
    if verdict is None and results:
        verdict = merge_valid(r.valid for r in results)
    lanes: tuple[Lane, ...] = ()
    span = 0.0
    messages = None
    attempts: tuple[Attempt, ...] = ()
    schedule: dict[str, Any] = {}
    exceptions: Counter[str] = Counter()
    if history is not None:
        records = history.records()
        span = _span(records)
        lanes = _lanes(history, exceptions)
        messages = _messages(history, span, _accounting_details(results))
        attempts, schedule = _attempts(history, results)
    return TestEntry(
        nodeid=nodeid,
        kind="scenario" if kind == "scenario" else "test",
        outcome=outcome,
        duration_s=round(duration_s, 4),
        verdict=None if verdict is None else verdict_word(verdict),
        claims=tuple(claims),
        replay=tuple(replay),
        failure=cut_middle(failure, MAX_FAILURE),
        checks=tuple(
            Check(r.name, verdict_word(r.valid), _cut(r.message, 2000), _trim(r.details))
            for r in results
        ),
        lanes=lanes,
        span=round(span, 4),
        messages=messages,
        attempts=attempts,
        schedule=schedule,
        exceptions=dict(exceptions.most_common()),
        seed=seed,
    )


# ---------------------------------------------------------------------- lanes
def _span(records: Iterable[Any]) -> float:
    end = 0.0
    for r in records:
        for value in (getattr(r, "t", None), getattr(r, "start", None), getattr(r, "end", None)):
            if isinstance(value, int | float) and value > end:
                end = float(value)
    return end


def _lanes(history: History, exceptions: Counter[str]) -> tuple[Lane, ...]:
    windows: dict[str, list[Window]] = {}
    for f in history.faults():
        end = None if f.end is None else round(f.end, 4)
        params = dict(f.params)
        if f.status in ("heal_failed", "apply_failed"):
            params["status"] = f.status
        if f.step is not None:
            params["step"] = f.step
        window = Window(f.fault_id, f.kind, round(f.start, 4), end, _trim(params))
        windows.setdefault(f.target, []).append(window)
    lanes = [
        Lane(target, _TARGET_KINDS.get(target.partition(":")[0], "target"), tuple(ws))
        for target, ws in windows.items()
    ]
    proxies: dict[str, list[Mark]] = {}
    clients: dict[str, list[Mark]] = {}
    for r in history.records():
        if isinstance(r, ProxyEvent) and r.kind in _PROXY_KINDS:
            name = str(r.detail.get("proxy", "proxy"))
            proxies.setdefault(name, []).append(_proxy_mark(r))
        elif isinstance(r, ClientEvent):
            clients.setdefault(r.client, []).append(_client_mark(r))
        elif isinstance(r, Op) and r.error is not None and r.type != "invoke":
            exceptions[r.error.type] += 1
            label = f"{r.f} raised {r.error.type}: {r.error.message}"
            clients.setdefault(r.process, []).append(
                Mark(round(r.t, 4), "exception", _cut(label, 200), "error")
            )
    lanes += [  # a proxy that only opened and closed connections normally is left out
        _capped(f"proxy {name}", "proxy", marks)
        for name, marks in proxies.items()
        if any(m.severity != "info" for m in marks)
    ]
    lanes += [_capped(name, "client", marks) for name, marks in clients.items()]
    return tuple(lanes)


def _capped(name: str, kind: LaneKind, marks: list[Mark]) -> Lane:
    if len(marks) <= MAX_MARKS:
        return Lane(name, kind, (), tuple(marks))
    keep = sorted(marks, key=lambda m: (_RANK[m.severity], m.t))[:MAX_MARKS]
    return Lane(name, kind, (), tuple(sorted(keep, key=lambda m: m.t)), len(marks) - MAX_MARKS)


def _client_mark(e: ClientEvent) -> Mark:
    parts = [e.kind] + [
        readable(e.detail[k]) if k in _BARE_KEYS else f"{k} {readable(e.detail[k])}"
        for k in _LABEL_KEYS
        if k in e.detail
    ]
    severity = _CLIENT_SEVERITY.get(e.kind, "info")
    return Mark(round(e.t, 4), e.kind, _cut(" ".join(parts), 200), severity)


def _proxy_mark(e: ProxyEvent) -> Mark:
    d = e.detail
    severity = _PROXY_KINDS[e.kind]
    reason = d.get("reason") or d.get("effect") or d.get("mode") or d.get("error") or ""
    if e.kind == "connection_closed" and reason not in ("", "closed", "client_closed"):
        severity = "warn"
    who = d.get("connect_name") or d.get("client") or ""
    conn = d.get("connection", d.get("connections", ""))
    label = " ".join(str(p) for p in (e.kind, f"#{conn}" if conn != "" else "", who, reason) if p)
    return Mark(round(e.t, 4), e.kind, _cut(label, 200), severity)


# ---------------------------------------------------------------------- messages
def _accounting_details(results: Iterable[CheckResult]) -> Mapping[str, Any] | None:
    """The details of the scenario's own accounting check (its duplicate rules), if any."""
    return next((r.details for r in results if r.name.startswith("accounting")), None)


def _messages(
    history: History, span: float, accounting: Mapping[str, Any] | None = None
) -> Messages | None:
    sent: dict[str, float] = {}
    for op in history.ops():
        if (
            op.f == "publish"
            and op.type == "invoke"
            and isinstance(op.value, dict)
            and not op.value.get("jetstream")  # accounted by the stream checker
        ):
            mid = op.value.get("id")
            if mid is not None:
                sent.setdefault(str(mid), op.t)
    if not sent:
        return None
    # the scenario's own accounting decides which duplicates its rules allowed; without one,
    # every duplicate counts (exactly once is the default promise)
    d = accounting if accounting and "counts" in accounting else check_accounting(history).details
    c = d.get("counts", {})
    counts = {
        "published": int(c.get("attempted", len(sent))),
        "confirmed": int(c.get("ok", 0)),
        "lost": int(c.get("lost", 0)),
        "duplicated": int(c.get("duplicates_forbidden", c.get("duplicated", 0))),
        "recovered": int(c.get("recovered", 0)),
    }
    if c.get("duplicates_allowed"):  # labelled, so nobody reads them as a defect
        counts["allowed_duplicates"] = int(c["duplicates_allowed"])
    for key in ("delivered", "kept", "reported_failed", "silently_gone", "pending", "unexpected"):
        if c.get(key):
            counts[key] = int(c[key])
    width = span / BINS if span > 0 else 1.0
    bins: dict[str, tuple[int, ...]] = {}
    for fate in FATES:
        ids = d.get(fate) or ()
        if not ids:
            continue
        row = [0] * BINS
        for mid in ids:
            row[min(BINS - 1, int(sent.get(str(mid), 0.0) / width))] += 1
        bins[fate] = tuple(row)
    lost = tuple(str(m) for m in (d.get("lost") or ())[:MAX_LIST])
    return Messages(counts, bins, lost)


# ---------------------------------------------------------------------- retries
def _attempts(
    history: History, results: Sequence[CheckResult]
) -> tuple[tuple[Attempt, ...], dict[str, Any]]:
    backoff = next((r for r in results if r.name.partition("#")[0] == "backoff"), None)
    if backoff is not None and isinstance(backoff.details.get("attempts"), list):
        problems = [str(p) for p in backoff.details.get("problems") or ()]
        rows = []
        for a in backoff.details["attempts"][:MAX_ATTEMPTS]:
            prefix = f"{a.get('group')} retry {a.get('attempt')} at t="
            flagged = any(p.startswith(prefix) for p in problems)
            rows.append(
                Attempt(
                    str(a.get("group")),
                    int(a.get("attempt", 0)),
                    round(float(a.get("t", 0.0)), 4),
                    _num(a.get("nominal")),
                    _num(a.get("actual")),
                    None if a.get("actual") is None else not flagged,
                )
            )
        params = dict(backoff.details.get("params") or {})
        return tuple(rows), {"source": "backoff checker", **params}
    events = [e for e in history.client_events() if e.kind == "retry_scheduled"]
    rows = []
    for e in events[:MAX_ATTEMPTS]:
        d = e.detail
        failed, started = _num(d.get("failed_at")), _num(d.get("started_at"))
        actual = None if failed is None or started is None else started - failed
        rows.append(
            Attempt(
                str(d.get("group", d.get("subject"))),
                int(d.get("attempt", 0)),
                round(e.t, 4),
                _num(d.get("delay")),
                actual,
                None,
            )
        )
    return tuple(rows), ({"source": "reported by the service"} if rows else {})


# ---------------------------------------------------------------------- helpers
def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value), 6)


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut_middle(text: str, limit: int) -> str:
    """Keep the start and, at twice its length, the end of ``text``: a traceback's last
    lines (the exception and its message) matter most, its first lines say where it began."""
    if len(text) <= limit:
        return text
    gap = f"\n… ({len(text) - limit} characters left out) …\n"
    head = (limit - len(gap)) // 3
    tail = limit - len(gap) - head
    return text[:head] + gap + text[len(text) - tail :]


def _trim(value: Any, depth: int = 0) -> Any:
    """Bound details for the report: lists to MAX_LIST items, strings, nesting."""
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, Mapping):
        if depth > 4:
            return _cut(repr(value))
        return {str(k): _trim(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        items = [_trim(v, depth + 1) for v in value[:MAX_LIST]]
        if len(value) > MAX_LIST:
            items.append(f"… and {len(value) - MAX_LIST} more")
        return items
    if value is None or isinstance(value, bool | int | float):
        return value
    return _cut(repr(value))
