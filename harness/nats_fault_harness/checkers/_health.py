"""Health: the health the service reports follows the state of its connection.

A service that says "healthy" while its connection is stale (blackholed, its PONGs held,
its server gone) misleads whoever routes traffic by it; one that stays "unhealthy" after
the link is back, or says so on a healthy link, raises false alarms. The rules compare
the service's ``health`` readings with the run's fault windows; their bounds follow from
the service's own settings (its ``health_config`` event), never from a constant:

- ``check_s = check_interval_s + 2 * check_timeout_s``: the service's own periodic check
  (a round trip through the server). A fault that begins at ``f`` is met by a check that
  starts by ``f + interval + timeout`` (one may just have started) and fails within one
  more ``timeout``.
- ``ping_s = (max_outstanding_pings + 1) * ping_interval_s``: the NATS client's
  keep-alive declares the connection stale on the ``(max + 1)``-th unanswered PING after
  the last PONG, which came at ``f`` at the latest.
- the tolerance ``tau = poll_s + n * loop lag + slack_s``: a polled reading is up to one
  ``poll_s`` late, and each of the ``n`` timers a bound waits on can fire late by the
  largest lag the run measured (its ``loop_lag`` event): ``n = 3`` for ``check_s``
  (the sleep between checks and two check timeouts), ``max_outstanding_pings + 1`` for
  ``ping_s`` (the PING ticks), 1 for a bound the scenario gives.

Rules (a fault *cuts* the service when it acts on every link of the service, the run
plan's ``links``, without a ``connect_name`` filter, and stops traffic: ``blackhole``,
``drop``, ``down``, ``kill``, ``stop``, ``pause``, or frames ``*`` held or dropped, which
both mechanisms notice; or PONGs withheld downstream / PINGs upstream, which only the
keep-alive notices):

1. **Detect.** During each cutting window the service reports unhealthy by
   ``start + D + tau``, ``D`` the smallest bound of the mechanisms that notice that fault.
   A window shorter than that asks nothing.
2. **Recover.** After the faults of a disturbed stretch (overlapping windows, whatever
   their kind) heal, the service reports healthy again by ``anchor + R + tau``, with
   ``R = check_s`` (``ping_interval_s`` for a service with no check of its own) and
   ``anchor`` the heal, or later, if the service reported a connection ``disconnected``
   and not yet ``reconnected`` at the heal: then that connection's next ``reconnected``
   (how fast a client reconnects is not health's business). A connection that never
   reconnects leaves the rest of the run undecided; a service that reports no
   connection events at all leaves recovery undecided.
3. **Quiet.** Outside disturbed stretches and their recovery allowance (and the first
   ``R + tau`` after the first reading), an unhealthy stretch may last at most
   ``R + tau`` (one failed check, corrected by the next). ``tau`` of ``R`` counts 3 timers
   (1 for a service with no check of its own).

Readings are ``health`` client events ``{"healthy": bool}`` (``at`` overrides the record
time), polled by the runner (``polled: true``; the last one carries ``end: true``) or
pushed by the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nats_fault_harness.checkers._evidence import run_plan
from nats_fault_harness.checkers._ops import listing
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import ClientEvent, FaultRecord, History

__all__ = ["check_health"]

_CUTTING = frozenset({"blackhole", "drop", "down", "kill", "stop", "pause"})
_PICKS = ("nth", "every", "first", "after", "probability")
_BOTH = frozenset({"check", "ping"})
_PING = frozenset({"ping"})


@dataclass(frozen=True)
class _Bounds:
    check_s: float | None
    ping_s: float | None
    pings: int
    recover_s: float | None
    poll_s: float
    lag_s: float
    slack_s: float
    detect_override: float | None

    def tau(self, timers: int) -> float:
        """The tolerance of a bound that waits on ``timers`` timers, each late by the lag."""
        return self.poll_s + timers * self.lag_s + self.slack_s

    @property
    def recover_tau(self) -> float:
        return self.tau(3 if self.check_s is not None else 1)

    def detect(self, mechanisms: frozenset[str]) -> tuple[float, float] | None:
        """``(bound, tau)`` of the quickest mechanism that notices the fault."""
        if self.detect_override is not None:
            return self.detect_override, self.tau(1)
        options = [
            (b, self.tau(timers))
            for m, b, timers in (("check", self.check_s, 3), ("ping", self.ping_s, self.pings))
            if m in mechanisms and b is not None
        ]
        return min(options, key=lambda o: o[0] + o[1]) if options else None


@dataclass
class _Timeline:
    readings: list[tuple[float, bool]]
    end: float

    def state(self, t: float) -> bool | None:
        value: bool | None = None
        for at, healthy in self.readings:
            if at > t:
                break
            value = healthy
        return value

    def seen(self, healthy: bool, start: float, stop: float) -> bool:
        """Whether ``healthy`` was the reported state at some moment of ``[start, stop]``."""
        if self.state(start) is healthy:
            return True
        return any(start < at <= stop and h is healthy for at, h in self.readings)

    def stretches(self, healthy: bool) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        begin: float | None = None
        for at, h in self.readings:
            if h is healthy and begin is None:
                begin = at
            elif h is not healthy and begin is not None:
                out.append((begin, at))
                begin = None
        if begin is not None:
            out.append((begin, max(begin, self.end)))
        return out


@dataclass
class _Span:
    start: float
    end: float | None
    kinds: list[str] = field(default_factory=list)


def _mechanisms(w: FaultRecord) -> frozenset[str] | None:
    """Which mechanisms notice fault ``w`` cutting a link (None: it does not cut)."""
    p = w.params
    if p.get("connect_name") is not None:
        return None
    if w.kind in _CUTTING:
        return _BOTH
    if w.kind in ("frames_hold", "frames_drop") and not any(p.get(k) is not None for k in _PICKS):
        verb, stream = p.get("verb"), p.get("stream")
        if verb == "*" and p.get("subject", ">") == ">":
            return _BOTH
        if (verb, stream) in (("PONG", "downstream"), ("PONG", "both")):
            return _PING
        if (verb, stream) in (("PING", "upstream"), ("PING", "both")):
            return _PING
    return None


def _bounds(config: Mapping[str, Any], loop_lag_s: float, params: dict[str, Any]) -> _Bounds:
    def num(key: str) -> float | None:
        v = config.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    interval, timeout = num("check_interval_s"), num("check_timeout_s")
    ping, pings = num("ping_interval_s"), num("max_outstanding_pings")
    check_s = interval + 2 * timeout if interval is not None and timeout is not None else None
    ping_s = (pings + 1) * ping if ping is not None and pings is not None else None
    recover_s = check_s if check_s is not None else ping
    if params["recover_s"] is not None:
        recover_s = params["recover_s"]
    return _Bounds(
        check_s,
        ping_s,
        int(pings + 1) if pings is not None else 1,
        recover_s,
        num("poll_s") or 0.0,
        loop_lag_s,
        params["slack_s"],
        params["detect_s"],
    )


def _readings(events: list[ClientEvent]) -> _Timeline | None:
    readings = sorted(
        (float(e.detail.get("at", e.t)), e.detail["healthy"])
        for e in events
        if e.kind == "health" and isinstance(e.detail.get("healthy"), bool)
    )
    if not readings:
        return None
    ends = [e.t for e in events if e.kind == "health" and e.detail.get("end")]
    return _Timeline(readings, max(ends) if ends else max(e.t for e in events))


def _spans(faults: list[FaultRecord]) -> list[_Span]:
    spans: list[_Span] = []
    for w in sorted(faults, key=lambda f: f.start):
        last = spans[-1] if spans else None
        if last is not None and (last.end is None or w.start <= last.end):
            last.end = None if w.end is None or last.end is None else max(last.end, w.end)
            last.kinds.append(w.kind)
        else:
            spans.append(_Span(w.start, w.end, [w.kind]))
    return spans


def _anchor(events: list[ClientEvent], span: _Span) -> tuple[float | None, str | None]:
    """When the service's connections were back after ``span`` healed (see rule 2)."""
    assert span.end is not None
    state: dict[str, tuple[str, float]] = {}
    for e in events:
        if e.kind in ("disconnected", "reconnected") and e.t <= span.end:
            state[str(e.detail.get("member", ""))] = (e.kind, e.t)
    down = {m for m, (kind, _) in state.items() if kind == "disconnected"}
    anchor = span.end
    for member in sorted(down):
        back = next(
            (
                e.t
                for e in events
                if e.kind == "reconnected"
                and e.t > span.end
                and str(e.detail.get("member", "")) == member
            ),
            None,
        )
        if back is None:
            who = f"connection {member}" if member else "its connection"
            return None, f"{who} never reconnected after the heal at t={span.end:.3f}s"
        anchor = max(anchor, back)
    return anchor, None


