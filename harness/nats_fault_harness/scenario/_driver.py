"""The driver: consumer-shaped work, sent to the service from outside the faulted links.

Where :mod:`~nats_fault_harness.scenario._workload` drives a service as a client (it
publishes, it requests), the driver treats the service as what most NATS services are: a
consumer. On a connection straight to a server (like the observer's), it sends
``workload.inputs`` to one of the service's :class:`~nats_fault_harness.services.Endpoint` s
and records what comes back, with the ``outputs`` checker's conventions
(:mod:`nats_fault_harness.checkers._outputs`):

- ``mode: request``: each input is published with a reply subject of the driver's own
  (``<inbox>.<n>``) and every reply that ever arrives is recorded, late ones included, so
  a reply that comes after the driver's ``timeout_s`` is told apart from one that never
  comes; the reply's input is read from its subject, its payload id checked apart. A
  status message from the server (``503``: nobody subscribes) is not a reply: it is
  recorded as a ``reply_status`` event of the driver;
- ``mode: publish``: each input is published; every message on the endpoint's ``output``
  subject is recorded with the id :meth:`Service.output_id` reads from it;
- ``mode: jetstream``: each input is published into the stream of the service's
  ``consume`` endpoint with the input's id as ``Nats-Msg-Id``, each attempt waiting
  ``timeout_s`` for the PubAck and retried (same id: the stream keeps one copy) until
  :data:`JS_PUBLISH_S`; the input completes ``ok`` with the PubAck's ``{"id", "stream",
  "seq", "duplicate", "attempts"}``, or ``info`` when no PubAck came. Outputs are
  collected as for ``publish``. No probe: the stream keeps what is published before the
  service binds its consumer.

Before the first input the driver sends probe inputs until one is answered (the service's
subscription is live at the server), for at most :data:`PROBE_S`; probes are not
recorded as inputs and their answers are ignored. After the final heal the runner lets
it wait until each input is answered or ``settle_s`` has passed (:meth:`Driver.settle`):
bytes a fault held are delivered then.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Sequence
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from nats_fault_harness.checkers._outputs import DRIVER
from nats_fault_harness.errors import ConfigError
from nats_fault_harness.history import History
from nats_fault_harness.scenario._model import INPUT_CAPABILITY, Inputs
from nats_fault_harness.scenario._schedule import Schedule
from nats_fault_harness.services import Endpoint

__all__ = ["ACK_METRIC", "CONSUMER_ADVISORY", "JS_PUBLISH_S", "LEDGER", "PROBE_S", "Driver"]

ACK_METRIC = "$JS.EVENT.METRIC.CONSUMER.ACK"
"""The server's ack sample per message (the runner creates consumers sampling 100%)."""
CONSUMER_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER"
LEDGER = {
    "MSG_TERMINATED": "consumer_term",
    "MSG_NAKED": "consumer_nak",
    "MAX_DELIVERIES": "consumer_max_deliveries",
}
"""Consumer advisories the driver records (with the ack metric, ``consumer_ack``), each as
a client event ``{stream_seq, deliveries}``: the server's own ledger of what happened to
each message, independent of what the service says."""

JS_PUBLISH_S = 30.0
"""How long the driver keeps retrying one JetStream input without a PubAck (a killed
server, an election)."""
PROBE_S = 5.0
"""How long the driver probes for a live subscription before it sends anyway."""
_PROBE_WAIT_S = 0.2
_QUIESCE_POLL_S = 0.1


