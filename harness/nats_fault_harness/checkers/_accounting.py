"""Accounting: every message id is delivered, kept, or reported failed - never silently gone.

Jepsen's ``total-queue``, for a publisher whose outcomes may be unknown and whose
failures may be kept in a failed-batch queue and re-published later.

Duplicates are judged per id. Only an id whose delivery was *cut* may arrive more than
once: a fault interrupted an attempt, so a retry could re-send what the server already
had (at-least-once). An id the history shows confirmed on its first attempt, never cut,
must arrive exactly once: a flush "publishes the groups that succeed and retries the
groups that fail" (claim ``fix.partial-flush``), so nothing re-sends a confirmed group.
The evidence of a cut comes from the history alone (:func:`_evidence`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nats_fault_harness.checkers._ops import Operation, listing, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import History

__all__ = ["RULE_ONCE", "RULE_SENDS", "RULE_STRICT", "check_accounting"]

_RANK = {"ok": 3, "info": 2, "fail": 1, "pending": 0}

#: The rule a duplicate of a never-cut id breaks (also with ``allow_duplicates``).
RULE_ONCE = "confirmed on first attempt, never cut: must arrive once"
#: The rule every duplicate breaks when the scenario does not allow duplicates.
RULE_STRICT = "exactly once required (allow_duplicates: false)"
#: The rule a cut id breaks when it arrives more often than the service says it sent it.
RULE_SENDS = "cut, but received more often than the service reports sending it"

#: Client events that name ids (``message_ids``) whose delivery was cut, and what they show.
_CUT_EVENTS = {
    "group_failed": "named by a group_failed event",
    "retry_scheduled": "named by a retry event",
    "retry_started": "named by a retry event",
    "batch_queued_failed": "named by a batch_queued_failed event",
    "recovered": "re-published by a recovery (recovered event)",
}
_OUTCOME_CUT = {
    "info": "its publish ended info (outcome unknown)",
    "fail": "its publish ended fail",
    "pending": "its publish never completed",
}


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


@dataclass
class _Evidence:
    """What the history shows about each id's sends (see :func:`_evidence`)."""

    cut: dict[str, list[str]] = field(default_factory=dict)  # id -> why it may repeat
    sends: Counter[str] = field(default_factory=Counter)  # attempts the service reported
    reported: dict[str, set[str]] = field(default_factory=dict)  # group_failed/_published
    copied: set[str] = field(default_factory=set)  # in flight under a duplicating fault

    def counts_sends(self, mid: str) -> bool:
        """Whether the service reports this id's attempts both ways, so ``sends`` bounds it."""
        return all(mid in self.reported.get(k, ()) for k in ("group_failed", "group_published"))

    def mark(self, ids: Iterable[object], why: str) -> None:
        for mid in ids:
            reasons = self.cut.setdefault(str(mid), [])
            if why not in reasons:
                reasons.append(why)


