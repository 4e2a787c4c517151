"""The toxic contract: what a toxic is, and what a running toxic sees.

A toxic is an immutable value (a frozen dataclass whose fields are the JSON ``attributes``,
with Toxiproxy's names and units) plus a coroutine :meth:`Toxic.pipe` that moves chunks from
its input to its output. The proxy runs one ``pipe`` per toxic per connection direction
("link") through a :class:`ToxicIO`.

Rules every toxic keeps (Toxiproxy's ``CREATING_TOXICS.md``, restated for asyncio):

* **Every await is cancellable.** The proxy cancels ``pipe`` when the toxic is removed or
  updated, or the connection ends.
* **No byte on the floor.** On cancellation, emit any chunk held in flight (a sleeping
  latency chunk, the rest of a bandwidth or slicer chunk), then re-raise. Bytes still queued
  at the toxic's input are forwarded by the proxy. Only ``timeout``, ``reset_peer`` and
  ``limit_data`` drop data, by design.
* **EOF is a chunk.** A chunk with ``eof=True`` ends the stream: emit it (possibly later, as
  ``slow_close`` does) and return. Only ``timeout`` may swallow a peer's EOF, and never a
  ``forced`` one (the proxy tearing the connection down).
* **Config is read-only.** Per-link state that must survive a restart (``limit_data``'s byte
  count) lives in the object returned by ``new_state()``, handed back as ``io.state``; state
  shared by every link of the toxic's proxy and stream (the ``nats`` toxic's frame count)
  lives in the object ``new_shared_state()`` returned, handed back as ``io.shared`` (a new
  one when the toxic is updated).
* **Joining a live stream.** ``io.joined_mid_stream`` is True when bytes passed the toxic's
  position while it was not running there (it was added to a live connection, or rolled
  active again): its first chunk may start anywhere in the peer's protocol. A toxic that
  parses the protocol must resynchronise; byte-level toxics ignore it.
* **Randomness comes from** ``io.rng``, which the proxy derives from the server seed, so runs
  with the same seed and the same traffic make the same draws.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar, Protocol, Self

__all__ = ["EOF_SIZE", "Chunk", "Toxic", "ToxicIO"]

EOF_SIZE = 0
"""The size an EOF chunk counts for in buffer accounting."""


class Chunk:
    """One read from a socket (at most 32 KiB), stamped with its arrival time.

    Attributes:
        data: the bytes (empty for EOF).
        ts: arrival time on the event loop clock (``loop.time()``), in seconds. Latency is
            measured from here; a latency toxic advances it by the delay it applied, so two
            latency toxics add up.
        eof: True if this chunk marks the end of the stream.
        forced: for EOF only: True when the proxy itself is closing the connection (the
            other direction ended, a toxic closed the link); such an EOF is never swallowed.
    """

    __slots__ = ("data", "eof", "forced", "ts")

    def __init__(self, data: bytes, ts: float, *, eof: bool = False, forced: bool = False):
        self.data = data
        self.ts = ts
        self.eof = eof
        self.forced = forced

    @classmethod
    def end(cls, ts: float, *, forced: bool = False) -> Chunk:
        """An EOF chunk."""
        return cls(b"", ts, eof=True, forced=forced)

    def __repr__(self) -> str:
        if self.eof:
            return f"Chunk(EOF, forced={self.forced})"
        return f"Chunk({len(self.data)} bytes, ts={self.ts:.6f})"


class ToxicIO(Protocol):
    """What a running toxic sees: its input, its output, and its connection.

    Attributes:
        rng: the random source for this toxic on this link (jitter, slicing); seeded.
        state: the object ``new_state()`` returned for this link, or ``None``.
        shared: the object ``new_shared_state()`` returned for this toxic, shared by all
            the links of its proxy and stream, or ``None``.
        joined_mid_stream: True if this run of ``pipe`` does not continue the stream from
            where ``state`` last saw it (see the module docstring).
    """

    rng: random.Random
    state: Any
    shared: Any
    joined_mid_stream: bool

    async def get(self) -> Chunk:
        """Wait for the next chunk at the toxic's input."""
        ...

    def emit(self, chunk: Chunk) -> None:
        """Pass a chunk to the next toxic (or to the destination socket)."""
        ...

    def close(self) -> None:
        """End the link: emit a forced EOF, which closes the connection once delivered."""
        ...

    def reset(self) -> None:
        """Reset the connection now: SO_LINGER(0) on both sockets, then close (TCP RST)."""
        ...

    def fired(self, effect: str, **fields: object) -> None:
        """Record that the toxic did something observable (an event in the proxy's feed).

        The effect also becomes the connection's end reason if it has none yet: use it for
        effects that end the connection (``reset``, ``timeout``...).
        """
        ...

    def report(self, effect: str, **fields: object) -> None:
        """Like :meth:`fired`, for effects that leave the connection open (a dropped frame)."""
        ...

    def now(self) -> float:
        """The event loop clock, the same clock as :attr:`Chunk.ts`."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the loop clock reaches ``deadline`` (returns at once if passed)."""
        ...


class Toxic(Protocol):
    """A toxic type: its wire name, its attributes, and how it moves chunks.

    Attributes:
        type_name: the ``type`` string on the wire (``"latency"``).
        go_struct: the Go struct name Toxiproxy uses, for byte-compatible error messages.
        passthrough: True if the toxic never changes the stream (``noop``); the proxy then
            keeps the connection on its fast path instead of running ``pipe``.
        closes_on_remove: True if removing the toxic must close the connections it was
            active on (``timeout``: bytes were dropped, the stream is corrupt).
    """

    type_name: ClassVar[str]
    go_struct: ClassVar[str]
    passthrough: ClassVar[bool]
    closes_on_remove: ClassVar[bool]

    @classmethod
    def from_attributes(cls, raw: object, base: Self | None = None) -> Self:
        """Build from a JSON ``attributes`` value, merged over ``base`` (for updates).

        Raises:
            InvalidAttribute: a value has the wrong JSON type or is out of range.
        """
        ...

    def attributes(self) -> dict[str, Any]:
        """The JSON ``attributes`` object, keys in Toxiproxy's order."""
        ...

    def new_state(self) -> object | None:
        """Per-link state that outlives restarts of ``pipe`` (``None`` if stateless)."""
        ...

    def new_shared_state(self) -> object | None:
        """State shared by all links of the toxic's proxy and stream (``None`` if none)."""
        ...

    def buffer_limit(self) -> int | None:
        """While active on a link, the most bytes the proxy may read and keep queued in the
        link's chain before it stops reading the source socket (``None``: no limit of the
        toxic's own, only the proxy's ceiling). ``0`` stops reading as soon as the toxic
        is active, so back-pressure reaches the sender from the kernel's buffers alone."""
        ...

    async def pipe(self, io: ToxicIO) -> None:
        """Move chunks from ``io.get()`` to ``io.emit()`` until EOF or cancellation."""
        ...
