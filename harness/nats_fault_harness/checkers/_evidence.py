"""Evidence: a run earns ``valid`` only if the service started and every fault reached it.

The other checkers decide whether the service kept a promise; this one decides whether the
run could have shown that it broke one. It reads the run's plan (the runner's ``run``
event: the service under test, whether its start is expected to fail, the declared fault
steps and the proxies of the service's links), the fault windows (each tagged with the step
it realises and the proxies it acts on), the proxy's connection events and the service's
operations. Rules, in order:

1. **Start.** The service's ``start`` operation must end as the scenario expects (``ok``
   unless ``expect: {start: fail}``); otherwise the verdict is ``invalid``: a service
   that never started tested nothing, and one that starts where it must refuse broke
   its promise.
2. **Applied.** Every declared step has a window; a step that never fired (a timed fault
   after the workload ended, an event that never happened) makes the verdict ``unknown``.
3. **Reached.** During each window, one of the service's connections crossed a proxy the
   fault acts on (opened before the window closed, closed after it opened; connections
   whose ``CONNECT`` name a ``connect_name`` fault excludes do not count), or the proxy
   saw the service try (a dial to a dead upstream). A fault that refuses connections
   (``down``, a broken pool member, a stopped server) leaves no trace at the proxy: there
   the service's own report counts (its pool initialisation naming the member failed),
   and so does a service that never connected at all and failed an operation during the
   window. Otherwise: ``unknown``, naming the connections the service did use.
4. **Exercised.** A lasting fault that reached the service must also overlap something
   the service did (an operation, or a client event of its connection); a fault that only
   sat beside an idle service proved nothing: ``unknown``.
5. **Acted.** A ``frames`` fault acts on chosen frames only: it counts as applied when its
   toxics acted on at least one frame (their ``toxic_fired`` events). A filter that
   matched nothing the link carried (``frames("HMSG", subject="_INBOX.>")``) was never
   applied: ``unknown``, naming the filter. How many frames each one acted on is in the
   details and the summary. (With events dropped by the proxy's ring, 0 proves nothing
   and is not held against the run.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from nats_fault_harness.checkers._ops import listing, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import FaultRecord, History

__all__ = ["RUN_EVENT", "RUNNER", "check_evidence", "evidence_summary"]

RUNNER = "runner"
"""The client name of the runner's own events."""
RUN_EVENT = "run"
"""The kind of the runner's event describing the run (see the module docstring)."""

_REFUSING = frozenset({"down", "kill", "stop", "lame_duck", "restart"})


@dataclass(frozen=True)
class _Conn:
    proxy: str
    id: int
    opened: float
    closed: float | None
    name: str | None
    attempt: bool  # a dial the proxy accepted but could not connect upstream

    def label(self) -> str:
        who = f" ({self.name})" if self.name else ""
        return f"{self.proxy}#{self.id}{who}"


def _connections(history: History) -> tuple[list[_Conn], int]:
    opened: dict[tuple[str, int], float] = {}
    names: dict[tuple[str, int], str] = {}
    closed: dict[tuple[str, int], float] = {}
    attempts: list[_Conn] = []
    dropped = 0
    for e in history.proxy_events():
        d = e.detail
        if e.kind == "events_dropped":
            dropped += int(d.get("dropped", 0))
            continue
        if "proxy" not in d or "connection" not in d:
            continue
        key = (str(d["proxy"]), int(d["connection"]))
        if e.kind == "connection_opened":
            opened[key] = e.t
        elif e.kind == "connection_identified" and d.get("connect_name"):
            names[key] = str(d["connect_name"])
        elif e.kind == "connection_closed":
            closed[key] = e.t
            if d.get("connect_name"):
                names.setdefault(key, str(d["connect_name"]))
        elif e.kind == "connection_failed":
            attempts.append(_Conn(key[0], key[1], e.t, e.t, None, True))
    conns = [_Conn(k[0], k[1], t, closed.get(k), names.get(k), False) for k, t in opened.items()]
    return conns + attempts, dropped


def run_plan(history: History) -> dict[str, Any] | None:
    """The detail of the runner's `run` event (the run plan), if the history has one."""
    for e in history.client_events(RUNNER):
        if e.kind == RUN_EVENT:
            return e.detail
    return None


