"""Incremental parser of the NATS client protocol: bytes in, whole frames out.

:meth:`FrameParser.feed` takes reads of any size, split at any byte, and returns the frames
they complete; bytes of an unfinished frame stay buffered (:attr:`FrameParser.remainder`).
Every frame keeps its exact bytes in :attr:`Frame.raw`, so concatenating the ``raw`` of all
frames and the remainder gives back the input, byte for byte.

Rules, as nats-server applies them: a control line ends with CRLF; verbs are
case-insensitive; arguments are separated by spaces or tabs; payload verbs are followed by
exactly ``#bytes`` of payload and a CRLF. Anything else raises :class:`ProtocolError`,
early where possible: a line that cannot start with a known verb fails on its first bytes,
not after 64 KiB of garbage. Route, gateway and leafnode verbs (``RS+``, ``RMSG``...) are
not parsed: they are errors here.

Speed: a read is parsed in one pass over one buffer; an unfinished payload is accumulated
without re-parsing until enough bytes have arrived.
"""

from __future__ import annotations

from typing import Any

from nats_fault_harness.natsproto._frames import VERBS, Frame, ProtocolError

__all__ = ["MAX_JSON_LINE", "MAX_LINE", "MAX_PAYLOAD", "FrameParser", "Span"]

Span = tuple[str, str | None, int, int]
"""A frame located in a buffer: ``(verb, subject, start, end)``."""

MAX_LINE = 64 * 1024
"""Longest control line accepted for verbs other than ``INFO``/``CONNECT``/``-ERR``."""
MAX_JSON_LINE = 1024 * 1024
"""Longest ``INFO``/``CONNECT``/``-ERR`` line (they carry JSON, JWTs, long URL lists)."""
MAX_PAYLOAD = 64 * 1024 * 1024
"""Largest payload accepted (nats-server's own ceiling for ``max_payload``)."""

_VERB_OF: dict[bytes, str] = {}
for _verb in VERBS:
    _VERB_OF[_verb.encode()] = _verb
    _VERB_OF[_verb.lower().encode()] = _verb
_PREFIXES = frozenset(v.encode()[:i] for v in VERBS for i in range(1, len(v) + 1))
_LONG_LINES = frozenset({"INFO", "CONNECT", "-ERR"})
_SHAPES: dict[str, tuple[int, bool, bool]] = {
    # verb: (argument count without reply, has a sid, has a header size)
    "PUB": (3, False, False),
    "MSG": (4, True, False),
    "HPUB": (4, False, True),
    "HMSG": (5, True, True),
}
_WS = b" \t"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _size(raw: bytes, offset: int, line: bytes) -> int:
    if not raw.isdigit() or len(raw) > 10:
        raise ProtocolError(f"bad size {raw!r}", offset=offset, line=line)
    size = int(raw)
    if size > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {size} bytes is too large", offset=offset, line=line)
    return size


