"""The protocol of one socket of a proxied connection (the client's or the upstream's).

It forwards the transport's callbacks to its
:class:`~nats_fault_harness.proxy._connection.Connection`
and links: reads go to the link that starts at this socket, write-buffer pressure pauses
the link that ends here. Reads that arrive before the links exist are kept in
:attr:`Side.pending` (uvloop starts reading right after ``connection_made``, and a server
such as nats-server speaks first).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from nats_fault_harness.proxy._connection import Connection
    from nats_fault_harness.proxy._identify import ConnectSniffer
    from nats_fault_harness.proxy._link import Link

__all__ = ["Side"]

_LINGER_ZERO = struct.pack("ii", 1, 0)


class Side(asyncio.Protocol):
    """The protocol of one socket of a connection; forwards events to its connection."""

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn = conn
        self.name = name
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.out_link: Link | ConnectSniffer | None = None  # reads from this socket
        self.in_link: Link | None = None  # writes to this socket
        self.writable = False
        self.eof = False
        self.lost = False
        self.closed_by_us = False
        self.pending: list[bytes] = []
        self._reading = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport and set TCP_NODELAY."""
        self.transport = cast(asyncio.Transport, transport)
        self.writable = True
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        """Hand a read to the link that starts at this socket."""
        link = self.out_link
        if link is not None:
            link.feed(data)
            return
        # Not wired yet (uvloop starts reading right after connection_made, so the pause
        # there may come too early): keep the bytes and stop reading until wired.
        self.pending.append(data)
        self._reading = False
        self.transport.pause_reading()

    def eof_received(self) -> bool:
        """The peer sent FIN; keep the socket open for what is still to be written."""
        self.conn.side_eof(self)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        """The socket is closed (by us, by the peer's RST, or after our close)."""
        self.writable = False
        self.lost = True
        self.conn.side_lost(self)

    def pause_writing(self) -> None:
        """Our write buffer to this socket is full: stop reading the other one."""
        if self.in_link is not None:
            self.in_link.dest_full(True)

    def resume_writing(self) -> None:
        """The write buffer drained."""
        if self.in_link is not None:
            self.in_link.dest_full(False)

    def set_reading(self, on: bool) -> None:
        """Pause or resume reading this socket."""
        if on == self._reading or self.transport is None or self.lost:
            return
        self._reading = on
        if self.transport.is_closing():
            return
        if on:
            self.transport.resume_reading()
        else:
            self.transport.pause_reading()

    def close(self, *, abort: bool = False, linger_zero: bool = False) -> None:
        """Close the socket: gracefully (flush first), abort (FIN now) or reset (RST)."""
        if self.transport is None or self.lost:
            return
        self.closed_by_us = True
        self.writable = False
        if linger_zero:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        if abort or linger_zero:
            self.transport.abort()
        else:
            self.transport.close()
