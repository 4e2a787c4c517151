"""The running ``nats`` toxic on one link: frames in, actions applied, bytes out.

Split from :mod:`nats_fault_harness.toxics._nats` (the toxic's attributes and rules) because this is
the part that moves bytes: it keeps every byte accounted for across cancellation (held
frames, the rest of a read, the unfinished frame are forwarded), as every toxic must.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import TYPE_CHECKING

from nats_fault_harness.natsproto import SubjectPattern, verbs_of
from nats_fault_harness.toxics._base import Chunk, ToxicIO
from nats_fault_harness.toxics._nats_stream import FrameStream, Segment

if TYPE_CHECKING:
    from nats_fault_harness.toxics._nats import Nats

__all__ = ["Counter", "FrameRun"]

_VERDICTS = 4096
"""Subjects whose match result is remembered (workloads reuse a few subjects a lot)."""


class Counter:
    """Matching frames seen on all links of the toxic's proxy and stream."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


class _Unsent:
    """The part of a segment not forwarded yet: ``buf[start:end]``."""

    __slots__ = ("buf", "end", "start")

    def __init__(self, buf: bytes, start: int, end: int) -> None:
        self.buf, self.start, self.end = buf, start, end


class FrameRun:
    """One run of the toxic's ``pipe`` on a link (restarted on update)."""

    def __init__(self, toxic: Nats, io: ToxicIO) -> None:
        self.toxic = toxic
        self.io = io
        self.stream: FrameStream = io.state
        self.count: Counter = io.shared
        self.held: deque[tuple[float, bytes]] = deque()  # (release time, frame)
        self.todo: list[_Unsent] = []
        self.ts = 0.0
        self.delay = toxic.delay / 1000.0
        self.verbs = verbs_of(toxic.verb)  # None: every verb
        self.pattern = None if toxic.subject == ">" else SubjectPattern(toxic.subject)
        self.identity = Identity(toxic) if toxic.identifies else None
        self.verdicts: dict[str, bool] = {}  # subject -> matches, bounded by _VERDICTS
        if io.joined_mid_stream:
            self.stream.rejoin()

    async def run(self) -> None:
        io = self.io
        try:
            while True:
                chunk = await self._next()
                if chunk is None:
                    self._release(io.now())
                    continue
                self.ts = chunk.ts
                if chunk.eof:
                    self._flush()
                    io.emit(chunk)
                    return
                if not await self._handle(self.stream.feed(chunk.data)):
                    return
        except asyncio.CancelledError:
            self._flush()  # no byte on the floor
            raise

    async def _next(self) -> Chunk | None:
        """The next chunk, or ``None`` when the oldest held frame is due."""
        if not self.held or self.held[0][0] == math.inf:
            return await self.io.get()
        if self.held[0][0] <= self.io.now():  # due while reads kept coming
            return None
        try:
            async with asyncio.timeout_at(self.held[0][0]):
                return await self.io.get()
        except TimeoutError:
            return None

    def _release(self, now: float) -> None:
        while self.held and self.held[0][0] <= now:
            due, raw = self.held.popleft()
            self.io.emit(Chunk(raw, due))

    def _flush(self) -> None:
        """Forward everything still here: held frames, unhandled bytes, unfinished frame."""
        while self.held:
            self.io.emit(Chunk(self.held.popleft()[1], self.ts))
        for unsent in self.todo:
            if unsent.end > unsent.start:
                self.io.emit(Chunk(unsent.buf[unsent.start : unsent.end], self.ts))
        self.todo = []
        pending = self.stream.pending()
        if pending:
            self.io.emit(Chunk(pending, self.ts))

    async def _handle(self, segments: list[Segment]) -> bool:
        """Act on a read's frames; False if the connection was closed."""
        io, toxic, count, ts = self.io, self.toxic, self.count, self.ts
        notes, self.stream.notes = self.stream.notes, []
        for effect, fields in notes:  # a resync happened before this read's frames
            if effect == "resync":
                io.report(effect, **fields)
        want_verbs, pattern, verdicts = self.verbs, self.pattern, self.verdicts
        selects, probability = toxic.selects, toxic.probability
        self.todo = todo = [_Unsent(buf, spans[0][2], spans[-1][3]) for buf, spans in segments]
        for entry, (buf, spans) in zip(todo, segments, strict=True):
            out = spans[0][2]  # first byte of this segment not yet forwarded
            for verb, subject, start, end in spans:
                if not verb or (want_verbs is not None and verb not in want_verbs):
                    continue
                if pattern is not None:
                    if subject is None:
                        continue
                    verdict = verdicts.get(subject)
                    if verdict is None:
                        if len(verdicts) >= _VERDICTS:
                            verdicts.clear()
                        verdict = verdicts[subject] = pattern.matches(subject)
                    if not verdict:
                        continue
                if self.identity is not None and not self.identity.matches(buf, start, end, verb):
                    continue
                count.n += 1
                if not selects(count.n) or (probability < 1.0 and io.rng.random() >= probability):
                    continue
                if start > out:
                    io.emit(Chunk(buf[out:start], ts))
                out = entry.start = end
                if not await self._act(buf[start:end], verb, subject, count.n):
                    return False
            if spans[-1][3] > out:
                io.emit(Chunk(buf[out : spans[-1][3]], ts))
            entry.start = entry.end
        self.todo = []
        for effect, fields in notes:  # a protocol error happened after them
            if effect != "resync":
                io.report(effect, **fields)
        return True

    async def _act(self, raw: bytes, verb: str, subject: str | None, n: int) -> bool:
        """Apply the action to one selected frame; False if the connection was closed."""
        toxic, io = self.toxic, self.io
        fields = {"verb": verb, "subject": subject, "count": n, "action": toxic.action}
        if toxic.action == "close":  # this frame and everything after it are dropped
            io.fired("close", **fields)
            io.close()
            return False
        io.report(toxic.action, **fields)
        if toxic.action == "duplicate":
            io.emit(Chunk(raw + raw, self.ts))
        elif toxic.action == "hold":
            self.held.append((self.ts + self.delay if self.delay else math.inf, raw))
        elif toxic.action == "delay":
            due = self.ts + self.delay
            try:
                await io.sleep_until(due)
            except asyncio.CancelledError:
                io.emit(Chunk(raw, self.ts))
                raise
            io.emit(Chunk(raw, due))
        return True


