"""Fixtures for the client-compatibility suites: one proxy process per session (per xdist
worker), wiped before and after every test, and a threaded echo server per test."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest


def _request(url: str, method: str, path: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wipe(url: str) -> None:
    """Delete every proxy and ``POST /reset`` with plain HTTP (not through a client under test)."""
    status, body = _request(url, "GET", "/proxies")
    assert status == 200, body
    for name in json.loads(body):
        _request(url, "DELETE", f"/proxies/{name}")
    status, body = _request(url, "POST", "/reset")
    assert status == 204, body


class _CliProxy:
    """``python -m nats_fault_harness.proxy --host 127.0.0.1 --port 0``, ready at its listening
    line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nats_fault_harness.proxy",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the server prints it once it is listening
        match = re.search(r"toxiproxy listening on (http://\S+)", line)
        if match is None:
            self.stop()
            raise RuntimeError(f"proxy did not start: {line!r}")
        self.url = match.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class _Server:
    def __init__(self) -> None:
        self._proc: Any = None
        self.start()

    def start(self) -> None:
        try:
            from nats_fault_harness.proxy import ProxyProcess
        except ImportError:  # not there (yet): the agreed CLI does the same job
            self._proc = _CliProxy()
        else:
            proc = ProxyProcess()
            started = proc.start()
            self._proc = started if started is not None else proc
        self.url = str(self._proc.url).rstrip("/")
        parts = urlsplit(self.url)
        assert parts.hostname
        assert parts.port
        self.host: str = parts.hostname
        self.port: int = parts.port

    def ensure_alive(self) -> None:
        try:
            ok = _request(self.url, "GET", "/version")[0] == 200
        except OSError:
            ok = False
        if not ok:
            self.stop()
            self.start()

    def stop(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.stop()
            self._proc = None


@pytest.fixture(scope="session")
def compat_server() -> Iterator[_Server]:
    server = _Server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy_server(compat_server: _Server) -> Iterator[_Server]:
    """A live proxy server with no proxies (and none left behind by the test)."""
    compat_server.ensure_alive()
    wipe(compat_server.url)
    yield compat_server
    wipe(compat_server.url)


class EchoServer:
    """TCP echo on 127.0.0.1 with a kernel-chosen port."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)
        with contextlib.suppress(OSError):
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()
