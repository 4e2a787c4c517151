"""Accounting: every message id is delivered, kept, or reported failed - never silently gone.

Jepsen's ``total-queue``, for a publisher whose outcomes may be unknown and whose
failures may be kept in a failed-batch queue and re-published later.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.checkers._ops import Operation, listing, operations
from harness.checkers._result import UNKNOWN, CheckResult
from harness.history import History

__all__ = ["check_accounting"]

_RANK = {"ok": 3, "info": 2, "fail": 1, "pending": 0}


def _ids(history: History, f: str, process: str | None = None) -> list[str]:
    out: list[str] = []
    for op in history.ops():
        if op.f != f or op.type != "ok" or (process is not None and op.process != process):
            continue
        value = op.value if isinstance(op.value, dict) else {}
        if "id" in value:
            out.append(str(value["id"]))
        out.extend(str(i) for i in value.get("ids") or ())
    return out


def _best_by_id(pubs: list[Operation]) -> dict[str, Operation]:
    # A message published more than once counts by its best outcome: ok > info > fail.
    best: dict[str, Operation] = {}
    for op in pubs:
        mid = op.field("id")
        if mid is None:
            continue
        key = str(mid)
        if key not in best or _RANK[op.outcome] > _RANK[best[key].outcome]:
            best[key] = op
    return best


def check_accounting(
    history: History,
    *,
    allow_duplicates: bool = False,
    require_recovered: bool = False,
    observer: str = "observer",
) -> CheckResult:
    """Account for every published message id (record conventions: package docstring).

    Each attempted id lands in exactly one of ``delivered`` (ok, received), ``lost`` (ok or
    reported recovered, never received, not kept in the failed queue), ``kept`` (queued,
    never received), ``recovered`` (received although the publish ended fail/info/pending),
    ``reported_failed`` (not ok, not received, an error was recorded), ``silently_gone``
    (not ok, not received, not queued, no error recorded) or ``pending`` (never completed).

    Args:
        history: the recorded run.
        allow_duplicates: at-least-once delivery; duplicates are reported but valid.
        require_recovered: every fault healed and the service could reconnect, so its
            recovery had every chance: an id still only ``kept`` was forgotten by the
            failed-batch queue, and is a problem.
        observer: process name of the receipts that are ground truth.

    Returns:
        Valid iff nothing is lost, unexpected or silently gone (nor duplicated, unless
        allowed); ``"unknown"`` when no message was published (nothing was accounted).
    """
    best = _best_by_id(operations(history, "publish"))
    receipts = Counter(_ids(history, "receive", observer))
    queued = set(_ids(history, "queued"))
    recovered_by_service = set(_ids(history, "recover"))
    fates: dict[str, list[str]] = {
        k: []
        for k in (
            "delivered",
            "lost",
            "kept",
            "recovered",
            "reported_failed",
            "silently_gone",
            "pending",
        )
    }
    for mid, op in best.items():
        if receipts[mid] > 0:
            fate = "delivered" if op.outcome == "ok" else "recovered"
        elif mid in recovered_by_service or (op.outcome == "ok" and mid not in queued):
            fate = "lost"  # confirmed (or said re-published), yet the observer never saw it
        elif mid in queued:
            fate = "kept"
        elif op.outcome == "pending":
            fate = "pending"
        else:
            fate = "reported_failed" if op.error is not None else "silently_gone"
        fates[fate].append(mid)
    unexpected = sorted(m for m in receipts if m not in best)
    duplicated = {m: n for m, n in sorted(receipts.items()) if n > 1}
    details: dict[str, Any] = {k: sorted(v) for k, v in fates.items()}
    details["unexpected"] = unexpected
    details["duplicated"] = duplicated
    details["allow_duplicates"] = allow_duplicates
    details["counts"] = {
        "attempted": len(best),
        **{o: sum(1 for op in best.values() if op.outcome == o) for o in _RANK},
        "received": len(receipts),
        "receipts": sum(receipts.values()),
        "queued": len(queued),
        "recovered_by_service": len(recovered_by_service),
        **{k: len(v) for k, v in fates.items()},
        "unexpected": len(unexpected),
        "duplicated": len(duplicated),
    }
    problems: list[str] = []
    if fates["lost"]:
        times = [f"{m} ({_when(best[m])})" for m in sorted(fates["lost"])]
        problems.append(f"{len(times)} lost (confirmed, never received): {listing(times)}")
    if unexpected:
        problems.append(
            f"{len(unexpected)} unexpected (received, never published): {listing(unexpected)}"
        )
    if fates["silently_gone"]:
        gone = [f"{m} ({_when(best[m])})" for m in sorted(fates["silently_gone"])]
        problems.append(
            f"{len(gone)} silently gone (not delivered, not queued, no error): {listing(gone)}"
        )
    if fates["kept"] and require_recovered:
        kept = sorted(fates["kept"])
        problems.append(
            f"{len(kept)} kept in the failed queue, never recovered after the faults healed: "
            f"{listing(kept)}"
        )
    if duplicated and not allow_duplicates:
        dups = [f"{m} x{n}" for m, n in duplicated.items()]
        problems.append(f"{len(dups)} duplicated: {listing(dups)}")
    c = details["counts"]
    tally = (
        f"{c['attempted']} attempted, {c['delivered']} delivered, {c['recovered']} recovered, "
        f"{c['kept']} kept in the failed queue, {c['reported_failed']} reported failed, "
        f"{c['pending']} pending, {c['duplicated']} duplicated"
    )
    if problems:
        return CheckResult("accounting", False, details, "; ".join(problems) + f" [{tally}]")
    if not best:
        return CheckResult(
            "accounting", UNKNOWN, details, "no publish operations in history: nothing to account"
        )
    return CheckResult("accounting", True, details, tally)


def _when(op: Operation) -> str:
    end = op.completion
    if end is None:
        return f"invoked t={op.invoke.t:.3f}s, never completed"
    err = f", {end.error.type}" if end.error else ""
    return f"publish {end.type} at t={end.t:.3f}s{err}"
