"""Ports a server keeps for its whole life: placeholders held by the harness, never listening.

A nats-server that is killed or stopped frees its listening sockets; if it asked for random
ports (``-1``), anything that binds port 0 or dials out meanwhile may be given one of them,
and the restart fails with ``address already in use``. So the harness chooses nothing and
guesses nothing, yet keeps the ports: for each listener it binds a *placeholder* to
``127.0.0.1:0`` (the kernel picks the port) with ``SO_REUSEADDR`` and never listens on it,
passes the port to nats-server explicitly, and closes the placeholder only when the server
object is closed. On Linux (measured on 6.x, pinned by ``tests/faults/test_server_ports.py``):

* nats-server binds and listens over the placeholder: Go's ``net.Listen`` sets
  ``SO_REUSEADDR``, and two such sockets may share an address while neither listens;
* while the server is down, connections to the port are refused (nothing listens), an
  explicit ``bind()`` without ``SO_REUSEADDR`` fails with ``EADDRINUSE``, and neither a
  ``bind()`` to port 0 nor the source port of a ``connect()`` is ever given the port
  (autobinding skips ports that have an explicitly bound socket);
* the restart binds the same ports again.

Only a program that names the exact port and sets ``SO_REUSEADDR`` can still take it.
Placeholders are not inherited by the child (Python sockets are non-inheritable).
"""

from __future__ import annotations

import socket

__all__ = ["PortHold"]


class PortHold:
    """Placeholders for one server's ports, held until :meth:`release`.

    Args:
        host: the IPv4 address the server listens on.
    """

    def __init__(self, host: str) -> None:
        self.host = host
        self._sockets: list[socket.socket] = []

    def take(self) -> int:
        """Reserve a kernel-chosen port on ``host`` and return it."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, 0))
        except BaseException:
            sock.close()
            raise
        self._sockets.append(sock)
        return int(sock.getsockname()[1])

    @property
    def ports(self) -> list[int]:
        """The ports held now, in the order they were taken."""
        return [int(sock.getsockname()[1]) for sock in self._sockets]

    def release(self) -> None:
        """Close every placeholder (idempotent): the ports are free for anyone again."""
        sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()
