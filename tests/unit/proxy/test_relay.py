"""Bytes through a proxy with no toxics: exact relay, teardown, upstream failures."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Iterator

import pytest

from nats_fault_harness._wait import wait_until_async
from nats_fault_harness.proxy import ProxyServer, ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream, read_until_closed


async def _proxy(client: ToxiproxyClient, upstream: str, name: str = "p") -> int:
    return (await client.create_proxy(name, upstream)).port


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [1, 12, 64 * 1024, 1024 * 1024])
async def test_bytes_pass_exactly(client: ToxiproxyClient, upstream: Upstream, size: int) -> None:
    port = await _proxy(client, upstream.addr)
    payload = os.urandom(size)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    async with asyncio.timeout(10):
        echoed = await reader.readexactly(size)
    assert echoed == payload
    writer.close()


@pytest.mark.asyncio
async def test_two_writes_arrive_concatenated(client: ToxiproxyClient, sink: Upstream) -> None:
    port = await _proxy(client, sink.addr)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hello ")
    await writer.drain()
    writer.write(b"world")
    peer = await sink.peer()
    assert await peer.wait_bytes(11) == b"hello world"
    writer.close()


@pytest.mark.asyncio
async def test_server_greeting_reaches_a_silent_client() -> None:
    """A server that speaks first (nats-server's INFO) is heard, however the dial races."""
    async with (
        Upstream("sink", greeting=b"INFO {}\r\n") as greeter,
        ProxyServer() as srv,
        ToxiproxyClient(srv.url) as api,
    ):
        port = await _proxy(api, greeter.addr)
        for _ in range(100):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            async with asyncio.timeout(2):
                assert await reader.readexactly(9) == b"INFO {}\r\n"
            writer.close()


@pytest.mark.asyncio
async def test_many_connections_are_independent(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    port = await _proxy(client, upstream.addr)

    async def one(i: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        message = f"connection {i} ".encode() * 100
        writer.write(message)
        data = await reader.readexactly(len(message))
        writer.close()
        return data == message

    async with asyncio.timeout(20):
        results = await asyncio.gather(*(one(i) for i in range(50)))
    assert all(results)


@pytest.mark.asyncio
async def test_upstream_down_accepts_then_closes(
    server: ProxyServer, client: ToxiproxyClient
) -> None:
    """Toxiproxy's accept-then-close: the client connects, then reads EOF (contract #21)."""
    with_nothing = Upstream("sink")
    await with_nothing.start()
    dead = with_nothing.addr
    await with_nothing.aclose()
    port = await _proxy(client, dead)
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data, error = await read_until_closed(reader, timeout=5)
    assert (data, error) == (b"", None)
    assert time.monotonic() - start < 0.5
    writer.close()
    events = (await client.events()).events
    failed = [e for e in events if e["type"] == "connection_failed"]
    assert len(failed) == 1
    assert failed[0]["upstream"] == dead
    assert "refused" in failed[0]["error"].lower()


@pytest.mark.asyncio
async def test_client_close_closes_upstream(client: ToxiproxyClient, sink: Upstream) -> None:
    port = await _proxy(client, sink.addr)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"x")
    peer = await sink.peer()
    await peer.wait_bytes(1)
    writer.close()
    async with asyncio.timeout(5):
        await peer.eof.wait()


@pytest.mark.asyncio
async def test_upstream_close_reaches_client_after_its_data(
    client: ToxiproxyClient, sink: Upstream
) -> None:
    port = await _proxy(client, sink.addr)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"x")
    peer = await sink.peer()
    peer.send(b"last words")
    peer.close()
    assert await read_until_closed(reader) == (b"last words", None)
    writer.close()


@pytest.mark.asyncio
async def test_no_half_close_like_toxiproxy(client: ToxiproxyClient, sink: Upstream) -> None:
    """A client FIN closes the whole connection (Toxiproxy does not keep half-open links)."""
    port = await _proxy(client, sink.addr)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"request")
    writer.write_eof()
    peer = await sink.peer()
    await peer.wait_bytes(7)
    async with asyncio.timeout(5):
        await peer.closed.wait()
    data, _ = await read_until_closed(reader)
    assert data == b""
    writer.close()


@pytest.mark.asyncio
async def test_backpressure_pauses_a_client_whose_upstream_does_not_read(
    server: ProxyServer, client: ToxiproxyClient, sink: Upstream
) -> None:
    """With the upstream not reading, the proxy stops reading too: memory stays bounded."""
    port = await _proxy(client, sink.addr)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    peer = await sink.peer()
    assert peer.transport is not None
    peer.transport.pause_reading()
    chunk = b"z" * 65536
    sent = 0

    async def write_until_blocked() -> None:
        nonlocal sent
        while True:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)

    try:
        await asyncio.wait_for(write_until_blocked(), 1.0)
    except TimeoutError:
        pass
    else:  # pragma: no cover - the loop never ends by itself
        pytest.fail("writing never blocked")
    assert sent < 64 * 1024 * 1024, "the proxy buffered without bound"
    conn = next(iter(server.collection.get("p").connections.values()))
    up = conn.links["upstream"]
    buffered = up.bytes_in - len(peer.received)
    assert buffered < 32 * 1024 * 1024
    peer.transport.resume_reading()
    await peer.wait_bytes(sent, timeout=20)
    writer.close()


@contextlib.contextmanager
def _unresponsive_upstream() -> Iterator[str]:
    """A listener whose accept queue is full: new connects hang (SYNs are dropped)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    addr = listener.getsockname()
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(addr)
        fillers.append(filler)
    try:
        yield f"127.0.0.1:{addr[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.asyncio
async def test_client_leaving_during_a_slow_failing_dial_is_cleaned_up(
    server: ProxyServer, client: ToxiproxyClient
) -> None:
    server.runtime.dial_timeout = 0.3
    with _unresponsive_upstream() as addr:
        port = await _proxy(client, addr)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        proxy = server.collection.get("p")
        async with asyncio.timeout(5):
            while True:
                page = await client.events(0, wait_ms=1000)
                if any(e["type"] == "connection_failed" for e in page.events):
                    break

        async def gone() -> bool:
            return not proxy.connections

        await wait_until_async(gone, timeout=2, what="the connection to be torn down")
        assert "i/o timeout" in next(
            e["error"] for e in page.events if e["type"] == "connection_failed"
        )


@pytest.mark.asyncio
async def test_disabling_during_a_hanging_dial_is_prompt(
    server: ProxyServer, client: ToxiproxyClient
) -> None:
    with _unresponsive_upstream() as addr:
        port = await _proxy(client, addr)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        proxy = server.collection.get("p")

        async def accepted() -> bool:
            return bool(proxy.connections)

        await wait_until_async(accepted, timeout=2, what="the proxy to accept")
        started = time.monotonic()
        await client.update_proxy("p", enabled=False)
        assert time.monotonic() - started < 1.0
        assert proxy.connections == {}
        assert await read_until_closed(reader, timeout=2) == (b"", None)
        writer.close()
