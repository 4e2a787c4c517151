"""Checkers: pure functions of a :class:`~nats_fault_harness.history.History` that return a verdict.

Each checker reads the history only (no I/O, no event loop, no servers) and returns a frozen
:class:`CheckResult` whose ``valid`` is ``True``, ``False`` or ``"unknown"`` (Jepsen). A
checker never asserts. :func:`check_safe` and :func:`run_checkers` turn a checker that
raises into ``"unknown"``; :func:`compose` merges verdicts, ``False`` > ``"unknown"`` >
``True``. Parameters are bound with :func:`functools.partial`::

    results = run_checkers(
        history,
        {
            "accounting": partial(check_accounting, allow_duplicates=True),
            "request errors": partial(
                check_exceptions,
                f="request",
                expected_types={"NATSRequestError"},
                required_fields=("subject", "timeout"),
            ),
        },
    )
    verdict = compose(results)

A scenario names checkers instead: ``make_checker("backoff", {"base": 0.1})`` binds JSON
parameters and rejects unknown names or parameters at once (``CHECKERS`` lists them).

Record conventions (what the scenario runner writes and the checkers read; the user guide,
with a runnable example of accounting in your own test, is ``docs/records.md``:
https://github.com/nats-fault-harness/nats-fault-harness/blob/main/docs/records.md). Operations are
``history.invoke(process, f, value)`` completed ``ok`` / ``fail`` / ``info``; events are
``history.client_event(client, kind, detail)`` with ``client`` the service's name; every time
in a ``detail`` is history time in seconds (``history.now()`` / ``history.at(monotonic)``).

1. Accounting (:func:`check_accounting`).
   - ``f="publish"``, invoke value ``{"id": str, ...}``: one message, by its id (a
     JetStream publish, ``"jetstream": true``, is left to the ``stream`` checker). ``ok`` =
     the server confirmed it; ``fail`` = definitely not sent; ``info`` = unknown. A
     ``fail``/``info`` records the exception (``error``) unless none was raised.
   - ``f="receive"``, ``process="observer"``, ``ok`` value ``{"id": str}``: one receipt by
     an observer connection that bypasses the proxies - the ground truth.
   - ``f="queued"``, ``ok`` value ``{"ids": [str, ...]}``: the service reported these ids
     kept in its failed-batch queue (not lost).
   - ``f="recover"``, ``ok`` value ``{"ids": [str, ...]}``: ids the service says recovery
     re-published (they must then be received).
   - Duplicates are judged per id: client events ``group_failed``, ``retry_scheduled``,
     ``retry_started``, ``batch_queued_failed``, ``recovered`` and a retry's
     ``group_published`` (``attempt`` >= 1) naming an id in ``message_ids`` (without
     ``message_ids``: the open ids of that ``subject``) are evidence its delivery was cut,
     as are a publish that did not end ``ok``, a ``queued``/``recover`` naming it, and a
     ``frames`` fault with ``action: duplicate`` over its publish. Only cut ids may arrive
     twice (``allow_duplicates``); ``any_duplicates`` accepts every duplicate.
2. Exceptions (:func:`check_exceptions`): operations of any ``f`` (``"request"``,
   ``"unsubscribe"``...). An invoke value ``{"expect_error": true}`` marks an operation
   that must raise; so does being invoked inside a fault window (``fault_started`` ..
   ``fault_ended``). A raised error is recorded with ``fail``/``info`` (``ErrorInfo``, whose
   ``cause_link`` says ``"explicit"`` for ``__cause__``, ``"implicit"`` for only
   ``__context__``). Also read: invoke value ``{"timeout": s}`` (the operation's own
   timeout, for the deadline rule) and ``subject`` (matched against the error's); a
   completion ``{"abandoned": true}`` when the harness cancelled a hung operation; client
   events ``connected`` / ``disconnected`` / ``reconnected`` / ``closed`` with
   ``detail["member"]``, the service's outages (when a failure is still due after a fault);
   the ``loop_lag`` event's ``worst`` samples (stalls that delay every timer).
3. Backoff (:func:`check_backoff`), client events:
   - ``"retry_scheduled"`` ``{"attempt": int (1-based), "delay": float (nominal s),
     "group": str (optional; else "subject"), "subject": str, "failed_at": float,
     "started_at": float}`` - ``failed_at`` when the failed attempt was seen, ``started_at``
     when the retry began. Without them, the delay is measured from the last
     ``"group_failed"`` to the next ``"retry_started"`` event of the same group.
   - ``"group_failed"`` / ``"retry_started"`` / ``"group_published"`` /
     ``"batch_queued_failed"`` ``{"group" or "subject", "attempt"?, "message_ids"?}``.
4. Pool (:func:`check_pool`), client event ``"pool_initialized"`` ``{"size": int,
   "connected": [name, ...], "failed": {name: reason}, "fallback": bool, "enabled": bool}``
   (``fallback`` true iff the pool is disabled and a single connection is used instead),
   plus the ``f="publish"`` operations above.
5. Validation (:func:`check_validation`):
   - ``f="publish_invalid"``, invoke value ``{"id": str, "field": str}``: an outgoing message
     invalid in ``field``; must end ``fail`` with a ``PublishError`` naming the field.
   - ``f="inject_invalid"``, value ``{"id": str}``: an invalid incoming message sent to the
     service (``ok`` = sent).
   - client event ``"invalid_incoming"``: the service rejected an incoming message.
   - ``f="handled"``, value ``{"id": str}``: the service's handler ran for that message.
   - ``f="inject_valid"``, value ``{"id": str}``: a valid incoming message sent to the
     service; once ``ok``, a ``handled`` operation must carry its id.
6. Loop lag (:func:`check_loop_lag`): client event ``"loop_lag"`` ``{"max_ms": float}``
   and/or ``{"samples": [float ms, ...]}``.
7. Metrics (:func:`check_metrics`): client event ``"stats"`` ``{"point": str, "stats":
   {key: int}}`` with the keys of :data:`METRIC_KEYS`; batched ``publish`` invocations
   carry ``"batched": true``; the ``group_published`` / ``batch_queued_failed`` /
   ``recovered`` events carry ``message_ids`` (and ``at``, when the service saw it).
8. Health (:func:`check_health`), client events of the service:
   - ``"health"`` ``{"healthy": bool, "at"?: float, "polled"?: true, "end"?: true, ...}``:
     a reading of the service's reported health, recorded when it changes (polled by the
     runner every ``poll_s``; the last polled reading carries ``end``) or pushed by the
     service; other keys are the service's own facts;
   - ``"health_config"`` ``{"poll_s": float, "check_interval_s"?, "check_timeout_s"?,
     "ping_interval_s"?, "max_outstanding_pings"?}``: the cadence of the readings and the
     service's settings the bounds are derived from;
   - ``"disconnected"`` / ``"reconnected"`` ``{"member"?: str}``: the service's
     connections (when its connection was back after a heal);
   - fault windows (``kind``, ``params``, ``links``) and the runner's ``run`` event
     (``links``: the service's proxies), and the ``"loop_lag"`` event's ``max_ms``.
9. Logs (:func:`check_logs`), client events of the service:
   - ``"log_capture"`` ``{"loggers": [str, ...]}``: the loggers the runner watched;
   - ``"log"`` ``{"logger": str, "level": str, "levelno": int, "message": str,
     "exc_type"?: str}``: one record, at the time it was emitted;
   - the failures: ``"pool_initialized"`` ``failed`` reasons (and the ``start``
     operation) and ``"batch_queued_failed"`` ``{"group" or "subject", "at"?}``.
10. Outputs (:func:`check_outputs`), a consumer-shaped service's work:
   - ``f="input"``, ``process="driver"``, invoke value ``{"id", "mode", "subject",
     "timeout"?}``: one input the harness sent (``ok`` sent / answered in time, ``info``
     not answered in time, ``fail`` never sent);
   - ``f="output"`` ``ok`` ``{"id": input id, "payload_id": id read from the payload}``:
     one reply or republished output, at its arrival;
   - fault windows, the service's connection events and the proxy's connection events
     on the service's links (the ``run`` event's ``links``).
11. Stream (:func:`check_stream`), JetStream publishes against the stream's content:
   - ``f="publish"`` invoke value ``{"id", "subject", "jetstream": true, "msg_id": bool}``
     (``msg_id``: sent with ``Nats-Msg-Id``), ``ok`` the PubAck ``{"id", "stream", "seq",
     "duplicate", "attempts"?}``; ``fail`` nothing can have been stored, ``info`` unknown;
   - ``f="stored"``, ``process="stream"``, ``ok`` ``{"id", "stream", "seq", "msg_id"}``: one
     message of the stream, read after the final heal straight from a server (``id`` is
     the payload's first token);
   - client events ``stream_read`` ``{"stream", "ok", "messages", "first_seq",
     "last_seq", "duplicate_window_s", "attempts", "error"?}`` (client ``runner``) and
     ``jetstream_retry`` ``{"message_ids", "attempt", "error", "ambiguous"}`` (the
     service's re-sends).
12. Consumer (:func:`check_consumer`), a JetStream consumer service by its effects:
   - the driver's ``f="input"`` (invoke ``{"id", "mode": "jetstream", "subject"}``, ``ok``
     the PubAck ``{"id", "stream", "seq", "duplicate", "attempts"}``) and ``f="output"``
     operations (as for ``outputs``);
   - client event ``consumer_read`` (client ``runner``) ``{"stream", "consumer", "ok",
     "num_pending", "num_ack_pending", "num_redelivered", "ack_floor_seq",
     "delivered_seq", "ack_wait_s", "max_deliver", "attempts", "error"?}``.
"""

