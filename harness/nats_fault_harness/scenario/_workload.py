"""What the service does during a run, recorded as history operations.

Publishes (confirmed, to a JetStream stream with a PubAck, or batched, then flushed),
requests, subscriptions (removed at the end) and structured messages both ways run side
by side; afterwards :meth:`Workload.settle`
recovers the failed-batch queue. Every outcome is written with the checkers' record
conventions (see :mod:`nats_fault_harness.checkers`): what a method returned is recorded as it is,
so
a ``None`` or ``False`` where an error was due stays visible to the ``exceptions`` checker.
A request records the timeout it was sent with (``{"timeout": s}``), so the checker can
bound its duration, and one still running :data:`ABANDON_AFTER_S` past that timeout is
cancelled and recorded ``info`` ``{"abandoned": true}``: a request that never applies its
timeout then fails the check instead of hanging the run. An unsubscribe records the
subject of its subscription.
Statistics snapshots (``stats`` events) are taken after start, around each flush, after
each recovery and at the end, when the service reports statistics.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping
from typing import Any

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.history import History, OpHandle
from nats_fault_harness.scenario._messages import invalid_message, invalid_payload, valid_message
from nats_fault_harness.scenario._model import Scenario
from nats_fault_harness.scenario._observer import Observer
from nats_fault_harness.scenario._schedule import Schedule
from nats_fault_harness.services import capabilities_of
from nats_fault_harness.services._protocol import MessagingSut, ServiceUnderTest, StatsSut

__all__ = ["Workload"]

RECOVER_TRIES = 5
RECOVER_PAUSE_S = 0.3
PROBE_S = 5.0
HANDLED_S = 5.0
#: How long past its own timeout the harness waits for a request before abandoning it
#: (cancelling the call and recording ``info`` ``{"abandoned": true}``): a request that
#: never applies its timeout must still end the workload, so the ``exceptions`` checker
#: can report it instead of the scenario timing out.
ABANDON_AFTER_S = 5.0


class Workload:
    """Drives ``sut`` through ``scenario.workload``; see the module docstring."""

    def __init__(
        self,
        scenario: Scenario,
        sut: ServiceUnderTest,
        history: History,
        observer: Observer,
        schedule: Schedule,
        prefix: str,
    ) -> None:
        self.w = scenario.workload
        self.sut, self.history, self.observer, self.schedule = sut, history, observer, schedule
        self.prefix = prefix
        self.pending: dict[str, OpHandle] = {}
        self.queued: list[str] = []
        self.recovered: set[str] = set()
        self.handled: dict[str, asyncio.Event] = {}
        self.caps = capabilities_of(sut)
        if self._messages_needed() and "messages" not in self.caps:
            raise ConfigError(
                f"workload.messages needs a service with publish_message and "
                f"subscribe_messages; {type(sut).__name__} has neither",
                where="workload.messages",
            )

    def _messages_needed(self) -> bool:
        m = self.w.messages
        return bool(m.valid or m.invalid) and (m.outgoing or m.incoming)

    @property
    def observed_subjects(self) -> list[str]:
        """The subjects the observer must receive on (publishes and outgoing messages)."""
        p = self.w.publishes
        # a JetStream publish's ground truth is its stream, read at the end
        subjects = list(p.subjects) if p.count and not p.jetstream else []
        if self._messages_needed() and self.w.messages.outgoing:
            subjects.append(self.w.messages.subject + ".out")
        return subjects

    # ------------------------------------------------------------------ phases
    async def run(self) -> None:
        """Subscriptions, messages, publishes and requests; then unsubscribe."""
        handles = [await self.sut.subscribe(s.subject, s.queue) for s in self.w.subscriptions]
        async with asyncio.TaskGroup() as tg:
            if self._messages_needed():
                tg.create_task(self._messages())
            if self.w.publishes.count:
                tg.create_task(self._publishes())
            if self.w.requests.count:
                tg.create_task(self._requests())
        for spec, handle in zip(self.w.subscriptions, handles, strict=True):
            op = self.history.invoke(self.sut.name, "unsubscribe", {"subject": spec.subject})
            try:
                returned = await self.sut.unsubscribe(handle)  # type: ignore[func-returns-value]
            except Exception as exc:
                op.fail(exc)
            else:
                op.ok(returned)

    async def settle(self) -> None:
        """After the final heal: recover the failed-batch queue, if anything is left in it."""
        left = set(self.queued) - self.recovered
        for attempt in range(1, RECOVER_TRIES + 1):
            if not left:
                return
            left -= set(await self._recover({"attempt": attempt}))
            await asyncio.sleep(RECOVER_PAUSE_S if left else 0)

    async def _recover(self, value: dict[str, Any]) -> tuple[str, ...]:
        op = self.history.invoke(self.sut.name, "recover", value)
        ids: tuple[str, ...] = ()
        try:
            ids = tuple(await self.sut.recover())
        except Exception as exc:
            op.info(exc)
        else:
            op.ok({"ids": list(ids)})
            self.recovered.update(ids)
        self.snapshot("after_recover")
        return ids

    def snapshot(self, point: str) -> None:
        """Record the service's statistics as a ``stats`` event, if it reports any."""
        if "stats" in self.caps:
            assert isinstance(self.sut, StatsSut)
            stats = dict(self.sut.stats())
            self.history.client_event(self.sut.name, "stats", {"point": point, "stats": stats})

    # ------------------------------------------------------------------ publishes
    async def _publishes(self) -> None:
        p = self.w.publishes
        subjects = itertools.cycle(p.subjects)
        pause = 1 / p.rate_per_s if p.rate_per_s else 0
        if p.in_flight > 1:  # JetStream only: several publishes awaiting their PubAck
            slots = asyncio.Semaphore(p.in_flight)
            async with asyncio.TaskGroup() as tg:
                for i in range(p.count):
                    await slots.acquire()
                    task = tg.create_task(self._publish(i, next(subjects)))
                    task.add_done_callback(lambda _: slots.release())
                    await asyncio.sleep(pause)
            return
        for i in range(p.count):
            await self._publish(i, next(subjects))
            await asyncio.sleep(pause)
        if p.batched:
            await self._flush()
            if p.recover_during_faults and self.queued:
                await self._recover({"attempt": 0, "during_faults": True})

    async def _publish(self, i: int, subject: str) -> None:
        """Publish message ``i`` as the workload says (confirmed, JetStream or batched)."""
        p = self.w.publishes
        mid = f"{self.prefix}-{i}"
        data = (mid.encode() + b" ").ljust(p.payload_bytes, b".")
        value: dict[str, Any] = {"id": mid, "subject": subject}
        if p.batched:
            value["batched"] = True
        if p.jetstream:
            value.update(jetstream=True, msg_id=p.msg_id_header)
        op = self.history.invoke(self.sut.name, "publish", value)
        try:
            if p.jetstream:
                ack = await self.sut.publish_jetstream(  # type: ignore[attr-defined]
                    subject, data, mid, dedupe=p.msg_id_header
                )
            elif p.batched:
                await self.sut.publish_batched(subject, data, mid)
            else:
                await self.sut.publish(subject, data, mid)
        except Exception as exc:
            _failed(op, exc, {"id": mid})
        else:
            if p.jetstream:
                op.ok(_pub_ack(mid, ack))
            elif p.batched:
                self.pending[mid] = op
            else:
                op.ok({"id": mid})
        self.schedule.on_event("publish")

    async def _flush(self) -> None:
        self.snapshot("before_flush")
        outcome = await self.sut.flush()
        for mid in outcome.confirmed:
            if (op := self.pending.pop(mid, None)) is not None:
                op.ok({"id": mid})
        for mid in [m for m in outcome.queued if m in self.pending]:
            value = {"id": mid, "queued": True}
            op = self.pending.pop(mid)
            op.info(value=value) if mid in outcome.ambiguous else op.fail(value=value)
        if outcome.queued:
            self.history.invoke(self.sut.name, "queued", {}).ok({"ids": list(outcome.queued)})
            self.queued.extend(outcome.queued)
        for mid, op in list(self.pending.items()):  # neither confirmed nor queued
            op.info(value={"id": mid, "unsettled": True})
            del self.pending[mid]
        self.snapshot("after_flush")

    # ------------------------------------------------------------------ requests
    async def _requests(self) -> None:
        r = self.w.requests
        for i in range(r.count):
            expect = bool(self.schedule.active_faults()) or not r.responder
            value = {"subject": r.subject, "n": i, "timeout": r.timeout_s, "expect_error": expect}
            op = self.history.invoke(self.sut.name, "request", value)
            patience = r.timeout_s + ABANDON_AFTER_S
            try:
                async with asyncio.timeout(patience) as scope:
                    reply = await self.sut.request(
                        r.subject, f"{self.prefix}-r{i}".encode(), r.timeout_s
                    )
            except Exception as exc:
                if scope.expired():  # the harness gave up: not the service's error
                    op.info(value={"abandoned": True, "waited_s": patience})
                else:
                    op.info(exc)
            else:
                op.ok({"bytes": len(reply)} if isinstance(reply, bytes | bytearray) else reply)
            self.schedule.on_event("request")
            await asyncio.sleep(1 / r.rate_per_s if r.rate_per_s else 0)

    # ------------------------------------------------------------------ messages
    async def _messages(self) -> None:
        m = self.w.messages
        sut = self.sut
        assert isinstance(sut, MessagingSut)
        if m.incoming:
            await sut.subscribe_messages(m.subject + ".in", self._on_handled)
            await self._wait_subscribed(m.subject + ".in")
        if m.outgoing:
            await self._outgoing(sut)
        if m.incoming:
            await self._incoming()

    async def _outgoing(self, sut: MessagingSut) -> None:
        m = self.w.messages
        subject = m.subject + ".out"
        for i in range(max(m.valid, m.invalid)):
            if i < m.valid:
                mid = f"{self.prefix}-m{i}"
                op = self.history.invoke(self.sut.name, "publish", {"id": mid, "subject": subject})
                try:
                    await sut.publish_message(subject, valid_message(i, mid))
                except Exception as exc:
                    _failed(op, exc, {"id": mid})
                else:
                    op.ok({"id": mid})
            if i < m.invalid:
                mid = f"{self.prefix}-x{i}"
                message, field = invalid_message(i, mid)
                op = self.history.invoke(
                    self.sut.name, "publish_invalid", {"id": mid, "field": field}
                )
                try:
                    returned = await sut.publish_message(subject, message)  # type: ignore[func-returns-value]
                except Exception as exc:
                    op.fail(exc, {"id": mid})
                else:
                    op.ok(returned)

    async def _incoming(self) -> None:
        m = self.w.messages
        subject = m.subject + ".in"
        for i in range(max(m.valid, m.invalid)):
            if i < m.valid:
                mid = f"{self.prefix}-in{i}"
                await self._inject("inject_valid", subject, mid, json.dumps(valid_message(i, mid)))
            if i < m.invalid:
                mid = f"{self.prefix}-bad{i}"
                await self._inject("inject_invalid", subject, mid, invalid_payload(i, mid))
        # messages on one subscription arrive in order: once a last valid one is handled,
        # the service has seen everything injected before it
        await self._probe(subject, "fence")

    async def _inject(self, f: str, subject: str, mid: str, data: str | bytes) -> None:
        op = self.history.invoke("observer", f, {"id": mid, "subject": subject})
        try:
            await self.observer.publish(subject, data.encode() if isinstance(data, str) else data)
        except Exception as exc:
            op.info(exc)
        else:
            op.ok({"id": mid})

    def _on_handled(self, message: Mapping[str, Any]) -> None:
        mid = str(message.get("message_id"))
        self.history.invoke(self.sut.name, "handled", {"id": mid}).ok({"id": mid})
        self.handled.setdefault(mid, asyncio.Event()).set()

    async def _wait_subscribed(self, subject: str) -> None:
        """Send probes until one is handled: the subscription is live at the server."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PROBE_S
        for n in itertools.count():
            if await self._probe(subject, f"probe{n}", wait=0.1) or loop.time() > deadline:
                return

    async def _probe(self, subject: str, name: str, wait: float = HANDLED_S) -> bool:
        mid = f"{self.prefix}-{name}"
        event = self.handled.setdefault(mid, asyncio.Event())
        await self.observer.publish(subject, json.dumps(valid_message(0, mid)).encode())
        try:
            async with asyncio.timeout(wait):
                await event.wait()
        except TimeoutError:
            return False
        return True


def _pub_ack(mid: str, ack: object) -> dict[str, Any]:
    """The ``ok`` value of a JetStream publish: the id and what the PubAck said."""
    got = dict(ack) if isinstance(ack, Mapping) else {}
    value: dict[str, Any] = {"id": mid}
    for key in ("stream", "seq", "duplicate", "attempts"):
        if key in got:
            value[key] = got[key]
    return value


def _failed(op: OpHandle, exc: Exception, value: dict[str, Any]) -> None:
    """``fail`` when the service says nothing was sent (``ambiguous is False``), else ``info``."""
    if getattr(exc, "ambiguous", None) is False:
        op.fail(exc, value)
    else:
        op.info(exc, value)
