"""Learning a connection's NATS ``CONNECT`` name and kind from its first client bytes.

Every NATS peer that dials (a client, or a server soliciting a route or gateway) sends
``CONNECT {json}`` as its first frame. The sniffer sits between the client socket and the
upstream link for the first read(s) only: it holds bytes that may still become a
``CONNECT`` line, and once the line is complete it tells the connection the ``name`` and
kind *before* forwarding the bytes, so toxics targeted at that name see the ``CONNECT``
itself. Anything else (a byte that cannot start ``CONNECT``, no CRLF within
:data:`MAX_HOLD` bytes or :data:`HOLD_SECONDS`) ends sniffing with the connection left
unidentified. Then it unplugs itself: later reads go straight to the link, on the fast path.

Kind: ``route`` when the ``CONNECT`` carries ``cluster`` and no ``lang`` (nats-server's
route ``CONNECT``; its ``name`` is the dialling server's id), ``gateway`` for a ``gateway``
key, ``client`` otherwise. Leafnodes negotiate with ``INFO`` first and stay unidentified.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from harness.natsproto import FrameParser, ProtocolError

if TYPE_CHECKING:
    from harness.proxy._connection import Connection
    from harness.proxy._link import Link
    from harness.proxy._side import Side

__all__ = ["HOLD_SECONDS", "MAX_HOLD", "ConnectSniffer", "connection_kind"]

MAX_HOLD = 256 * 1024
"""Most bytes held while waiting for the end of a ``CONNECT`` line (JWTs can be long)."""
HOLD_SECONDS = 2.0
"""Longest time bytes are held waiting for the end of a ``CONNECT`` line."""
_CONNECT = b"CONNECT"


def connection_kind(connect: dict[str, Any]) -> str:
    """``client``, ``route`` or ``gateway``, from a decoded ``CONNECT`` object."""
    if "lang" not in connect and "gateway" in connect:
        return "gateway"
    if "lang" not in connect and "cluster" in connect:
        return "route"
    return "client"


def _may_be_connect(buf: bytes) -> bool | None:
    """True: a ``CONNECT`` line starts here; None: too short to tell; False: it does not."""
    head = buf[:8].upper()
    if len(head) <= len(_CONNECT):
        return None if _CONNECT.startswith(head) else False
    return head.startswith(_CONNECT) and head[7:8] in b" \t"


class ConnectSniffer:
    """Stands in for the upstream link as the client socket's reader until identified."""

    def __init__(self, conn: Connection, side: Side, link: Link) -> None:
        self.conn = conn
        self.side = side
        self.link = link
        self._held = b""
        self._timer: asyncio.TimerHandle | None = None

    def feed(self, data: bytes) -> None:
        """Take a read from the client socket."""
        buf = self._held + data if self._held else data
        verdict = _may_be_connect(buf)
        if verdict is None or (verdict and b"\r\n" not in buf and len(buf) <= MAX_HOLD):
            self._hold(buf)
            return
        if verdict and b"\r\n" in buf:
            self._identify(buf)
        self._unplug(buf)

    def feed_eof(self, *, forced: bool) -> None:
        """The client socket ended: forward what is held, then the EOF."""
        self._unplug(self._held)
        self.link.feed_eof(forced=forced)

    def _hold(self, buf: bytes) -> None:
        self._held = buf
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(HOLD_SECONDS, self._give_up)

    def _give_up(self) -> None:
        self._timer = None
        if self.side.out_link is self:
            self._unplug(self._held)

    def _identify(self, buf: bytes) -> None:
        line = buf[: buf.index(b"\r\n") + 2]
        try:
            [frame] = FrameParser().feed(line)
            connect = frame.json()
        except (ProtocolError, ValueError):
            return
        name = connect.get("name")
        self.conn.identified(name if isinstance(name, str) else "", connection_kind(connect))

    def _unplug(self, buf: bytes) -> None:
        """Hand the socket to the link (fast path from now on) and forward ``buf``."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._held = b""
        self.side.out_link = self.link
        if buf:
            self.link.feed(buf)
