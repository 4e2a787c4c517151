"""Pool: initialization reports full / partial / none truthfully, and the service degrades."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nats_fault_harness.checkers._ops import operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import History

__all__ = ["check_pool"]


def _outcome(connected: int, size: int) -> str:
    return "none" if connected == 0 else ("full" if connected >= size else "partial")


def check_pool(
    history: History,
    *,
    broken: Iterable[str | int] = (),
    size: int | None = None,
    client: str | None = None,
    require_publishes: bool = True,
) -> CheckResult:
    """Check the ``pool_initialized`` report against the members the test broke.

    Valid iff exactly one report exists; ``len(connected) == size - len(broken)``; the
    ``failed`` names are exactly ``broken``, each with a non-empty reason; no broken member
    is listed connected; outcome ``"none"`` reports ``fallback: true`` (and ``enabled:
    false`` if present), other outcomes do not report a fallback; and, with
    ``require_publishes``, at least one ``publish`` invoked after the report ended ``ok``.

    Args:
        history: the recorded run.
        broken: the members the test broke, named as in the event (compared as strings).
        size: the configured pool size; defaults to the event's ``size``.
        client: only events of this client (the service name); ``None`` for all.
        require_publishes: check graceful degradation by publishes after initialization.

    Returns:
        ``"unknown"`` when ``require_publishes`` and no publish was invoked after the report.
    """
    inits = [e for e in history.client_events(client) if e.kind == "pool_initialized"]
    want_broken = {str(b) for b in broken}
    if len(inits) != 1:
        times = [f"t={e.t:.3f}s" for e in inits]
        return CheckResult(
            "pool",
            False,
            {"reports": len(inits)},
            f"expected one pool_initialized event, got {len(inits)} {times}",
        )
    init = inits[0]
    d = init.detail
    size_ = int(d.get("size", 0)) if size is None else size
    connected = [str(c) for c in d.get("connected") or ()]
    failed = {str(k): v for k, v in (d.get("failed") or {}).items()}
    outcome = _outcome(len(connected), size_)
    expected = _outcome(size_ - len(want_broken), size_)
    problems: list[str] = []
    if size is not None and d.get("size") not in (None, size):
        problems.append(f"reported size {d.get('size')}, configured {size}")
    if outcome != expected:
        problems.append(f"outcome {outcome!r}, expected {expected!r}")
    if len(connected) != size_ - len(want_broken):
        problems.append(
            f"{len(connected)} connected {connected}, expected {size_ - len(want_broken)}"
        )
    if set(failed) != want_broken:
        missing, extra = sorted(want_broken - set(failed)), sorted(set(failed) - want_broken)
        problems.append(
            f"failed members {sorted(failed)}: unreported {missing}, unexpected {extra}"
        )
    no_reason = sorted(k for k, v in failed.items() if not v)
    if no_reason:
        problems.append(f"failed members without a reason: {no_reason}")
    both = sorted(want_broken & set(connected))
    if both:
        problems.append(f"broken members listed as connected: {both}")
    if outcome == "none":
        if d.get("fallback") is not True:
            problems.append("pool failed entirely but no fallback connection was reported")
        if d.get("enabled", False) is not False:
            problems.append("pool failed entirely but is reported enabled")
    elif d.get("fallback"):
        problems.append(f"outcome {outcome!r} but a fallback connection was reported")
    pubs = [p for p in operations(history, "publish") if p.invoke.t >= init.t]
    ok = sum(1 for p in pubs if p.outcome == "ok")
    if require_publishes and pubs and ok == 0:
        problems.append(f"none of {len(pubs)} publishes after initialization succeeded")
    details: dict[str, Any] = {
        "outcome": outcome,
        "expected_outcome": expected,
        "size": size_,
        "connected": connected,
        "failed": failed,
        "broken": sorted(want_broken),
        "publishes_after_init": len(pubs),
        "publishes_ok_after_init": ok,
        "problems": problems,
    }
    if problems:
        return CheckResult("pool", False, details, "; ".join(problems))
    if require_publishes and not pubs:
        return CheckResult(
            "pool", UNKNOWN, details, f"pool {outcome}, but no publish after initialization"
        )
    return CheckResult(
        "pool",
        True,
        details,
        f"pool {outcome}: {len(connected)}/{size_} connected, {ok} publishes ok",
    )
