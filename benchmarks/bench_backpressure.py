"""Back-pressure of a blackholed link against a peer that stops reading, side by side in one run.

How many bytes can a client write before its socket write blocks? A non-blocking socket is
written in 64 KiB sends until ``EAGAIN``, and counts as blocked when it is still not
writable 0.3 s later. Contenders, interleaved round by round (fresh connections each time)
so machine noise hits every one alike:

  plain peer        a TCP peer that accepts, reads one probe byte and never reads again:
                    the kernel-only figure (the client's send buffer + the peer's receive
                    buffer), the floor
  blackhole         our proxy (``python -m nats_fault_harness.proxy``, its own process) in
                    front of an echo server; after a probe byte has made the round trip, a
                    ``blackhole`` toxic on both streams, as ``Link.blackhole()`` adds it
                    (the proxy stops reading at once; target <= 1.1x the floor)
  buffer_bytes=8MiB the same with ``buffer_bytes`` 8 MiB: the proxy's old read-ahead, kept
                    as an option

Besides the bytes written, the proxy's own count of the bytes it read from the client
after the fault (``GET /proxies/{p}/connections``) is shown. Only prints: no assertion;
the exit code is 0 unless something crashed.

Usage: .venv/bin/python benchmarks/bench_backpressure.py [--rounds N] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LISTENING = re.compile(r"toxiproxy listening on http://([\d.]+):(\d+)")
MIB = 1024 * 1024
SETTLE_S = 0.3
CAP = 128 * MIB


def _die_with_parent() -> None:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def our_proxy() -> Iterator[tuple[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nats_fault_harness.proxy", "--host", "127.0.0.1", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            if m := LISTENING.search(line):
                yield m.group(1), int(m.group(2))
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the proxy did not start")
        else:
            raise RuntimeError("the proxy exited before it was ready")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


class Api:
    """Keep-alive HTTP client for the proxy API."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=10)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload else {}
        self.conn.request(method, path, body=payload, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path} -> {resp.status} {data!r}")
        return json.loads(data) if data else None


class EchoServer:
    """Threaded blocking echo server on 127.0.0.1 (one thread per connection)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def write_until_blocked(sock: socket.socket) -> int:
    """Bytes a non-blocking socket accepts before it stays unwritable for ``SETTLE_S``."""
    sock.setblocking(False)
    block = b"x" * 65536
    total = 0
    while total < CAP:
        try:
            total += sock.send(block)
        except BlockingIOError:
            _, writable, _ = select.select([], [sock], [], SETTLE_S)
            if not writable:
                break
    return total


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def plain_peer() -> tuple[int, int]:
    listener = socket.create_server(("127.0.0.1", 0))
    client = _connect(listener.getsockname()[1])
    peer, _ = listener.accept()
    try:
        client.sendall(b"a")
        assert peer.recv(1) == b"a"
        return write_until_blocked(client), 0
    finally:
        for s in (client, peer, listener):
            s.close()


def blackholed(api: Api, proxy: str, port: int, attributes: dict[str, int]) -> tuple[int, int]:
    client = _connect(port)
    try:
        client.sendall(b"a")
        assert client.recv(1) == b"a"  # the round trip works before the fault
        for stream in ("upstream", "downstream"):
            body = {"name": f"bh_{stream}", "type": "blackhole", "stream": stream}
            api.call("POST", f"/proxies/{proxy}/toxics", {**body, "attributes": attributes})
        (conn,) = api.call("GET", f"/proxies/{proxy}/connections")
        written = write_until_blocked(client)
        (after,) = api.call("GET", f"/proxies/{proxy}/connections")
        for stream in ("upstream", "downstream"):
            api.call("DELETE", f"/proxies/{proxy}/toxics/bh_{stream}")
        return written, int(after["bytes_up"]) - int(conn["bytes_up"])
    finally:
        client.close()


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def run(rounds: int, json_path: str | None) -> int:
    started = time.monotonic()
    echo = EchoServer()
    with our_proxy() as (host, api_port):
        api = Api(host, api_port)
        made = api.call(
            "POST",
            "/proxies",
            {"name": "bh", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo.port}"},
        )
        port = int(made["listen"].rpartition(":")[2])
        contenders: dict[str, Callable[[], tuple[int, int]]] = {
            "plain peer (kernel only)": plain_peer,
            "blackhole (default)": lambda: blackholed(api, "bh", port, {}),
            "blackhole buffer_bytes=8MiB": lambda: blackholed(
                api, "bh", port, {"buffer_bytes": 8 * MIB}
            ),
        }
        written: dict[str, list[int]] = {name: [] for name in contenders}
        read: dict[str, list[int]] = {name: [] for name in contenders}
        for r in range(rounds):
            print(f"round {r + 1}/{rounds} ...", flush=True)
            for name, measure in contenders.items():
                w, rd = measure()
                written[name].append(w)
                read[name].append(rd)
    echo.close()
    med = {name: statistics.median(v) for name, v in written.items()}
    floor = med["plain peer (kernel only)"]
    print()
    print(
        f"{'bytes written before the write blocks':<38} {'median':>10} {'min':>10} "
        f"{'max':>10} {'vs floor':>9} {'proxy read':>11}  target"
    )
    print("-" * 110)
    for name in contenders:
        ratio = med[name] / floor
        target = ""
        if name == "blackhole (default)":
            target = f"<= 1.10x  {'PASS' if ratio <= 1.10 else 'MISS'}"
        print(
            f"{name:<38} {_mb(med[name]):>10} {_mb(min(written[name])):>10} "
            f"{_mb(max(written[name])):>10} {ratio:>8.2f}x "
            f"{_mb(statistics.median(read[name])):>11}  {target}"
        )
    elapsed = time.monotonic() - started
    print(f"{rounds} interleaved rounds, total {elapsed:.1f}s")
    if json_path:
        Path(json_path).write_text(
            json.dumps(
                {"rounds": rounds, "written": written, "proxy_read": read, "elapsed_s": elapsed},
                indent=2,
            )
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    return run(args.rounds, args.json)


if __name__ == "__main__":
    sys.exit(main())
