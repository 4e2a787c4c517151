"""``latency``: delay every chunk by ``latency`` ± ``jitter`` milliseconds.

The delay is measured from the chunk's arrival, so queued chunks age while they wait and
latency never caps throughput. Jitter is uniform in ``[-jitter, +jitter)`` (Toxiproxy's
``rand.Int63n(2*jitter) - jitter``); a negative total means no delay. Chunks stay in order.
After the delay the chunk's timestamp is advanced by it, so two latency toxics add up.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import ClassVar

from nats_fault_harness.toxics._attrs import AttributeToxic, attr
from nats_fault_harness.toxics._base import ToxicIO

__all__ = ["Latency"]


@dataclasses.dataclass(frozen=True)
class Latency(AttributeToxic):
    """Delay every chunk by ``latency`` +- ``jitter`` ms.

    Attributes:
        latency: base delay in milliseconds.
        jitter: maximum deviation in milliseconds, uniform.
    """

    type_name: ClassVar[str] = "latency"
    go_struct: ClassVar[str] = "LatencyToxic"

    latency: int = attr(unit="ms")
    jitter: int = attr(unit="ms")

    async def pipe(self, io: ToxicIO) -> None:
        """Hold each chunk until ``arrival + delay``; on cancel, release it at once."""
        while True:
            chunk = await io.get()
            if chunk.eof:
                io.emit(chunk)
                return
            delay = self.latency
            if self.jitter:
                delay += io.rng.randrange(-self.jitter, self.jitter)
            seconds = delay / 1000.0
            try:
                await io.sleep_until(chunk.ts + seconds)
            except asyncio.CancelledError:
                io.emit(chunk)  # no byte on the floor: flush without the delay
                raise
            chunk.ts += seconds
            io.emit(chunk)
