"""``reset_after`` (extension): forward ``bytes`` bytes on a link, then TCP RST.

``limit_data`` ends a connection with a FIN after its budget; a NATS client reads that as
the server leaving. ``reset_after`` ends it with an RST (``SO_LINGER`` 0 on both sockets)
instead, for "the connection is reset after N bytes" - for example in the middle of a
batch of publishes. Same budget semantics as ``limit_data``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from nats_fault_harness.toxics._limit_data import LimitData

__all__ = ["ResetAfter"]


@dataclasses.dataclass(frozen=True)
class ResetAfter(LimitData):
    """Reset the connection after ``bytes`` bytes on the link.

    Attributes:
        bytes: the byte budget of each link.
    """

    type_name: ClassVar[str] = "reset_after"
    go_struct: ClassVar[str] = "ResetAfterToxic"
    ending: ClassVar[Literal["close", "reset"]] = "reset"
