"""One toxic running on one link: its input queue, its task, and the ToxicIO it is given.

A stage is *active* when its toxicity roll succeeded, it is on target (a toxic with a
``connect_name`` waits until the connection's ``CONNECT`` name is known and matches) and it
is linked into the link's chain; a *passive* stage (roll failed, off target, or a ``noop``)
keeps its place in the toxic order but sees no data. Stages hand chunks on with
:meth:`Stage.emit`, which resolves the next active stage at call time, so stages can be
inserted and removed while data flows.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
from collections import deque
from typing import TYPE_CHECKING, Any

from nats_fault_harness.proxy._toxic_spec import ToxicSpec
from nats_fault_harness.toxics import Chunk

if TYPE_CHECKING:
    from nats_fault_harness.proxy._link import Link

__all__ = ["ChunkQueue", "Stage"]

_log = logging.getLogger("nats_fault_harness.proxy")
_MAX_SLEEP = 86_400.0


class ChunkQueue:
    """An unbounded FIFO of chunks that reports its byte count to its link (back-pressure)."""

    __slots__ = ("_items", "_link", "_waiter")

    def __init__(self, link: Link) -> None:
        self._items: deque[Chunk] = deque()
        self._link = link
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, chunk: Chunk) -> None:
        """Append a chunk and wake the reader."""
        self._items.append(chunk)
        self._link.backlog_changed(len(chunk.data))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Chunk:
        """Wait for and remove the oldest chunk."""
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        chunk = self._items.popleft()
        self._link.backlog_changed(-len(chunk.data))
        return chunk

    def take_all(self) -> list[Chunk]:
        """Remove and return every queued chunk."""
        items = list(self._items)
        self._items.clear()
        self._link.backlog_changed(-sum(len(chunk.data) for chunk in items))
        return items


class Stage:
    """A toxic on one link; implements :class:`~nats_fault_harness.toxics.ToxicIO` for its
    ``pipe``."""

    def __init__(self, link: Link, spec: ToxicSpec) -> None:
        self.link = link
        self.spec = spec
        self.queue = ChunkQueue(link)
        self.next: Stage | None = None
        self.active = False
        self.applies = False
        self.task: asyncio.Task[None] | None = None
        self.state: Any = spec.toxic.new_state()
        self.shared: Any = spec.shared
        self.joined_mid_stream = False
        seeds = link.conn.runtime.seeds
        path = (link.conn.proxy_name, link.conn.id, link.direction, spec.name)
        self._roll_rng = seeds.derive(*path, "roll")
        self.rng: random.Random = seeds.derive(*path, "draw")
        self._loop = asyncio.get_running_loop()

    # ------------------------------------------------------------------ lifecycle
    def roll(self) -> bool:
        """Draw the toxicity roll for this link; True if the toxic applies.

        Also reports the draw as a ``toxic_rolled`` event.
        """
        fired = self._roll_rng.random() < self.spec.toxicity
        self.applies = fired
        conn = self.link.conn
        conn.runtime.events.emit(
            "toxic_rolled",
            proxy=conn.proxy_name,
            connection=conn.id,
            toxic=self.spec.name,
            stream=self.link.direction,
            toxicity=self.spec.toxicity,
            active=fired,
        )
        return fired and not self.spec.toxic.passthrough

    def on_target(self) -> bool:
        """True unless the toxic targets ``CONNECT`` names this connection does not have."""
        pattern = self.spec.connect_name
        if not pattern:
            return True
        name = self.link.conn.connect_name
        return name is not None and fnmatch.fnmatchcase(name, pattern)

    def start(self) -> None:
        """Run the toxic's ``pipe`` in a supervised task."""
        name = f"toxic {self.spec.name} {self.link.conn.proxy_name}#{self.link.conn.id}"
        self.task = self.link.conn.runtime.tasks.spawn(self._run(), name=name)

    async def _run(self) -> None:
        try:
            await self.spec.toxic.pipe(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("toxic %s failed; closing its connection", self.spec.name)
            self.link.conn.abort("toxic_error")
            raise

    async def stop(self) -> None:
        """Cancel the toxic's task and wait for it (it flushes its in-flight chunk)."""
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    def cancel(self) -> None:
        """Cancel without waiting (connection teardown)."""
        if self.task is not None:
            self.task.cancel()
            self.task = None

    # ------------------------------------------------------------------ ToxicIO
    async def get(self) -> Chunk:
        """The next chunk at this toxic's input."""
        return await self.queue.get()

    def emit(self, chunk: Chunk) -> None:
        """Hand a chunk to the next active stage, or to the destination socket."""
        nxt = self.next
        if nxt is None:
            self.link.deliver(chunk)
        else:
            nxt.queue.put(chunk)

    def close(self) -> None:
        """End the link with a forced EOF."""
        self.emit(Chunk.end(self._loop.time(), forced=True))

    def reset(self) -> None:
        """Reset both sockets of the connection (TCP RST)."""
        self.link.conn.reset()

    def fired(self, effect: str, **fields: object) -> None:
        """Report a ``toxic_fired`` event; the effect may end the connection."""
        self.link.conn.note_reason(effect)
        self.report(effect, **fields)

    def report(self, effect: str, **fields: object) -> None:
        """Report a ``toxic_fired`` event."""
        conn = self.link.conn
        conn.runtime.events.emit(
            "toxic_fired",
            proxy=conn.proxy_name,
            connection=conn.id,
            toxic=self.spec.name,
            toxic_type=self.spec.type,
            stream=self.link.direction,
            effect=effect,
            **fields,
        )

    def now(self) -> float:
        """The loop clock."""
        return self._loop.time()

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the loop clock reaches ``deadline``."""
        delay = deadline - self._loop.time()
        while delay > 0:
            await asyncio.sleep(min(delay, _MAX_SLEEP))
            if delay <= _MAX_SLEEP:
                return
            delay = deadline - self._loop.time()
