"""One direction of a connection: bytes from a source socket, through toxics, to a dest socket.

Fast path: while no toxic is active on the link, :meth:`Link.feed` writes each read straight
to the destination transport, inside the ``data_received`` callback (no task hop, no copy).
Chain path: otherwise each read becomes :class:`~nats_fault_harness.toxics.Chunk` objects (at most
32 KiB, stamped with the loop time) queued at the first active stage; every stage emits to
the next, the last one to :meth:`Link.deliver`.

Switching never loses or reorders bytes: a new stage is linked in behind the data already
past its position; a removed stage is cancelled (it flushes its in-flight chunk), its queue
is forwarded, and only then is it unlinked, all in one step of the event loop. The fast path
resumes only when the chain is empty.

Back-pressure: reading from the source pauses while the destination's write buffer is above
its high-water mark or the chunks queued in the chain exceed :data:`HIGH_WATER` bytes (the
proxy's own ceiling), resuming below :data:`LOW_WATER`. An active toxic may set a lower
limit (:meth:`~nats_fault_harness.toxics.Toxic.buffer_limit`): the ``blackhole`` toxic's is
0 by default, so reading stops the moment it becomes active and the sender meets the
back-pressure of its kernel's buffers alone, as against a peer that stops reading.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from nats_fault_harness.proxy._stage import Stage
from nats_fault_harness.proxy._toxic_spec import ToxicSpec
from nats_fault_harness.toxics import Chunk

if TYPE_CHECKING:
    from nats_fault_harness.proxy._connection import Connection
    from nats_fault_harness.proxy._side import Side

__all__ = ["CHUNK_SIZE", "FIRST_BYTES", "HIGH_WATER", "LOW_WATER", "Link"]

CHUNK_SIZE = 32 * 1024
FIRST_BYTES = 8
HIGH_WATER = 8 * 1024 * 1024
LOW_WATER = 4 * 1024 * 1024

_NO_EOF, _PEER_EOF, _FORCED_EOF = 0, 1, 2


class Link:
    """The upstream (client -> server) or downstream (server -> client) half of a connection.

    Attributes:
        direction: ``"upstream"`` or ``"downstream"``.
        bytes_in: bytes read from the source socket.
        bytes_out: bytes written to the destination socket.
        first_bytes: the first :data:`FIRST_BYTES` bytes read (``INFO``: a NATS server).
        finished: True once the end of the stream reached the destination.
    """

    def __init__(self, conn: Connection, direction: str, src: Side, dst: Side) -> None:
        self.conn = conn
        self.direction = direction
        self.src = src
        self.dst = dst
        self.stages: list[Stage] = []
        self.head: Stage | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.first_bytes = b""
        self.finished = False
        self._eof = _NO_EOF
        self._backlog = 0
        self._hold: int | None = None  # the lowest buffer_limit() of the active toxics
        self._dest_full = False
        self._reading_paused = False
        self._loop = asyncio.get_running_loop()

    # ------------------------------------------------------------------ data
    def feed(self, data: bytes) -> None:
        """Take one read from the source socket."""
        if self.bytes_in < FIRST_BYTES:
            self.first_bytes += data[: FIRST_BYTES - self.bytes_in]
        self.bytes_in += len(data)
        head = self.head
        if head is None:
            if not self.finished and self.dst.writable:
                self.bytes_out += len(data)
                self.dst.transport.write(data)
            return
        now = self._loop.time()
        if len(data) <= CHUNK_SIZE:
            head.queue.put(Chunk(data, now))
            return
        view = memoryview(data)
        for start in range(0, len(data), CHUNK_SIZE):
            head.queue.put(Chunk(bytes(view[start : start + CHUNK_SIZE]), now))

    def feed_eof(self, *, forced: bool) -> None:
        """The source ended (``forced``: the proxy is closing the connection)."""
        level = _FORCED_EOF if forced else _PEER_EOF
        if self.finished or self._eof >= level:
            return
        self._eof = level
        chunk = Chunk.end(self._loop.time(), forced=forced)
        if self.head is None:
            self.deliver(chunk)
        else:
            self.head.queue.put(chunk)

    def deliver(self, chunk: Chunk) -> None:
        """Write a chunk leaving the chain to the destination (EOF closes it)."""
        if self.finished:
            return
        if chunk.eof:
            self.finished = True
            self.conn.link_finished(self)
            return
        if self.dst.writable:
            self.bytes_out += len(chunk.data)
            self.dst.transport.write(chunk.data)

    # ------------------------------------------------------------------ flow control
    def backlog_changed(self, delta: int) -> None:
        """Queued bytes in the chain changed by ``delta``."""
        self._backlog += delta
        if delta > 0:
            hold = self._hold
            if not self._reading_paused and (
                self._backlog > HIGH_WATER or (hold is not None and self._backlog >= hold)
            ):
                self.update_reading()
        elif self._reading_paused and self._backlog < LOW_WATER:
            self.update_reading()

    def dest_full(self, full: bool) -> None:
        """The destination's write buffer crossed its high (or low) water mark."""
        self._dest_full = full
        self.update_reading()

    def update_reading(self) -> None:
        """Pause or resume reading the source to match the current pressure."""
        hold = self._hold
        pause = (
            self._dest_full
            or self._backlog > HIGH_WATER
            or (self._reading_paused and self._backlog >= LOW_WATER)
            or (hold is not None and self._backlog >= hold)
        )
        self._reading_paused = pause
        self.src.set_reading(not pause)  # idempotent; also corrects a socket resumed by wiring

    def _chain_changed(self) -> None:
        """A toxic became active or inactive here: recompute the hold limit, then reading."""
        limits = [
            limit
            for stage in self.stages
            if stage.active and (limit := stage.spec.toxic.buffer_limit()) is not None
        ]
        self._hold = min(limits) if limits else None
        self.update_reading()

    # ------------------------------------------------------------------ toxics
    def add_stage(self, spec: ToxicSpec) -> None:
        """Append a toxic at the end of the chain (rolls its toxicity)."""
        stage = Stage(self, spec)
        self.stages.append(stage)
        if stage.roll() and stage.on_target():
            self._link_in(stage)
            stage.start()
            self._chain_changed()

    def retarget(self) -> None:
        """The connection's ``CONNECT`` name is known: start the targeted toxics it matches.

        Called before the bytes holding the ``CONNECT`` enter the upstream link, so a
        targeted toxic there sees that frame.
        """
        for stage in self.stages:
            if (
                stage.applies
                and not stage.active
                and stage.spec.connect_name
                and not stage.spec.toxic.passthrough
                and stage.on_target()
            ):
                self._link_in(stage)
                stage.start()
                self._chain_changed()

    async def remove_stage(self, name: str, *, discard: bool = False) -> bool:
        """Remove a toxic from the chain.

        Args:
            name: the toxic's name.
            discard: drop the stage's queued chunks and end the stream at its position
                (a ``timeout`` toxic's removal) instead of forwarding them.

        Returns:
            True if the toxic was active on this link.
        """
        stage = self.detach_stage(name)
        if stage is None:
            return False
        await stage.stop()
        self.finish_removal(stage, discard=discard)
        return True

    def detach_stage(self, name: str) -> Stage | None:
        """First step of a removal, synchronous: the toxic leaves the toxic order.

        Returns:
            The stage if it was active: it stays linked in (data queues at it) until
            :meth:`finish_removal`, once its task was stopped (``await stage.stop()``).
            Split so that a batch can stop many stages, then unlink them all in one step.
        """
        stage = self._find(name)
        if stage is None:
            return None
        self.stages.remove(stage)
        stage.applies = False
        return stage if stage.active else None

    def finish_removal(self, stage: Stage, *, discard: bool = False) -> None:
        """Last step of a removal, synchronous: unlink a detached, stopped stage.

        Args:
            stage: what :meth:`detach_stage` returned.
            discard: see :meth:`remove_stage`.
        """
        if not stage.active:
            return
        if discard:
            stage.queue.take_all()
            stage.close()
        self._unlink(stage)

    async def update_stage(self, spec: ToxicSpec) -> None:
        """Restart a toxic with new attributes; its toxicity is rolled again."""
        stage = self._find(spec.name)
        if stage is None:
            return
        was_active = stage.active
        if was_active:
            await stage.stop()
        stage.spec = spec
        stage.shared = spec.shared
        now_active = stage.roll() and stage.on_target()
        if was_active and now_active:
            stage.joined_mid_stream = False  # same position in the stream: it continues
            stage.start()
        elif was_active:
            self._unlink(stage)
        elif now_active:
            self._link_in(stage)
            stage.start()
        self._chain_changed()

    def active_toxics(self) -> list[str]:
        """Names of the toxics that apply on this link (roll won, on target), in order."""
        return [stage.spec.name for stage in self.stages if stage.applies and stage.on_target()]

    def cancel_all(self) -> None:
        """Cancel every running toxic (connection teardown)."""
        for stage in self.stages:
            stage.cancel()

    # ------------------------------------------------------------------ chain surgery
    def _find(self, name: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.spec.name == name), None)

    def _link_in(self, stage: Stage) -> None:
        stage.joined_mid_stream = self.bytes_in > 0
        index = self.stages.index(stage)
        prev = next((s for s in reversed(self.stages[:index]) if s.active), None)
        if prev is None:
            stage.next, self.head = self.head, stage
        else:
            stage.next, prev.next = prev.next, stage
        stage.active = True

    def _unlink(self, stage: Stage) -> None:
        """Forward the stage's queue to its successor, then bypass it."""
        for chunk in stage.queue.take_all():
            stage.emit(chunk)
        if self.head is stage:
            self.head = stage.next
        else:
            node = self.head
            while node is not None and node.next is not stage:
                node = node.next
            if node is not None:
                node.next = stage.next
        stage.next = None
        stage.active = False
        self._chain_changed()
