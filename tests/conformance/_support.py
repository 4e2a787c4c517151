"""Black-box helpers for the conformance suite: an HTTP client for the proxy API and real TCP peers.

Nothing here imports the proxy implementation; everything talks to it over real sockets, the way
toxiproxy clients do. Every wait has a deadline and says what it waited for.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlsplit

T = TypeVar("T")

_NO_BODY = object()
LISTENING_LINE = re.compile(r"toxiproxy listening on (http://(\S+):(\d+))")


# --------------------------------------------------------------------------------------------
# waiting


def wait_for(probe: Callable[[], T], *, timeout: float, what: str, interval: float = 0.005) -> T:
    """Poll ``probe`` until it returns something truthy; fail the test naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last = probe()
    while not last:
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last={last!r})")
        time.sleep(interval)
        interval = min(interval * 2, 0.05)
        last = probe()
    return last


# --------------------------------------------------------------------------------------------
# HTTP API client


@dataclass
class ApiResponse:
    """One HTTP answer from the proxy's API, kept raw so tests can check bytes and headers."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def error(self) -> str:
        """The ``error`` field of a JSON error body."""
        data = self.json()
        assert isinstance(data, dict), f"error body is not a JSON object: {self.body!r}"
        return str(data["error"])


class ProxyApi:
    """Minimal Toxiproxy HTTP client on ``http.client`` (no default User-Agent, raw access)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname, base_url
        assert parts.port, base_url
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        body: Any = _NO_BODY,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> ApiResponse:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        try:
            hdrs = dict(headers or {})
            payload: bytes | None = data
            if body is not _NO_BODY:
                payload = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=payload, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            return ApiResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw)
        finally:
            conn.close()

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = _NO_BODY, **kw: Any) -> ApiResponse:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = _NO_BODY, **kw: Any) -> ApiResponse:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)

    # ---- convenience wrappers that assert success -------------------------------------

    def create_proxy(
        self, name: str, upstream: str, listen: str | None = "127.0.0.1:0", **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "upstream": upstream, **extra}
        if listen is not None:
            body["listen"] = listen
        resp = self.post("/proxies", body)
        assert resp.status == 201, (resp.status, resp.body)
        proxy: dict[str, Any] = resp.json()
        return proxy

    def proxy(self, name: str) -> dict[str, Any]:
        resp = self.get(f"/proxies/{name}")
        assert resp.status == 200, (resp.status, resp.body)
        proxy: dict[str, Any] = resp.json()
        return proxy

    def update_proxy(self, name: str, **fields: Any) -> dict[str, Any]:
        resp = self.post(f"/proxies/{name}", fields)
        assert resp.status == 200, (resp.status, resp.body)
        proxy: dict[str, Any] = resp.json()
        return proxy

    def add_toxic(
        self,
        proxy: str,
        type_: str,
        *,
        name: str | None = None,
        stream: str | None = None,
        toxicity: float | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"type": type_}
        if name is not None:
            body["name"] = name
        if stream is not None:
            body["stream"] = stream
        if toxicity is not None:
            body["toxicity"] = toxicity
        if attributes is not None:
            body["attributes"] = attributes
        resp = self.post(f"/proxies/{proxy}/toxics", body)
        assert resp.status == 200, (resp.status, resp.body)
        toxic: dict[str, Any] = resp.json()
        return toxic

    def update_toxic(self, proxy: str, toxic: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.patch(f"/proxies/{proxy}/toxics/{toxic}", body)
        assert resp.status == 200, (resp.status, resp.body)
        result: dict[str, Any] = resp.json()
        return result

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        resp = self.delete(f"/proxies/{proxy}/toxics/{toxic}")
        assert resp.status == 204, (resp.status, resp.body)

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        resp = self.get(f"/proxies/{proxy}/toxics")
        assert resp.status == 200, (resp.status, resp.body)
        toxics: list[dict[str, Any]] = resp.json()
        return toxics

    def healthy(self) -> bool:
        try:
            return self.get("/version", timeout=3.0).status == 200
        except OSError:
            return False

    def clean(self) -> None:
        """Delete every proxy and reset; leaves the server as a fresh one."""
        resp = self.get("/proxies")
        assert resp.status == 200, (resp.status, resp.body)
        for name in resp.json():
            deleted = self.delete(f"/proxies/{quote(name, safe='')}")
            assert deleted.status in (204, 404), (deleted.status, deleted.body)
        reset = self.post("/reset")
        assert reset.status == 204, (reset.status, reset.body)


# --------------------------------------------------------------------------------------------
# addresses


def split_hostport(listen: str) -> tuple[str, int]:
    """``127.0.0.1:80`` / ``[::]:80`` / ``localhost:80`` → (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def listen_port(proxy: dict[str, Any]) -> int:
    return split_hostport(str(proxy["listen"]))[1]


def local_addr(proxy_or_listen: dict[str, Any] | str) -> tuple[str, int]:
    """The 127.0.0.1 address to dial for a proxy (works for ``[::]:p`` and ``0.0.0.0:p`` too)."""
    listen = proxy_or_listen if isinstance(proxy_or_listen, str) else proxy_or_listen["listen"]
    return "127.0.0.1", split_hostport(str(listen))[1]


def connect_outcome(addr: tuple[str, int], timeout: float = 2.0) -> str:
    """Try one TCP connect: ``"accepted"`` or ``"refused"`` (anything else is an error)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        code = sock.connect_ex(addr)
    finally:
        sock.close()
    if code == 0:
        return "accepted"
    if code == errno.ECONNREFUSED:
        return "refused"
    raise AssertionError(f"connect to {addr} failed with {errno.errorcode.get(code, code)}")


@contextlib.contextmanager
def unused_port() -> Iterator[int]:
    """A port that is bound but not listening for the duration (connects are refused, no race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# --------------------------------------------------------------------------------------------
# TCP client helpers


def connect(addr: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(addr, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exact(sock: socket.socket, n: int, timeout: float = 5.0) -> bytes:
    """Read exactly ``n`` bytes or fail (EOF, reset or deadline)."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"got {len(buf)} of {n} bytes before the {timeout}s deadline")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(65536, n - len(buf)))
        except TimeoutError:
            raise AssertionError(f"got {len(buf)} of {n} bytes within {timeout}s") from None
        if not chunk:
            raise AssertionError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


Outcome = Literal["eof", "reset", "timeout"]


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, Outcome]:
    """Read until EOF/RST or the deadline; returns the bytes read and how reading ended."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return bytes(buf), "timeout"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return bytes(buf), "timeout"
        except ConnectionResetError:
            return bytes(buf), "reset"
        if not chunk:
            return bytes(buf), "eof"
        buf += chunk


def is_open(sock: socket.socket, wait: float = 0.05) -> bool:
    """True if nothing (no EOF, no RST, no data) arrives within ``wait`` seconds."""
    sock.settimeout(wait)
    try:
        data = sock.recv(1, socket.MSG_PEEK)
    except TimeoutError:
        return True
    except ConnectionError:
        return False
    return bool(data)


def wired(client: socket.socket, server: socket.socket) -> None:
    """One byte client → upstream, so both links are surely set up before the upstream speaks.

    Tests about a toxic use it to stay independent of accept-time races, which
    ``test_proxy_pipeline.py`` tests on their own.
    """
    client.sendall(b"!")
    assert recv_exact(server, 1) == b"!"


def echo_roundtrip(sock: socket.socket, payload: bytes, timeout: float = 5.0) -> bytes:
    sock.sendall(payload)
    return recv_exact(sock, len(payload), timeout)


def json_keys(obj: dict[str, Any]) -> list[str]:
    """Keys in wire order, without the accidental Go ``Logger`` key (§1.2, optional)."""
    return [k for k in obj if k != "Logger"]
