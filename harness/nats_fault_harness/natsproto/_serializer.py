"""Frames to bytes: the canonical wire form of each verb (upper case, single spaces).

The parser's inverse for frames built from fields: ``parse(serialize(f))`` gives back ``f``
with ``raw`` equal to the serialized bytes. Used by the property tests and to build frames
in tests (:func:`make_frame`).
"""

from __future__ import annotations

from nats_fault_harness.natsproto._frames import PAYLOAD_VERBS, VERBS, Frame

__all__ = ["make_frame", "serialize"]


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _control_args(frame: Frame) -> list[str]:
    verb = frame.verb
    if verb in ("INFO", "CONNECT", "-ERR"):
        return [frame.text or ""] if frame.text else []
    if verb in ("PING", "PONG", "+OK"):
        return []
    if verb == "SUB":
        return [frame.subject or "", *([frame.queue] if frame.queue else []), frame.sid or ""]
    if verb == "UNSUB":
        return [frame.sid or "", *([str(frame.max_msgs)] if frame.max_msgs is not None else [])]
    payload = frame.payload or b""
    sizes = [str(len(payload))]
    if verb in ("HPUB", "HMSG"):
        sizes.insert(0, str(frame.header_len or 0))
    head = [frame.subject or ""]
    if verb in ("MSG", "HMSG"):
        head.append(frame.sid or "")
    if frame.reply:
        head.append(frame.reply)
    return head + sizes


def serialize(frame: Frame) -> bytes:
    """The canonical bytes of ``frame``, built from its fields (``frame.raw`` is ignored).

    Raises:
        ValueError: an unknown verb.
    """
    if frame.verb not in VERBS:
        raise ValueError(f"unknown verb {frame.verb!r}")
    line = " ".join([frame.verb, *_control_args(frame)])
    if frame.verb not in PAYLOAD_VERBS:
        return _b(line) + b"\r\n"
    return _b(line) + b"\r\n" + (frame.payload or b"") + b"\r\n"


def make_frame(
    verb: str,
    *,
    subject: str | None = None,
    reply: str | None = None,
    sid: str | None = None,
    queue: str | None = None,
    max_msgs: int | None = None,
    header_len: int | None = None,
    payload: bytes | None = None,
    text: str | None = None,
) -> Frame:
    """A frame from fields, with ``raw`` set to its canonical bytes.

    Payload verbs get ``payload=b""`` when none is given, ``HPUB``/``HMSG`` ``header_len=0``.
    """
    verb = verb.upper()
    if verb in PAYLOAD_VERBS and payload is None:
        payload = b""
    if verb in ("HPUB", "HMSG") and header_len is None:
        header_len = 0
    if verb in ("INFO", "CONNECT", "-ERR") and text is None:
        text = ""
    draft = Frame(verb, b"", subject, reply, sid, queue, max_msgs, header_len, payload, text)
    return Frame(
        verb, serialize(draft), subject, reply, sid, queue, max_msgs, header_len, payload, text
    )
