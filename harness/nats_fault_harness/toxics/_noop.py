"""``noop``: passes everything through unchanged.

Creatable through the API like in Toxiproxy (``api_test.go::TestAddNoop``). The proxy never
runs its ``pipe``: a link whose toxics are all noop (or rolled noop) stays on the fast path.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nats_fault_harness.toxics._attrs import AttributeToxic
from nats_fault_harness.toxics._base import ToxicIO

__all__ = ["Noop"]


@dataclasses.dataclass(frozen=True)
class Noop(AttributeToxic):
    """Does nothing; no attributes."""

    type_name: ClassVar[str] = "noop"
    go_struct: ClassVar[str] = "NoopToxic"
    passthrough: ClassVar[bool] = True

    async def pipe(self, io: ToxicIO) -> None:
        """Forward every chunk."""
        while True:
            chunk = await io.get()
            io.emit(chunk)
            if chunk.eof:
                return