def check_health(
    history: History,
    *,
    client: str | None = None,
    detect_s: float | None = None,
    recover_s: float | None = None,
    slack_s: float = 0.0,
) -> CheckResult:
    """Compare the service's reported health with the fault windows (module docstring).

    Args:
        history: the recorded run.
        client: the service's client name; defaults to the run plan's service.
        detect_s: use this detection bound instead of deriving it (seconds).
        recover_s: use this recovery bound ``R`` instead of deriving it (seconds).
        slack_s: seconds added to the tolerance ``tau``.

    Returns:
        ``"unknown"`` when the service reports no health, when the bounds are not
        derivable (no ``health_config`` settings and no parameters), when a rule could
        not be decided (a window whose readings stop early, a connection that never came
        back), or when nothing was checked; ``False`` with every violation otherwise
        found; else ``True``.
    """
    plan = run_plan(history) or {}
    name = client or str(plan.get("service", "")) or None
    events = history.client_events(name)
    timeline = _readings(events)
    details: dict[str, Any] = {"client": name}
    if timeline is None:
        return CheckResult(
            "health", UNKNOWN, details, "the service reports no health (no health readings)"
        )
    config = next((e.detail for e in reversed(events) if e.kind == "health_config"), {})
    lag = max(
        (float(e.detail.get("max_ms", 0.0)) for e in events if e.kind == "loop_lag"), default=0
    )
    params = {"detect_s": detect_s, "recover_s": recover_s, "slack_s": slack_s}
    b = _bounds(config, lag / 1000.0, params)
    details.update(
        readings=len(timeline.readings),
        settings=dict(config),
        check_s=b.check_s,
        ping_s=b.ping_s,
        recover_s=b.recover_s,
        loop_lag_s=round(b.lag_s, 4),
        recover_tau_s=round(b.recover_tau, 4),
    )
    if b.recover_s is None:
        return CheckResult(
            "health",
            UNKNOWN,
            details,
            "the bounds are not derivable: the service declares neither its health-check "
            "interval and timeout nor its ping interval and max outstanding pings "
            "(health_timing()), and the scenario gives no detect_s / recover_s",
        )
    links = {str(p) for p in (plan.get("links") or {}).values()}
    faults = history.faults()
    problems: list[str] = []
    undecided: list[str] = []
    checked: list[str] = []
    start = timeline.readings[0][0]
    _detect(faults, links, timeline, b, problems, undecided, checked)
    limit = b.recover_s + b.recover_tau
    allowed = [(start, start + limit)]
    connection_aware = any(e.kind in ("disconnected", "reconnected") for e in events)
    for span in _spans(faults):
        if span.end is None:
            allowed.append((span.start, float("inf")))
            continue
        if not connection_aware:
            allowed.append((span.start, span.end + limit))
            undecided.append(
                f"recovery after t={span.end:.3f}s: the service reports no connection "
                "events, so when its connection was back is not known"
            )
            continue
        anchor, why = _anchor(events, span)
        if anchor is None:
            allowed.append((span.start, float("inf")))
            undecided.append(f"recovery: {why}")
            continue
        deadline = anchor + limit
        allowed.append((span.start, deadline))
        was = "recovered" if timeline.seen(False, span.start, anchor) else "stayed healthy"
        if timeline.seen(True, anchor, deadline):
            checked.append(f"{was} after the heal at t={span.end:.3f}s")
        elif timeline.end < deadline:
            undecided.append(
                f"recovery after t={span.end:.3f}s: readings end at t={timeline.end:.3f}s, "
                f"before the bound t={deadline:.3f}s"
            )
        else:
            problems.append(
                f"still unhealthy at t={deadline:.3f}s, {deadline - anchor:.3f}s after its "
                f"connection was back (t={anchor:.3f}s; heal t={span.end:.3f}s); bound "
                f"R {b.recover_s:.3f}s + tau {b.recover_tau:.3f}s"
            )
    quiet = _quiet(timeline, allowed, limit, problems)
    if quiet > limit:
        checked.append(f"{quiet:.3f}s without faults")
    details.update(problems=problems, undecided=undecided, checked=checked, quiet_s=round(quiet, 3))
    if problems:
        return CheckResult("health", False, details, f"health: {listing(problems, 10)}")
    if undecided:
        return CheckResult("health", UNKNOWN, details, f"undecided: {listing(undecided, 10)}")
    if not checked:
        return CheckResult(
            "health",
            UNKNOWN,
            details,
            "nothing to decide: no cutting fault lasted past its detection bound, no "
            "recovery and no quiet time longer than the tolerance",
        )
    return CheckResult("health", True, details, f"health followed the link: {listing(checked, 8)}")


