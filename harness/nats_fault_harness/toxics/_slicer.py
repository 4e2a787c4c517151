"""``slicer``: cut each chunk into smaller ones, ``delay`` MICROseconds apart.

Slices come from Toxiproxy's recursive bisection: a range is final when
``len - average_size <= size_variation``, otherwise it is split at its midpoint moved by
``U[-size_variation, +size_variation)``. Data is never altered. ``average_size`` must be at
least 1 (0 recurses forever in Toxiproxy) and ``size_variation`` at most ``average_size``
(larger values can push the midpoint out of the range and crash Toxiproxy).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import ClassVar

from nats_fault_harness.toxics._attrs import AttributeToxic, InvalidAttribute, attr
from nats_fault_harness.toxics._base import Chunk, ToxicIO

__all__ = ["Slicer"]


@dataclasses.dataclass(frozen=True)
class Slicer(AttributeToxic):
    """Cut chunks into slices of about ``average_size`` bytes.

    Attributes:
        average_size: target slice size in bytes, at least 1.
        size_variation: allowed deviation in bytes, at most ``average_size``.
        delay: microseconds to wait after each slice.
    """

    type_name: ClassVar[str] = "slicer"
    go_struct: ClassVar[str] = "SlicerToxic"

    average_size: int = attr(minimum=1, unit="bytes", go_type="int")
    size_variation: int = attr(unit="bytes", go_type="int")
    delay: int = attr(unit="us", go_type="int")

    def check(self) -> None:
        """``size_variation`` may not exceed ``average_size``."""
        if self.size_variation > self.average_size:
            raise InvalidAttribute(
                f"invalid slicer toxic: attribute size_variation ({self.size_variation}) "
                f"must be <= average_size ({self.average_size})",
                where="attributes.size_variation",
                value=self.size_variation,
            )

    def cuts(self, size: int, rng: random.Random) -> list[int]:
        """End offsets of the slices of a ``size``-byte chunk, in order."""
        ends: list[int] = []
        stack = [(0, size)]
        while stack:
            start, end = stack.pop()
            if (end - start) - self.average_size <= self.size_variation:
                ends.append(end)
                continue
            mid = start + (end - start) // 2
            if self.size_variation > 0:
                mid += rng.randrange(-self.size_variation, self.size_variation)
            mid = min(max(mid, start + 1), end - 1)  # never an empty slice
            stack.append((mid, end))  # right half after the left one
            stack.append((start, mid))
        return ends

    async def pipe(self, io: ToxicIO) -> None:
        """Emit each chunk as slices, sleeping ``delay`` us after each."""
        pause = self.delay / 1_000_000.0
        while True:
            chunk = await io.get()
            if chunk.eof:
                io.emit(chunk)
                return
            data, pos = chunk.data, 0
            try:
                for count, end in enumerate(self.cuts(len(data), io.rng), start=1):
                    io.emit(Chunk(data[pos:end], chunk.ts))
                    pos = end
                    if pause:
                        await asyncio.sleep(pause)
                    elif count % 256 == 0:
                        await asyncio.sleep(0)  # let other connections run
            except asyncio.CancelledError:
                if pos < len(data):
                    io.emit(Chunk(data[pos:], chunk.ts))
                raise
