"""Back-pressure like a pulled cable: the ``blackhole`` toxic (extension) stops reading at once.

A writer into a blackholed link must block after the kernel's socket buffers fill, as it
does against a peer that stops reading, not after the proxy has read and held megabytes
more. Measured as bytes (a non-blocking socket written until ``EAGAIN`` and still not
writable a moment later) next to a plain TCP peer in the same test, and confirmed by the
proxy's own byte count of the connection. ``buffer_bytes`` keeps the old read-ahead on
request; Toxiproxy's ``timeout`` keeps reading and discarding. Healing releases every held
byte, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from nats_fault_harness import wait_until_async

from ._support import ProxyApi, connect, local_addr, recv_exact, wait_for
from ._upstream import Upstream

MIB = 1024 * 1024
SETTLE_S = 0.3  # a full socket that is still not writable after this counts as blocked


def _write_until_blocked(sock: socket.socket, cap: int = 96 * MIB) -> int:
    """Bytes a non-blocking ``send`` accepts before the socket stays unwritable (or ``cap``)."""
    sock.setblocking(False)
    block = b"x" * 65536
    total = 0
    while total < cap:
        try:
            total += sock.send(block)
        except BlockingIOError:
            _, writable, _ = select.select([], [sock], [], SETTLE_S)
            if not writable:
                break
    return total


@contextlib.contextmanager
def _plain_peer() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A client connected to a peer that reads one byte and then never reads again."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = connect(listener.getsockname())
    peer, _ = listener.accept()
    try:
        client.sendall(b"a")
        assert recv_exact(peer, 1) == b"a"
        yield client, peer
    finally:
        for sock in (client, peer, listener):
            sock.close()


def _connection(api: ProxyApi, proxy: str) -> dict[str, Any]:
    conns = api.get(f"/proxies/{proxy}/connections").json()
    assert len(conns) == 1, conns
    conn: dict[str, Any] = conns[0]
    return conn


def _blackholed_fill(api: ProxyApi, held: Upstream, attributes: dict[str, Any]) -> tuple[int, int]:
    """(bytes the client wrote before blocking, bytes the proxy read meanwhile)."""
    proxy = api.create_proxy("bh", held.addr)
    client = connect(local_addr(proxy))
    upstream = held.accept()
    try:
        client.sendall(b"a")  # the path works before the fault
        assert recv_exact(upstream, 1) == b"a"
        api.add_toxic("bh", "blackhole", name="bh", stream="upstream", attributes=attributes)
        before = _connection(api, "bh")["bytes_up"]
        written = _write_until_blocked(client)
        read = _connection(api, "bh")["bytes_up"] - before
        api.remove_toxic("bh", "bh")
        return written, read
    finally:
        client.close()
        upstream.close()
        api.delete("/proxies/bh")


def test_blackhole_blocks_the_writer_after_the_kernel_buffers(
    api: ProxyApi, held: Upstream
) -> None:
    with _plain_peer() as (client, _):
        kernel = _write_until_blocked(client)
    default, default_read = _blackholed_fill(api, held, {})
    buffered, buffered_read = _blackholed_fill(api, held, {"buffer_bytes": 8 * MIB})
    figures = f"kernel {kernel:,} B, default {default:,} B, buffer_bytes=8MiB {buffered:,} B"
    # The proxy read nothing after the fault: the only buffering is the kernel's.
    assert default_read == 0, f"the proxy read {default_read:,} B into the blackhole; {figures}"
    assert default <= 1.25 * kernel + 256 * 1024, figures
    # The old behaviour, on request: the proxy reads and holds 8 MiB first (plus at most
    # one read of the event loop's, up to 256 KiB, before the pause takes effect).
    assert 8 * MIB <= buffered_read <= 8 * MIB + 256 * 1024, f"read {buffered_read:,}; {figures}"
    assert buffered >= default + 7 * MIB, figures


def test_timeout_still_reads_and_discards(api: ProxyApi, held: Upstream) -> None:
    """Toxiproxy's ``timeout`` toxic (contract §2.5): no back-pressure, the sender's writes
    succeed far past the kernel's buffers."""
    proxy = api.create_proxy("drop", held.addr)
    client = connect(local_addr(proxy))
    upstream = held.accept()
    try:
        api.add_toxic("drop", "timeout", name="t", stream="upstream", attributes={"timeout": 0})
        written = _write_until_blocked(client, cap=48 * MIB)
        assert written >= 48 * MIB
        wait_for(
            lambda: _connection(api, "drop")["bytes_up"] >= 48 * MIB,
            timeout=10,
            what="the proxy to read everything",
        )
        upstream.settimeout(0.2)
        with pytest.raises(TimeoutError):
            upstream.recv(1)  # and nothing was forwarded
    finally:
        client.close()
        upstream.close()


def test_updating_buffer_bytes_on_a_live_blackhole_reads_that_much_more(
    api: ProxyApi, held: Upstream
) -> None:
    """A PATCH restarts the toxic where it stands: raising ``buffer_bytes`` lets the proxy
    read up to the new budget (what it holds already counts), then it stops again; the
    heal delivers every byte in order."""
    proxy = api.create_proxy("p", held.addr)
    client = connect(local_addr(proxy))
    upstream = held.accept()
    try:
        api.add_toxic("p", "blackhole", name="bh", stream="upstream")
        first = _write_until_blocked(client)
        assert _connection(api, "p")["bytes_up"] == 0
        api.update_toxic("p", "bh", {"attributes": {"buffer_bytes": 2 * MIB}})
        second = _write_until_blocked(client)
        read = _connection(api, "p")["bytes_up"]
        assert 2 * MIB <= read <= 2 * MIB + 256 * 1024, f"read {read:,}"
        assert second >= 2 * MIB - 256 * 1024, f"wrote {second:,} more after the update"
        api.remove_toxic("p", "bh")
        total = first + second
        got = recv_exact(upstream, total, timeout=20)
        assert got == b"x" * total
    finally:
        client.close()
        upstream.close()