class Identity:
    """The filters that read a frame beyond verb and subject: reply, header, size.

    Only frames that passed the verb and subject filters are read; a frame is the bytes
    ``buf[start:end]`` of one ``PUB``/``HPUB``/``MSG``/``HMSG`` (other verbs never match).
    """

    def __init__(self, toxic: Nats) -> None:
        self.reply = SubjectPattern(toxic.reply) if toxic.reply else None
        self.header = toxic.header.lower().encode() if toxic.header else b""
        self.value = toxic.header_value.encode()
        self.min_bytes, self.max_bytes = toxic.min_bytes, toxic.max_bytes

    def matches(self, buf: bytes, start: int, end: int, verb: str) -> bool:
        """Whether the frame carries the identity the toxic asks for."""
        shape = _SHAPES.get(verb)
        if shape is None:
            return False
        eol = buf.find(b"\r\n", start, end)
        parts = buf[start:eol].split()
        fixed, headers = shape  # tokens without a reply; whether a header size comes first
        reply = parts[fixed - 1 - headers].decode(errors="replace") if len(parts) > fixed else None
        if self.reply is not None and (reply is None or not self.reply.matches(reply)):
            return False
        size = end - (eol + 2) - 2  # the payload, headers included, without its CRLF
        if size < self.min_bytes or (self.max_bytes and size > self.max_bytes):
            return False
        if self.header:
            if not headers:
                return False
            header_len = int(parts[-2])
            return self._has_header(buf[eol + 2 : eol + 2 + header_len])
        return True

    def _has_header(self, block: bytes) -> bool:
        for line in block.split(b"\r\n")[1:]:  # the first line is NATS/1.0 [status]
            name, sep, value = line.partition(b":")
            if (
                sep
                and name.strip().lower() == self.header
                and (not self.value or value.strip() == self.value)
            ):
                return True
        return False


_SHAPES = {"PUB": (3, 0), "HPUB": (4, 1), "MSG": (4, 0), "HMSG": (5, 1)}
"""Per verb: its token count without a reply (verb included), and 1 if it carries a header
size (before the total size)."""
