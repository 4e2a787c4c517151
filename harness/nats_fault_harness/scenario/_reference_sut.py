"""The reference service (:class:`nats_fault_harness.reference.NATSService`) as a
:class:`ServiceUnderTest`.

The harness imports the reference, never the other way round. Its observer events become
history client events following the checkers' conventions:

- ``retry_scheduled`` gains ``group``, ``failed_at`` and ``started_at`` (history time).
  The service emits it *before* sleeping, and logs the retry's actual start only in its
  ``retry_log`` stats once the retry ran; so events of a group with an unresolved retry
  are held back and written, in their original order, once the retry log has the record
  (at the latest when the service stops). Their record time ``t`` is then the write
  time; ``detail["at"]`` keeps the time the service emitted them.
- ``incoming_invalid`` is written as ``invalid_incoming``; ``connection_error`` as
  ``error``; every other kind keeps its name, with ``group`` = ``subject`` on batch events.

JetStream (``jetstream_publish``): ``publish_jetstream()`` of the service, whose retries
are reported as ``jetstream_retry`` events (``message_ids``, ``attempt``, ``error``,
``ambiguous``).

Optional views: ``stats()``, ``health()`` / ``health_timing()`` (``is_healthy()`` and the
health-check and keep-alive settings) and ``loggers()`` (``nats_service``).

Consumer side (``respond``, ``republish``): when a scenario's driver sends inputs
(``SutEnv.inputs``), the adapter subscribes, through the service's own ``subscribe()``,
a responder on ``ref.quote`` (queue group ``ref``) that answers each request with
``{"id", "quoted": true}`` through the service's confirmed ``publish()``, or a republisher
on ``ref.orders`` that publishes ``{"id", "processed": true}`` to ``ref.orders.done``. A
handler whose publish fails reports a ``handler_error`` event (the input is then lost:
core NATS, at most once).

``consume``: a billing consumer bound, through the service's ``subscribe_jetstream()``, to
the durable ``BILLING`` of stream ``BILLING`` (subject ``ref.billing.orders``; the
scenario declares both). For each message it publishes ``{"id", "billed": true}`` to
``ref.billing.done`` through the confirmed ``publish()`` after :data:`BILL_WORK_S` of
(simulated) work, and returns, so the service acks it (``manual_ack``: after the handler,
``ack_sync``; otherwise a plain ack; see
:mod:`nats_fault_harness.reference._subscriptions`). A bind that fails (its JetStream API
request lost) is retried, as an application retries its consumer's setup. A publish that
fails raises out of the handler: no ack, so the server redelivers. It is idempotent by
input id: a message whose effect it already had (a redelivery after a lost ack) is
acknowledged again without a second effect. An effect whose publish failed ambiguously
(its bytes may have reached the server) can still happen twice: the service promises
at-least-once effects then.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import ValidationError

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.reference import (
    LOGGER_PREFIX,
    IncomingMessage,
    NATSConfig,
    NATSMessageBroker,
    NATSService,
    NATSSubscribeError,
    PoolInitReport,
    RetryRecord,
    ServiceEvent,
    SubscriptionInfo,
)
from nats_fault_harness.services import CAPABILITIES, Endpoint, Service
from nats_fault_harness.services._protocol import (
    EventSink,
    FlushOutcome,
    MessageHandler,
    PoolInit,
    ServiceUnderTest,
    SutEnv,
)

__all__ = ["ReferenceSut", "make_reference_sut"]

_RENAMED = {"incoming_invalid": "invalid_incoming", "connection_error": "error"}
_GROUP_KINDS = frozenset(
    {"group_published", "group_failed", "retry_scheduled", "batch_queued_failed", "recovered"}
)
#: Defaults that make faults visible within a scenario's few seconds (overridable).
_DEFAULTS: dict[str, Any] = {
    "name": "sut",
    "pool_init_timeout": 5.0,
    "flush_timeout": 0.3,
    "flush_interval": 60.0,
    "batch_size": 1000,
    "health_check_interval": 60.0,
    "health_check_timeout": 0.5,
    "close_timeout": 3.0,
    "connection": {
        "connect_timeout": 0.5,
        "reconnect_time_wait": 0.05,
        "max_reconnect_attempts": 20,
        "ping_interval": 30.0,
        "flush_timeout": 1.0,
        "dont_randomize": True,
    },
}


RESPOND = Endpoint("ref.quote", queue="ref", name="quote")
REPUBLISH = Endpoint("ref.orders", output="ref.orders.done", queue="ref", name="orders")
BIND_ATTEMPTS = 5
BIND_PAUSE_S = 0.5
BILL_WORK_S = 0.05
"""How long one bill works before its effect (a fault can then fall between the two)."""
CONSUME = Endpoint(
    "ref.billing.orders",
    output="ref.billing.done",
    name="billing",
    consumer="BILLING",
    stream="BILLING",
)


class ReferenceSut(Service):
    """Drives one :class:`NATSService`; see the module docstring for the event mapping."""

    name = "sut"
    capabilities: ClassVar[frozenset[str]] = frozenset(CAPABILITIES)

    def __init__(self) -> None:
        self._service: NATSService | None = None
        self._broker: NATSMessageBroker | None = None
        self._env: SutEnv | None = None
        self._report: EventSink | None = None
        self._held: dict[str, list[ServiceEvent]] = {}
        self._used_retries: set[int] = set()
        self._confirmed: list[str] = []
        self._queued: list[str] = []
        self._ambiguous: set[str] = set()
        self._billed: set[str] = set()

    # ------------------------------------------------------------------ lifecycle
    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        """Build the config from ``env`` and the scenario's overrides, connect, report."""
        config = _config(env)
        self.name = config.name
        self._env, self._report = env, report
        service = self._service = NATSService(config)
        self._broker = NATSMessageBroker(service)
        service.add_observer(self._observe)
        init = _pool_init(await service.connect(), config.name)
        await self._serve(env)
        return init

    async def _serve(self, env: SutEnv) -> None:
        """Subscribe the consumer the scenario's driver needs (``env.inputs``), if any."""
        if env.inputs == "respond":
            await self._svc().subscribe(RESPOND.subject, self._answer, queue=RESPOND.queue or "")
        elif env.inputs == "republish":
            await self._svc().subscribe(
                REPUBLISH.subject, self._process, queue=REPUBLISH.queue or ""
            )
        elif env.inputs == "consume":
            await self._bind_billing()

    async def _bind_billing(self) -> None:
        """Bind the billing consumer, retrying a bind that failed (a JetStream API request
        lost or timed out, an election) up to :data:`BIND_ATTEMPTS` times."""
        for attempt in range(1, BIND_ATTEMPTS + 1):
            try:
                await self._svc().subscribe_jetstream(
                    CONSUME.subject, self._bill, stream=CONSUME.stream, durable=CONSUME.consumer
                )
                return
            except NATSSubscribeError as exc:
                if attempt == BIND_ATTEMPTS:
                    raise
                if self._report is not None:
                    self._report("consumer_bind_retry", {"attempt": attempt, "error": repr(exc)})
                await asyncio.sleep(BIND_PAUSE_S)

    def endpoints(self) -> Sequence[Endpoint]:
        """The quote responder, the order republisher and the billing consumer."""
        return (RESPOND, REPUBLISH, CONSUME)

    async def _bill(self, msg: IncomingMessage) -> None:
        """Bill once per input id; raise (no ack: redelivered) when the effect failed."""
        mid = self._input_id(msg.data)
        if mid is None or mid in self._billed:
            return  # a redelivery of a billed message: acked again, no second effect
        assert CONSUME.output is not None
        await asyncio.sleep(BILL_WORK_S)
        body = {"id": mid, "billed": True}
        await self._svc().publish(CONSUME.output, json.dumps(body).encode())
        self._billed.add(mid)

    async def _answer(self, msg: IncomingMessage) -> None:
        await self._reply(msg.reply, {"id": self._input_id(msg.data), "quoted": True})

    async def _process(self, msg: IncomingMessage) -> None:
        assert REPUBLISH.output is not None
        await self._reply(REPUBLISH.output, {"id": self._input_id(msg.data), "processed": True})

    async def _reply(self, subject: str, body: Mapping[str, Any]) -> None:
        if not subject:
            return
        try:
            await self._svc().publish(subject, json.dumps(body).encode())
        except Exception as exc:  # the handler's error is reported, not raised into nats-py
            if self._report is not None:
                self._report("handler_error", {"id": body.get("id"), "error": repr(exc)})

    def _input_id(self, data: bytes) -> str | None:
        return self.output_id(RESPOND, data)

    async def stop(self) -> None:
        """Close the service, then write every held event."""
        if self._service is None:
            return
        try:
            await self._service.close()
        finally:
            self._release(final=True)

    # ------------------------------------------------------------------ operations
    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        """Confirmed publish on the main connection, the id as ``Nats-Msg-Id``."""
        await self._svc().publish(subject, data, headers={"Nats-Msg-Id": msg_id})

    async def publish_jetstream(
        self, subject: str, data: bytes, msg_id: str, *, dedupe: bool
    ) -> dict[str, Any]:
        """``publish_jetstream()``: with ``dedupe`` the id goes as ``Nats-Msg-Id`` (retried
        until the PubAck comes), without it no id (a timeout is raised, not retried)."""
        ack = await self._svc().publish_jetstream(subject, data, msg_id=msg_id if dedupe else None)
        return {
            "stream": ack.stream,
            "seq": ack.seq,
            "duplicate": ack.duplicate,
            "attempts": ack.attempts,
        }

    async def publish_batched(self, subject: str, data: bytes, msg_id: str) -> None:
        """Add to the current batch under ``msg_id``."""
        await self._svc().publish_batched(subject, data, message_id=msg_id)

    async def flush(self) -> FlushOutcome:
        """Flush now; return ids confirmed or queued since the last call (from events)."""
        await self._svc().flush()
        self._release()
        out = FlushOutcome(tuple(self._confirmed), tuple(self._queued), frozenset(self._ambiguous))
        self._confirmed, self._queued = [], []
        self._ambiguous = set()
        return out

    async def recover(self) -> tuple[str, ...]:
        """``recover_failed_batches()``; the recovered ids."""
        result = await self._svc().recover_failed_batches()
        self._release()
        return result.recovered_ids

    async def request(self, subject: str, data: bytes, timeout: float) -> bytes:
        """``request()``; the reply payload."""
        reply = await self._svc().request(subject, data, timeout=timeout)
        return reply.data

    async def subscribe(self, subject: str, queue: str | None) -> object:
        """A core subscription whose handler does nothing."""

        async def handler(msg: IncomingMessage) -> None:
            return None

        return await self._svc().subscribe(subject, handler, queue=queue or "")

    async def unsubscribe(self, handle: object) -> None:
        """``unsubscribe()`` by handle (or id)."""
        if not isinstance(handle, SubscriptionInfo | str):
            raise TypeError(f"not a subscription handle: {handle!r}")
        await self._svc().unsubscribe(handle)

    async def publish_message(self, subject: str, message: Mapping[str, Any]) -> None:
        """``NATSMessageBroker.publish()``: validated, then confirmed."""
        await self._brk().publish(subject, message)

    async def subscribe_messages(self, subject: str, handler: MessageHandler) -> object:
        """``NATSMessageBroker.subscribe()``: decoded, validated messages to ``handler``."""

        async def on_message(message: dict[str, Any]) -> None:
            handler(message)

        return await self._brk().subscribe(subject, on_message)

    def stats(self) -> dict[str, int]:
        """``get_connection_stats()`` under the names of
        ``nats_fault_harness.checkers.METRIC_KEYS``."""
        s = self._svc().get_connection_stats()
        return {
            "pool_init_successes": s.pool_init_successes,
            "pool_init_failures": s.pool_init_failures,
            "current_batch_size": s.current_batch_size + s.in_flight_messages,
            "failed_batch_queue_size": s.failed_batch_queue_size,
            "flush_successful_messages": s.total_flush_successful_messages,
            "flush_failed_messages": s.total_flush_failed_messages,
        }

    def health(self) -> dict[str, bool]:
        """``is_healthy()`` (connected and the last ping/pong check passed), and
        ``is_connected()`` (nats-py's flag) beside it."""
        service = self._svc()
        return {"healthy": service.is_healthy(), "connected": service.is_connected()}

    def health_timing(self) -> dict[str, float]:
        """The health-check and keep-alive settings of the service's configuration."""
        cfg = self._svc().config
        return {
            "check_interval_s": cfg.health_check_interval,
            "check_timeout_s": cfg.health_check_timeout,
            "ping_interval_s": cfg.connection.ping_interval,
            "max_outstanding_pings": cfg.connection.max_outstanding_pings,
        }

    def loggers(self) -> tuple[str, ...]:
        """The reference service logs under ``nats_service``
        (``nats_fault_harness.reference._logging``)."""
        return (LOGGER_PREFIX,)

    def _brk(self) -> NATSMessageBroker:
        if self._broker is None:
            raise RuntimeError("the reference SUT was not started")
        return self._broker

    def _svc(self) -> NATSService:
        if self._service is None:
            raise RuntimeError("the reference SUT was not started")
        return self._service

    # ------------------------------------------------------------------ events
    def _observe(self, event: ServiceEvent) -> None:
        kind = event.kind
        if kind == "group_published":
            self._confirmed.extend(event.message_ids)
        elif kind == "batch_queued_failed":
            self._queued.extend(event.message_ids)
            if event.ambiguous:
                self._ambiguous.update(event.message_ids)
        if kind in _GROUP_KINDS and event.subject is not None:
            self._held.setdefault(event.subject, []).append(event)
            self._release()
        else:
            self._write(event, {})

    def _release(self, *, final: bool = False) -> None:
        log: tuple[RetryRecord, ...] | None = None
        for subject, queue in list(self._held.items()):
            while queue:
                event, extra = queue[0], {}
                if event.kind == "retry_scheduled":
                    if log is None:
                        log = self._svc().get_connection_stats().retry_log
                    record = self._match(log, event)
                    if record is None and not final:
                        break
                    if record is not None:
                        extra = {
                            "failed_at": self._at(record.failed_at),
                            "started_at": self._at(record.started_at),
                        }
                queue.pop(0)
                self._write(event, extra)
            if not queue:
                del self._held[subject]

    def _match(self, log: tuple[RetryRecord, ...], event: ServiceEvent) -> RetryRecord | None:
        for i, record in enumerate(log):
            if (
                i not in self._used_retries
                and record.subject == event.subject
                and record.attempt == event.attempt
            ):
                self._used_retries.add(i)
                return record
        return None

    def _at(self, monotonic: float) -> float:
        return self._env.at(monotonic) if self._env is not None else monotonic

    def _write(self, event: ServiceEvent, extra: Mapping[str, Any]) -> None:
        if self._report is None:
            return
        detail: dict[str, Any] = {"at": self._at(event.at)}
        if event.subject is not None:
            detail["subject"] = event.subject
            if event.kind in _GROUP_KINDS:
                detail["group"] = event.subject
        for key in ("member", "attempt", "delay", "error", "ambiguous"):
            value = getattr(event, key)
            if value is not None:
                detail[key] = value
        if event.message_ids:
            detail["message_ids"] = list(event.message_ids)
        if event.count:
            detail["count"] = event.count
        if event.kind == "batch_flush_started":
            detail["groups"] = detail.pop("attempt", 0)
        detail.update(extra)
        self._report(_RENAMED.get(event.kind, event.kind), detail)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _config(env: SutEnv) -> NATSConfig:
    fields = _merge(_DEFAULTS, env.service)
    fields["servers"] = env.servers
    size = int(fields.setdefault("pool_size", len(env.member_urls)))
    if "pool_member_servers" not in fields and env.member_urls:
        urls = env.member_urls
        fields["pool_member_servers"] = tuple((urls[i % len(urls)],) for i in range(size))
    try:
        return NATSConfig(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'service'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise ConfigError(
            f"scenario service settings rejected by the reference service: {problems}",
            where="service",
            value=dict(env.service),
        ) from exc


def _index(member: str, service: str) -> str:
    match = re.fullmatch(re.escape(service) + r"-pool-(\d+)", member)
    return match.group(1) if match else member


def _pool_init(report: PoolInitReport, service: str) -> PoolInit:
    return PoolInit(
        size=report.requested,
        connected=tuple(_index(m, service) for m in report.connected),
        failed={_index(m, service): why for m, why in report.failures.items()},
        enabled=report.enabled,
        fallback=not report.enabled,
    )


def make_reference_sut() -> ServiceUnderTest:
    """The factory ``--sut`` names by default: a fresh :class:`ReferenceSut`."""
    return ReferenceSut()