def test_a_close_during_the_blackhole_arrives_after_the_held_bytes(
    api: ProxyApi, held: Upstream
) -> None:
    """The client writes, then closes, into a blackhole: the upstream sees nothing until the
    heal, then the bytes, then EOF, and the proxy forgets the connection."""
    proxy = api.create_proxy("p", held.addr)
    client = connect(local_addr(proxy))
    upstream = held.accept()
    try:
        api.add_toxic("p", "blackhole", name="bh", stream="upstream")
        client.sendall(b"held bytes")
        client.close()
        upstream.settimeout(0.3)
        with pytest.raises(TimeoutError):
            upstream.recv(1)
        assert len(api.get("/proxies/p/connections").json()) == 1
        api.remove_toxic("p", "bh")
        assert recv_exact(upstream, 10) == b"held bytes"
        upstream.settimeout(5)
        assert upstream.recv(1) == b""
        wait_for(
            lambda: api.get("/proxies/p/connections").json() == [],
            timeout=5,
            what="the connection to be gone",
        )
    finally:
        upstream.close()


def test_a_blackhole_that_rolled_noop_keeps_reading(api: ProxyApi, echo: Upstream) -> None:
    """Toxicity 0: the toxic does not apply on the link, so neither does its read limit."""
    proxy = api.create_proxy("p", echo.addr)
    api.add_toxic("p", "blackhole", name="bh", stream="upstream", toxicity=0.0)
    client = connect(local_addr(proxy))
    try:
        client.sendall(b"ping")
        assert recv_exact(client, 4) == b"ping"
    finally:
        client.close()


@pytest.mark.parametrize(
    ("value", "status"), [(0, 200), (8 * MIB, 200), (-1, 400), (8 * MIB + 1, 400)]
)
def test_buffer_bytes_range(api: ProxyApi, echo: Upstream, value: int, status: int) -> None:
    api.create_proxy("p", echo.addr)
    body = {"type": "blackhole", "attributes": {"buffer_bytes": value}}
    resp = api.post("/proxies/p/toxics", body)
    assert resp.status == status, resp.body
    if status == 200:
        assert resp.json()["attributes"] == {"buffer_bytes": value}
    else:
        assert "buffer_bytes" in resp.error()


# ---------------------------------------------------------------- integrity

COUNT = 400_000  # 4-byte big-endian counters, one send each: 1.6 MB


def _write_numbers(sock: socket.socket) -> None:
    sock.setblocking(True)
    sock.settimeout(60)
    for i in range(COUNT):
        sock.sendall(struct.pack(">I", i))
    sock.shutdown(socket.SHUT_WR)


class _Reader:
    """Reads a socket to EOF in a thread, counting what arrived."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.sock.settimeout(60)
            while chunk := self.sock.recv(65536):
                self.buf += chunk
        except BaseException as exc:  # reported by the test
            self.error = exc

    def __len__(self) -> int:
        return len(self.buf)


@pytest.mark.asyncio
@pytest.mark.parametrize("buffer_bytes", [0, 256 * 1024])
@pytest.mark.parametrize("stream", ["upstream", "downstream"])
async def test_numbered_writes_survive_blackhole_windows_in_order(
    api: ProxyApi, held: Upstream, stream: str, buffer_bytes: int
) -> None:
    """Three blackhole windows across a stream of numbered writes: nothing passes during a
    window, and after the heals every number arrived once, in order, then EOF."""
    proxy = api.create_proxy("p", held.addr)
    client = connect(local_addr(proxy))
    upstream = held.accept()
    writer_sock, reader_sock = (client, upstream) if stream == "upstream" else (upstream, client)
    reader = _Reader(reader_sock)
    writer = asyncio.create_task(asyncio.to_thread(_write_numbers, writer_sock))
    try:
        for window in range(3):
            await wait_until_async(
                lambda w=window: len(reader) > (w + 1) * 100_000 or writer.done(),
                timeout=30,
                what=f"bytes before window {window}",
            )
            api.add_toxic(
                "p",
                "blackhole",
                name="bh",
                stream=stream,
                attributes={"buffer_bytes": buffer_bytes},
            )
            # What was already past the toxic (the proxy's write buffer, the reader's
            # kernel buffer) still lands; then nothing may pass for the rest of the window.
            frozen = await _quiet(reader)
            await asyncio.sleep(0.25)
            assert len(reader) == frozen, f"window {window}: bytes passed the blackhole"
            api.remove_toxic("p", "bh")
        await asyncio.wait_for(writer, 60)
        await asyncio.to_thread(reader.thread.join, 60)
    finally:
        client.close()
        upstream.close()
    assert reader.error is None, reader.error
    expected = b"".join(struct.pack(">I", i) for i in range(COUNT))
    assert len(reader.buf) == len(expected), f"{len(reader.buf)} of {len(expected)} bytes"
    if reader.buf != expected:
        first = next(i for i, (a, b) in enumerate(zip(reader.buf, expected, strict=True)) if a != b)
        raise AssertionError(f"stream differs first at byte {first}")


async def _quiet(reader: _Reader, still_s: float = 0.1, timeout: float = 10.0) -> int:
    """The reader's byte count once it has not grown for ``still_s`` (bounded)."""
    async with asyncio.timeout(timeout):
        while True:
            seen = len(reader)
            await asyncio.sleep(still_s)
            if len(reader) == seen:
                return seen
