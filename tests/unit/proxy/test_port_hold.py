"""A proxy holds its port while it exists, enabled or not, and gives it back when it goes.

Holding means: connections are refused while the proxy is disabled (as in Toxiproxy), but
an explicit ``bind()`` without ``SO_REUSEADDR`` fails with ``EADDRINUSE`` and the re-enable
binds the same port. Deleting the proxy, moving it to another listen address, replacing it
by ``/populate`` and stopping the server release the port: the same ``bind()`` succeeds.
"""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest

from nats_fault_harness.proxy import ProxyServer, ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream


def _bind_errno(port: int, host: str = "127.0.0.1") -> int:
    """Bind without ``SO_REUSEADDR``: 0 if it worked, else the errno."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno or -1
    return 0


async def _echoes(port: int) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"ok")
        async with asyncio.timeout(2):
            return await reader.readexactly(2) == b"ok"
    finally:
        writer.close()


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


@pytest.mark.asyncio
@pytest.mark.parametrize("listen", ["127.0.0.1:0", "localhost:0", "0.0.0.0:0", ""])
async def test_a_disabled_proxy_refuses_but_keeps_its_port(
    client: ToxiproxyClient, upstream: Upstream, listen: str
) -> None:
    proxy = await client.create_proxy("p", upstream.addr, listen=listen)
    for _ in range(2):
        await client.update_proxy("p", enabled=False)
        assert await _refused(proxy.port)
        assert _bind_errno(proxy.port) == errno.EADDRINUSE
        assert _bind_errno(proxy.port, "0.0.0.0") == errno.EADDRINUSE
        again = await client.update_proxy("p", enabled=True)
        assert again.listen == proxy.listen
        assert await _echoes(proxy.port)


@pytest.mark.asyncio
async def test_a_proxy_created_disabled_holds_nothing_until_enabled(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    probe = await client.create_proxy("probe", upstream.addr)
    await client.delete_proxy("probe")
    await client.create_proxy("p", upstream.addr, listen=probe.listen, enabled=False)
    assert _bind_errno(probe.port) == 0
    await client.update_proxy("p", enabled=True)
    await client.update_proxy("p", enabled=False)
    assert _bind_errno(probe.port) == errno.EADDRINUSE


@pytest.mark.asyncio
@pytest.mark.parametrize("enabled", [True, False])
async def test_delete_releases_the_port(
    client: ToxiproxyClient, upstream: Upstream, enabled: bool
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    await client.update_proxy("p", enabled=enabled)
    await client.delete_proxy("p")
    assert _bind_errno(proxy.port) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("enabled", [True, False])
async def test_moving_the_listen_address_releases_the_old_port(
    client: ToxiproxyClient, upstream: Upstream, enabled: bool
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    await client.update_proxy("p", enabled=enabled)
    moved = await client.update_proxy("p", listen="127.0.0.1:0")
    assert _bind_errno(proxy.port) == 0
    if not enabled:
        assert moved.listen == "127.0.0.1:0"  # not bound until enabled, as in Toxiproxy
        moved = await client.update_proxy("p", enabled=True)
    assert moved.port not in (0, proxy.port)
    await client.update_proxy("p", enabled=False)
    assert _bind_errno(moved.port) == errno.EADDRINUSE


@pytest.mark.asyncio
async def test_an_upstream_change_keeps_the_port(
    client: ToxiproxyClient, upstream: Upstream, sink: Upstream
) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    await client.update_proxy("p", enabled=False)
    await client.update_proxy("p", upstream=upstream.addr)
    assert _bind_errno(proxy.port) == errno.EADDRINUSE
    assert (await client.update_proxy("p", enabled=True)).listen == proxy.listen
    assert await _echoes(proxy.port)


@pytest.mark.asyncio
async def test_populate_replacing_a_proxy_releases_its_old_port(
    client: ToxiproxyClient, upstream: Upstream, sink: Upstream
) -> None:
    spec = {"name": "a", "listen": "127.0.0.1:0", "upstream": sink.addr}
    (first,) = await client.populate([spec])
    (moved,) = await client.populate([spec])  # ":0" is not the bound address: replaced
    assert moved.port != first.port
    assert _bind_errno(first.port) == 0
    (same_port,) = await client.populate(
        [{"name": "a", "listen": moved.listen, "upstream": upstream.addr}]
    )
    assert same_port.listen == moved.listen
    assert await _echoes(moved.port)


@pytest.mark.asyncio
async def test_stopping_the_server_releases_every_port(upstream: Upstream) -> None:
    async with ProxyServer() as srv, ToxiproxyClient(srv.url) as api:
        on = await api.create_proxy("on", upstream.addr)
        off = await api.create_proxy("off", upstream.addr)
        await api.update_proxy("off", enabled=False)
    assert _bind_errno(on.port) == 0
    assert _bind_errno(off.port) == 0