def _detect(
    faults: list[FaultRecord],
    links: set[str],
    timeline: _Timeline,
    b: _Bounds,
    problems: list[str],
    undecided: list[str],
    checked: list[str],
) -> None:
    for w in faults:
        mechanisms = _mechanisms(w)
        if mechanisms is None or not links or not links <= set(w.links):
            continue
        label = f"{w.kind} at t={w.start:.3f}s"
        found = b.detect(mechanisms)
        if found is None:
            undecided.append(
                f"{label}: no detection bound (the service declares no settings for "
                f"{' or '.join(sorted(mechanisms))})"
            )
            continue
        bound, tau = found
        deadline = w.start + bound + tau
        if w.end is not None and w.end < deadline:
            continue  # too short to require detection
        if timeline.end < deadline or timeline.readings[0][0] > deadline:
            undecided.append(f"{label}: readings do not cover t={deadline:.3f}s")
            continue
        if timeline.seen(False, w.start, deadline):
            checked.append(f"{label} detected")
        else:
            problems.append(
                f"reported healthy until t={deadline:.3f}s during {label} (bound "
                f"{bound:.3f}s + tau {tau:.3f}s)"
            )


def _quiet(
    timeline: _Timeline, allowed: list[tuple[float, float]], limit: float, problems: list[str]
) -> float:
    """Check rule 3; return the quiet time the readings cover."""
    quiet = _subtract((timeline.readings[0][0], timeline.end), allowed)
    for begin, stop in timeline.stretches(False):
        for qa, qb in quiet:
            a, z = max(begin, qa), min(stop, qb)
            if z - a > limit:
                problems.append(
                    f"reported unhealthy for {z - a:.3f}s (t={a:.3f}s..{z:.3f}s) with no fault "
                    f"and no recovery pending (tolerance {limit:.3f}s)"
                )
    return sum(z - a for a, z in quiet)


def _subtract(
    whole: tuple[float, float], holes: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    out = [whole]
    for ha, hb in holes:
        nxt: list[tuple[float, float]] = []
        for a, z in out:
            if hb <= a or ha >= z:
                nxt.append((a, z))
                continue
            if ha > a:
                nxt.append((a, ha))
            if hb < z:
                nxt.append((hb, z))
        out = nxt
    return out