class Driver:
    """Sends ``spec``'s inputs to ``sut``; see the module docstring."""

    def __init__(
        self, spec: Inputs, sut: Any, history: History, schedule: Schedule, prefix: str
    ) -> None:
        self.spec, self.sut, self.history, self.schedule = spec, sut, history, schedule
        self.prefix = f"{prefix}-in"
        self.endpoint: Endpoint | None = None
        self._nc: Client | None = None
        self._inbox = ""
        self._answered: dict[str, asyncio.Event] = {}
        self._probes: set[str] = set()

    # ------------------------------------------------------------------ setup
    def choose(self, endpoints: Sequence[Endpoint]) -> Endpoint:
        """The service's endpoint that receives the inputs (by mode, then by name)."""
        kind = INPUT_CAPABILITY[self.spec.mode]
        fitting = [e for e in endpoints if isinstance(e, Endpoint) and e.kind == kind]
        if self.spec.endpoint is not None:
            fitting = [e for e in fitting if e.name == self.spec.endpoint]
        if not fitting:
            named = f" named {self.spec.endpoint!r}" if self.spec.endpoint else ""
            raise ConfigError(
                f"workload.inputs mode {self.spec.mode!r} needs a {kind} endpoint{named}; "
                f"{getattr(self.sut, 'name', 'the service')} has "
                f"{[f'{e.kind} {e.subject}' for e in endpoints] or 'none'}",
                where="workload.inputs",
                value=self.spec.mode,
            )
        return fitting[0]

    async def start(self, url: str) -> None:
        """Connect to ``url`` (no proxy) and listen for replies or outputs."""
        self.endpoint = self.choose(list(self.sut.endpoints()))
        self._nc = nc = await nats.connect(
            url,
            name="harness-driver",
            connect_timeout=2,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.05,
        )
        if self.spec.mode == "request":
            self._inbox = nc.new_inbox()
            await nc.subscribe(f"{self._inbox}.*", cb=self._on_reply)
        else:  # republish and consume: the outputs
            assert self.endpoint.output is not None
            await nc.subscribe(self.endpoint.output, cb=self._on_output)
        if self.endpoint.stream and self.endpoint.consumer:
            where = f"{self.endpoint.stream}.{self.endpoint.consumer}"
            await nc.subscribe(f"{ACK_METRIC}.{where}", cb=self._on_ledger)
            await nc.subscribe(f"{CONSUMER_ADVISORY}.*.{where}", cb=self._on_ledger)
        await nc.flush(timeout=5)

    async def close(self) -> None:
        """Close the driver's connection."""
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    # ------------------------------------------------------------------ receiving
    async def _on_reply(self, msg: Msg) -> None:
        mid = msg.subject.rsplit(".", 1)[-1]
        status = (msg.headers or {}).get("Status")
        if status is not None and not msg.data:
            # the server's status message (503: no responders), not the service's reply
            if mid not in self._probes:
                self.history.client_event(DRIVER, "reply_status", {"id": mid, "status": status})
            return
        self._record(mid, msg.data)

    async def _on_ledger(self, msg: Msg) -> None:
        """One entry of the server's ledger of the consumer (see :data:`LEDGER`)."""
        name = msg.subject.split(".")[4]  # $JS.EVENT.<METRIC|ADVISORY>.CONSUMER.<name>...
        kind = "consumer_ack" if msg.subject.startswith(ACK_METRIC) else LEDGER.get(name)
        if kind is None:
            return
        try:
            body = json.loads(msg.data)
        except ValueError:
            return
        self.history.client_event(
            DRIVER,
            kind,
            {"stream_seq": body.get("stream_seq"), "deliveries": body.get("deliveries")},
        )

    async def _on_output(self, msg: Msg) -> None:
        assert self.endpoint is not None
        self._record(self.sut.output_id(self.endpoint, msg.data), msg.data)

    def _record(self, mid: str | None, data: bytes) -> None:
        assert self.endpoint is not None
        if mid in self._probes:
            self._answered.setdefault(mid, asyncio.Event()).set()
            return
        try:
            payload_id = self.sut.output_id(self.endpoint, data)
        except Exception:  # an unreadable output is the checker's to judge, not a crash
            payload_id = None
        value = {"id": mid, "payload_id": payload_id, "subject": self.endpoint.subject}
        self.history.invoke(DRIVER, "output", value).ok(value)
        if mid is not None:
            self._answered.setdefault(mid, asyncio.Event()).set()

    # ------------------------------------------------------------------ sending
    async def run(self) -> None:
        """Probe, then send every input at the spec's rate (waiting for replies in time)."""
        if self.spec.mode != "jetstream":
            await self._probe()
        waits: list[asyncio.Task[None]] = []
        for i in range(self.spec.count):
            waits.append(asyncio.create_task(self._one(f"{self.prefix}{i}")))
            self.schedule.on_event("input")
            await asyncio.sleep(1 / self.spec.rate_per_s if self.spec.rate_per_s else 0)
        await asyncio.gather(*waits)

    async def _send(self, mid: str) -> None:
        assert self._nc is not None
        assert self.endpoint is not None
        data = self.sut.make_input(self.endpoint, mid)
        reply = f"{self._inbox}.{mid}" if self.spec.mode == "request" else ""
        await self._nc.publish(self.endpoint.subject, data, reply=reply)
        await self._nc.flush(timeout=2)

    async def _one(self, mid: str) -> None:
        assert self.endpoint is not None
        value: dict[str, Any] = {
            "id": mid,
            "mode": self.spec.mode,
            "subject": self.endpoint.subject,
        }
        if self.spec.mode == "request":
            value["timeout"] = self.spec.timeout_s
        answered = self._answered.setdefault(mid, asyncio.Event())
        op = self.history.invoke(DRIVER, "input", value)
        if self.spec.mode == "jetstream":
            ack = await self._publish_js(mid)
            if ack is None:
                op.info(value={"id": mid, "unacked": True})
            else:
                op.ok({"id": mid, **ack})
            return
        try:
            await self._send(mid)
        except Exception as exc:  # the driver's own link: says nothing about the service
            op.fail(exc, {"id": mid})
            return
        if self.spec.mode == "publish":
            op.ok({"id": mid})
            return
        try:
            async with asyncio.timeout(self.spec.timeout_s):
                await answered.wait()
        except TimeoutError:
            op.info(value={"id": mid, "unanswered": True})
        else:
            op.ok({"id": mid})

    async def _publish_js(self, mid: str) -> dict[str, Any] | None:
        """Publish input ``mid`` into the stream until a PubAck (``None``: none came)."""
        assert self._nc is not None
        assert self.endpoint is not None
        js = self._nc.jetstream(timeout=self.spec.timeout_s)
        data = self.sut.make_input(self.endpoint, mid)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + JS_PUBLISH_S
        for attempt in itertools.count(1):
            try:
                ack = await js.publish(
                    self.endpoint.subject,
                    data,
                    stream=self.endpoint.stream,
                    headers={"Nats-Msg-Id": mid},
                )
            except (nats.errors.Error, OSError) as exc:
                if loop.time() > deadline:
                    self.history.client_event(
                        DRIVER, "input_unacked", {"id": mid, "error": repr(exc)}
                    )
                    return None
                await asyncio.sleep(0.1)
                continue
            return {
                "stream": ack.stream,
                "seq": ack.seq,
                "duplicate": bool(ack.duplicate),
                "attempts": attempt,
            }
        raise AssertionError("unreachable")

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PROBE_S
        for n in itertools.count():
            mid = f"{self.prefix}-probe{n}"
            self._probes.add(mid)
            event = self._answered.setdefault(mid, asyncio.Event())
            try:
                await self._send(mid)
                async with asyncio.timeout(_PROBE_WAIT_S):
                    await event.wait()
                return
            except Exception:
                if loop.time() > deadline:
                    return

    async def settle(self) -> None:
        """After the final heal: wait until every input is answered (``jetstream``: and
        the consumer has nothing pending or unacknowledged), or ``settle_s``."""
        events = [
            self._answered.setdefault(f"{self.prefix}{i}", asyncio.Event())
            for i in range(self.spec.count)
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.spec.settle_s):
                for event in events:
                    await event.wait()
                if self.spec.mode == "jetstream":
                    await self._quiesce()

    async def _quiesce(self) -> None:
        """Wait until the service's consumer has nothing pending or unacknowledged.

        Every input may have had its effect while acks were lost: the server then still
        redelivers, and what the service does with a redelivery is part of the verdict.
        """
        assert self._nc is not None
        assert self.endpoint is not None
        stream, consumer = self.endpoint.stream, self.endpoint.consumer
        if stream is None or consumer is None:
            return
        js = self._nc.jetstream(timeout=1.0)
        while True:
            try:
                info = await js.consumer_info(stream, consumer)
            except (nats.errors.Error, OSError):
                pass  # not there yet, an election: ask again
            else:
                if not info.num_ack_pending and not info.num_pending:
                    return
            await asyncio.sleep(_QUIESCE_POLL_S)