def _evidence(history: History, pubs: list[Operation]) -> _Evidence:
    """Why each id's delivery may have been attempted more than once, from the history.

    An id is cut when: one of its publish operations ended ``info``, ``fail`` or never
    completed; the caller published it more than once; a ``queued`` or ``recover``
    operation names it; a ``group_failed``, ``retry_scheduled``, ``retry_started``,
    ``batch_queued_failed`` or ``recovered`` event names it in ``message_ids``; a
    ``group_published`` event of a retry (``attempt`` >= 1) names it; or a fault that
    duplicates frames (``action: duplicate``) was active while its publish was open. A group
    event without ``message_ids`` covers the ids in flight when it happened
    (:func:`_in_flight`). ``sends`` counts the ``group_failed``, ``group_published`` and
    ``recovered`` events and ``recover`` operations naming an id: the attempts the service
    reports having made, or more (a recovery may be named by all three of its records).
    """
    ev = _Evidence()
    by_id: dict[str, list[Operation]] = {}
    for op in pubs:
        if op.field("id") is not None:
            by_id.setdefault(str(op.field("id")), []).append(op)
    for mid, ops in by_id.items():
        for op in ops:
            if op.outcome in _OUTCOME_CUT:
                ev.mark([mid], _OUTCOME_CUT[op.outcome])
        if len(ops) > 1:
            ev.mark([mid], f"published {len(ops)} times by the caller")
    ev.mark(_ids(history, "queued"), "kept in the failed-batch queue (queued)")
    recovered = _ids(history, "recover")
    ev.mark(recovered, "re-published by recover")
    ev.sends.update(recovered)
    for e in history.client_events():
        why = _CUT_EVENTS.get(e.kind)
        attempt = e.detail.get("attempt")
        retry = isinstance(attempt, int) and not isinstance(attempt, bool) and attempt >= 1
        if e.kind == "group_published" and retry:
            why = "confirmed only by a retry (group_published attempt >= 1)"
        raw = e.detail.get("message_ids")
        ids = [str(i) for i in raw] if isinstance(raw, list | tuple) else None
        if ids is not None and e.kind in ("group_failed", "group_published", "recovered"):
            ev.sends.update(ids)
            if e.kind in ("group_failed", "group_published"):
                ev.reported.setdefault(e.kind, set()).update(ids)
        if why is not None:
            if ids is None:
                ids, why = _in_flight(e.detail, e.t, by_id), why + " (no message_ids: in flight)"
            ev.mark(ids, why)
    for fault in history.faults():
        if fault.params.get("action") == "duplicate" or fault.kind.endswith("duplicate"):
            end = fault.end if fault.end is not None else float("inf")
            copied = [
                mid
                for mid, ops in by_id.items()
                if any(o.invoke.t <= end and fault.start <= _done(o) for o in ops)
            ]
            ev.mark(copied, f"in flight while a fault duplicated frames ({fault.kind})")
            ev.copied.update(copied)
    return ev


def _done(op: Operation) -> float:
    return op.completion.t if op.completion is not None else float("inf")


def _in_flight(detail: dict[str, Any], t: float, by_id: dict[str, list[Operation]]) -> list[str]:
    """Ids whose publish was open at the event: of its subject (or group), else all of them.

    The event's time is ``detail["at"]`` (when the service saw it) if given, else its
    record time. A group name that is no id's subject cannot be narrowed: every id in
    flight then may have been in the failed group.
    """
    at = detail.get("at")
    when = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else t
    open_ids = {
        mid: {op.field("subject") for op in ops}
        for mid, ops in by_id.items()
        if any(op.invoke.t <= when <= _done(op) for op in ops)
    }
    scope = detail.get("subject", detail.get("group"))
    same = [mid for mid, subjects in open_ids.items() if scope is not None and scope in subjects]
    return same or list(open_ids)


