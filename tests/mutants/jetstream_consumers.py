"""Mutants of a JetStream consumer service: the reference adapter's billing consumer with a
defect found in real consumers.

The correct billing consumer (:mod:`nats_fault_harness.scenario._reference_sut`) works,
has its effect, and only then lets the service ack; it recognises a redelivery of a message
it already billed. Each mutant breaks one of those: it forgets what it billed (not
idempotent under redelivery), acks on receipt before the work (a failed effect is then
lost), processes messages concurrently (out of stream order), or terminates a message
whose effect failed (treating a transient failure as poison), or gives up binding its
consumer after one lost JetStream API reply.
"""

from __future__ import annotations

import asyncio
import json
import random

from nats.aio.msg import Msg

from nats_fault_harness.reference import IncomingMessage
from nats_fault_harness.scenario import ServiceUnderTest
from nats_fault_harness.scenario._reference_sut import BILL_WORK_S, CONSUME
from nats_fault_harness.scenario.reference_sut import ReferenceSut
from nats_fault_harness.services import SutEnv
from tests.mutants._mutant import Mutant

__all__ = [
    "CATALOG",
    "consume_ack_before_effect",
    "consume_binds_once",
    "consume_not_idempotent",
    "consume_terminates_on_error",
    "consume_unordered",
]


class _NotIdempotent(ReferenceSut):
    async def _bill(self, msg: IncomingMessage) -> None:
        mid = self._input_id(msg.data)
        assert CONSUME.output is not None
        await asyncio.sleep(BILL_WORK_S)
        body = {"id": mid, "billed": True}  # the defect: a redelivery is billed again
        await self._svc().publish(CONSUME.output, json.dumps(body).encode())


def consume_not_idempotent() -> ServiceUnderTest:
    """Bills every delivery, so a message redelivered after a lost ack is billed twice."""
    return _NotIdempotent()


class _OwnConsumer(ReferenceSut):
    """Consumes ``CONSUME`` with nats-py directly; ``on_msg`` is the mutant's handler."""

    async def _serve(self, env: SutEnv) -> None:
        if env.inputs != "consume":
            await super()._serve(env)
            return
        js = self._svc()._require().pool.main.client.jetstream()
        await js.subscribe(
            CONSUME.subject,
            durable=CONSUME.consumer,
            stream=CONSUME.stream,
            cb=self.on_msg,
            manual_ack=True,
        )

    async def effect(self, msg: Msg) -> None:
        assert CONSUME.output is not None
        await asyncio.sleep(BILL_WORK_S)
        body = {"id": self._input_id(msg.data), "billed": True}
        await self._svc().publish(CONSUME.output, json.dumps(body).encode())

    async def on_msg(self, msg: Msg) -> None:
        raise NotImplementedError


class _AckFirst(_OwnConsumer):
    async def on_msg(self, msg: Msg) -> None:
        await msg.ack()  # the defect: acked on receipt, before the work and its effect
        try:
            await self.effect(msg)
        except Exception as exc:
            if self._report is not None:
                self._report("handler_error", {"error": repr(exc)})


def consume_ack_before_effect() -> ServiceUnderTest:
    """Acks each message on receipt, then works: an effect that fails is never retried."""
    return _AckFirst()


class _Unordered(_OwnConsumer):
    def __init__(self) -> None:
        super().__init__()
        self._tasks: set[asyncio.Task[None]] = set()
        self._rng = random.Random(7)

    async def on_msg(self, msg: Msg) -> None:
        # the defect: each message processed in a task of its own, finishing in any order
        task = asyncio.create_task(self._one(msg, self._rng.uniform(0.0, 0.15)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, msg: Msg, pause: float) -> None:
        await asyncio.sleep(pause)
        try:
            await self.effect(msg)
        except Exception:
            return  # no ack: redelivered
        await msg.ack()


def consume_unordered() -> ServiceUnderTest:
    """Processes messages concurrently, so their effects leave stream order."""
    return _Unordered()


class _TermOnError(_OwnConsumer):
    async def on_msg(self, msg: Msg) -> None:
        try:
            await self.effect(msg)
        except Exception:
            await msg.term()  # the defect: a transient failure treated as a poison message
            return
        await msg.ack()


def consume_terminates_on_error() -> ServiceUnderTest:
    """Terminates a message whose effect failed, so it is never processed."""
    return _TermOnError()


class _BindOnce(ReferenceSut):
    async def _bind_billing(self) -> None:
        # the defect: one attempt; a lost JetStream API reply leaves the service unbound
        await self._svc().subscribe_jetstream(
            CONSUME.subject, self._bill, stream=CONSUME.stream, durable=CONSUME.consumer
        )


def consume_binds_once() -> ServiceUnderTest:
    """Binds its consumer once: a lost API request at start leaves it never consuming."""
    return _BindOnce()


CATALOG = (
    Mutant(
        "consume_not_idempotent",
        "jetstream_consumers",
        ("jetstream.consume-once",),
        "a JetStream consumer bills every delivery: a redelivery after a lost ack bills twice",
        ("jetstream-consume-lost-acks",),
    ),
    Mutant(
        "consume_ack_before_effect",
        "jetstream_consumers",
        ("jetstream.consume-effect",),
        "a JetStream consumer acks on receipt, before its work: a failed effect is lost",
        ("jetstream-consume-link-down",),
    ),
    Mutant(
        "consume_unordered",
        "jetstream_consumers",
        ("jetstream.consume-in-order",),
        "a JetStream consumer processes messages concurrently, out of stream order",
        ("jetstream-consume-control",),
    ),
    Mutant(
        "consume_terminates_on_error",
        "jetstream_consumers",
        ("jetstream.consume-effect",),
        "a JetStream consumer terminates a message whose effect failed (transient as poison)",
        ("jetstream-consume-link-down",),
    ),
    Mutant(
        "consume_binds_once",
        "jetstream_consumers",
        ("jetstream.consume-effect",),
        "a JetStream consumer service binds its consumer once: a lost API reply ends it",
        ("jetstream-consume-api-drop",),
    ),
)
