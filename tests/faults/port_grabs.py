"""Try, on purpose, every way another program could be handed a port that a fault freed.

While a link is down or a server is dead, its port has no listener. These helpers try to
get that port the ways a bystander would: an explicit ``bind()`` without ``SO_REUSEADDR``,
many ``bind()`` to port 0 (listening, as a new proxy or server does), and many
``connect()`` whose source port the kernel chooses. All of them are real sockets, closed
before returning (connections with an RST, so no TIME_WAIT is left behind).
"""

from __future__ import annotations

import contextlib
import resource
import socket
import struct
import time
from collections.abc import Iterator

__all__ = [
    "GRAB_LISTENERS",
    "GRAB_CONNECTS",
    "bind_errno",
    "connect_errno",
    "fd_budget",
    "nats_ping",
    "port_of",
    "port_zero_listeners",
    "source_ports",
]

GRAB_LISTENERS = 2000
GRAB_CONNECTS = 500


def port_of(addr: str) -> int:
    """The port of ``host:port`` or ``nats://host:port``."""
    return int(addr.rsplit(":", 1)[1])


@contextlib.contextmanager
def fd_budget(needed: int) -> Iterator[None]:
    """Raise the soft open-files limit to fit ``needed`` more sockets (restored after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = soft + needed + 256
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def bind_errno(port: int, host: str = "127.0.0.1") -> int:
    """Bind ``host:port`` without ``SO_REUSEADDR``: 0 if it worked, else the errno."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno or -1
    return 0


def connect_errno(port: int, timeout: float = 2.0) -> int:
    """One connect to ``127.0.0.1:port``: 0 if accepted, else the errno (ECONNREFUSED...)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex(("127.0.0.1", port))


def port_zero_listeners(count: int = GRAB_LISTENERS) -> set[int]:
    """Bind ``count`` sockets to ``127.0.0.1:0`` at once and listen; the ports they got.

    Every other socket sets ``SO_REUSEADDR`` (as Go and asyncio servers do).
    """
    socks: list[socket.socket] = []
    try:
        for i in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            if i % 2:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sock.listen(1)
        return {int(sock.getsockname()[1]) for sock in socks}
    finally:
        for sock in socks:
            sock.close()


def source_ports(count: int = GRAB_CONNECTS) -> set[int]:
    """Open ``count`` connections at once (to a throwaway listener); their source ports."""
    target = socket.create_server(("127.0.0.1", 0), backlog=count)
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.connect(target.getsockname())
        return {int(sock.getsockname()[1]) for sock in socks}
    finally:
        rst = struct.pack("ii", 1, 0)  # linger 0: close with RST, leave no TIME_WAIT
        for sock in socks:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, rst)
            sock.close()
        target.close()


def nats_ping(port: int, timeout: float = 5.0) -> None:
    """A NATS round trip on ``127.0.0.1:port``: read INFO, send CONNECT + PING, get PONG.

    Raises:
        AssertionError: no INFO, or no PONG before ``timeout``.
        OSError: the connection failed.
    """
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        data = b""
        sent = False
        while b"PONG\r\n" not in data:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            assert chunk, f"connection to port {port} closed; got {data[:200]!r}"
            data += chunk
            if not sent and b"\r\n" in data:
                assert data.startswith(b"INFO "), data[:200]
                sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
                sent = True