def check_evidence(history: History, *, service: str | None = None) -> CheckResult:
    """Decide whether the run shows the promise was exercised (module docstring).

    Args:
        history: the recorded run.
        service: the service's client name; defaults to the one the ``run`` event names.

    Returns:
        ``False`` when the start went against the scenario's expectation; ``"unknown"``
        when the plan is missing, a step never fired, or a fault did not reach or exercise
        the service; else ``True``, with what each fault hit in the details.
    """
    plan = run_plan(history)
    if plan is None:
        return CheckResult(
            "evidence", UNKNOWN, {}, "the history has no run plan (the runner's 'run' event)"
        )
    name = service or str(plan.get("service", ""))
    start_problem = _start_problem(history, name, str(plan.get("expect_start", "ok")))
    if start_problem is not None:
        return CheckResult("evidence", False, {"service": name}, start_problem)
    conns, dropped = _connections(history)
    fired: Counter[str] = Counter(
        str(e.detail.get("toxic")) for e in history.proxy_events() if e.kind == "toxic_fired"
    )
    service_links = {str(p) for p in (plan.get("links") or {}).values()}
    mine = [c for c in conns if c.proxy in service_links]
    activity = _activity(history, name)
    reported_failed = _reported_failed(history, name, plan)
    end_of_run = max((r.t for r in history.ops()), default=0.0)
    faults = [f for f in history.faults() if f.step is not None]
    steps: list[dict[str, Any]] = []
    reasons: list[str] = []
    for step in plan.get("steps") or ():
        index, label = int(step["step"]), str(step["label"])
        windows = [f for f in faults if f.step == index]
        row: dict[str, Any] = {"step": index, "label": label, "windows": []}
        steps.append(row)
        if not windows:
            row["verdict"] = "never applied"
            reasons.append(f"fault {index} ({label}) was never applied")
            continue
        for w in windows:
            instant = bool(step.get("instant"))
            found = _judge(w, instant, mine, activity, reported_failed, end_of_run)
            toxics = w.params.get("toxics")
            if isinstance(toxics, list) and not found["problem"]:
                found["acted"] = acted = sum(fired[str(t)] for t in toxics)
                if not acted and not dropped:
                    found["problem"] = (
                        f"acted on no frame: its filter ({_filter(w.params)}) matched nothing "
                        "the service's link carried while it was applied, so it was never "
                        "applied"
                    )
            row["windows"].append(found)
            if found["problem"]:
                reasons.append(f"fault {index} ({label}): {found['problem']}")
        row["verdict"] = "unknown" if any(w["problem"] for w in row["windows"]) else "reached"
    details: dict[str, Any] = {
        "service": name,
        "service_type": str(plan.get("service_type", "")),
        "steps": steps,
        "service_connections": [c.label() for c in mine if not c.attempt],
        "events_dropped": dropped,
    }
    if reasons:
        if dropped:
            reasons.append(f"the proxy's event ring dropped {dropped} events")
        return CheckResult("evidence", UNKNOWN, details, "; ".join(reasons))
    started = "failed to start, as expected" if plan.get("expect_start") == "fail" else "started"
    kind = f" ({details['service_type']})" if details["service_type"] else ""
    result = CheckResult("evidence", True, details, "")
    hits = evidence_summary(result).partition("; ")[2]
    hit_text = f"; {hits}" if hits else "; no faults declared"
    return CheckResult("evidence", True, details, f"service {name}{kind} {started}{hit_text}")


def _start_problem(history: History, service: str, expect: str) -> str | None:
    starts = [op for op in operations(history, "start") if op.invoke.process == service]
    if not starts:
        return f"the service {service!r} was never started"
    op = starts[0]
    err = op.error
    why = f"{err.type}: {err.message}" if err is not None else op.outcome
    if expect == "fail":
        if op.outcome == "ok":
            return "the scenario expects the start to fail (expect.start: fail), but it succeeded"
        return None
    if op.outcome != "ok":
        return f"the service {service!r} failed to start ({why}); nothing was tested"
    return None


def _activity(history: History, service: str) -> list[tuple[float, float, bool]]:
    """``(from, to, failed)`` of each service operation, and each client event as a point.

    The inputs the harness's driver sent to a consumer-shaped service are its work too:
    each counts from its sending until its completion.
    """
    spans: list[tuple[float, float, bool]] = []
    for op in operations(history):
        if op.invoke.process != service and not (
            op.invoke.process == "driver" and op.invoke.f == "input"
        ):
            continue
        end = op.completion.t if op.completion else float("inf")
        spans.append((op.invoke.t, end, op.outcome in ("fail", "info")))
    for e in history.client_events(service):
        if e.kind in ("disconnected", "reconnected", "error", "closed", "lame_duck"):
            spans.append((e.t, e.t, e.kind != "reconnected"))
    return spans


