"""No data is lost while toxics are added and removed (checklist §3 item 24, TestNoDataDropped;
contract §2.0 "Removal drains/forwards anything buffered").

65,535 ordered 2-byte writes (big-endian 0..65534), each its own ``send`` call, cross the proxy
while another task adds and removes a 1000 ms latency toxic in a tight loop over HTTP. Every
value must arrive once, in order, followed by EOF. Runs in both directions. The client side is
asyncio (aiohttp for the API, raw non-blocking sockets for the data); the proxy runs in its own
process.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import aiohttp
import pytest

from ._support import ProxyApi, local_addr

COUNT = 65_535
EXPECTED = b"".join(struct.pack(">H", i) for i in range(COUNT))


async def _toggle(
    session: aiohttp.ClientSession, url: str, stream: str, stop: asyncio.Event, toggles: list[int]
) -> None:
    body = {"name": "churn", "type": "latency", "stream": stream, "attributes": {"latency": 1000}}
    while not stop.is_set():
        async with session.post(f"{url}/proxies/p/toxics", json=body) as resp:
            assert resp.status == 200, await resp.text()
        async with session.delete(f"{url}/proxies/p/toxics/churn") as resp:
            assert resp.status == 204, await resp.text()
        toggles[0] += 1


def _write_all(sock: socket.socket) -> None:
    """Blocking writer (run in a thread so the churn task keeps running): one send per value."""
    sock.setblocking(True)
    sock.settimeout(30)
    for i in range(COUNT):
        sock.sendall(struct.pack(">H", i))
    sock.shutdown(socket.SHUT_WR)


async def _read_all(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    buf = bytearray()
    while chunk := await loop.sock_recv(sock, 65536):
        buf += chunk
    return bytes(buf)


def _nodelay(sock: socket.socket) -> socket.socket:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", ["upstream", "downstream"])
async def test_no_data_dropped_while_latency_toxic_churns(
    api: ProxyApi, proxy_url: str, stream: str
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    loop = asyncio.get_running_loop()
    proxy = api.create_proxy("p", f"127.0.0.1:{listener.getsockname()[1]}")
    client = _nodelay(socket.create_connection(local_addr(proxy), timeout=5))
    client.setblocking(False)
    try:
        server_sock, _ = await asyncio.wait_for(loop.sock_accept(listener), 5)
        server = _nodelay(server_sock)
        server.setblocking(False)
        writer, reader = (client, server) if stream == "upstream" else (server, client)
        stop = asyncio.Event()
        toggles = [0]
        async with aiohttp.ClientSession() as session:
            churn = asyncio.create_task(_toggle(session, proxy_url, stream, stop, toggles))
            try:
                async with asyncio.timeout(60):
                    while toggles[0] < 3:  # the churn is running before the first byte
                        if churn.done():
                            churn.result()
                        await asyncio.sleep(0.005)
                    read = asyncio.create_task(_read_all(reader))
                    before = toggles[0]
                    await asyncio.to_thread(_write_all, writer)
                    during = toggles[0] - before
            finally:
                stop.set()
                await churn  # ends with the toxic removed, so nothing is held back
            async with asyncio.timeout(30):
                received = await read
        assert len(received) == len(EXPECTED), f"{len(received)} of {len(EXPECTED)} bytes"
        if received != EXPECTED:
            first = next(
                i for i, (a, b) in enumerate(zip(received, EXPECTED, strict=True)) if a != b
            )
            raise AssertionError(f"stream differs first at byte {first}")
        assert during >= 2, f"only {during} add/remove cycles overlapped the writes"
        server.close()
    finally:
        client.close()
        listener.close()
