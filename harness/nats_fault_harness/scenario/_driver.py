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
  subject is recorded with the id :meth:`Service.output_id` reads from it.

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
from collections.abc import Sequence
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from nats_fault_harness.checkers._outputs import DRIVER
from nats_fault_harness.errors import ConfigError
from nats_fault_harness.history import History
from nats_fault_harness.scenario._model import Inputs
from nats_fault_harness.scenario._schedule import Schedule
from nats_fault_harness.services import Endpoint

__all__ = ["PROBE_S", "Driver"]

PROBE_S = 5.0
"""How long the driver probes for a live subscription before it sends anyway."""
_PROBE_WAIT_S = 0.2


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
        kind = "respond" if self.spec.mode == "request" else "republish"
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
        else:
            assert self.endpoint.output is not None
            await nc.subscribe(self.endpoint.output, cb=self._on_output)
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
        """After the final heal: wait until every input is answered, or ``settle_s``."""
        events = [
            self._answered.setdefault(f"{self.prefix}{i}", asyncio.Event())
            for i in range(self.spec.count)
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.spec.settle_s):
                for event in events:
                    await event.wait()
