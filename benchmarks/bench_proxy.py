"""Proxy overhead and fault accuracy, side by side in one run.

Measures, with rounds interleaved so machine noise hits every contender alike:

  echo RTT      64-byte echo round trip (TCP_NODELAY): direct, through ``socat`` (the C floor,
                ``socat TCP-LISTEN:p,reuseaddr,fork TCP:127.0.0.1:echo``) and through our proxy
                (``python -m nats_fault_harness.proxy`` in its own process); the ADDED round-trip
                time of each relay and ours/socat (target <= 1.5)
  NATS req/rep  nats-py request/reply, requester and responder both direct / both via the proxy
  NATS publish  nats-py publish throughput, 128-byte payloads, proxy/direct (target >= 0.90)
  latency       100 ms latency toxic, small timestamped messages: p50/p99 absolute error of the
                added delay (target p99 <= 3 ms)
  bandwidth     1000 KB/s toxic (KB = 1000 B): error of the transfer time (target within 3%)
  toxic API     one toxic add and one remove over HTTP keep-alive: medians (target < 3 ms)

The echo server runs in this process (a thread), as in ../shared/reference/proxy-overhead.md;
nats-server is the binary next to this interpreter (``-a 127.0.0.1 -p -1 -m -1``). Only prints:
no assertion; the exit code is 0 unless something crashed.

Usage: .venv/bin/python benchmarks/bench_proxy.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats

LISTENING = re.compile(r"toxiproxy listening on http://([\d.]+):(\d+)")
NATS_PORT = re.compile(rb"Listening for client connections on [\d.]+:(\d+)")


@dataclass
class Sizes:
    rounds: int = 3
    echo_rtts: int = 5000
    nats_requests: int = 3000
    nats_publishes: int = 300_000
    latency_messages: int = 600
    bandwidth_bytes: int = 3_000_000
    toxic_ops: int = 300

    @classmethod
    def quick(cls) -> Sizes:
        return cls(3, 1500, 1000, 100_000, 200, 1_000_000, 100)


@dataclass
class Row:
    name: str
    cells: dict[str, str]
    target: str
    verdict: str
    data: dict[str, Any] = field(default_factory=dict)


# -------------------------------------------------------------------------------- processes


def _die_with_parent() -> None:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _spawn(args: list[str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent, **kw
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _read_line_matching(stream: Any, pattern: re.Pattern[Any], timeout: float, what: str) -> Any:
    """Read lines from a pipe (in a helper thread) until one matches; return the match."""
    found: list[Any] = []
    done = threading.Event()

    def pump() -> None:
        for line in iter(stream.readline, type(pattern.pattern)()):
            if not found and (m := pattern.search(line)):
                found.append(m)
                done.set()
        done.set()

    threading.Thread(target=pump, daemon=True).start()
    if not done.wait(timeout) or not found:
        raise RuntimeError(f"{what} did not become ready within {timeout}s")
    return found[0]


@contextlib.contextmanager
def our_proxy() -> Iterator[tuple[str, int]]:
    proc = _spawn(
        [sys.executable, "-m", "nats_fault_harness.proxy", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        m = _read_line_matching(proc.stdout, LISTENING, 30, "nats_fault_harness.proxy")
        yield m.group(1), int(m.group(2))
    finally:
        _stop(proc)


@contextlib.contextmanager
def socat_relay(target_port: int) -> Iterator[int | None]:
    exe = shutil.which("socat")
    if exe is None:
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = _spawn(
        [exe, f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", f"TCP:127.0.0.1:{target_port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("socat did not start listening")
            time.sleep(0.01)
        yield port
    finally:
        _stop(proc)


@contextlib.contextmanager
def nats_server() -> Iterator[int]:
    binary = Path(sys.executable).with_name("nats-server")
    exe = str(binary) if binary.exists() else shutil.which("nats-server")
    if exe is None:
        raise RuntimeError("no nats-server binary next to the interpreter or on PATH")
    proc = _spawn(
        [exe, "-a", "127.0.0.1", "-p", "-1", "-m", "-1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        m = _read_line_matching(proc.stderr, NATS_PORT, 30, "nats-server")
        yield int(m.group(1))
    finally:
        _stop(proc)


# -------------------------------------------------------------------------------- helpers


class Api:
    """Keep-alive HTTP client for the proxy API."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=10)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        self.conn.request(
            method,
            path,
            body=payload,
            headers={"Content-Type": "application/json"} if payload else {},
        )
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path} -> {resp.status} {data!r}")
        return json.loads(data) if data else None

    def proxy(self, name: str, upstream_port: int) -> int:
        made = self.call(
            "POST",
            "/proxies",
            {"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream_port}"},
        )
        return int(made["listen"].rpartition(":")[2])


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
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("EOF")
        buf += chunk
    return bytes(buf)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us"


