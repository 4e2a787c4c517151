"""``nats`` (extension): drop, delay, hold, duplicate or close on whole NATS protocol frames.

Byte-level toxics corrupt a NATS stream when they cut a frame; this one acts on frames. A
frame *matches* when its verb is ``verb`` (or ``verb`` is ``*``, or a family that holds
it: ``PUB*`` is ``PUB`` and ``HPUB``, ``MSG*`` is ``MSG`` and ``HMSG``) and its subject matches
the NATS pattern ``subject`` (``>``, the default, also matches frames without a subject,
such as ``PING``). Matches are counted per proxy and stream (``count`` 1, 2, ...; "the 3rd
PUB through this proxy", across connections and reconnects; an update restarts the count).
A match is *selected* by at most one of ``nth`` (only the Nth), ``every`` (every Nth),
``first`` (the first N), ``after`` (all after the first N), or all of them; then with
``probability`` (seeded per connection). A selected frame gets ``action``:

``drop``       the frame is not forwarded.
``delay``      the frame leaves ``delay`` ms after it arrived; frames behind it wait for it
               (stream order is kept, as with ``latency``).
``hold``       only matching frames are withheld, others overtake them; each is released
               ``delay`` ms after it arrived, or with ``delay: 0`` when the toxic is
               updated or removed (or the stream ends). Released frames keep their order.
``duplicate``  the frame is forwarded twice.
``close``      the frame is not forwarded and the connection is closed (FIN).

Payload bytes are never altered. Each action is a ``toxic_fired`` event with ``verb``,
``subject``, ``count`` and ``action``. Bytes that are not the client protocol (route
traffic after the route's ``CONNECT``, TLS) stop the interpretation of that link: they pass
untouched and a ``protocol_error`` event says so (see
:mod:`~nats_fault_harness.toxics._nats_stream`,
which also explains how a toxic added to a live connection finds the next frame).
Targeting a connection by its ``CONNECT`` name is the ``connect_name`` attribute that every
toxic accepts.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nats_fault_harness.natsproto import VERB_FAMILIES, VERBS, check_pattern
from nats_fault_harness.toxics._attrs import (
    AttributeToxic,
    InvalidAttribute,
    attr,
    brief,
    ratio_attr,
    text_attr,
)
from nats_fault_harness.toxics._base import ToxicIO
from nats_fault_harness.toxics._nats_run import Counter, FrameRun
from nats_fault_harness.toxics._nats_stream import FrameStream

__all__ = ["ACTIONS", "Nats"]

ACTIONS = ("drop", "delay", "hold", "duplicate", "close")
_SELECTORS = ("nth", "every", "first", "after")


def _invalid(name: str, value: object, rule: str) -> InvalidAttribute:
    return InvalidAttribute(
        f"invalid nats toxic: attribute {name} {rule}, got {brief(value)}",
        where=f"attributes.{name}",
        value=value,
    )


@dataclasses.dataclass(frozen=True)
class Nats(AttributeToxic):
    """Act on whole NATS frames (see the module docstring for the attributes)."""

    type_name: ClassVar[str] = "nats"
    go_struct: ClassVar[str] = "NatsToxic"

    verb: str = text_attr("*")
    subject: str = text_attr(">")
    action: str = text_attr("")
    delay: int = attr(unit="ms")
    nth: int = attr()
    every: int = attr()
    first: int = attr()
    after: int = attr()
    probability: float = ratio_attr(1.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verb", self.verb.upper())
        object.__setattr__(self, "action", self.action.lower())

    def check(self) -> None:
        """Verb, action and pattern are known and valid; at most one selector is set."""
        if self.verb != "*" and self.verb not in VERBS and self.verb not in VERB_FAMILIES:
            raise _invalid(
                "verb",
                self.verb,
                f"must be one of {', '.join(VERBS)}, a family ({', '.join(VERB_FAMILIES)}) or *",
            )
        if self.action not in ACTIONS:
            raise _invalid("action", self.action, f"must be one of {', '.join(ACTIONS)}")
        try:
            check_pattern(self.subject)
        except ValueError as exc:
            raise _invalid("subject", self.subject, f"must be a NATS subject ({exc})") from exc
        chosen = [name for name in _SELECTORS if getattr(self, name)]
        if len(chosen) > 1:
            raise _invalid(
                chosen[1], getattr(self, chosen[1]), f"cannot be combined with {chosen[0]}"
            )

    def new_state(self) -> object | None:
        """The link's frame parser."""
        return FrameStream()

    def new_shared_state(self) -> object | None:
        """The match counter of the proxy's stream."""
        return Counter()

    def selects(self, n: int) -> bool:
        """Whether the ``n``-th match (from 1) is selected by the count rule."""
        if self.nth:
            return n == self.nth
        if self.every:
            return n % self.every == 0
        if self.first:
            return n <= self.first
        return n > self.after

    async def pipe(self, io: ToxicIO) -> None:
        """Parse, act on selected frames, forward the rest untouched."""
        await FrameRun(self, io).run()