class FrameParser:
    """Turns a byte stream into frames, across reads split anywhere.

    After a :class:`ProtocolError` the parser is broken (:attr:`error` is set): the bytes
    from the bad frame on are in :attr:`remainder` (take them with :meth:`take_remainder`),
    further reads are only buffered there, and :meth:`feed` returns no more frames.
    """

    __slots__ = ("_buffered", "_chunks", "_need", "error")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._need = 0
        self.error: ProtocolError | None = None

    @property
    def remainder(self) -> bytes:
        """The buffered bytes of the unfinished frame (or, once broken, the unparsed ones)."""
        return b"".join(self._chunks)

    @property
    def buffered(self) -> int:
        """How many bytes are buffered."""
        return self._buffered

    @property
    def broken(self) -> bool:
        """True after a :class:`ProtocolError` (the error is in :attr:`error`)."""
        return self.error is not None

    def take_remainder(self) -> bytes:
        """Return and forget the buffered bytes."""
        data = b"".join(self._chunks)
        self._chunks = []
        self._buffered = 0
        self._need = 0
        return data

    def feed(self, data: bytes) -> list[Frame]:
        """Parse one read; return the frames it completes, in order.

        Raises:
            ProtocolError: the stream is not the NATS protocol. ``exc.frames`` holds the
                frames completed before the bad one; the rest is in :attr:`remainder`.
        """
        frames: list[Frame] = []
        buf = self._take(data)
        if buf is None:
            return frames
        try:
            self._keep(buf, self._parse(buf, frames, False))
        except ProtocolError as exc:
            self._fail(buf, exc)
            exc.frames = frames
            raise
        return frames

    def feed_spans(self, data: bytes) -> tuple[bytes, list[Span]]:
        """Like :meth:`feed`, but cheaper: frames as ``(verb, subject, start, end)`` spans.

        Returns:
            ``(buf, spans)``: ``buf[start:end]`` is a frame's raw bytes; spans are
            contiguous from offset 0 (the first may continue bytes buffered earlier).
            On a protocol error the spans before the bad frame are returned and
            :attr:`error` is set; the unparsed bytes stay in :attr:`remainder`.
        """
        spans: list[Span] = []
        buf = self._take(data)
        if buf is None:
            return b"", spans
        try:
            self._keep(buf, self._parse(buf, spans, True))
        except ProtocolError as exc:
            self._fail(buf, exc)
        return buf, spans

    # ------------------------------------------------------------------ buffering
    def _take(self, data: bytes) -> bytes | None:
        """The buffer to parse: ``data`` after what is buffered; ``None`` if not worth it."""
        if self.error is not None:
            self._chunks.append(data)
            self._buffered += len(data)
            return None
        if not self._chunks:
            return data
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered < self._need:
            return None
        return b"".join(self._chunks)

    def _keep(self, buf: bytes, pos: int) -> None:
        if pos < len(buf):
            rest = buf[pos:] if pos else buf
            self._chunks = [rest]
            self._buffered = len(rest)
        else:
            self._chunks = []
            self._buffered = 0

    def _fail(self, buf: bytes, exc: ProtocolError) -> None:
        self.error = exc
        self._chunks = [buf[exc.offset :]]
        self._buffered = len(buf) - exc.offset

    # ------------------------------------------------------------------ parsing
    def _parse(self, buf: bytes, out: list[Any], spans: bool) -> int:
        """Append complete frames (or spans) of ``buf``; return the first unparsed offset."""
        pos = 0
        size_of = len(buf)
        find = buf.find
        append = out.append
        verb_of, shapes = _VERB_OF, _SHAPES
        while pos < size_of:
            eol = find(b"\r\n", pos)
            if eol < 0:
                self._check_partial(buf, pos)
                self._need = size_of - pos + 1
                return pos
            line = buf[pos:eol]
            parts = line.split()
            if not parts or line[0] in _WS:
                raise ProtocolError("empty or indented control line", offset=pos, line=line)
            token = parts[0]
            verb = verb_of.get(token)
            if verb is None:
                verb = verb_of.get(token.upper())
                if verb is None:
                    raise ProtocolError(f"unknown verb {token[:16]!r}", offset=pos, line=line)
            shape = shapes.get(verb)
            if shape is None:
                frame = self._simple(verb, parts, buf[pos : eol + 2], line, pos)
                append((verb, frame.subject, pos, eol + 2) if spans else frame)
                pos = eol + 2
                continue
            argc = len(parts)
            least, has_sid, has_headers = shape
            if argc != least and argc != least + 1:
                raise ProtocolError(f"{verb}: wrong argument count", offset=pos, line=line)
            size = parts[-1]
            # Short digit strings are the hot path; _size checks (and rejects) the rest.
            total = int(size) if size.isdigit() and len(size) <= 7 else _size(size, pos, line)
            header_len = None
            if has_headers:
                header_len = _size(parts[-2], pos, line)
                if header_len > total:
                    raise ProtocolError(f"{verb}: headers exceed total", offset=pos, line=line)
            start = eol + 2
            end = start + total + 2
            if end > size_of:
                self._need = end - pos
                return pos
            if not buf.startswith(b"\r\n", end - 2):
                raise ProtocolError(f"{verb}: payload not followed by CRLF", offset=pos, line=line)
            subject = parts[1].decode("utf-8", "surrogateescape")
            if spans:
                append((verb, subject, pos, end))
            else:
                sid = _text(parts[2]) if has_sid else None
                reply = _text(parts[3 if has_sid else 2]) if argc > least else None
                append(
                    Frame(
                        verb,
                        buf[pos:end],
                        subject,
                        reply,
                        sid,
                        None,
                        None,
                        header_len,
                        buf[start : end - 2],
                        None,
                    )
                )
            pos = end
        return pos

    @staticmethod
    def _simple(verb: str, parts: list[bytes], raw: bytes, line: bytes, pos: int) -> Frame:
        """A frame without payload."""
        argc = len(parts)
        if verb in _LONG_LINES:
            rest = line[len(parts[0]) :].strip()
            return Frame(verb, raw, text=_text(rest))
        if verb in ("PING", "PONG", "+OK"):
            if argc != 1:
                raise ProtocolError(f"{verb}: unexpected arguments", offset=pos, line=line)
            return Frame(verb, raw)
        if verb == "SUB" and argc in (3, 4):
            queue = _text(parts[2]) if argc == 4 else None
            return Frame(verb, raw, _text(parts[1]), sid=_text(parts[-1]), queue=queue)
        if verb == "UNSUB" and argc in (2, 3):
            max_msgs = _size(parts[2], pos, line) if argc == 3 else None
            return Frame(verb, raw, sid=_text(parts[1]), max_msgs=max_msgs)
        raise ProtocolError(f"{verb}: wrong argument count", offset=pos, line=line)

    @staticmethod
    def _check_partial(buf: bytes, pos: int) -> None:
        """Fail early on an unfinished line that cannot become a valid one."""
        head = buf[pos : pos + 8]
        if head[:1] in _WS:
            raise ProtocolError("indented control line", offset=pos, line=head)
        token = head.split(None, 1)[0] if head.strip() else head
        delimited = len(token) < len(head)
        known = token.upper() in _PREFIXES
        if (delimited and _VERB_OF.get(token.upper()) is None) or (not known and token):
            raise ProtocolError(f"unknown verb {token!r}", offset=pos, line=head)
        verb = _VERB_OF.get(token.upper())
        limit = MAX_JSON_LINE if verb in _LONG_LINES else MAX_LINE
        if len(buf) - pos > limit:
            raise ProtocolError(f"control line longer than {limit} bytes", offset=pos, line=head)
