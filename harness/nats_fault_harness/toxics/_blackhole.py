"""``blackhole`` (extension): hold every byte of a link, close nothing; release on removal.

A pulled cable: the peer sees silence and, because the proxy stops *reading* the sender's
socket as soon as the toxic is active, the sender's writes back up exactly as they do
against a peer that stops reading: through the kernel's socket buffers (the sender's send
buffer, the proxy's receive buffer) and nothing else. Bytes the proxy had already read
stay queued in order. Removing the toxic forwards them, then reading resumes, so nothing
is lost or reordered; a FIN that arrived meanwhile is delivered after them.

``buffer_bytes`` (default 0) lets the proxy read and hold up to that many bytes per
connection direction before it stops reading: the proxy's old behaviour was 8 MiB (its
per-direction ceiling, :data:`MAX_BUFFER_BYTES`, the most it accepts). Toxiproxy has no
such toxic; the harness's ``blackhole()`` fault falls back to a ``latency`` toxic of an
hour there, which Toxiproxy reads ahead of (up to its channel of 1024 chunks).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import ClassVar

from nats_fault_harness.toxics._attrs import AttributeToxic, attr
from nats_fault_harness.toxics._base import ToxicIO

__all__ = ["MAX_BUFFER_BYTES", "Blackhole"]

MAX_BUFFER_BYTES = 8 * 1024 * 1024
"""The largest ``buffer_bytes``: the proxy's own per-direction ceiling (its ``HIGH_WATER``)."""


@dataclasses.dataclass(frozen=True)
class Blackhole(AttributeToxic):
    """Hold every byte until removed; stop reading after ``buffer_bytes`` (0: at once).

    Attributes:
        buffer_bytes: bytes the proxy may read and hold per connection direction before it
            stops reading the sender's socket; 0 stops at once (a pulled cable).
    """

    type_name: ClassVar[str] = "blackhole"
    go_struct: ClassVar[str] = "BlackholeToxic"

    buffer_bytes: int = attr(maximum=MAX_BUFFER_BYTES, unit="bytes")

    def buffer_limit(self) -> int | None:
        """What the link may hold before it stops reading."""
        return self.buffer_bytes

    async def pipe(self, io: ToxicIO) -> None:
        """Take nothing: the queue holds the bytes, the proxy forwards it on removal."""
        await asyncio.Event().wait()
