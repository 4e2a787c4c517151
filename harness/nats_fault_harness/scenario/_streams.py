"""The scenario's JetStream streams and consumers: created before the service starts, read
back at the end.

Both happen on a connection of the harness's own, straight to a server (never through the
faulted links), like the observer. Reading is the ``stream`` checker's ground truth: after
the final heal, every message of each stream is fetched by sequence (a stream-info
request, then one ``get_msg`` per sequence, each answered by the stream's leader) and
recorded as a ``stored`` operation. A read that fails part-way (a leader election after
a heal, JetStream "temporarily unavailable") starts over until :data:`READ_S` passed; a
read that never completes is recorded ``ok: false`` and the checker answers unknown.

Record conventions (see :mod:`nats_fault_harness.checkers`):

- client event ``stream_created`` (client ``runner``): ``{stream, subjects, replicas,
  duplicate_window_s}``;
- ``f="stored"``, process ``stream``, invoke ``{"stream", "seq"}``, ``ok`` ``{"id",
  "stream", "seq", "msg_id"}``: one message of the stream; ``id`` is the payload's first
  space-separated token (the workload's id, whatever header the service sent), ``msg_id``
  its ``Nats-Msg-Id`` header or ``None``;
- client event ``stream_read`` (client ``runner``): ``{stream, ok, messages, first_seq,
  last_seq, duplicate_window_s, attempts, error?}``;
- client event ``consumer_created`` (client ``runner``): ``{stream, consumer, kind,
  ack_wait_s, max_deliver}``;
- client event ``consumer_read`` (client ``runner``), after the streams are read:
  ``{stream, consumer, ok, num_pending, num_ack_pending, num_redelivered,
  ack_floor_seq, delivered_seq, ack_wait_s, max_deliver, attempts, error?}``
  (``num_pending``: not yet delivered; ``num_ack_pending``: delivered, not acknowledged;
  ``num_redelivered``: messages delivered more than once, as the server counts them).
  A consumer the scenario did not declare (one the service made) is read the same way
  when a ``consume`` endpoint names it (:meth:`StreamKeeper.watch`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from nats_fault_harness.history import History
from nats_fault_harness.scenario._model import Consumer, Stream

__all__ = ["CREATE_S", "READ_S", "StreamKeeper"]

CREATE_S = 30.0
"""How long creating a stream may keep failing (a cluster's meta leader after start)."""
READ_S = 30.0
"""How long reading a stream may keep failing after the heal (measured: JetStream was
unavailable on a node for up to 11.8 s after a partition healed)."""
_PAUSE_S = 0.25
_CALL_S = 2.0


class StreamKeeper:
    """Creates and reads the scenario's streams on a direct connection."""

    def __init__(
        self, history: History, streams: Sequence[Stream], consumers: Sequence[Consumer] = ()
    ) -> None:
        self.history = history
        self.streams = tuple(streams)
        self.consumers = tuple(consumers)
        self._watched: list[tuple[str, str]] = [(c.stream, c.name) for c in self.consumers]
        self._nc: Client | None = None

    def watch(self, stream: str, consumer: str) -> None:
        """Also read consumer ``consumer`` of ``stream`` at the end (if not declared)."""
        if (stream, consumer) not in self._watched:
            self._watched.append((stream, consumer))

    async def start(self, url: str) -> None:
        """Connect to ``url`` and create every stream (retrying until :data:`CREATE_S`)."""
        if not self.streams:
            return
        self._nc = await nats.connect(
            url,
            name="harness-streams",
            connect_timeout=2,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.05,
        )
        for stream in self.streams:
            await self._create(stream)
        for consumer in self.consumers:
            await self._create_consumer(consumer)

    async def _create_consumer(self, consumer: Consumer) -> None:
        js = self._client().jetstream(timeout=_CALL_S)
        config = ConsumerConfig(
            durable_name=consumer.name,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=consumer.ack_wait_s,
            max_deliver=consumer.max_deliver,
            filter_subject=consumer.filter_subject,
            max_ack_pending=consumer.max_ack_pending,
            sample_freq="100%",  # the ack metric per message: the driver's ledger
            deliver_subject=(
                f"_harness.deliver.{consumer.stream}.{consumer.name}"
                if consumer.kind == "push"
                else None
            ),
        )
        await _until_created(lambda: js.add_consumer(consumer.stream, config=config))
        self.history.client_event(
            "runner",
            "consumer_created",
            {
                "stream": consumer.stream,
                "consumer": consumer.name,
                "kind": consumer.kind,
                "ack_wait_s": consumer.ack_wait_s,
                "max_deliver": consumer.max_deliver,
            },
        )

    async def _create(self, stream: Stream) -> None:
        js = self._client().jetstream(timeout=_CALL_S)
        await _until_created(
            lambda: js.add_stream(
                name=stream.name,
                subjects=list(stream.subjects),
                num_replicas=stream.replicas,
                duplicate_window=stream.duplicate_window_s,
            )
        )
        self.history.client_event(
            "runner",
            "stream_created",
            {
                "stream": stream.name,
                "subjects": list(stream.subjects),
                "replicas": stream.replicas,
                "duplicate_window_s": stream.duplicate_window_s,
            },
        )

    async def read(self) -> None:
        """Read every stream back and record its messages (see the module docstring)."""
        for stream in self.streams:
            await self._read(stream)
        for stream_name, consumer in self._watched:
            await self._read_consumer(stream_name, consumer)

    async def _read_consumer(self, stream: str, consumer: str) -> None:
        js = self._client().jetstream(timeout=_CALL_S)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_S
        attempts = 0
        detail: dict[str, Any] = {"stream": stream, "consumer": consumer, "ok": False}
        while loop.time() <= deadline:
            attempts += 1
            try:
                info = await js.consumer_info(stream, consumer)
            except (nats.errors.Error, OSError) as exc:
                detail["error"] = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(_PAUSE_S)
                continue
            detail.pop("error", None)
            detail.update(
                ok=True,
                num_pending=info.num_pending or 0,
                num_ack_pending=info.num_ack_pending or 0,
                num_redelivered=info.num_redelivered or 0,
                ack_floor_seq=info.ack_floor.stream_seq if info.ack_floor else 0,
                delivered_seq=info.delivered.stream_seq if info.delivered else 0,
                ack_wait_s=info.config.ack_wait,
                max_deliver=info.config.max_deliver,
            )
            break
        detail["attempts"] = attempts
        self.history.client_event("runner", "consumer_read", detail)

    async def _read(self, stream: Stream) -> None:
        js = self._client().jetstream(timeout=_CALL_S)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_S
        attempts = 0
        error = ""
        while loop.time() <= deadline:
            attempts += 1
            try:
                info = await js.stream_info(stream.name)
                first, last = info.state.first_seq, info.state.last_seq
                found: list[tuple[int, bytes, dict[str, str] | None]] = []
                for seq in range(first, last + 1) if info.state.messages else ():
                    try:
                        msg = await js.get_msg(stream.name, seq)
                    except NotFoundError:  # deleted (none of the harness's streams delete)
                        continue
                    found.append((seq, msg.data or b"", msg.headers))
            except (nats.errors.Error, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(_PAUSE_S)
                continue
            for seq, data, headers in found:
                op = self.history.invoke("stream", "stored", {"stream": stream.name, "seq": seq})
                op.ok(
                    {
                        "id": data.split(b" ", 1)[0].decode(errors="replace"),
                        "stream": stream.name,
                        "seq": seq,
                        "msg_id": (headers or {}).get("Nats-Msg-Id"),
                    }
                )
            self._record(stream, True, len(found), first, last, attempts)
            return
        self._record(stream, False, 0, 0, 0, attempts, error)

    def _record(
        self,
        stream: Stream,
        ok: bool,
        messages: int,
        first: int,
        last: int,
        attempts: int,
        error: str = "",
    ) -> None:
        detail: dict[str, Any] = {
            "stream": stream.name,
            "ok": ok,
            "messages": messages,
            "first_seq": first,
            "last_seq": last,
            "duplicate_window_s": stream.duplicate_window_s,
            "attempts": attempts,
        }
        if error:
            detail["error"] = error
        self.history.client_event("runner", "stream_read", detail)

    def _client(self) -> Client:
        if self._nc is None:
            raise RuntimeError("StreamKeeper.start() was not called")
        return self._nc

    async def close(self) -> None:
        """Close the connection (if any)."""
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()


async def _until_created(create: Callable[[], Awaitable[object]]) -> None:
    """Call ``create`` until it succeeds, for at most :data:`CREATE_S` (a meta leader may
    not be elected yet); its last error is raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CREATE_S
    while True:
        try:
            await create()
            return
        except (nats.errors.Error, OSError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(_PAUSE_S)
