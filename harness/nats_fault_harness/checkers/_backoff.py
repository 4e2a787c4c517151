"""Backoff: each retry waits ``base * 2**(attempt-1)``; retries stop at ``max_retries``."""

from __future__ import annotations

from typing import Any

from nats_fault_harness.checkers._ops import listing
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import ClientEvent, History

__all__ = ["check_backoff"]


def _key(event: ClientEvent) -> str:
    return str(event.detail.get("group", event.detail.get("subject")))


def _measure(event: ClientEvent, events: list[ClientEvent]) -> float | None:
    """Actual delay: ``started_at - failed_at``, else ``group_failed`` -> ``retry_started``."""
    d = event.detail
    if isinstance(d.get("failed_at"), int | float) and isinstance(d.get("started_at"), int | float):
        return float(d["started_at"]) - float(d["failed_at"])
    key = _key(event)
    failed = [
        e for e in events if e.kind == "group_failed" and _key(e) == key and e.index <= event.index
    ]
    started = [
        e
        for e in events
        if e.kind == "retry_started"
        and _key(e) == key
        and e.index > event.index
        and e.detail.get("attempt") in (None, d.get("attempt"))
    ]
    if not failed or not started:
        return None
    return started[0].t - failed[-1].t


def check_backoff(
    history: History,
    *,
    client: str | None = None,
    base: float = 0.1,
    max_retries: int = 3,
    lower_tolerance: float = 0.005,
    upper_tolerance: float = 0.080,
) -> CheckResult:
    """Check retry delays, the retry cap, and that exhausted groups are queued.

    A *run* is the sequence of ``retry_scheduled`` events of one group (``detail["group"]``,
    else ``detail["subject"]``) starting at attempt 1. Each retry's actual delay must lie in
    ``[nominal - lower_tolerance, nominal + upper_tolerance]`` with nominal
    ``base * 2**(attempt-1)``; the reported ``delay`` must equal the nominal one. A run
    never exceeds ``max_retries``; a run that reached it ends with ``group_published`` or
    ``batch_queued_failed`` for its group; a group is never queued before its retries ran out.

    Args:
        history: the recorded run.
        client: only events of this client (the service name); ``None`` for all.
        base: the first retry's delay, seconds.
        max_retries: the retry cap.
        lower_tolerance: how much earlier than nominal a retry may start, seconds.
        upper_tolerance: how much later than nominal a retry may start, seconds.

    Returns:
        ``"unknown"`` with no retries in the history, or when a delay could not be measured
        and nothing else was wrong.
    """
    events = history.client_events(client)
    retries = [e for e in events if e.kind == "retry_scheduled"]
    runs: list[list[ClientEvent]] = []
    open_runs: dict[str, list[ClientEvent]] = {}
    problems: list[str] = []
    attempts: list[dict[str, Any]] = []
    unmeasured = 0
    for e in retries:
        key, attempt = _key(e), int(e.detail.get("attempt", 0))
        run = open_runs.get(key)
        if run is None or attempt <= int(run[-1].detail.get("attempt", 0)):
            run = open_runs[key] = []
            runs.append(run)
        run.append(e)
        nominal = base * 2 ** (attempt - 1)
        actual = _measure(e, events)
        row = {"group": key, "attempt": attempt, "t": e.t, "nominal": nominal, "actual": actual}
        attempts.append(row)
        where = f"{key} retry {attempt} at t={e.t:.3f}s"
        if attempt < 1 or attempt > max_retries:
            problems.append(f"{where}: attempt number outside 1..{max_retries}")
        reported = e.detail.get("delay")
        if isinstance(reported, int | float) and abs(reported - nominal) > 1e-6:
            problems.append(f"{where}: reported delay {reported:.3f}s, nominal {nominal:.3f}s")
        if actual is None:
            unmeasured += 1
        elif not nominal - lower_tolerance <= actual <= nominal + upper_tolerance:
            problems.append(
                f"{where}: waited {actual * 1000:.1f} ms, expected {nominal * 1000:.1f} ms "
                f"(-{lower_tolerance * 1000:.0f}/+{upper_tolerance * 1000:.0f} ms)"
            )
    for run in runs:
        key, first, last = _key(run[0]), run[0], run[-1]
        if len(run) > max_retries:
            problems.append(f"{key}: {len(run)} retries from t={first.t:.3f}s, cap {max_retries}")
        if int(last.detail.get("attempt", 0)) >= max_retries:
            ends = [
                x
                for x in events
                if x.index > last.index
                and _key(x) == key
                and x.kind in ("group_published", "batch_queued_failed", "retry_scheduled")
            ]
            if not ends or ends[0].kind == "retry_scheduled":
                problems.append(
                    f"{key}: retries exhausted at t={last.t:.3f}s but the group was never "
                    "reported published or queued (batch_queued_failed)"
                )
    for q in (e for e in events if e.kind == "batch_queued_failed"):
        key = _key(q)
        before = [r for r in runs if r[0].index < q.index and _key(r[0]) == key]
        done = int(before[-1][-1].detail.get("attempt", 0)) if before else 0
        if done < max_retries:
            problems.append(
                f"{key}: queued at t={q.t:.3f}s after {done} retries, before the cap {max_retries}"
            )
    details = {
        "attempts": attempts,
        "runs": len(runs),
        "unmeasured": unmeasured,
        "problems": problems,
        "params": {"base": base, "max_retries": max_retries},
    }
    if problems:
        return CheckResult(
            "backoff", False, details, f"{len(problems)} problems: {listing(problems)}"
        )
    if not retries:
        return CheckResult("backoff", UNKNOWN, details, "no retry_scheduled events in history")
    if unmeasured:
        msg = f"{unmeasured} of {len(retries)} retries have no measurable delay"
        return CheckResult("backoff", UNKNOWN, details, msg)
    return CheckResult(
        "backoff", True, details, f"{len(retries)} retries in {len(runs)} runs within tolerance"
    )
