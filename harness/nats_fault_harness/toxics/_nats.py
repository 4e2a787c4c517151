"""``nats`` (extension): drop, delay, hold, duplicate or close on whole NATS protocol frames.

Byte-level toxics corrupt a NATS stream when they cut a frame; this one acts on frames. A
frame *matches* when its verb is ``verb`` (or ``verb`` is ``*``, or a family that holds
it: ``PUB*`` is ``PUB`` and ``HPUB``, ``MSG*`` is ``MSG`` and ``HMSG``) and its subject matches
the NATS pattern ``subject`` (``>``, the default, also matches frames without a subject,
such as ``PING``), and, when set, the filters that identify a message:

``reply``         the frame's reply subject matches this NATS pattern (frames without a
                  reply never match). A JetStream delivery's reply is
                  ``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...``, so
                  ``$JS.ACK.ORDERS.billing.1.>`` is the first delivery of each message to
                  consumer ``billing``, ``$JS.ACK.*.*.2.>`` every second delivery.
``header``        the frame (``HPUB``/``HMSG``) carries this header (name compared without
                  case), with the value ``header_value`` if that is set.
``min_bytes``     the payload (headers included) is at least this many bytes;
``max_bytes``     at most this many (0: no bound).
 Matches are counted per proxy and stream (``count`` 1, 2, ...; "the 3rd
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
import re
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
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII but ':' (RFC 7230 token-ish)


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
    reply: str = text_attr("")
    header: str = text_attr("")
    header_value: str = text_attr("")
    min_bytes: int = attr(unit="bytes")
    max_bytes: int = attr(unit="bytes")

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
        if self.reply:
            try:
                check_pattern(self.reply)
            except ValueError as exc:
                raise _invalid("reply", self.reply, f"must be a NATS subject ({exc})") from exc
        if self.header and not _HEADER_NAME.fullmatch(self.header):
            raise _invalid("header", self.header, "must be a header name (no space, no colon)")
        if self.header_value and not self.header:
            raise _invalid("header_value", self.header_value, "needs header")
        if self.max_bytes and self.min_bytes > self.max_bytes:
            raise _invalid(
                "min_bytes", self.min_bytes, f"must not exceed max_bytes {self.max_bytes}"
            )
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

    @property
    def identifies(self) -> bool:
        """Whether a filter beyond verb and subject is set (the frame must be read)."""
        return bool(
            self.reply or self.header or self.header_value or self.min_bytes or self.max_bytes
        )

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
