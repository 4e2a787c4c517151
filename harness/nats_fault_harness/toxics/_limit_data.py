"""``limit_data``: forward at most ``bytes`` bytes on a link, then close the connection.

The chunk that crosses the budget is truncated. The connection closes when a chunk brings
the count to the budget (``bytes: 0`` closes on the first chunk, forwarding nothing). The
count is per link and survives updates and restarts of the toxic.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from nats_fault_harness.toxics._attrs import AttributeToxic, attr
from nats_fault_harness.toxics._base import Chunk, ToxicIO

__all__ = ["LimitData"]


class _Sent:
    """Bytes already forwarded on one link (outlives restarts)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


@dataclasses.dataclass(frozen=True)
class LimitData(AttributeToxic):
    """Close the connection after ``bytes`` bytes on the link.

    Attributes:
        bytes: the byte budget of each link.
    """

    type_name: ClassVar[str] = "limit_data"
    go_struct: ClassVar[str] = "LimitDataToxic"

    bytes: int = attr(unit="bytes")
    ending: ClassVar[Literal["close", "reset"]] = "close"

    def new_state(self) -> object | None:
        """A byte counter per link."""
        return _Sent()

    async def pipe(self, io: ToxicIO) -> None:
        """Forward up to the budget, truncating the crossing chunk, then close."""
        sent: _Sent = io.state
        while True:
            chunk = await io.get()
            if chunk.eof:
                io.emit(chunk)
                return
            remaining = max(0, self.bytes - sent.count)
            data = chunk.data[:remaining] if remaining < len(chunk.data) else chunk.data
            if data:
                io.emit(Chunk(data, chunk.ts))
                sent.count += len(data)
            if self.bytes - sent.count <= 0:
                io.fired("limit_reached", bytes=self.bytes, ending=self.ending)
                if self.ending == "reset":
                    io.reset()
                else:
                    io.close()
                return
