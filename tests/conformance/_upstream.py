"""Real TCP peers for the conformance suite: upstream servers and the test's client sockets."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from ._support import connect

# --------------------------------------------------------------------------------------------
# upstream servers


UpstreamMode = Literal["echo", "hold", "line", "greet"]
GREETING = b'INFO {"server_id":"upstream","max_payload":1048576}\r\n'


@dataclass
class LineArrival:
    """A newline-terminated message that the ``line`` upstream received (monotonic time)."""

    at: float
    size: int


@dataclass
class Upstream:
    """A real TCP server on 127.0.0.1 with a port chosen by the kernel.

    Modes: ``echo`` echoes every byte; ``greet`` first sends :data:`GREETING` the moment it
    accepts (as nats-server sends ``INFO``), then echoes; ``line`` reads newline-terminated
    messages, records when each one fully arrived, and echoes it back; ``hold`` hands each
    accepted socket to the test through :meth:`accept` and does nothing else.
    """

    mode: UpstreamMode = "echo"
    _listener: socket.socket = field(init=False)
    _accepted: queue.Queue[socket.socket] = field(init=False, default_factory=queue.Queue)
    _conns: list[socket.socket] = field(init=False, default_factory=list)
    arrivals: queue.Queue[LineArrival] = field(init=False, default_factory=queue.Queue)
    accepted_count: int = field(init=False, default=0)
    _closed: bool = field(init=False, default=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(512)
        threading.Thread(target=self._accept_loop, daemon=True, name="upstream-accept").start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._conns.append(conn)
                self.accepted_count += 1
            if self.mode == "hold":
                self._accepted.put(conn)
                continue
            if self.mode == "greet":
                with contextlib.suppress(OSError):
                    conn.sendall(GREETING)
            target = self._line_echo if self.mode == "line" else self._echo
            threading.Thread(target=target, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)
        with contextlib.suppress(OSError):
            conn.close()

    def _line_echo(self, conn: socket.socket) -> None:
        buf = bytearray()
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                buf += data
                while (end := buf.find(b"\n")) >= 0:
                    message = bytes(buf[: end + 1])
                    del buf[: end + 1]
                    self.arrivals.put(LineArrival(time.monotonic(), len(message)))
                    conn.sendall(message)
        with contextlib.suppress(OSError):
            conn.close()

    def accept(self, timeout: float = 5.0) -> socket.socket:
        """The next connection the proxy made to this upstream (``hold`` mode)."""
        try:
            return self._accepted.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no connection reached the upstream within {timeout}s") from None

    def next_arrival(self, timeout: float = 5.0) -> LineArrival:
        try:
            return self.arrivals.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message reached the upstream within {timeout}s") from None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._conns = self._conns, []
        # shutdown() wakes the thread blocked in accept(); close() alone does not on Linux
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()


class Sockets:
    """Client sockets opened by a test, closed at teardown."""

    def __init__(self) -> None:
        self._socks: list[socket.socket] = []

    def connect(self, addr: tuple[str, int], timeout: float = 5.0) -> socket.socket:
        sock = connect(addr, timeout)
        self._socks.append(sock)
        return sock

    def track(self, sock: socket.socket) -> socket.socket:
        self._socks.append(sock)
        return sock

    def close_all(self) -> None:
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.close()
        self._socks.clear()
