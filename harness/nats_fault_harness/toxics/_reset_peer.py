"""``reset_peer``: on the first data in its direction, wait ``timeout`` ms, then TCP RST.

The first chunk (or EOF) is dropped; after ``timeout`` ms both sockets get
``SO_LINGER(0)`` and are closed, so both peers see ``ECONNRESET``. Unlike Toxiproxy, the
linger option is set when the toxic fires, so the reset works on connections opened before
the toxic was added, and a rolled-noop or removed toxic leaves connections alone (Toxiproxy
issue #603). Cancelling the toxic after it was triggered resets at once: a byte was already
dropped, so the stream cannot continue.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nats_fault_harness.toxics._attrs import AttributeToxic, attr
from nats_fault_harness.toxics._base import ToxicIO

__all__ = ["ResetPeer"]


@dataclasses.dataclass(frozen=True)
class ResetPeer(AttributeToxic):
    """Reset the connection ``timeout`` ms after the first data.

    Attributes:
        timeout: milliseconds between the first data and the reset.
    """

    type_name: ClassVar[str] = "reset_peer"
    go_struct: ClassVar[str] = "ResetToxic"

    timeout: int = attr(unit="ms")

    async def pipe(self, io: ToxicIO) -> None:
        """Wait for a chunk, drop it, sleep ``timeout`` ms, reset the connection."""
        chunk = await io.get()
        if chunk.eof and chunk.forced:
            io.emit(chunk)
            return
        try:
            await io.sleep_until(io.now() + self.timeout / 1000.0)
        finally:  # also on cancellation: the dropped chunk already broke the stream
            io.fired("reset", timeout=self.timeout)
            io.reset()