# -------------------------------------------------------------------------------- measurements


def echo_rtts(paths: dict[str, int], sizes: Sizes) -> Row:
    socks = {name: _connect(port) for name, port in paths.items()}
    payload = b"x" * 64
    samples: dict[str, list[float]] = {name: [] for name in paths}
    per_round: dict[str, list[float]] = {name: [] for name in paths}
    try:
        for s in socks.values():  # one discarded round: caches, CPU frequency, placement
            for _ in range(sizes.echo_rtts):
                s.sendall(payload)
                _recv_exact(s, 64)
        for _ in range(sizes.rounds):
            for name, s in socks.items():
                got = []
                for _ in range(sizes.echo_rtts):
                    t0 = time.perf_counter()
                    s.sendall(payload)
                    _recv_exact(s, 64)
                    got.append(time.perf_counter() - t0)
                samples[name].extend(got)
                per_round[name].append(statistics.median(got))
    finally:
        for s in socks.values():
            s.close()
    med = {name: statistics.median(v) for name, v in samples.items()}
    cells = {name: _us(v) for name, v in med.items()}
    # added time per round (contenders measured back to back), then the median over rounds
    added = {
        name: statistics.median(
            p - d for p, d in zip(per_round[name], per_round["direct"], strict=True)
        )
        for name in med
        if name != "direct"
    }
    for name, value in added.items():
        cells[f"+{name}"] = _us(value)
    data: dict[str, Any] = {"median_s": med, "added_s": added, "round_medians_s": per_round}
    if "socat" in added and added["socat"] > 0:
        ratio = added["ours"] / added["socat"]
        data["ratio_ours_socat"] = ratio
        cells["ours/socat"] = f"{ratio:.2f}x"
        verdict = "PASS" if ratio <= 1.5 else "MISS"
    else:
        cells["ours/socat"] = "n/a"
        verdict = "n/a (socat missing)"
    return Row("echo RTT 64 B", cells, "added ours/socat <= 1.5", verdict, data)


async def _nats_requests(direct_port: int, proxy_port: int, sizes: Sizes) -> Row:
    conns = {}
    for name, port in (("direct", direct_port), ("ours", proxy_port)):
        responder = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
        requester = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)

        async def reply(msg: Any) -> None:
            await msg.respond(msg.data)

        subject = f"bench.echo.{name}"
        await responder.subscribe(subject, cb=reply)
        await responder.flush()
        conns[name] = (responder, requester, subject)
    samples: dict[str, list[float]] = {"direct": [], "ours": []}
    try:
        for _, requester, subject in conns.values():
            for _ in range(100):
                await requester.request(subject, b"w" * 64, timeout=5)
        for _ in range(sizes.rounds):
            for name, (_, requester, subject) in conns.items():
                for _ in range(sizes.nats_requests):
                    t0 = time.perf_counter()
                    await requester.request(subject, b"r" * 64, timeout=5)
                    samples[name].append(time.perf_counter() - t0)
    finally:
        for responder, requester, _ in conns.values():
            await requester.close()
            await responder.close()
    med = {k: statistics.median(v) for k, v in samples.items()}
    added = med["ours"] - med["direct"]
    cells = {
        "direct": _us(med["direct"]),
        "ours": _us(med["ours"]),
        "+ours": _us(added),
        "ours/direct": f"{med['ours'] / med['direct']:.2f}x",
    }
    return Row("NATS request/reply", cells, "(info)", "-", {"median_s": med, "added_s": added})


