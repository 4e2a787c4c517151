"""A JetStream consumer service judged by its effects: Jepsen's queue model, client view.

The harness's driver publishes each input into a stream straight to a server
(``process="driver"``, ``f="input"``, invoke value ``{"id", "mode": "jetstream",
"subject"}``; ``ok`` = the stream acknowledged it, ``{"id", "stream", "seq", "duplicate",
"attempts"}``; ``info`` = no PubAck came). The service consumes the stream through a
durable consumer and, for each message, has an *effect* the harness sees: an output
(``f="output"`` ``ok`` ``{"id", "payload_id"}``, collected by the driver on the
endpoint's output subject).

What happened to each message on the server's side comes from the server itself, never
from the service: the driver records the consumer's ack metric and advisories as client
events ``consumer_ack`` / ``consumer_nak`` / ``consumer_term`` /
``consumer_max_deliveries`` ``{stream_seq, deliveries}`` (the *ledger*; the runner creates
its consumers with ack sampling on), and after the final heal the runner reads the
consumer's state (``consumer_read``: ``num_pending``, ``num_ack_pending``,
``ack_floor_seq``, ``max_deliver``...). Advisories are core NATS messages: one can be
missed (a partition between the driver and the consumer's leader), so a missing ledger
entry never decides alone.

A JetStream consumer promises that a message the stream acknowledged is delivered until it
is acknowledged (or terminated, or ``max_deliver`` runs out); a consumer *service*
promises that each such message has its effect, and (if it says so) only one. The rules,
per input the stream acknowledged (written in ``details`` and the message):

- ``acked without its effect``: the ledger shows the ack, no output came: the service
  acknowledged before processing and the processing never happened. Invalid.
- ``terminated without its effect`` / ``given up after max_deliver without its effect``:
  the service terminated the message, or failed every delivery until ``max_deliver`` ran
  out. Invalid: every input the harness sends is a valid one.
- ``never processed``: no output, no ledger entry, and the consumer still holds messages
  pending or unacknowledged at the end: the service stopped consuming. Invalid.
- ``consumed without its effect``: no output, no ledger entry, and the consumer has
  nothing left for it (nothing pending, or its sequence at or below the ack floor).
  Invalid.
- ``processed more than once``: several outputs for one id. With ``exactly_once: true``
  (the default: a service that documents idempotent processing) invalid, whatever caused
  it. With ``exactly_once: false`` (a service that documents at-least-once processing) a
  duplicate is allowed (``redelivered: processed again``), up to ``max_deliver``. The
  ledger cannot bound it more tightly: its delivery counts are lower bounds (an ack
  reports the delivery it answers; a redelivery sent because that ack came after
  ``ack_wait`` leaves no entry), and the harness does not see deliveries itself.
- ``processed more often than max_deliver allows``: more outputs for one id than the
  consumer's ``max_deliver`` (when finite). Invalid in both modes.
- ``first processed out of stream order``: with ``ordered: true`` (a service that
  documents in-order processing), the first outputs of the inputs must follow their
  stream sequences. Invalid.
- ``an effect for no input``: an output whose id no input carries (or that names another
  input in its payload). Invalid.

Inputs without a PubAck are not judged (whatever the service did with them is fine).
``unknown`` when no input was acknowledged by the stream, or when an input has no effect,
no ledger entry, and the consumer could not be read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from nats_fault_harness.checkers._ops import listing, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import History

__all__ = ["RULES", "check_consumer"]

DRIVER = "driver"
ACKED_NO_EFFECT = "acked without its effect"
TERMINATED = "terminated without its effect"
GIVEN_UP = "given up after max_deliver without its effect"
UNPROCESSED = "never processed"
UNEFFECTED = "consumed without its effect"
TWICE = "processed more than once"
REDELIVERED = "redelivered: processed again"
OVER_MAX = "processed more often than max_deliver allows"
REORDERED = "first processed out of stream order"
SPURIOUS = "an effect for no input"
RULES = (
    ACKED_NO_EFFECT,
    TERMINATED,
    GIVEN_UP,
    UNPROCESSED,
    UNEFFECTED,
    TWICE,
    REDELIVERED,
    OVER_MAX,
    REORDERED,
    SPURIOUS,
)
_LEDGER = {
    "consumer_ack": ACKED_NO_EFFECT,
    "consumer_term": TERMINATED,
    "consumer_max_deliveries": GIVEN_UP,
}
"""Every rule, as written in the details."""


def check_consumer(
    history: History,
    *,
    exactly_once: bool = True,
    ordered: bool = False,
    consumer: str | None = None,
) -> CheckResult:
    """Judge a JetStream consumer service by its outputs (see the module docstring).

    Args:
        history: the recorded run.
        exactly_once: the service promises one effect per message (idempotent
            processing); ``False`` for a service that documents at-least-once processing.
        ordered: the service promises to process in stream order.
        consumer: judge against this consumer's state (``None``: the only one read).
    """
    inputs = [
        op
        for op in operations(history, "input")
        if op.invoke.process == DRIVER and op.invoke.value.get("mode") == "jetstream"
    ]
    acked = {
        str(op.invoke.value["id"]): op
        for op in inputs
        if op.outcome == "ok" and isinstance(op.field("seq"), int)
    }
    outputs = [op for op in operations(history, "output") if op.outcome == "ok"]
    reads = [
        e.detail
        for e in history.client_events()
        if e.kind == "consumer_read" and consumer in (None, e.detail.get("consumer"))
    ]
    state = reads[-1] if reads else {}
    details: dict[str, Any] = {
        "exactly_once": exactly_once,
        "ordered": ordered,
        "inputs": len(inputs),
        "acked_inputs": len(acked),
        "outputs": len(outputs),
        "consumer": state,
    }
    if not acked:
        return CheckResult("consumer", UNKNOWN, details, "no input was acknowledged by the stream")
    sent_ids = {str(op.invoke.value["id"]) for op in inputs}
    effects: Counter[str] = Counter()
    first_at: dict[str, float] = {}
    verdicts: dict[str, str] = {}
    for op in outputs:
        mid, payload_id = op.field("id"), op.field("payload_id")
        if (
            mid is None
            or str(mid) not in sent_ids
            or (payload_id is not None and str(payload_id) != str(mid))
        ):
            verdicts[f"output {mid!r} (payload {payload_id!r})"] = SPURIOUS
            continue
        effects[str(mid)] += 1
        first_at.setdefault(str(mid), op.completion.t if op.completion else op.invoke.t)

    ledger = _ledger(history)
    max_deliver = int(state.get("max_deliver") or -1)
    read_ok = bool(state.get("ok"))
    undecided: list[str] = []
    for mid, op in acked.items():
        n, seq = effects[mid], int(op.field("seq"))
        entries = ledger.get(seq, [])
        deliveries = max((d for _, d in entries), default=0)
        if n == 0:
            final = [_LEDGER[k] for k, _ in entries if k in _LEDGER]
            if final:
                verdicts[mid] = f"{final[-1]} (#{seq}, {deliveries} deliveries)"
            elif not read_ok:
                undecided.append(mid)
            else:
                idle = not state.get("num_pending") and not state.get("num_ack_pending")
                floor = int(state.get("ack_floor_seq") or 0)
                verdicts[mid] = f"{UNEFFECTED if (idle or seq <= floor) else UNPROCESSED} (#{seq})"
        elif max_deliver > 0 and n > max_deliver:
            verdicts[mid] = f"{OVER_MAX} ({n} > {max_deliver})"
        elif n > 1:
            rule = TWICE if exactly_once else REDELIVERED
            verdicts[mid] = f"{rule} ({n} times, deliveries >= {deliveries or 1})"
    if ordered:
        by_time = sorted((t, int(acked[m].field("seq")), m) for m, t in first_at.items())
        highest = 0
        for _, seq, mid in by_time:
            if seq < highest and mid not in verdicts:
                verdicts[mid] = f"{REORDERED} (#{seq} after #{highest})"
            highest = max(highest, seq)

    bad = {m: r for m, r in verdicts.items() if not r.startswith(REDELIVERED)}
    allowed = {m: r for m, r in verdicts.items() if m not in bad}
    processed = sum(1 for m in acked if effects[m])
    details.update(
        processed=processed,
        duplicated={m: n for m, n in effects.items() if n > 1},
        flagged=bad,
        allowed=allowed,
        unacked_inputs=len(inputs) - len(acked),
    )
    redelivered = sum(1 for entries in ledger.values() if max(d for _, d in entries) > 1)
    details["redelivered"] = redelivered
    tally = (
        f"{len(acked)} inputs stored, {processed} processed, {len(outputs)} outputs, "
        f"{redelivered} settled after a redelivery (the server's ledger)"
    )
    if bad:
        return CheckResult("consumer", False, details, f"{_listing(bad)} [{tally}]")
    if undecided:
        why = state.get("error") or "no consumer_read recorded"
        return CheckResult(
            "consumer",
            UNKNOWN,
            details,
            f"{len(undecided)} inputs without an effect, and the consumer could not be read "
            f"to tell acknowledged from pending ({why}) [{tally}]",
        )
    note = f"; {len(allowed)} processed again after a redelivery" if allowed else ""
    return CheckResult("consumer", True, details, f"{tally}{note}")


def _ledger(history: History) -> dict[int, list[tuple[str, int]]]:
    """Per stream sequence, the server's ledger entries ``(kind, deliveries)`` in order."""
    out: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for event in history.client_events():
        if event.kind in ("consumer_ack", "consumer_nak", *_LEDGER):
            seq, n = event.detail.get("stream_seq"), event.detail.get("deliveries")
            if isinstance(seq, int):
                out[seq].append((event.kind, int(n) if isinstance(n, int) else 1))
    return out


def _listing(verdicts: dict[str, str], limit: int = 8) -> str:
    by_rule: dict[str, list[str]] = defaultdict(list)
    for mid, rule in sorted(verdicts.items()):
        by_rule[rule.split(" (")[0]].append(mid)
    return "; ".join(f"{len(ids)} {rule}: {listing(ids, limit)}" for rule, ids in by_rule.items())