def check_accounting(
    history: History,
    *,
    allow_duplicates: bool = False,
    any_duplicates: bool = False,
    require_recovered: bool = False,
    observer: str = "observer",
) -> CheckResult:
    """Account for every published message id (record conventions: package docstring).

    Each attempted id lands in exactly one of ``delivered`` (ok, received), ``lost`` (ok or
    reported recovered, never received, not kept in the failed queue), ``kept`` (queued,
    never received), ``recovered`` (received although the publish ended fail/info/pending),
    ``reported_failed`` (not ok, not received, an error was recorded), ``silently_gone``
    (not ok, not received, not queued, no error recorded) or ``pending`` (never completed).

    A duplicated id (received more than once) is in ``duplicates_allowed`` or
    ``duplicates_forbidden``, each with the rule that decided it.

    Args:
        history: the recorded run.
        allow_duplicates: at-least-once delivery for ids whose delivery was cut by a fault
            (evidence: :func:`_evidence`), at most once per send the service reports
            for it when it reports them; an id confirmed on its first attempt and never
            cut must still arrive exactly once. ``False``: every id exactly once.
        any_duplicates: accept a duplicate of any published id, cut or not (plain
            at-least-once, for a service whose retries leave no trace in the history).
            Weaker than ``allow_duplicates``; never the default.
        require_recovered: every fault healed and the service could reconnect, so its
            recovery had every chance: an id still only ``kept`` was forgotten by the
            failed-batch queue, and is a problem.
        observer: process name of the receipts that are ground truth.

    Returns:
        Valid iff nothing is lost, unexpected, silently gone or duplicated against its
        rule; ``"unknown"`` when no message was published (nothing was accounted).
    """
    pubs = [  # a JetStream publish's ground truth is its stream (the ``stream`` checker)
        p
        for p in operations(history, "publish")
        if not (isinstance(p.invoke.value, dict) and p.invoke.value.get("jetstream"))
    ]
    best = _best_by_id(pubs)
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
    evidence = _evidence(history, pubs)
    allowed, forbidden = _judge_duplicates(
        duplicated, best, evidence, allow=allow_duplicates, any_id=any_duplicates
    )
    details: dict[str, Any] = {k: sorted(v) for k, v in fates.items()}
    details["unexpected"] = unexpected
    details["duplicated"] = duplicated
    details["duplicates_allowed"] = allowed
    details["duplicates_forbidden"] = forbidden
    details["cut"] = sorted(m for m in evidence.cut if m in best)
    details["allow_duplicates"] = allow_duplicates
    details["any_duplicates"] = any_duplicates
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
        "duplicates_allowed": len(allowed),
        "duplicates_forbidden": len(forbidden),
        "cut": len(details["cut"]),
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
    for rule in (RULE_ONCE, RULE_SENDS, RULE_STRICT):
        dups = [
            f"{m} x{duplicated[m]}" + (f" ({evidence.sends[m]} sent)" if rule == RULE_SENDS else "")
            for m, why in forbidden.items()
            if why.startswith(rule)
        ]
        if dups:
            problems.append(f"{len(dups)} duplicated, {rule}: {listing(dups)}")
    c = details["counts"]
    tally = (
        f"{c['attempted']} attempted, {c['delivered']} delivered, {c['recovered']} recovered, "
        f"{c['kept']} kept in the failed queue, {c['reported_failed']} reported failed, "
        f"{c['pending']} pending, {c['duplicated']} duplicated"
    )
    if allowed:
        tally += f" ({len(allowed)} allowed: {'any id' if any_duplicates else 'cut by a fault'})"
    if problems:
        return CheckResult("accounting", False, details, "; ".join(problems) + f" [{tally}]")
    if not best:
        return CheckResult(
            "accounting", UNKNOWN, details, "no publish operations in history: nothing to account"
        )
    return CheckResult("accounting", True, details, tally)


def _judge_duplicates(
    duplicated: dict[str, int],
    best: dict[str, Operation],
    ev: _Evidence,
    *,
    allow: bool,
    any_id: bool,
) -> tuple[dict[str, str], dict[str, str]]:
    """``(allowed, forbidden)``: each duplicated published id with the rule that decided it.

    Ids never published are left to ``unexpected``. The send bound applies only to ids
    named by both a ``group_failed`` and a ``group_published`` event: a service that
    reports its attempts both ways reports each of them (one event per attempt, the
    convention the backoff checker relies on too); one that reports no attempts, or only
    one kind, is not held to it.
    """
    allowed: dict[str, str] = {}
    forbidden: dict[str, str] = {}
    for mid, n in duplicated.items():
        if mid not in best:
            continue
        reasons = "; ".join(ev.cut.get(mid, ()))
        cut = f"; cut: {reasons}" if reasons else ""
        if any_id:
            allowed[mid] = "any_duplicates: true (every duplicate accepted)" + cut
        elif not allow:
            forbidden[mid] = RULE_STRICT + cut
        elif not reasons:
            forbidden[mid] = RULE_ONCE
        elif not ev.counts_sends(mid) or mid in ev.copied:
            allowed[mid] = f"cut by a fault, at least once: {reasons}"
        elif n > ev.sends[mid]:
            forbidden[mid] = f"{RULE_SENDS}: {n} receipts, {ev.sends[mid]} sends reported{cut}"
        else:
            allowed[mid] = (
                f"cut by a fault, at least once, at most once per send "
                f"({n} receipts, {ev.sends[mid]} sends reported): {reasons}"
            )
    return allowed, forbidden


def _when(op: Operation) -> str:
    end = op.completion
    if end is None:
        return f"invoked t={op.invoke.t:.3f}s, never completed"
    err = f", {end.error.type}" if end.error else ""
    return f"publish {end.type} at t={end.t:.3f}s{err}"
