"""Learning a connection's NATS ``CONNECT`` name and kind from its first client bytes.

Every NATS peer that dials (a client, or a server soliciting a route or gateway) sends
``CONNECT {json}`` as its first frame. The sniffer stands between the client socket and the
upstream link for the first read(s) only. It *watches* those bytes (a bounded copy) until the
``CONNECT`` line is complete, then tells the connection the ``name`` and kind, before the
read that completes the line is forwarded; anything that cannot be a ``CONNECT`` line, or no
CRLF within :data:`MAX_HOLD` bytes, ends sniffing with the connection left unidentified.
Then it unplugs itself: later reads go straight to the link, on the fast path.

It *holds* bytes (does not forward them yet) only when a toxic needs the name before the
``CONNECT`` passes, so that a toxic targeted with ``connect_name`` sees the ``CONNECT``
itself even when it arrives in pieces. All of these must be true, from the first byte on:

* the proxy has a toxic with a ``connect_name`` (any stream); without one nothing is held;
* the bytes can still become a ``CONNECT`` line;
* they already start with ``CONNECT`` and a blank (NATS peers write the line in one go, so
  only a long line is split after that), or the upstream has already greeted with ``INFO``
  (a NATS client answers ``INFO`` with ``CONNECT``; a slow writer may send it in pieces).

So plain TCP (an upstream that does not speak NATS, or client bytes that are not
``CONNECT``, such as a lone ``c`` to an echo server) is never delayed, and a holding
connection forwards at the latest after :data:`HOLD_SECONDS`. Once a byte was forwarded,
nothing is held again (a targeted toxic could not see the whole line anyway). The
connection listing shows what is held as ``bytes_up_held``. Work is linear in the bytes
watched (no re-scan of the copy per read).

Kind: ``route`` when the ``CONNECT`` carries ``cluster`` and no ``lang`` (nats-server's
route ``CONNECT``; its ``name`` is the dialling server's id), ``gateway`` for a ``gateway``
key, ``client`` otherwise. Leafnodes negotiate with ``INFO`` first and stay unidentified.
The name is cleaned like API text (a lone surrogate becomes U+FFFD).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from nats_fault_harness.natsproto import FrameParser, ProtocolError
from nats_fault_harness.proxy._json import clean_text

if TYPE_CHECKING:
    from nats_fault_harness.proxy._connection import Connection
    from nats_fault_harness.proxy._link import Link
    from nats_fault_harness.proxy._side import Side

__all__ = ["HOLD_SECONDS", "MAX_HOLD", "ConnectSniffer", "connection_kind"]

MAX_HOLD = 256 * 1024
"""Most bytes watched (or held) waiting for the end of a ``CONNECT`` line (JWTs are long)."""
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


def _may_be_connect(buf: bytes | bytearray) -> bool | None:
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
        self._seen = bytearray()  # the first bytes, up to the CONNECT line's CRLF
        self._held = 0  # how many of them are not forwarded yet
        self._timer: asyncio.TimerHandle | None = None

    @property
    def held(self) -> int:
        """Bytes read from the client and not forwarded yet (waiting for the CRLF)."""
        return self._held

    def feed(self, data: bytes) -> None:
        """Take a read from the client socket."""
        searched = max(0, len(self._seen) - 1)  # a CR may end the previous read
        self._seen += data
        verdict = _may_be_connect(self._seen)
        ended = verdict is not False and self._seen.find(b"\r\n", searched) >= 0
        if verdict is False or ended or len(self._seen) > MAX_HOLD:
            if ended and verdict:
                self._identify(bytes(self._seen))
            self._unplug(data)
        elif self._held or self._may_hold(verdict, first=len(self._seen) == len(data)):
            self._held += len(data)
            self._arm()
        else:
            self.link.feed(data)  # watched, not held

    def feed_eof(self, *, forced: bool) -> None:
        """The client socket ended: forward what is held, then the EOF."""
        self._unplug(b"")
        self.link.feed_eof(forced=forced)

    def _may_hold(self, verdict: bool | None, *, first: bool) -> bool:
        """True if the bytes so far (all of them in this ``first`` read) should wait."""
        if not first or not self.conn.proxy.targets_names():
            return False
        if verdict:  # "CONNECT " already: a NATS peer's line, split because it is long
            return True
        return self.conn.links["downstream"].first_bytes[:5].upper() == b"INFO "

    def _arm(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(HOLD_SECONDS, self._give_up)

    def _give_up(self) -> None:
        self._timer = None
        if self.side.out_link is self:
            self._unplug(b"")

    def _identify(self, buf: bytes) -> None:
        line = buf[: buf.index(b"\r\n") + 2]
        try:
            [frame] = FrameParser().feed(line)
            connect = frame.json()
        except (ProtocolError, ValueError, RecursionError):
            return
        name = connect.get("name")
        name = clean_text(name) if isinstance(name, str) else ""
        self.conn.identified(name, connection_kind(connect))

    def _unplug(self, data: bytes) -> None:
        """Hand the socket to the link (fast path from now on); forward held bytes, ``data``."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held = bytes(self._seen[: self._held])  # holding starts at the first byte
        self._seen = bytearray()
        self._held = 0
        self.side.out_link = self.link
        if held:
            self.link.feed(held)
        if data:
            self.link.feed(data)
