"""``timeout``: drop all data; with ``timeout > 0``, close the connection after that many ms.

Data is read and discarded (no back-pressure; the sender's writes succeed). The timer
restarts on every dropped chunk, as in Toxiproxy (its ``time.After`` is re-created on each
loop turn), so the close happens after ``timeout`` ms *without data in this direction*;
continuous traffic keeps the connection open. ``timeout: 0`` drops forever and never closes.

A peer's EOF is dropped too (a blackhole does not carry FIN), but not a forced one: when
the proxy tears the connection down, it goes. Removing a timeout toxic closes every
connection it was active on, because bytes were lost and the stream is corrupt.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import ClassVar

from nats_fault_harness.toxics._attrs import AttributeToxic, attr
from nats_fault_harness.toxics._base import ToxicIO

__all__ = ["Timeout"]


@dataclasses.dataclass(frozen=True)
class Timeout(AttributeToxic):
    """Drop all data; close after ``timeout`` ms without data (0: never).

    Attributes:
        timeout: milliseconds without data before closing; 0 means never close.
    """

    type_name: ClassVar[str] = "timeout"
    go_struct: ClassVar[str] = "TimeoutToxic"
    closes_on_remove: ClassVar[bool] = True

    timeout: int = attr(unit="ms")

    async def pipe(self, io: ToxicIO) -> None:
        """Discard chunks; close the link when ``timeout`` ms pass without one."""
        seconds = self.timeout / 1000.0 if self.timeout > 0 else None
        dropped = 0
        while True:
            try:
                async with asyncio.timeout(seconds):
                    chunk = await io.get()
            except TimeoutError:
                io.fired("timeout", timeout=self.timeout, dropped_bytes=dropped)
                io.close()
                return
            if chunk.eof and chunk.forced:
                io.emit(chunk)
                return
            dropped += len(chunk.data)
