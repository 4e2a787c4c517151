"""Exceptions: failures raise a typed error with its fields; none returns ``False``/``None``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checkers._ops import fault_open_at, listing, operations
from harness.checkers._result import UNKNOWN, CheckResult
from harness.history import ErrorInfo, FaultRecord, History

__all__ = ["check_exceptions"]


def _type_matches(error: ErrorInfo, expected: set[str]) -> bool:
    return error.type in expected or f"{error.module}.{error.type}" in expected


def check_exceptions(
    history: History,
    *,
    f: str,
    expected_types: Iterable[str],
    required_fields: Iterable[str] = (),
    require_cause: bool = False,
) -> CheckResult:
    """Check how operations ``f`` fail.

    Invalid when an ``ok`` completion returned ``None``/``False`` although the operation
    was invoked inside a fault window or marked ``{"expect_error": true}``; or when a
    ``fail``/``info`` completion has no error, an error of another type, a required field
    missing (or ``None``), or - with ``require_cause`` - no cause.

    Args:
        history: the recorded run.
        f: the operation to check (``"request"``, ``"unsubscribe"``...).
        expected_types: accepted error type names (qualname, or ``module.qualname``).
        required_fields: names that must be in the error's ``fields``.
        require_cause: whether the error must chain a cause.

    Returns:
        ``"unknown"`` when the history holds no operation ``f``, or when none of them
        failed, ran inside a fault window or was marked ``expect_error`` (nothing was
        decided).
    """
    expected = set(expected_types)
    required = list(required_fields)
    faults = history.faults()
    ops = operations(history, f)
    problems: list[dict[str, Any]] = []
    counts = {
        "ok": 0,
        "fail": 0,
        "info": 0,
        "pending": 0,
        "silent": 0,
        "checked_errors": 0,
        "ok_where_error_possible": 0,
    }
    for op in ops:
        counts[op.outcome] += 1
        end = op.completion
        if end is None:
            continue
        where = {"op_id": op.invoke.op_id, "process": op.invoke.process, "t": end.t}
        if end.type == "ok":
            expect = isinstance(op.invoke.value, dict) and op.invoke.value.get("expect_error")
            fault = fault_open_at(faults, op.invoke.t)
            if expect or fault is not None:
                counts["ok_where_error_possible"] += 1
            if (end.value is None or end.value is False) and (expect or fault is not None):
                counts["silent"] += 1
                why = "marked expect_error" if expect else f"during fault {_fault(fault)}"
                problems.append(
                    where | {"problem": f"returned {end.value} instead of raising ({why})"}
                )
            continue
        counts["checked_errors"] += 1
        error = end.error
        if error is None:
            problems.append(where | {"problem": f"ended {end.type} with no error recorded"})
            continue
        wrong: list[str] = []
        if not _type_matches(error, expected):
            wrong.append(f"raised {error.type} ({error.message!r}), expected {sorted(expected)}")
        missing = [k for k in required if error.fields.get(k) is None]
        if missing:
            wrong.append(f"{error.type} lacks fields {missing} (has {sorted(error.fields)})")
        if require_cause and error.cause is None:
            wrong.append(f"{error.type} has no cause")
        if wrong:
            problems.append(where | {"problem": "; ".join(wrong)})
    details: dict[str, Any] = {"f": f, "counts": counts, "problems": problems}
    if not ops:
        return CheckResult("exceptions", UNKNOWN, details, f"no {f!r} operations in history")
    if not problems and not counts["checked_errors"] and not counts["ok_where_error_possible"]:
        return CheckResult(
            "exceptions",
            UNKNOWN,
            details,
            f"{len(ops)} {f!r} operations, none failed, none ran inside a fault window or was "
            "marked expect_error: the error handling was never exercised",
        )
    if problems:
        lines = [
            f"op {p['op_id']} ({p['process']}, t={p['t']:.3f}s): {p['problem']}" for p in problems
        ]
        return CheckResult(
            "exceptions", False, details, f"{len(problems)} bad {f!r} outcomes: {listing(lines)}"
        )
    return CheckResult(
        "exceptions",
        True,
        details,
        f"{len(ops)} {f!r} operations, {counts['checked_errors']} failures all typed correctly",
    )


def _fault(fault: FaultRecord | None) -> str:
    if fault is None:
        return "?"
    return f"{fault.kind} on {fault.target} from t={fault.start:.3f}s"
