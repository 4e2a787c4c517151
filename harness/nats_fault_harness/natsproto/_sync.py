"""Finding a frame boundary in a stream joined mid-way.

A reader that starts at an arbitrary byte (a NATS-aware toxic added to a live connection)
cannot know where the next frame begins. A plausible start is a line start (the first byte
of the read, or the byte after a CRLF) followed by a known verb and a delimiter. Payloads
can contain such bytes, so a caller should treat the first frames after a sync as
unconfirmed and sync again if they do not parse.
"""

from __future__ import annotations

from nats_fault_harness.natsproto._frames import VERBS

__all__ = ["frame_start"]

_VERBS = frozenset(v.encode() for v in VERBS)
_PREFIXES = frozenset(v.encode()[:i] for v in VERBS for i in range(1, len(v) + 1))
_DELIMITERS = b" \t\r"


def _verdict(buf: bytes, pos: int) -> bool | None:
    """True: a verb and a delimiter start at ``pos``; None: maybe (the buffer ends first)."""
    head = buf[pos : pos + 8].upper()
    for i, byte in enumerate(head):
        if byte in _DELIMITERS:
            return head[:i] in _VERBS
    if len(head) == len(buf) - pos and (not head or head in _PREFIXES):
        return None
    return False


def frame_start(buf: bytes, start: int = 0, *, line_start: bool = True) -> tuple[int, bool]:
    """The first plausible frame start at or after ``start``.

    Args:
        buf: the bytes to search.
        start: where to begin.
        line_start: whether ``start`` itself begins a line (true for the first byte after a
            CRLF; a reader treats the first byte of a read as one too).

    Returns:
        ``(offset, sure)``. ``sure`` False means the bytes from ``offset`` on are too few to
        decide (a partial verb, or a CR that may begin a CRLF): keep them and search again
        with more bytes and ``line_start=True``. ``(-1, False)``: no candidate at all.
    """
    size = len(buf)
    pos = start if line_start else -1
    search = start if line_start else max(start - 2, 0)
    while True:
        if pos >= 0:
            verdict = _verdict(buf, pos)
            if verdict is not False:
                return pos, bool(verdict)
            search = pos
        crlf = buf.find(b"\r\n", search)
        if crlf < 0:
            return (size - 1, False) if buf.endswith(b"\r") and size > start else (-1, False)
        pos = crlf + 2
