"""Exceptions: failures raise a typed error with its fields, in time, and only when due.

The rules, per operation ``f`` (each one follows from a promise of the remediation:
failures raise typed exceptions carrying their context and chaining their cause, instead
of returning ``False``/``None``; ``request()`` raises with its timeout information):

- *silent*: an ``ok`` that returned ``None``/``False`` where an error was possible (invoked
  inside a fault window, or marked ``{"expect_error": true}``);
- *typed*: a ``fail``/``info`` carries an error of an expected type, with every required
  field set (present and not ``None``), with the values the operation used for the fields
  it shares with the invocation (``match_fields``: the error of a request to ``a.b`` says
  ``subject: "a.b"``), and, with ``require_cause``, an explicit cause (``raise ... from
  exc``, or the error's own ``cause`` attribute; an implicit ``__context__`` is not one);
- *deadline*: an operation invoked with ``{"timeout": s}`` ends (``ok`` or an error) within
  ``s + timeout_slack_s`` plus the event-loop stalls the harness measured meanwhile; one
  the harness had to abandon (``{"abandoned": true}``) or that never ended did not;
- *unexpected*: an operation fails only where a failure was due: its ``[invoke, end]``
  meets a fault window, or a disconnect that began in one, or the ``recovery_s`` after
  either (see :mod:`nats_fault_harness.checkers._disturbance`), or it was marked ``expect_error``.
  Where the history cannot tell (a disconnect far from every fault; a service that
  reports no connection events failing after a fault healed) the verdict is ``unknown``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from nats_fault_harness.checkers._disturbance import Disturbance
from nats_fault_harness.checkers._ops import Operation, fault_open_at, listing, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import ErrorInfo, FaultRecord, History

__all__ = ["DEFAULT_RECOVERY_S", "DEFAULT_TIMEOUT_SLACK_S", "check_exceptions"]

#: Seconds an operation may overrun its own timeout before it counts as late. A timeout
#: fires on the event loop's timer: measured overruns of correct requests are a few ms
#: (tens under two busy cores); the slack is set far above that, and far below the
#: overrun of a request that waits for a held reply instead of giving up.
DEFAULT_TIMEOUT_SLACK_S = 0.5
#: Seconds after a fault window closes (or after a client reconnects from an outage that
#: began in one) during which an operation may still fail for the fault's sake.
DEFAULT_RECOVERY_S = 2.0


def _type_matches(error: ErrorInfo, expected: set[str]) -> bool:
    return error.type in expected or f"{error.module}.{error.type}" in expected


def check_exceptions(
    history: History,
    *,
    f: str,
    expected_types: Iterable[str],
    required_fields: Iterable[str] = (),
    require_cause: bool = False,
    match_fields: Iterable[str] = ("subject", "timeout"),
    timeout_slack_s: float = DEFAULT_TIMEOUT_SLACK_S,
    recovery_s: float = DEFAULT_RECOVERY_S,
) -> CheckResult:
    """Check how operations ``f`` fail (the rules are in the module docstring).

    Args:
        history: the recorded run.
        f: the operation to check (``"request"``, ``"unsubscribe"``...).
        expected_types: accepted error type names (qualname, or ``module.qualname``).
        required_fields: names that must be in the error's ``fields``, not ``None``.
        require_cause: whether the error must chain its cause explicitly.
        match_fields: fields whose value in the error, when both it and the invocation
            value have one, must equal the invocation's.
        timeout_slack_s: how far past its ``timeout`` an operation may end.
        recovery_s: how long after a disturbance (fault window, or a disconnect that
            began in one) a failure is still due.

    Returns:
        ``False`` with every bad operation; ``"unknown"`` when the history holds no
        operation ``f``, when a failure could not be judged, or when no rule was
        exercised (nothing failed, ran where a failure was possible, had a timeout, or
        ran on a healthy link).
    """
    judge = _Judge(
        history,
        set(expected_types),
        list(required_fields),
        require_cause,
        tuple(match_fields),
        timeout_slack_s,
        recovery_s,
    )
    ops = operations(history, f)
    for op in ops:
        judge.op(op)
    counts, problems, undecided = judge.counts, judge.problems, judge.undecided
    details: dict[str, Any] = {
        "f": f,
        "counts": counts,
        "problems": problems,
        "undecided": undecided,
        "timing": judge.timing(),
        "timeout_slack_s": timeout_slack_s,
        "recovery_s": recovery_s,
    }
    if not ops:
        return CheckResult("exceptions", UNKNOWN, details, f"no {f!r} operations in history")
    if problems:
        return CheckResult(
            "exceptions",
            False,
            details,
            f"{len(problems)} bad {f!r} outcomes: {listing(_lines(problems))}",
        )
    if undecided:
        return CheckResult(
            "exceptions",
            UNKNOWN,
            details,
            f"{len(undecided)} {f!r} outcomes cannot be judged: {listing(_lines(undecided))}",
        )
    exercised = ("checked_errors", "ok_where_error_possible", "deadline_checked", "healthy")
    if not any(counts[k] for k in exercised):
        return CheckResult(
            "exceptions",
            UNKNOWN,
            details,
            f"{len(ops)} {f!r} operations, none failed, had a timeout, ran inside a fault "
            "window or on a healthy link, or was marked expect_error: nothing was decided",
        )
    return CheckResult(
        "exceptions",
        True,
        details,
        f"{len(ops)} {f!r} operations, {counts['checked_errors']} failures all typed "
        f"correctly; {counts['deadline_checked']} ended within their timeout + "
        f"{timeout_slack_s}s; {counts['healthy']} on a healthy link, none failed",
    )


class _Judge:
    """Applies the rules to one operation at a time, collecting counts and problems."""

    def __init__(
        self,
        history: History,
        expected: set[str],
        required: list[str],
        require_cause: bool,
        match: tuple[str, ...],
        slack: float,
        recovery: float,
    ) -> None:
        self.expected, self.required, self.require_cause = expected, required, require_cause
        self.match, self.slack = match, slack
        self.faults = history.faults()
        events = history.client_events()
        self.disturbance = Disturbance(self.faults, events, recovery)
        self.stalls = _stalls(events)
        self.last_t = max((_record_t(r) for r in history.records()), default=0.0)
        self.problems: list[dict[str, Any]] = []
        self.undecided: list[dict[str, Any]] = []
        self.overruns: list[float] = []
        self.counts = dict.fromkeys(
            (
                "ok",
                "fail",
                "info",
                "pending",
                "silent",
                "checked_errors",
                "ok_where_error_possible",
                "deadline_checked",
                "late",
                "abandoned",
                "healthy",
                "unexpected",
            ),
            0,
        )

    def op(self, op: Operation) -> None:
        self.counts[op.outcome] += 1
        inv, end = op.invoke, op.completion
        where = {"op_id": inv.op_id, "process": inv.process, "t": inv.t if end is None else end.t}
        wrong: list[str] = []
        unsure: list[str] = []
        abandoned = (
            end is not None and isinstance(end.value, dict) and bool(end.value.get("abandoned"))
        )
        self._deadline(op, abandoned, wrong, unsure)
        if end is not None and not abandoned:
            expect = isinstance(inv.value, dict) and bool(inv.value.get("expect_error"))
            if end.type == "ok":
                self._silent(op, expect, wrong)
            else:
                self.counts["checked_errors"] += 1
                self._typed(op, wrong, unsure)
            self._unexpected(op, expect, wrong, unsure)
        if wrong:
            self.problems.append(where | {"problem": "; ".join(wrong)})
        elif unsure:
            self.undecided.append(where | {"problem": "; ".join(unsure)})

    # ------------------------------------------------------------------ rules
    def _deadline(
        self, op: Operation, abandoned: bool, wrong: list[str], unsure: list[str]
    ) -> None:
        timeout = _number(op.invoke.value, "timeout")
        if timeout is None:
            return
        self.counts["deadline_checked"] += 1
        start = op.invoke.t
        stop = self.last_t if op.completion is None else op.completion.t
        took = stop - start
        stalled = _stalled(self.stalls, start, stop)
        bound = timeout + self.slack + stalled
        why = f"timeout {timeout}s + slack {self.slack}s" + (
            f" + loop stalls {stalled:.3f}s" if stalled else ""
        )
        if op.completion is not None and not abandoned:
            self.overruns.append(took - timeout)
        if op.completion is None or abandoned:
            self.counts["abandoned"] += abandoned
            what = "abandoned by the harness" if abandoned else "never ended"
            if took > bound:
                self.counts["late"] += 1
                wrong.append(f"{what} after {took:.3f}s (bound {bound:.3f}s = {why})")
            else:
                unsure.append(f"{what} after {took:.3f}s, before its bound {bound:.3f}s")
        elif took > bound:
            self.counts["late"] += 1
            wrong.append(
                f"ended {op.outcome} after {took:.3f}s, past its bound {bound:.3f}s ({why})"
            )

    def _silent(self, op: Operation, expect: bool, wrong: list[str]) -> None:
        assert op.completion is not None
        fault = fault_open_at(self.faults, op.invoke.t)
        if not (expect or fault is not None):
            return
        self.counts["ok_where_error_possible"] += 1
        value = op.completion.value
        if value is None or value is False:
            self.counts["silent"] += 1
            why = "marked expect_error" if expect else f"during fault {_fault(fault)}"
            wrong.append(f"returned {value} instead of raising ({why})")

    def _typed(self, op: Operation, wrong: list[str], unsure: list[str]) -> None:
        assert op.completion is not None
        error = op.completion.error
        if error is None:
            wrong.append(f"ended {op.completion.type} with no error recorded")
            return
        if not _type_matches(error, self.expected):
            wrong.append(
                f"raised {error.type} ({error.message!r}), expected {sorted(self.expected)}"
            )
        fields = error.fields
        missing = [k for k in self.required if fields.get(k) is None]
        if missing:
            present = sorted(k for k, v in fields.items() if v is not None)
            nones = [k for k in missing if k in fields]
            note = f"; {nones} set to None" if nones else ""
            wrong.append(f"{error.type} lacks fields {missing} (has {present}{note})")
        invoked = op.invoke.value if isinstance(op.invoke.value, dict) else {}
        for key in self.match:
            used, told = invoked.get(key), fields.get(key)
            if used is not None and told is not None and not _same(used, told):
                wrong.append(f"{error.type}.{key} is {told!r}, but the operation used {used!r}")
        if self.require_cause:
            self._cause(error, wrong, unsure)

    def _cause(self, error: ErrorInfo, wrong: list[str], unsure: list[str]) -> None:
        if error.fields.get("cause") is not None:
            return  # the error's own ``cause`` attribute
        if error.cause is None:
            wrong.append(f"{error.type} has no cause")
        elif error.cause_link == "implicit":
            wrong.append(
                f"{error.type} does not chain its cause: only the implicit context "
                f"({error.cause.type}) of an error raised inside an except block, no "
                "'raise ... from' and no cause attribute"
            )
        elif error.cause_link is None:
            unsure.append(f"{error.type} has a cause recorded without how it was linked")

    def _unexpected(self, op: Operation, expect: bool, wrong: list[str], unsure: list[str]) -> None:
        assert op.completion is not None
        a, b = op.invoke.t, op.completion.t
        if expect or self.disturbance.excused_by(a, b) is not None:
            return
        if op.completion.type == "ok":
            self.counts["healthy"] += 1
            return
        recovery = self.disturbance.recovery_s
        outage = self.disturbance.unexplained_at(a, b)
        if outage is not None:
            unsure.append(
                f"failed while {outage.why}, far from every fault window: cannot tell "
                "whether the failure was due"
            )
            return
        healed = self.disturbance.healed_before(a)
        if healed is not None and op.invoke.process not in self.disturbance.reporting:
            unsure.append(
                f"failed {a - healed:.3f}s after a fault healed (t={healed:.3f}s), and "
                f"{op.invoke.process} reports no connection events: cannot tell whether it "
                f"had reconnected (recovery_s={recovery}s)"
            )
            return
        self.counts["unexpected"] += 1
        since = (
            f"the last fault healed at t={healed:.3f}s, {a - healed:.3f}s before"
            if healed is not None
            else "no fault had been applied"
        )
        wrong.append(
            f"failed on a healthy link (t={a:.3f}-{b:.3f}s; {since}; recovery_s={recovery}s) "
            "and was not marked expect_error: a false error"
        )

    def timing(self) -> dict[str, Any]:
        """Overruns of the operations' own timeouts by those that ended (seconds)."""
        runs = sorted(self.overruns)
        if not runs:
            return {"count": 0}
        return {
            "count": len(runs),
            "max_overrun_s": round(runs[-1], 4),
            "median_overrun_s": round(runs[len(runs) // 2], 4),
        }


def _record_t(record: Any) -> float:
    if isinstance(record, FaultRecord):
        return record.start if record.end is None else record.end
    return float(record.t)


def _number(value: Any, key: str) -> float | None:
    if not isinstance(value, dict):
        return None
    x = value.get(key)
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _stalls(events: Iterable[Any]) -> list[tuple[float, float, float]]:
    """``(from, to, seconds)`` of the worst loop stalls in ``loop_lag`` events."""
    out = []
    for e in events:
        if e.kind != "loop_lag":
            continue
        interval = float(e.detail.get("interval_ms") or 0.0) / 1000.0
        for sample in e.detail.get("worst") or ():
            t, lag = float(sample["t"]), float(sample["lag_ms"]) / 1000.0
            out.append((t - lag - interval, t, lag))
    return out


def _stalled(stalls: list[tuple[float, float, float]], a: float, b: float) -> float:
    return sum(lag for s, e, lag in stalls if s < b and e > a)


def _lines(items: list[dict[str, Any]]) -> list[str]:
    return [f"op {p['op_id']} ({p['process']}, t={p['t']:.3f}s): {p['problem']}" for p in items]


def _fault(fault: FaultRecord | None) -> str:
    if fault is None:
        return "?"
    return f"{fault.kind} on {fault.target} from t={fault.start:.3f}s"
