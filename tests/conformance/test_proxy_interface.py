"""The Python entry points agreed with the proxy engineer:
``nats_fault_harness.proxy.ProxyProcess`` (a
subprocess, sync) and ``nats_fault_harness.proxy.ProxyServer`` (in-process, async)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import pytest

from ._support import connect_outcome


def _check_serving(proc: Any) -> None:
    assert proc.url == f"http://{proc.host}:{proc.port}"
    assert proc.host == "127.0.0.1"
    assert isinstance(proc.port, int)
    assert proc.port > 0
    assert connect_outcome((proc.host, proc.port)) == "accepted"


def test_proxy_process_start_and_stop() -> None:
    from nats_fault_harness.proxy import ProxyProcess

    proc = ProxyProcess()
    started = proc.start()
    proc = started if started is not None else proc
    try:
        _check_serving(proc)
    finally:
        proc.stop()
    assert connect_outcome(("127.0.0.1", proc.port)) == "refused"


def test_proxy_process_context_manager() -> None:
    from nats_fault_harness.proxy import ProxyProcess

    with ProxyProcess() as proc:
        _check_serving(proc)
        port = proc.port
    assert connect_outcome(("127.0.0.1", port)) == "refused"


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.mark.asyncio
async def test_proxy_server_in_process() -> None:
    from nats_fault_harness.proxy import ProxyServer

    upstream = await asyncio.start_server(_echo, "127.0.0.1", 0)
    up_port = upstream.sockets[0].getsockname()[1]
    try:
        async with ProxyServer(host="127.0.0.1", port=0) as srv, aiohttp.ClientSession() as http:
            url = str(srv.url).rstrip("/")
            async with http.get(f"{url}/version") as resp:
                assert resp.status == 200
            async with http.post(
                f"{url}/proxies",
                json={
                    "name": "inproc",
                    "listen": "127.0.0.1:0",
                    "upstream": f"127.0.0.1:{up_port}",
                },
            ) as resp:
                assert resp.status == 201
                listen = (await resp.json())["listen"]
            port = int(listen.rpartition(":")[2])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"in-process")
            async with asyncio.timeout(5):
                assert await reader.readexactly(10) == b"in-process"
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        assert connect_outcome(("127.0.0.1", port)) == "refused"
    finally:
        upstream.close()
        await upstream.wait_closed()
