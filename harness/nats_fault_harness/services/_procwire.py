"""The process protocol's wire format: messages, the hello, errors, and the child's clock.

A service under test may run as a child process in any language; it talks to the runner in
JSON lines over its standard input and output (``docs/process-protocol.md`` is the full
description). This module holds what both directions agree on and nothing that runs a
process: :func:`parse_line` validates one line from the child, :class:`Hello` is the
child's first message, :func:`client_error` turns a typed error reply into an exception
the checkers can read, and :class:`ChildClock` maps the child's timestamps onto history
time.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nats_fault_harness.errors import NatsFaultError

__all__ = [
    "CHILD_TYPES",
    "PROTOCOL_CAPABILITIES",
    "PROTOCOL_VERSION",
    "ChildClock",
    "ClientError",
    "Hello",
    "ProcessCommandError",
    "ProcessError",
    "ProcessExited",
    "ProcessProtocolError",
    "ProcessTimeout",
    "b64",
    "client_error",
    "parse_line",
    "unb64",
]

PROTOCOL_VERSION = 1
"""The version of the protocol this runner speaks (a child's hello must name it)."""

PROTOCOL_CAPABILITIES = frozenset(
    {"publish", "jetstream_publish", "batch", "request", "subscribe", "respond", "republish",
     "consume"}
)  # fmt: skip
"""The capabilities a child can declare in protocol version 1 (the optional views
``messages``, ``stats``, ``health`` and ``logs`` are not carried yet)."""

CHILD_TYPES = frozenset({"hello", "ok", "error", "event"})
"""Every message type a child may send; anything else is a protocol violation."""

_LINE_SHOWN = 200


class ProcessError(NatsFaultError):
    """A process-protocol service did not behave as the protocol says (the harness's side).

    Attributes:
        service: the service's name.
        exit_code: the child's exit code, if it has exited.
        stderr_tail: the last lines the child wrote to its standard error.
        ambiguous: ``False`` when the command was never sent to the child (it was gone
            already), so nothing of it reached a server; ``None`` when unknown.
    """

    ambiguous: bool | None = None

    def __init__(
        self, message: str, *, service: str, exit_code: int | None = None, stderr_tail: str = ""
    ) -> None:
        tail = f"; its stderr ends: {stderr_tail.strip()[-600:]}" if stderr_tail.strip() else ""
        super().__init__(f"{service}: {message}{tail}")
        self.service = service
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class ProcessExited(ProcessError):
    """The child exited (before its hello, during a command, or mid-run)."""


class ProcessTimeout(ProcessError):
    """The child did not answer within the bound; it is killed (a hung child).

    Attributes:
        command: the unanswered command's type (``"hello"`` for the first message).
        timeout: the bound, in seconds.
    """

    def __init__(self, message: str, *, command: str, timeout: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.command = command
        self.timeout = timeout


class ProcessProtocolError(ProcessError):
    """The child wrote something that is not the protocol (garbage, an unknown message
    type, a bad hello, a reply to no command); it is killed.

    Attributes:
        line: the offending line (shortened).
    """

    def __init__(self, message: str, *, line: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.line = line


class ProcessCommandError(ProcessError):
    """The child refused a command: ``unsupported``, ``bad_request`` or ``internal``.

    Attributes:
        kind: the error reply's ``kind``.
        command: the refused command's type.
    """

    def __init__(self, message: str, *, kind: str, command: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.kind = kind
        self.command = command


class ClientError(Exception):
    """Base of the errors a child's NATS client raised (a ``kind: client`` error reply).

    Each distinct error ``type`` a child reports becomes a subclass of this, named as the
    client names it (``TimeoutError``, ``NoRespondersError``) in a module named after the
    client (``nats.js``), so the ``exceptions`` checker reads the client's own types. The
    reply's ``fields`` become attributes; its ``cause`` is chained as ``__cause__``.
    """

    ambiguous: bool | None = None


_CLASSES: dict[tuple[str, str], type[ClientError]] = {}


def _error_class(module: str, name: str) -> type[ClientError]:
    key = (module, name)
    if key not in _CLASSES:
        cls = type(name, (ClientError,), {"__module__": module, "__qualname__": name})
        _CLASSES[key] = cls
    return _CLASSES[key]


def client_error(error: Mapping[str, Any], default_module: str) -> ClientError:
    """The exception for a child's ``kind: client`` error object (see the module doc)."""
    name = _identifier(error.get("type"), "ClientError")
    module = str(error.get("module") or default_module)
    exc = _error_class(module, name)(str(error.get("message", "")))
    fields = error.get("fields")
    if isinstance(fields, Mapping):
        for key, value in fields.items():
            if isinstance(key, str) and key.isidentifier() and not key.startswith("_"):
                setattr(exc, key, value)
    ambiguous = error.get("ambiguous")
    if isinstance(ambiguous, bool):
        exc.ambiguous = ambiguous
    cause = error.get("cause")
    if isinstance(cause, Mapping):
        exc.__cause__ = client_error(cause, default_module)
    return exc


def _identifier(value: object, default: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(value or ""))
    return text if text and not text[0].isdigit() else default


@dataclass(frozen=True)
class Hello:
    """The child's first message: who it is and what it can do.

    Attributes:
        name: the service's name in the history.
        client: the NATS client and its version (``"nats.js 3.4.0"``), for reports.
        capabilities: what it can do, from :data:`PROTOCOL_CAPABILITIES`.
    """

    name: str
    client: str
    capabilities: frozenset[str]

    @classmethod
    def parse(cls, msg: Mapping[str, Any]) -> Hello:
        """Validate a ``hello`` message; raises :class:`ValueError` naming the problem."""
        version = msg.get("protocol")
        if version != PROTOCOL_VERSION:
            raise ValueError(
                f"hello names protocol version {version!r}; this runner speaks {PROTOCOL_VERSION}"
            )
        name = msg.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("hello has no 'name' (a non-empty string)")
        caps = msg.get("capabilities")
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise ValueError("hello's 'capabilities' is not a list of strings")
        unknown = sorted(set(caps) - PROTOCOL_CAPABILITIES)
        if unknown:
            raise ValueError(
                f"hello declares {', '.join(unknown)}, not carried by protocol version "
                f"{PROTOCOL_VERSION} (known: {', '.join(sorted(PROTOCOL_CAPABILITIES))})"
            )
        return cls(name, str(msg.get("client") or name), frozenset(caps))


def shorten(line: bytes | str) -> str:
    """A line for an error message: decoded, without its newline, at most 200 characters."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    return text if len(text) <= _LINE_SHOWN else text[: _LINE_SHOWN - 1] + "…"


def parse_line(line: bytes) -> dict[str, Any]:
    """One message from the child; raises :class:`ValueError` saying why it is not one."""
    try:
        msg = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a JSON line ({exc})") from None
    if not isinstance(msg, dict):
        raise ValueError(f"a JSON {type(msg).__name__}, not an object")
    kind = msg.get("type")
    if kind not in CHILD_TYPES:
        raise ValueError(
            f"unknown message type {kind!r} (a child sends {', '.join(sorted(CHILD_TYPES))})"
        )
    if kind in ("ok", "error") and not isinstance(msg.get("id"), int):
        raise ValueError(f"an {kind!r} reply without an integer 'id'")
    if kind == "error" and not isinstance(msg.get("error"), dict):
        raise ValueError("an 'error' reply without an 'error' object")
    if kind == "event" and not isinstance(msg.get("kind"), str):
        raise ValueError("an 'event' without a 'kind' string")
    t = msg.get("t")
    if t is not None and (isinstance(t, bool) or not isinstance(t, int | float)):
        raise ValueError(f"'t' is {t!r}, not a number of seconds")
    return msg


class ChildClock:
    """Maps the child's clock (``t``: seconds, any origin, monotonic) onto the runner's.

    Each message carrying ``t`` is a sample: the offset is the smallest ``received - t``
    seen (the sample that spent least time in the pipe), so a child time maps to at most
    the moment the runner read it, and never later.
    """

    def __init__(self) -> None:
        self.offset: float | None = None

    def sample(self, t: object, received: float) -> None:
        """Learn from a message with child time ``t`` read at monotonic ``received``."""
        if isinstance(t, int | float) and not isinstance(t, bool):
            gap = received - float(t)
            self.offset = gap if self.offset is None else min(self.offset, gap)

    def monotonic(self, t: object, received: float) -> float:
        """The runner's ``time.monotonic()`` at child time ``t`` (``received`` if unknown)."""
        if self.offset is None or isinstance(t, bool) or not isinstance(t, int | float):
            return received
        return min(float(t) + self.offset, received)


def b64(data: bytes) -> str:
    """Payload bytes as the protocol carries them (standard base64)."""
    return base64.b64encode(data).decode("ascii")


def unb64(value: object) -> bytes:
    """Inverse of :func:`b64`; raises :class:`ValueError` for anything else."""
    if not isinstance(value, str):
        raise ValueError(f"payload {value!r} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"payload is not base64: {exc}") from None