def _judge(
    w: FaultRecord,
    instant: bool,
    conns: list[_Conn],
    activity: list[tuple[float, float, bool]],
    reported_failed: set[str],
    end_of_run: float,
) -> dict[str, Any]:
    end = w.end if w.end is not None else end_of_run
    found: dict[str, Any] = {"start": w.start, "end": w.end, "links": list(w.links)}
    links = set(w.links)
    if not links:
        found.update(hit=[], problem=None, note="no service link recorded: reach not assessed")
        return found
    glob = w.params.get("connect_name")
    hit = [
        c.label()
        for c in conns
        if c.proxy in links
        and (glob is None or (c.name is not None and fnmatchcase(c.name, str(glob))))
        and c.opened <= end
        and (c.closed is None or c.closed >= w.start)
    ]
    busy = [a for a in activity if a[0] <= end and a[1] >= w.start]
    refusing = w.kind in _REFUSING or w.params.get("how") == "down"
    if not hit and refusing and _refused_service(w, conns, busy, reported_failed):
        hit = [f"refused: {w.kind} kept the service out of {', '.join(sorted(links))}"]
    found["hit"] = hit
    if not hit:
        used = sorted({c.label() for c in conns if not c.attempt})
        found["problem"] = (
            f"did not reach the service between t={w.start:.3f}s and t={end:.3f}s "
            f"(its connections used {listing(used, 8) or 'no proxied link'}; "
            f"the fault acts on {', '.join(sorted(links))})"
        )
        return found
    if not busy and not instant:
        found["problem"] = (
            f"reached {', '.join(hit[:4])} but the service did nothing between "
            f"t={w.start:.3f}s and t={end:.3f}s"
        )
        return found
    found["problem"] = None
    return found


def _filter(params: dict[str, Any]) -> str:
    keys = ("verb", "subject", "reply", "header", "header_value", "min_bytes", "max_bytes")
    shown = [f"{k} {params[k]}" for k in keys if params.get(k) not in (None, "", 0)]
    return ", ".join([*shown, f"stream {params.get('stream', 'upstream')}"])


def _reported_failed(history: History, service: str, plan: dict[str, Any]) -> set[str]:
    """Proxies of the pool members the service's own pool report names as failed."""
    failed: set[str] = set()
    for e in history.client_events(service):
        if e.kind == "pool_initialized":
            failed |= {str(m) for m in (e.detail.get("failed") or {})}
    return {
        str(proxy)
        for target, proxy in (plan.get("links") or {}).items()
        if str(target).removeprefix("member:") in failed and str(target).startswith("member:")
    }


def _refused_service(
    w: FaultRecord,
    conns: list[_Conn],
    busy: list[tuple[float, float, bool]],
    reported_failed: set[str],
) -> bool:
    """Whether a refusing fault kept the service out, by its own report or its failures."""
    if reported_failed & set(w.links):
        return True
    never_connected = not any(not c.attempt for c in conns)
    return never_connected and any(failed for _, _, failed in busy)


def evidence_summary(result: CheckResult) -> str:
    """One line: the service and what each fault hit (``CONNECT`` names, else proxies).

    ``service sut; fault 0 (kill on server, at 1 s, for 1.5 s) hit sut-main, sut-pool-0
    and 38 unnamed connections``.
    """
    parts = [f"service {result.details.get('service', '?')}"]
    for row in result.details.get("steps") or ():
        hits: list[str] = [h for w in row.get("windows", ()) for h in w.get("hit") or ()]
        if not hits:
            parts.append(f"fault {row['step']} ({row['label']}) {row.get('verdict', '?')}")
            continue
        refused = [h for h in hits if h.startswith("refused: ")]
        named = [h for h in hits if h not in refused and h.endswith(")")]
        names = sorted({h[h.index("(") + 1 : -1] for h in named})
        unnamed = len(hits) - len(refused) - len(named)
        shown = names + ([f"{unnamed} unnamed connections"] if unnamed else [])
        shown += [h.removeprefix("refused: ") for h in refused]
        acted = [w["acted"] for w in row.get("windows", ()) if "acted" in w]
        frames = f", acted on {sum(acted)} frames" if acted else ""
        parts.append(f"fault {row['step']} ({row['label']}) hit {listing(shown, 6)}{frames}")
    return "; ".join(parts)
