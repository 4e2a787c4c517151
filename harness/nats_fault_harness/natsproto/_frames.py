"""The frame model: one NATS protocol operation, with the exact bytes it arrived as.

A :class:`Frame` is a control line (``PUB orders.1 5``), plus for ``PUB``/``HPUB``/``MSG``/
``HMSG`` the payload and its trailing CRLF. :attr:`Frame.raw` is the frame's bytes exactly
as read (verb case, spacing and all), so a proxy that forwards ``frame.raw`` never changes
the stream; the other fields are the parsed view of it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

__all__ = ["PAYLOAD_VERBS", "VERBS", "VERB_FAMILIES", "Frame", "ProtocolError", "verbs_of"]

VERBS = (
    "INFO",
    "CONNECT",
    "PUB",
    "HPUB",
    "SUB",
    "UNSUB",
    "MSG",
    "HMSG",
    "PING",
    "PONG",
    "+OK",
    "-ERR",
)
"""The client protocol verbs, as the parser names them (upper case)."""

PAYLOAD_VERBS = frozenset({"PUB", "HPUB", "MSG", "HMSG"})
"""Verbs whose control line is followed by a payload and CRLF."""

VERB_FAMILIES: dict[str, frozenset[str]] = {
    "PUB*": frozenset({"PUB", "HPUB"}),
    "MSG*": frozenset({"MSG", "HMSG"}),
}
"""Verb families: one name for a verb with and without headers.

A client sends a message with headers as ``HPUB`` (nats-py does whenever ``headers=`` is
given, ``Nats-Msg-Id`` included) and the server delivers it as ``HMSG``; a fault meant
for "every publish" or "every delivery" (a JetStream PubAck is a ``MSG``, a pull
delivery an ``HMSG``) names the family, ``PUB*`` or ``MSG*``, and catches both. The
``*`` is part of the name, not a glob: ``PUB*`` is exactly ``PUB`` and ``HPUB``.
"""


def verbs_of(spec: str) -> frozenset[str] | None:
    """The verbs a verb spec matches: ``None`` for ``*`` (every frame), the two verbs of a
    family (``PUB*``, ``MSG*``), else the verb itself (upper-cased).

    Raises:
        ValueError: ``spec`` is neither ``*``, a family nor a verb of :data:`VERBS`.
    """
    name = spec.upper()
    if name == "*":
        return None
    if name in VERB_FAMILIES:
        return VERB_FAMILIES[name]
    if name in VERBS:
        return frozenset({name})
    raise ValueError(f"unknown verb {spec!r}")


class ProtocolError(ValueError):
    """The bytes are not the NATS client protocol.

    Attributes:
        offset: where in the parser's buffer the bad frame starts.
        line: the start of the offending control line (at most 80 bytes).
        frames: the frames completed before the bad one, in the same ``feed`` call.
    """

    def __init__(self, message: str, *, offset: int = 0, line: bytes = b"") -> None:
        super().__init__(message)
        self.offset = offset
        self.line = line[:80]
        self.frames: list[Frame] = []


@dataclasses.dataclass(frozen=True, slots=True)
class Frame:
    """One protocol operation.

    Attributes:
        verb: upper case (``PUB``, ``+OK``...), whatever the case on the wire.
        raw: the frame's bytes exactly as read, CRLFs included.
        subject: ``PUB``/``HPUB``/``MSG``/``HMSG``/``SUB``; ``None`` for other verbs.
        reply: the reply subject if present.
        sid: the subscription id of ``SUB``/``UNSUB``/``MSG``/``HMSG``.
        queue: the queue group of a ``SUB``.
        max_msgs: the optional count of an ``UNSUB``.
        header_len: the header size of ``HPUB``/``HMSG``.
        payload: the payload (headers included for ``HPUB``/``HMSG``), for payload verbs.
        text: the argument of ``INFO``/``CONNECT`` (JSON) and ``-ERR`` (message).
    """

    verb: str
    raw: bytes
    subject: str | None = None
    reply: str | None = None
    sid: str | None = None
    queue: str | None = None
    max_msgs: int | None = None
    header_len: int | None = None
    payload: bytes | None = None
    text: str | None = None

    def json(self) -> dict[str, Any]:
        """The decoded JSON object of an ``INFO``/``CONNECT`` frame.

        Raises:
            ProtocolError: not an ``INFO``/``CONNECT`` frame, or its argument is not a
                JSON object.
        """
        if self.text is None or self.verb not in ("INFO", "CONNECT"):
            raise ProtocolError(f"{self.verb} carries no JSON")
        try:
            value = json.loads(self.text)
        except ValueError as exc:
            raise ProtocolError(f"{self.verb}: bad JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ProtocolError(f"{self.verb}: JSON is not an object")
        return value

    @property
    def headers(self) -> bytes | None:
        """The header block of ``HPUB``/``HMSG`` (``NATS/1.0\\r\\n...``), else ``None``."""
        if self.header_len is None or self.payload is None:
            return None
        return self.payload[: self.header_len]

    @property
    def body(self) -> bytes | None:
        """The payload without headers (``None`` for frames without payload)."""
        if self.payload is None:
            return None
        return self.payload[self.header_len or 0 :]
