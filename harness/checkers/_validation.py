"""Validation: invalid messages are refused with a typed error and never reach a handler."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checkers._ops import listing, operations
from harness.checkers._result import UNKNOWN, CheckResult
from harness.history import History

__all__ = ["check_validation"]


def check_validation(
    history: History,
    *,
    expected_types: Iterable[str] = ("PublishError",),
    client: str | None = None,
) -> CheckResult:
    """Check outgoing and incoming validation.

    Every ``publish_invalid`` must end ``fail`` with an error whose type is expected and
    which names the offending field (``value["field"]`` of the invocation) in
    ``error.fields["field"]`` or in its message. No ``handled`` operation may carry the id of
    a ``publish_invalid`` or ``inject_invalid`` message, and there must be at least as many
    ``invalid_incoming`` events as ``inject_invalid`` operations that ended ``ok``.

    Args:
        history: the recorded run.
        expected_types: accepted error type names (qualname, or ``module.qualname``).
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
        err = op.error
        if op.outcome != "fail":
            problems.append(f"{where} ended {op.outcome}, expected fail")
        if err is None:
            if op.outcome == "fail":
                problems.append(f"{where} failed with no error recorded")
            continue
        if err.type not in expected and f"{err.module}.{err.type}" not in expected:
            problems.append(
                f"{where} raised {err.type} ({err.message!r}), expected {sorted(expected)}"
            )
        bad_field = op.invoke.value.get("field") if isinstance(op.invoke.value, dict) else None
        if bad_field and err.fields.get("field") != bad_field and bad_field not in err.message:
            problems.append(
                f"{where}: {err.type} does not name field {bad_field!r} ({err.message!r})"
            )
    injected = operations(history, "inject_invalid")
    invalid_ids = {
        str(op.field("id")) for op in [*outgoing, *injected] if op.field("id") is not None
    }
    handled = sorted(
        {
            str(op.value["id"])
            for op in history.ops()
            if op.f == "handled"
            and isinstance(op.value, dict)
            and str(op.value.get("id")) in invalid_ids
        }
    )
    if handled:
        problems.append(f"handler invoked for invalid messages: {listing(handled)}")
    reported = sum(1 for e in history.client_events(client) if e.kind == "invalid_incoming")
    sent = sum(1 for op in injected if op.outcome == "ok")
    if reported < sent:
        problems.append(f"{sent} invalid incoming messages injected, only {reported} reported")
    details: dict[str, Any] = {
        "publish_invalid": len(outgoing),
        "inject_invalid_ok": sent,
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
    return CheckResult(
        "validation",
        True,
        details,
        f"{len(outgoing)} invalid publishes refused, {reported} invalid incoming reported",
    )
