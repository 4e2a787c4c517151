"""JetStream publishing judged against the stream's content: Jepsen's queue model, client view.

The ground truth is the stream read at the end straight from a server (``f="stored"``
operations, one per message, ``{"id", "stream", "seq", "msg_id"}``, and a ``stream_read``
client event per stream saying whether the read completed). The service's side is its
JetStream publishes: ``f="publish"`` with invoke value ``{"id", "jetstream": true,
"msg_id": bool}`` (``msg_id``: sent with ``Nats-Msg-Id``), completed ``ok`` with the PubAck
``{"id", "stream", "seq", "duplicate", "attempts"?}``, ``fail`` (the service says nothing
can have been stored) or ``info`` (unknown). ``jetstream_retry`` client events naming an
id in ``message_ids`` count its re-sends when the PubAck does not say ``attempts``.

Rules, per id (the rule is written in ``details`` and the message):

- ``acked but lost``: a PubAck came and the stream does not hold the id. Invalid: the
  one loss a JetStream publisher can see.
- ``acked at a sequence holding another message``: the PubAck's sequence holds a
  different id. Invalid.
- ``reported not stored, yet stored``: the publish ended ``fail`` (nothing sent) but the
  stream holds it. Invalid.
- ``stored but never published``: an id in the stream that no publish of the run names.
  Invalid.
- Duplicates (the stream holds the id more than once):
  - ``retried past the duplicate window``: sent with ``Nats-Msg-Id`` and its publish
    lasted longer than the stream's duplicate window, so the server could no longer
    deduplicate. Allowed.
  - with ``exactly_once: true`` (the default, a service that documents exactly-once
    publishing) every other duplicate is invalid, under the rule that explains it:
    ``published without Nats-Msg-Id`` (the server cannot tell a retry from a new
    message), ``retries carried different Nats-Msg-Id values``, or ``stored twice
    despite Nats-Msg-Id within the duplicate window``;
  - with ``exactly_once: false`` (a service that documents at-least-once publishing):
    ``at least once: re-sent after an ambiguous failure`` allows a duplicate of an id
    that was sent more than once (``attempts``, ``jetstream_retry`` events, or a publish
    that did not end ``ok``), at most as many copies as sends when the count is known;
    otherwise ``stored more often than sent``. Invalid.

Not a defect: a publish without a PubAck whose id is absent (at most once without an
ack) or present (the ack was lost); both are counted.

``unknown`` when no JetStream publish was made, when a stream could not be read
completely (or no read was recorded), or when nothing was acknowledged and nothing was
stored (nothing was decided).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from nats_fault_harness.checkers._ops import Operation, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import History

__all__ = ["RULES", "check_stream"]

LOST = "acked but lost"
WRONG_SEQ = "acked at a sequence holding another message"
FAILED_STORED = "reported not stored, yet stored"
UNEXPECTED = "stored but never published"
PAST_WINDOW = "retried past the duplicate window"
NO_MSG_ID = "published without Nats-Msg-Id"
MIXED_IDS = "retries carried different Nats-Msg-Id values"
NOT_DEDUPED = "stored twice despite Nats-Msg-Id within the duplicate window"
AT_LEAST_ONCE = "at least once: re-sent after an ambiguous failure"
OVER_SENT = "stored more often than sent"
RULES = (
    LOST,
    WRONG_SEQ,
    FAILED_STORED,
    UNEXPECTED,
    PAST_WINDOW,
    NO_MSG_ID,
    MIXED_IDS,
    NOT_DEDUPED,
    AT_LEAST_ONCE,
    OVER_SENT,
)
"""Every rule, as written in the details."""
_ALLOWED = frozenset({PAST_WINDOW, AT_LEAST_ONCE})


def check_stream(
    history: History, *, exactly_once: bool = True, stream: str | None = None
) -> CheckResult:
    """Judge JetStream publishes by the stream's content (see the module docstring).

    Args:
        history: the run's history.
        exactly_once: the service promises one stored copy per publish (with
            ``Nats-Msg-Id`` and the duplicate window); ``False`` for a service that
            documents at-least-once publishing.
        stream: judge only this stream's publishes and content (``None``: every stream).
    """
    pubs = [
        op
        for op in operations(history, "publish")
        if isinstance(op.invoke.value, dict) and op.invoke.value.get("jetstream")
    ]
    reads = [
        e.detail
        for e in history.client_events()
        if e.kind == "stream_read" and (stream is None or e.detail.get("stream") == stream)
    ]
    if stream is not None:
        pubs = [p for p in pubs if p.field("stream") in (None, stream)]
    if not pubs:
        return CheckResult("stream", UNKNOWN, {}, "no JetStream publish was made")
    failed_reads = [r for r in reads if not r.get("ok")]
    if not reads or failed_reads:
        why = "; ".join(f"{r.get('stream')}: {r.get('error', '?')}" for r in failed_reads)
        return CheckResult(
            "stream",
            UNKNOWN,
            {"reads": reads},
            f"the stream could not be read back ({why or 'no read recorded'})",
        )
    stored = _stored(history, stream)
    copies = Counter(mid for mid, _, _ in stored)
    by_seq = {(name, seq): mid for mid, name, seq in stored}
    header_ids: dict[str, set[Any]] = defaultdict(set)
    for op in operations(history, "stored"):
        if op.completion is not None and isinstance(op.completion.value, dict):
            header_ids[str(op.completion.value.get("id"))].add(op.completion.value.get("msg_id"))
    window = min((float(r.get("duplicate_window_s") or 0.0) for r in reads), default=0.0)
    retries = _retries(history)
    end = max((o.t for o in history.ops()), default=0.0)  # for a publish never completed

    verdicts: dict[str, str] = {}
    published: set[str] = set()
    counts: Counter[str] = Counter()
    for op in pubs:
        mid = str(op.invoke.value.get("id"))
        published.add(mid)
        counts[op.outcome] += 1
        if op.outcome == "ok":
            if copies[mid] == 0:
                verdicts[mid] = LOST
                continue
            seq, name = op.field("seq"), op.field("stream")
            holder = by_seq.get((name, seq)) if isinstance(seq, int) else None
            if holder is not None and holder != mid:
                verdicts[mid] = f"{WRONG_SEQ} ({name} #{seq} holds {holder})"
                continue
        elif op.outcome == "fail" and copies[mid]:
            verdicts[mid] = FAILED_STORED
            continue
        if copies[mid] > 1:
            verdicts[mid] = _duplicate_rule(
                op, copies[mid], header_ids[mid], window, retries.get(mid, 0), end, exactly_once
            )
    for mid in copies:
        if mid not in published:
            verdicts[mid] = UNEXPECTED

    resent = sorted(
        str(op.invoke.value.get("id"))
        for op in pubs
        if (op.field("attempts") if op.outcome == "ok" else None) not in (None, 1)
        or retries.get(str(op.invoke.value.get("id")))
    )
    retry_errors = Counter(
        _error_kind(str(e.detail.get("error") or "?"))
        for e in history.client_events()
        if e.kind == "jetstream_retry"
    )
    dup_acks = sum(1 for op in pubs if op.outcome == "ok" and op.field("duplicate") is True)
    bad = {m: r for m, r in verdicts.items() if not r.startswith(tuple(_ALLOWED))}
    allowed = {m: r for m, r in verdicts.items() if m not in bad}
    acked = counts["ok"]
    details: dict[str, Any] = {
        "exactly_once": exactly_once,
        "published": len(published),
        "outcomes": dict(counts),
        "stored": len(stored),
        "stored_ids": len(copies),
        "duplicated": {m: n for m, n in copies.items() if n > 1},
        "flagged": bad,
        "allowed": allowed,
        "unacked_stored": sorted(
            m for op in pubs if op.outcome != "ok" and copies[(m := str(op.invoke.value["id"]))]
        ),
        "unacked_absent": sorted(
            m for op in pubs if op.outcome != "ok" and not copies[(m := str(op.invoke.value["id"]))]
        ),
        "resent": resent,
        "retry_errors": dict(retry_errors),
        "most_attempts": max(
            (int(a) for op in pubs if isinstance(a := op.field("attempts"), int)), default=0
        ),
        "duplicate_acks": dup_acks,
        "duplicate_window_s": window,
        "reads": reads,
    }
    tally = (
        f"{len(published)} published ({acked} acked, {len(resent)} re-sent, {dup_acks} "
        f"acked as duplicates), {len(stored)} stored "
        f"({len(copies)} ids), {len(details['unacked_stored'])} stored without a PubAck, "
        f"{len(details['unacked_absent'])} not stored without a PubAck"
    )
    if bad:
        return CheckResult("stream", False, details, f"{_listing(bad, copies)} [{tally}]")
    if not acked and not stored:
        return CheckResult("stream", UNKNOWN, details, f"nothing acked, nothing stored [{tally}]")
    note = f"; {len(allowed)} duplicated ({_listing(allowed, copies)})" if allowed else ""
    return CheckResult("stream", True, details, f"{tally}{note}")


def _stored(history: History, stream: str | None) -> list[tuple[str, str, int]]:
    out = []
    for op in operations(history, "stored"):
        value = op.completion.value if op.completion is not None else None
        if op.outcome != "ok" or not isinstance(value, dict):
            continue
        if stream is not None and value.get("stream") != stream:
            continue
        out.append((str(value.get("id")), str(value.get("stream")), int(value.get("seq") or 0)))
    return out


def _error_kind(error: str) -> str:
    """``"Type"``, with the JetStream ``err_code`` when the error carries one
    (``"APIError 10158"``)."""
    kind = error.split(":", 1)[0]
    match = re.search(r"err_code=(\d+)", error)
    return f"{kind} {match.group(1)}" if match else kind


def _retries(history: History) -> dict[str, int]:
    """Re-sends per id reported by ``jetstream_retry`` events."""
    out: Counter[str] = Counter()
    for event in history.client_events():
        if event.kind == "jetstream_retry":
            for mid in event.detail.get("message_ids") or ():
                out[str(mid)] += 1
    return dict(out)


def _duplicate_rule(
    op: Operation,
    n: int,
    header_ids: set[Any],
    window: float,
    retried: int,
    end: float,
    exactly_once: bool,
) -> str:
    """The rule that allows or flags an id stored ``n`` times.

    What the copies carry decides, not what the workload asked for: a service may drop
    or replace the id it was given.
    """
    finished = op.completion.t if op.completion is not None else end
    lasted = finished - op.invoke.t
    one_id = len(header_ids) == 1 and None not in header_ids
    if one_id and window and lasted > window:
        return f"{PAST_WINDOW} ({lasted:.1f} s > {window:g} s)"
    attempts = op.field("attempts") if op.outcome == "ok" else None
    sends = int(attempts) if isinstance(attempts, int) else 1 + retried
    if exactly_once:
        if None in header_ids:
            return f"{NO_MSG_ID} ({sends} sends)"
        if len(header_ids) > 1:
            return f"{MIXED_IDS} ({len(header_ids)} ids)"
        return NOT_DEDUPED
    resent = sends > 1 or op.outcome != "ok"
    known = isinstance(attempts, int) or retried > 0
    if not resent or (known and n > sends):
        return f"{OVER_SENT} ({n} copies, {sends} sends)"
    return f"{AT_LEAST_ONCE} ({sends} sends)"


def _listing(verdicts: dict[str, str], copies: Counter[str], limit: int = 8) -> str:
    by_rule: dict[str, list[str]] = defaultdict(list)
    for mid, rule in sorted(verdicts.items()):
        by_rule[rule.split(" (")[0]].append(f"{mid} x{copies[mid]}" if copies[mid] else mid)
    parts = []
    for rule, ids in by_rule.items():
        more = f", ... {len(ids) - limit} more" if len(ids) > limit else ""
        parts.append(f"{len(ids)} {rule}: {', '.join(ids[:limit])}{more}")
    return "; ".join(parts)