async def _nats_publish(direct_port: int, proxy_port: int, sizes: Sizes) -> Row:
    payload = b"p" * 128
    rates: dict[str, list[float]] = {"direct": [], "ours": []}
    ports = {"direct": direct_port, "ours": proxy_port}
    for _ in range(max(sizes.rounds, 5)):  # short runs: a few more rounds against noise
        for name, port in ports.items():
            nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
            try:
                for _ in range(1000):
                    await nc.publish("bench.pub", payload)
                await nc.flush(timeout=30)
                t0 = time.perf_counter()
                for _ in range(sizes.nats_publishes):
                    await nc.publish("bench.pub", payload)
                await nc.flush(timeout=60)
                rates[name].append(sizes.nats_publishes / (time.perf_counter() - t0))
            finally:
                await nc.close()
    med = {k: statistics.median(v) for k, v in rates.items()}
    ratio = med["ours"] / med["direct"]
    cells = {
        "direct": f"{med['direct']:,.0f} msg/s",
        "ours": f"{med['ours']:,.0f} msg/s",
        "ours/direct": f"{ratio:.2f}x",
    }
    return Row(
        "NATS publish 128 B",
        cells,
        "ours/direct >= 0.90",
        "PASS" if ratio >= 0.90 else "MISS",
        {"rates": rates, "ratio": ratio},
    )


def latency_accuracy(api: Api, echo_port: int, sizes: Sizes) -> Row:
    port = api.proxy("lat", echo_port)
    base = _connect(port)
    rtts = []
    for _ in range(200):  # baseline RTT through the proxy without the toxic
        t0 = time.perf_counter()
        base.sendall(b"b" * 16)
        _recv_exact(base, 16)
        rtts.append(time.perf_counter() - t0)
    base.close()
    baseline = statistics.median(rtts)
    api.call(
        "POST",
        "/proxies/lat/toxics",
        {"name": "lat", "type": "latency", "stream": "upstream", "attributes": {"latency": 100}},
    )
    s = _connect(port)
    errors: list[float] = []

    def reader() -> None:
        for _ in range(sizes.latency_messages):
            _, stamp = struct.unpack(">Qd", _recv_exact(s, 16))  # the message's own send time
            errors.append(abs(time.perf_counter() - stamp - baseline - 0.100))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    for seq in range(sizes.latency_messages):
        s.sendall(struct.pack(">Qd", seq, time.perf_counter()))
        time.sleep(0.003)  # pacing: one small message every ~3 ms, many in flight
    t.join(30)
    s.close()
    api.call("DELETE", "/proxies/lat")
    p50, p99 = _pct(errors, 0.50) * 1e3, _pct(errors, 0.99) * 1e3
    cells = {"p50 |err|": f"{p50:.2f} ms", "p99 |err|": f"{p99:.2f} ms", "baseline": _us(baseline)}
    return Row(
        "latency 100 ms accuracy",
        cells,
        "p99 |err| <= 3 ms",
        "PASS" if p99 <= 3.0 else "MISS",
        {"p50_ms": p50, "p99_ms": p99, "n": len(errors)},
    )


def bandwidth_accuracy(api: Api, sizes: Sizes) -> Row:
    sink = socket.create_server(("127.0.0.1", 0))
    port = api.proxy("bw", sink.getsockname()[1])
    api.call(
        "POST",
        "/proxies/bw/toxics",
        {"type": "bandwidth", "stream": "upstream", "attributes": {"rate": 1000}},
    )
    client = _connect(port)
    server, _ = sink.accept()
    payload = b"b" * sizes.bandwidth_bytes
    writer = threading.Thread(target=client.sendall, args=(payload,), daemon=True)
    t0 = time.perf_counter()
    writer.start()
    _recv_exact(server, len(payload))
    took = time.perf_counter() - t0
    writer.join(10)
    for s in (client, server, sink):
        s.close()
    api.call("DELETE", "/proxies/bw")
    expected = sizes.bandwidth_bytes / 1_000_000
    err = (took - expected) / expected * 100
    cells = {"expected": f"{expected:.3f} s", "measured": f"{took:.3f} s", "error": f"{err:+.2f}%"}
    return Row(
        "bandwidth 1000 KB/s",
        cells,
        "|error| <= 3%",
        "PASS" if abs(err) <= 3 else "MISS",
        {"seconds": took, "error_pct": err},
    )


