"""Soak: 1,000 connections opened and closed through one proxy while toxics churn.

The proxy's open file descriptors must come back to their baseline exactly, and its
resident memory to within a small allowance (allocators keep some pages), measured from
``/proc/<pid>`` of the proxy process. The baseline is taken after a warm-up round of the
same traffic that fills the proxy's event ring (the ``/events`` feed keeps the last
10,000 events by design), so what is measured is growth that nothing bounds.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from nats_fault_harness import wait_until
from nats_fault_harness.proxy import ProxyProcess

pytestmark = pytest.mark.slow

CONNECTIONS = 1000
WARMUP = 4000
RSS_ALLOWANCE_KB = 2 * 1024
TOXICS = {
    "latency": {"latency": 1},
    "bandwidth": {"rate": 10000},
    "slicer": {"average_size": 8},
    "limit_data": {"bytes": 1 << 20},
}


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def api(proxy: ProxyProcess, method: str, path: str, body: object = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(proxy.url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else None


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP echo server on loopback; its port."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=relay, args=(conn,), daemon=True).start()

    def relay(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                while data := conn.recv(4096):
                    conn.sendall(data)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


def traffic(proxy: ProxyProcess, address: tuple[str, int], connections: int) -> None:
    """``connections`` echo round trips, each on a new connection, while toxics churn."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        n = 0
        try:
            while not stop.is_set():
                kind = list(TOXICS)[n % len(TOXICS)]
                body = {"name": "t", "type": kind, "attributes": TOXICS[kind]}
                api(proxy, "POST", "/proxies/soak/toxics", body)
                api(proxy, "DELETE", "/proxies/soak/toxics/t")
                n += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    churner = threading.Thread(target=churn)
    churner.start()
    payload = b"p" * 512
    try:
        for i in range(connections):
            with socket.create_connection(address, timeout=10) as s:
                s.sendall(payload)
                got = b""
                while len(got) < len(payload):
                    chunk = s.recv(4096)
                    assert chunk, f"connection {i} closed early"
                    got += chunk
                assert got == payload
    finally:
        stop.set()
        churner.join(30)
    assert not errors, errors
    wait_until(
        lambda: not api(proxy, "GET", "/proxies/soak/connections"),
        timeout=10,
        what="the proxy to drop every closed connection",
    )


def test_a_thousand_connections_under_toxic_churn_leave_no_fd_or_memory_behind(
    echo: int,
) -> None:
    with ProxyProcess() as proxy:
        pid = proxy.pid
        assert pid is not None
        body = {"name": "soak", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo}"}
        info = api(proxy, "POST", "/proxies", body)
        assert isinstance(info, dict)
        host, port = info["listen"].rsplit(":", 1)
        traffic(proxy, (host, int(port)), WARMUP)
        base_fds, base_rss = fds(pid), rss_kb(pid)
        traffic(proxy, (host, int(port)), CONNECTIONS)
        wait_until(lambda: fds(pid) <= base_fds, timeout=10, what="fds back to baseline")
        after_fds, after_rss = fds(pid), rss_kb(pid)
        print(f"soak: fds {base_fds} -> {after_fds}; RSS {base_rss} -> {after_rss} KB")
        assert after_fds <= base_fds  # an API socket still closing may sit in the baseline
        assert after_rss - base_rss < RSS_ALLOWANCE_KB