from nats_fault_harness.checkers._accounting import check_accounting
from nats_fault_harness.checkers._backoff import check_backoff
from nats_fault_harness.checkers._consumer import check_consumer
from nats_fault_harness.checkers._evidence import (
    RUN_EVENT,
    RUNNER,
    check_evidence,
    evidence_summary,
)
from nats_fault_harness.checkers._exceptions import check_exceptions
from nats_fault_harness.checkers._health import check_health
from nats_fault_harness.checkers._logs import check_logs
from nats_fault_harness.checkers._loop_lag import check_loop_lag
from nats_fault_harness.checkers._metrics import METRIC_KEYS, check_metrics
from nats_fault_harness.checkers._ops import Operation, operations, summary
from nats_fault_harness.checkers._outputs import check_outputs
from nats_fault_harness.checkers._pool import check_pool
from nats_fault_harness.checkers._registry import CHECKERS, make_checker
from nats_fault_harness.checkers._result import (
    UNKNOWN,
    Checker,
    CheckResult,
    Validity,
    check_safe,
    compose,
    merge_valid,
    run_checkers,
)
from nats_fault_harness.checkers._stream import check_stream
from nats_fault_harness.checkers._validation import check_validation

__all__ = [
    "CHECKERS",
    "METRIC_KEYS",
    "RUN_EVENT",
    "RUNNER",
    "UNKNOWN",
    "CheckResult",
    "Checker",
    "Operation",
    "Validity",
    "check_accounting",
    "check_backoff",
    "check_consumer",
    "check_evidence",
    "check_exceptions",
    "check_health",
    "check_logs",
    "check_loop_lag",
    "check_metrics",
    "check_outputs",
    "check_pool",
    "check_safe",
    "check_stream",
    "check_validation",
    "compose",
    "evidence_summary",
    "make_checker",
    "merge_valid",
    "operations",
    "run_checkers",
    "summary",
]