def toxic_api_time(api: Api, echo_port: int, sizes: Sizes) -> Row:
    port = api.proxy("api", echo_port)
    live = _connect(port)  # a live link, so adds and removes have something to apply to
    live.sendall(b"hi")
    _recv_exact(live, 2)
    adds, removes = [], []
    body = {"name": "t", "type": "latency", "attributes": {"latency": 1}}
    for _ in range(sizes.toxic_ops):
        t0 = time.perf_counter()
        api.call("POST", "/proxies/api/toxics", body)
        t1 = time.perf_counter()
        api.call("DELETE", "/proxies/api/toxics/t")
        adds.append(t1 - t0)
        removes.append(time.perf_counter() - t1)
    live.close()
    api.call("DELETE", "/proxies/api")
    add, rem = statistics.median(adds) * 1e3, statistics.median(removes) * 1e3
    cells = {"add": f"{add:.2f} ms", "remove": f"{rem:.2f} ms"}
    return Row(
        "toxic add / remove (HTTP)",
        cells,
        "medians < 3 ms",
        "PASS" if max(add, rem) < 3 else "MISS",
        {"add_ms": add, "remove_ms": rem},
    )


# -------------------------------------------------------------------------------- main


def _print(rows: list[Row], elapsed: float, notes: list[str]) -> None:
    print()
    print(f"{'measurement':<28} {'results':<86} {'target':<26} verdict")
    print("-" * 150)
    for row in rows:
        cells = "  ".join(f"{k}={v}" for k, v in row.cells.items())
        print(f"{row.name:<28} {cells:<86} {row.target:<26} {row.verdict}")
    for row in rows:
        for name, values in row.data.get("round_medians_s", {}).items():
            rounds = ", ".join(_us(v) for v in values)
            print(f"  {row.name} per-round medians {name}: {rounds}")
    for note in notes:
        print(f"note: {note}")
    print(f"total {elapsed:.1f}s")


def run(sizes: Sizes, json_path: str | None) -> int:
    started = time.monotonic()
    rows: list[Row] = []
    notes: list[str] = []
    echo = EchoServer()
    with contextlib.ExitStack() as stack:
        host, api_port = stack.enter_context(our_proxy())
        api = Api(host, api_port)
        paths = {"direct": echo.port}
        socat_port = stack.enter_context(socat_relay(echo.port))
        if socat_port is None:
            notes.append("socat not found: the socat column is skipped (apt-get install socat)")
            print("socat not found; continuing without it", flush=True)
        else:
            paths["socat"] = socat_port
        paths["ours"] = api.proxy("echo", echo.port)
        print("echo round trips ...", flush=True)
        rows.append(echo_rtts(paths, sizes))
        nats_port = stack.enter_context(nats_server())
        nats_proxy = api.proxy("nats", nats_port)
        print("nats request/reply ...", flush=True)
        rows.append(asyncio.run(_nats_requests(nats_port, nats_proxy, sizes)))
        print("nats publish ...", flush=True)
        rows.append(asyncio.run(_nats_publish(nats_port, nats_proxy, sizes)))
        print("latency accuracy ...", flush=True)
        rows.append(latency_accuracy(api, echo.port, sizes))
        print("bandwidth accuracy ...", flush=True)
        rows.append(bandwidth_accuracy(api, sizes))
        print("toxic add/remove ...", flush=True)
        rows.append(toxic_api_time(api, echo.port, sizes))
    echo.close()
    elapsed = time.monotonic() - started
    _print(rows, elapsed, notes)
    if json_path:
        Path(json_path).write_text(
            json.dumps(
                {
                    "sizes": sizes.__dict__,
                    "elapsed_s": elapsed,
                    "notes": notes,
                    "rows": [row.__dict__ for row in rows],
                },
                indent=2,
                default=str,
            )
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (< 40 s)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    return run(Sizes.quick() if args.quick else Sizes(), args.json)


if __name__ == "__main__":
    sys.exit(main())
