"""Validation: invalid messages are refused with a typed error and never reach a handler."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nats_fault_harness.checkers._ops import Operation, listing, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import History

__all__ = ["check_validation"]


def check_validation(
    history: History,
    *,
    expected_types: Iterable[str] = ("PublishError",),
    enabled: bool = True,
    client: str | None = None,
) -> CheckResult:
    """Check outgoing and incoming validation (or, with ``enabled=False``, its absence).

    With validation enabled: every ``publish_invalid`` must end ``fail`` with an error
    whose type is expected and which names the offending field (``value["field"]`` of the
    invocation) in ``error.fields["field"]`` or in its message; no ``handled`` operation
    may carry the id of a ``publish_invalid`` or ``inject_invalid`` message; there must be
    at least as many ``invalid_incoming`` events as ``inject_invalid`` operations that
    ended ``ok``. With it disabled: every ``publish_invalid`` must end ``ok``, every
    injected invalid message must be handled, and no ``invalid_incoming`` is reported.
    Either way, every ``inject_valid`` message that was sent must be handled (a service
    that refuses everything does not validate).

    Args:
        history: the recorded run.
        expected_types: accepted error type names (qualname, or ``module.qualname``).
        enabled: whether the service was configured to validate.
        client: only ``invalid_incoming`` events of this client; ``None`` for all.

    Returns:
        ``"unknown"`` when the history holds neither ``publish_invalid`` nor
        ``inject_invalid`` operations.
    """
    expected = set(expected_types)
    problems: list[str] = []
    outgoing = operations(history, "publish_invalid")
    for op in outgoing:
        where = f"publish_invalid op {op.invoke.op_id} (id {op.field('id')})"
        if not enabled:
            if op.outcome != "ok":
                problems.append(f"{where} ended {op.outcome} with validation disabled")
            continue
        problems += _refusal_problems(op, where, expected)
    injected = operations(history, "inject_invalid")
    sent_ids = {str(op.field("id")) for op in injected if op.outcome == "ok"}
    handled_ids = {
        str(op.value["id"])
        for op in history.ops()
        if op.f == "handled" and isinstance(op.value, dict) and "id" in op.value
    }
    reported = sum(1 for e in history.client_events(client) if e.kind == "invalid_incoming")
    handled: list[str] = []
    if enabled:
        invalid_ids = {str(op.field("id")) for op in outgoing if op.field("id") is not None}
        handled = sorted(handled_ids & (invalid_ids | sent_ids))
        if handled:
            problems.append(f"handler invoked for invalid messages: {listing(handled)}")
        if reported < len(sent_ids):
            problems.append(
                f"{len(sent_ids)} invalid incoming messages injected, only {reported} reported"
            )
    else:
        if unhandled := sorted(sent_ids - handled_ids):
            problems.append(
                f"invalid messages not handled with validation disabled: {listing(unhandled)}"
            )
        if reported:
            problems.append(f"{reported} invalid_incoming reported with validation disabled")
    valid_sent = {
        str(op.field("id")) for op in operations(history, "inject_valid") if op.outcome == "ok"
    }
    if lost := sorted(valid_sent - handled_ids):
        problems.append(f"valid incoming messages never handled: {listing(lost)}")
    details: dict[str, Any] = {
        "enabled": enabled,
        "publish_invalid": len(outgoing),
        "inject_invalid_ok": len(sent_ids),
        "inject_valid_ok": len(valid_sent),
        "invalid_incoming": reported,
        "handled_invalid": handled,
        "problems": problems,
    }
    if problems:
        return CheckResult(
            "validation", False, details, f"{len(problems)} problems: {listing(problems)}"
        )
    if not outgoing and not injected:
        return CheckResult("validation", UNKNOWN, details, "no invalid messages in history")
    if not enabled:
        return CheckResult(
            "validation",
            True,
            details,
            f"validation off: {len(outgoing)} invalid publishes sent, "
            f"{len(sent_ids)} invalid incoming handled",
        )
    return CheckResult(
        "validation",
        True,
        details,
        f"{len(outgoing)} invalid publishes refused, {reported} invalid incoming reported, "
        f"{len(valid_sent)} valid incoming handled",
    )


def _refusal_problems(op: Operation, where: str, expected: set[str]) -> list[str]:
    problems: list[str] = []
    err = op.error
    if op.outcome != "fail":
        problems.append(f"{where} ended {op.outcome}, expected fail")
    if err is None:
        if op.outcome == "fail":
            problems.append(f"{where} failed with no error recorded")
        return problems
    if err.type not in expected and f"{err.module}.{err.type}" not in expected:
        problems.append(f"{where} raised {err.type} ({err.message!r}), expected {sorted(expected)}")
    bad_field = op.invoke.value.get("field") if isinstance(op.invoke.value, dict) else None
    if bad_field and err.fields.get("field") != bad_field and bad_field not in err.message:
        problems.append(f"{where}: {err.type} does not name field {bad_field!r} ({err.message!r})")
    return problems
