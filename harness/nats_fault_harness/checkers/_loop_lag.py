"""Loop lag: the event loop never stalls longer than a threshold."""

from __future__ import annotations

from nats_fault_harness.checkers._ops import listing
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import History

__all__ = ["check_loop_lag"]


def check_loop_lag(
    history: History, *, threshold_ms: float = 100.0, client: str | None = None
) -> CheckResult:
    """Valid iff every ``loop_lag`` event's lag is at most ``threshold_ms``.

    An event carries ``detail["max_ms"]`` or ``detail["samples"]`` (milliseconds).

    Args:
        history: the recorded run.
        threshold_ms: the largest acceptable stall, milliseconds.
        client: only events of this client; ``None`` for all.

    Returns:
        ``"unknown"`` when no ``loop_lag`` event was recorded.
    """
    events = [e for e in history.client_events(client) if e.kind == "loop_lag"]
    worst: list[tuple[float, float]] = []  # (t, lag) per event
    for e in events:
        samples = list(e.detail.get("samples") or ())
        if "max_ms" in e.detail:
            samples.append(e.detail["max_ms"])
        if samples:
            worst.append((e.t, max(float(s) for s in samples)))
    over = [(t, lag) for t, lag in worst if lag > threshold_ms]
    max_ms = max((lag for _, lag in worst), default=None)
    details = {
        "threshold_ms": threshold_ms,
        "max_ms": max_ms,
        "events": len(events),
        "over": [{"t": t, "lag_ms": lag} for t, lag in over],
    }
    if over:
        items = [f"{lag:.1f} ms at t={t:.3f}s" for t, lag in over]
        msg = f"{len(over)} stalls over {threshold_ms:.0f} ms: {listing(items)}"
        return CheckResult("loop_lag", False, details, msg)
    if max_ms is None:
        return CheckResult("loop_lag", UNKNOWN, details, "no loop_lag measurements in history")
    return CheckResult(
        "loop_lag", True, details, f"max lag {max_ms:.1f} ms <= {threshold_ms:.0f} ms"
    )
