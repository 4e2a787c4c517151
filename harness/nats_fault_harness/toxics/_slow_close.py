"""``slow_close``: data passes untouched; the end of the stream is held for ``delay`` ms.

So the far side learns of the close ``delay`` ms late. Unlike Toxiproxy, cancelling the
toxic during the wait (removal, update) forwards the EOF instead of swallowing it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import ClassVar

from nats_fault_harness.toxics._attrs import AttributeToxic, attr
from nats_fault_harness.toxics._base import ToxicIO

__all__ = ["SlowClose"]


@dataclasses.dataclass(frozen=True)
class SlowClose(AttributeToxic):
    """Hold the end of the stream for ``delay`` ms.

    Attributes:
        delay: milliseconds to hold the EOF.
    """

    type_name: ClassVar[str] = "slow_close"
    go_struct: ClassVar[str] = "SlowCloseToxic"

    delay: int = attr(unit="ms")

    async def pipe(self, io: ToxicIO) -> None:
        """Forward data; hold the EOF for ``delay`` ms."""
        while True:
            chunk = await io.get()
            if not chunk.eof:
                io.emit(chunk)
                continue
            try:
                await io.sleep_until(io.now() + self.delay / 1000.0)
            except asyncio.CancelledError:
                io.emit(chunk)
                raise
            io.fired("slow_close", delay=self.delay)
            io.emit(chunk)
            return
