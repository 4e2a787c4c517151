"""``bandwidth``: limit a link to ``rate`` KB/s, where KB is 1000 bytes.

Each chunk costs ``len / (rate * 1000)`` seconds. A chunk larger than ``rate * 100`` bytes is
cut into ``rate * 100``-byte pieces sent every 100 ms. The error of each sleep is carried to
the next one, so the long-run rate is exact (480 000 bytes at ``rate=1000`` take 480 ms).
``rate`` must be at least 1: Toxiproxy stalls forever on 0 and crashes below it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import ClassVar

from nats_fault_harness.toxics._attrs import AttributeToxic, attr
from nats_fault_harness.toxics._base import Chunk, ToxicIO

__all__ = ["Bandwidth"]


@dataclasses.dataclass(frozen=True)
class Bandwidth(AttributeToxic):
    """Limit the link to ``rate`` KB/s (1 KB = 1000 bytes).

    Attributes:
        rate: kilobytes (1000 bytes) per second, at least 1.
    """

    type_name: ClassVar[str] = "bandwidth"
    go_struct: ClassVar[str] = "BandwidthToxic"

    rate: int = attr(minimum=1, unit="KB/s")

    async def pipe(self, io: ToxicIO) -> None:
        """Delay chunks by their transmission time at ``rate``; on cancel, flush."""
        piece = self.rate * 100
        per_byte = 1.0 / (self.rate * 1000.0)
        owed = 0.0  # seconds of sleep owed, negative when the last sleep overran
        while True:
            chunk = await io.get()
            if chunk.eof:
                io.emit(chunk)
                return
            data = chunk.data
            owed += len(data) * per_byte
            try:
                while len(data) > piece:
                    await asyncio.sleep(0.1)
                    io.emit(Chunk(data[:piece], chunk.ts))
                    data = data[piece:]
                    owed -= 0.1
                started = io.now()
                await io.sleep_until(started + owed)
            except asyncio.CancelledError:
                io.emit(Chunk(data, chunk.ts))
                raise
            owed -= io.now() - started
            io.emit(Chunk(data, chunk.ts))
