"""Test peers for the proxy's own tests and benchmarks (like Toxiproxy's ``testhelper/``).

:class:`Upstream` is a real TCP server on ``127.0.0.1`` with a kernel-chosen port. In
``echo`` mode it writes back what it reads; in ``sink`` mode it only records; a
``greeting`` is sent on accept, as nats-server sends ``INFO``. Every accepted connection is
a :class:`Peer` that records the bytes it received with their arrival times and can send,
so a test can check what crossed the proxy in each direction and when.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Literal, cast

from nats_fault_harness.errors import WaitTimeout

__all__ = ["Peer", "Upstream", "read_until_closed"]


class Peer(asyncio.Protocol):
    """One accepted connection of an :class:`Upstream`.

    Attributes:
        received: every byte read so far.
        arrivals: ``(time.monotonic(), size)`` per read.
        closed: set when the connection is gone (EOF or reset).
        error: the exception that ended it, if any (``ConnectionResetError``...).
    """

    def __init__(
        self, echo: bool, on_made: Callable[[], None] | None = None, greeting: bytes = b""
    ) -> None:
        self.echo = echo
        self._on_made = on_made
        self._greeting = greeting
        self.received = bytearray()
        self.arrivals: list[tuple[float, int]] = []
        self.eof = asyncio.Event()
        self.closed = asyncio.Event()
        self._more = asyncio.Event()
        self.error: BaseException | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = cast(asyncio.Transport, transport)
        if self._greeting:
            self.transport.write(self._greeting)
        if self._on_made is not None:
            self._on_made()

    def data_received(self, data: bytes) -> None:
        """Record (and echo) a read."""
        self.arrivals.append((time.monotonic(), len(data)))
        self.received += data
        self._more.set()
        if self.echo and self.transport is not None:
            self.transport.write(data)

    def eof_received(self) -> bool:
        """The proxy closed its side: close ours too."""
        self.eof.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Record how the connection ended."""
        self.error = exc
        self.closed.set()

    def send(self, data: bytes) -> None:
        """Write to the proxy (towards the client)."""
        assert self.transport is not None
        self.transport.write(data)

    def close(self) -> None:
        """Close (FIN after flushing)."""
        if self.transport is not None:
            self.transport.close()

    async def wait_bytes(self, count: int, timeout: float = 5.0) -> bytes:
        """Wait until at least ``count`` bytes arrived; return them all.

        Raises:
            WaitTimeout: fewer bytes arrived within ``timeout`` seconds.
        """
        try:
            async with asyncio.timeout(timeout):
                while len(self.received) < count:
                    self._more.clear()
                    await self._more.wait()
        except TimeoutError as exc:
            raise WaitTimeout(
                f"{count} bytes at the upstream", timeout, len(self.received)
            ) from exc
        return bytes(self.received)


class Upstream:
    """A TCP server standing in for nats-server behind the proxy.

    Use ``async with Upstream("echo") as up:``; :attr:`addr` is ``127.0.0.1:PORT``.
    """

    def __init__(self, mode: Literal["echo", "sink"] = "echo", *, greeting: bytes = b"") -> None:
        self.mode = mode
        self.greeting = greeting
        self.peers: list[Peer] = []
        self._server: asyncio.AbstractServer | None = None
        self._accepted = asyncio.Event()
        self.port = 0

    @property
    def addr(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def _protocol(self) -> Peer:
        peer = Peer(echo=self.mode == "echo", on_made=self._accepted.set, greeting=self.greeting)
        self.peers.append(peer)
        return peer

    async def start(self) -> Upstream:
        """Listen on a free port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def peer(self, index: int = 0, timeout: float = 5.0) -> Peer:
        """The ``index``-th accepted connection, waiting for it to be accepted.

        Raises:
            WaitTimeout: fewer connections were accepted within ``timeout`` seconds.
        """
        try:
            async with asyncio.timeout(timeout):
                while len(self.peers) <= index or self.peers[index].transport is None:
                    self._accepted.clear()
                    await self._accepted.wait()
        except TimeoutError as exc:
            raise WaitTimeout(f"upstream connection #{index}", timeout, len(self.peers)) from exc
        return self.peers[index]

    async def aclose(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for peer in self.peers:
            if peer.transport is not None:
                peer.transport.abort()

    async def __aenter__(self) -> Upstream:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def read_until_closed(
    reader: asyncio.StreamReader, timeout: float = 5.0
) -> tuple[bytes, BaseException | None]:
    """Read until EOF or a socket error; return the bytes and the error (None for EOF).

    Raises:
        TimeoutError: the stream stayed open for ``timeout`` seconds.
    """
    data = bytearray()
    async with asyncio.timeout(timeout):
        while True:
            try:
                chunk = await reader.read(65536)
            except OSError as exc:
                return bytes(data), exc
            if not chunk:
                return bytes(data), None
            data += chunk
