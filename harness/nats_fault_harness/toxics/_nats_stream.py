"""A link's view of the NATS protocol for a NATS-aware toxic: frames, resync, or raw bytes.

Per link (``new_state``), so it survives restarts of the toxic (an update). Each read
becomes *segments* ``(buf, spans)``: every span ``(verb, subject, start, end)`` is a piece
of ``buf`` to handle in order; ``verb == ""`` marks bytes to forward untouched (not a
frame). Bytes of an unfinished frame stay in the parser and come back in a later segment.

Three modes:

* **parse**: a toxic present from the first byte parses exactly. A protocol error here is
  final: the link switches to **raw** (everything forwarded untouched) and a
  ``protocol_error`` note is left for the toxic to report.
* **sync**: a toxic that joined a live stream forwards bytes until a plausible frame start
  (:func:`~nats_fault_harness.natsproto.frame_start`), then parses. Until :data:`TRUST` frames have
  parsed, an error means "that was payload, not a frame": sync again, at most
  :data:`MAX_SYNCS` times before giving up (raw).
* **raw**: pass everything through.

``committed``: when the toxic is cancelled it forwards the unfinished frame's bytes so far
(no byte on the floor) but keeps parsing state; the frame, once complete, is forwarded
untouched (a frame cannot be dropped after its first bytes went out).
"""

from __future__ import annotations

from typing import Any

from nats_fault_harness.natsproto import FrameParser, Span
from nats_fault_harness.natsproto._sync import frame_start

__all__ = ["MAX_SYNCS", "TRUST", "FrameStream", "Segment"]

Segment = tuple[bytes, list[Span]]
TRUST = 3
"""Frames that must parse after a sync before an error counts as a real protocol error."""
MAX_SYNCS = 8
"""Syncs allowed on one link before it is passed through untouched."""


def _forward(start: int, end: int) -> Span:
    return ("", None, start, end)


class FrameStream:
    """Per-link frame state of a NATS-aware toxic (see the module docstring)."""

    def __init__(self) -> None:
        self.mode = "parse"
        self.parser = FrameParser()
        self.committed = 0
        self.trusted = True
        self.good = 0
        self.syncs = 0
        self.notes: list[tuple[str, dict[str, Any]]] = []
        self._held = b""  # sync mode: bytes that may begin a frame

    def rejoin(self) -> None:
        """The toxic joined the stream at an arbitrary byte: forget everything, sync."""
        if self.mode == "raw":
            return
        self.mode = "sync"
        self.parser = FrameParser()
        self.committed = 0
        self._held = b""

    def pending(self) -> bytes:
        """Bytes held back and not yet forwarded; they count as forwarded from now on."""
        if self.mode == "sync":
            held, self._held = self._held, b""
            return held
        remainder = self.parser.remainder
        out = remainder[self.committed :]
        self.committed = len(remainder)
        return out

    def feed(self, data: bytes) -> list[Segment]:
        """Turn one read into segments."""
        if self.mode == "raw":
            return [(data, [_forward(0, len(data))])]
        if self.mode == "sync":
            return self._sync(data, line_start=True)
        return self._parse(data)

    def _parse(self, data: bytes) -> list[Segment]:
        parser = self.parser
        buf, spans = parser.feed_spans(data)
        skip = 0
        if self.committed and (spans or parser.error is not None):
            if spans:
                spans[0] = _forward(self.committed, spans[0][3])
            else:  # the unfinished frame itself turned out bad
                skip = self.committed
            self.committed = 0
        if not self.trusted:
            self.good += len(spans)
            self.trusted = self.good >= TRUST
        segments: list[Segment] = [(buf, spans)] if spans else []
        if parser.error is None:
            return segments
        reason = str(parser.error)
        rest = parser.take_remainder()
        return self._error(segments, rest, skip=skip, reason=reason)

    def _error(
        self, segments: list[Segment], rest: bytes, *, skip: int, reason: str
    ) -> list[Segment]:
        """``rest`` (its first ``skip`` bytes already forwarded) does not parse."""
        self.parser = FrameParser()
        if self.trusted or self.syncs >= MAX_SYNCS:
            self.mode = "raw"
            line = rest[:80].decode("utf-8", "replace")
            self.notes.append(("protocol_error", {"error": reason, "line": line}))
            return [*segments, (rest, [_forward(skip, len(rest))])]
        self.mode = "sync"
        # The bad "frame" began at a line start: look for the next one after it.
        return [*segments, *self._sync(rest, line_start=False, skip=skip)]

    def _sync(self, data: bytes, *, line_start: bool, skip: int = 0) -> list[Segment]:
        buf = self._held + data if self._held else data
        self._held = b""
        offset, sure = frame_start(buf, skip if not line_start else 0, line_start=line_start)
        if offset < 0:
            return [(buf, [_forward(skip, len(buf))])] if len(buf) > skip else []
        head = [(buf, [_forward(skip, offset)])] if offset > skip else []
        if not sure:
            self._held = buf[offset:]
            return head
        self.syncs += 1
        self.mode = "parse"
        self.trusted = False
        self.good = 0
        if offset:
            self.notes.append(("resync", {"skipped_bytes": offset}))
        return head + self._parse(buf[offset:])
