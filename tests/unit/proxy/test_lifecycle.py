"""Proxy lifecycle: listen resolution, disable/enable/delete, updates, reset, populate."""

from __future__ import annotations

import asyncio
import socket

import pytest

from nats_fault_harness.errors import ProxyAlreadyExists, ProxyError, ProxyNotFound
from nats_fault_harness.proxy import ProxyServer, ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream, read_until_closed


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


@pytest.mark.asyncio
async def test_listen_port_zero_reports_bound_port(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr, listen="127.0.0.1:0")
    assert proxy.host == "127.0.0.1"
    assert proxy.port > 0
    assert (await client.get_proxy("p")).listen == proxy.listen


@pytest.mark.asyncio
async def test_localhost_listen_resolves_to_ipv4(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr, listen="localhost:0")
    assert proxy.listen.startswith("127.0.0.1:")


@pytest.mark.asyncio
async def test_created_disabled_echoes_listen_unresolved(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr, listen="localhost:0", enabled=False)
    assert (proxy.listen, proxy.enabled) == ("localhost:0", False)
    enabled = await client.update_proxy("p", enabled=True)
    assert enabled.listen.startswith("127.0.0.1:")
    assert enabled.port > 0


@pytest.mark.asyncio
async def test_disable_closes_live_connections_on_both_sides_and_refuses(
    client: ToxiproxyClient, sink: Upstream
) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    readers = []
    for _ in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"hi")
        readers.append((reader, writer))
    for index in range(3):
        await (await sink.peer(index)).wait_bytes(2)
    await client.update_proxy("p", enabled=False)
    for reader, writer in readers:
        data, _ = await read_until_closed(reader, timeout=2)
        assert data == b""
        writer.close()
    for index in range(3):
        async with asyncio.timeout(2):
            await sink.peers[index].closed.wait()
    assert await _refused(proxy.port)
    assert await client.connections("p") == []


@pytest.mark.asyncio
async def test_reenable_rebinds_the_same_port(client: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    await client.update_proxy("p", enabled=False)
    again = await client.update_proxy("p", enabled=True)
    assert again.listen == proxy.listen
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"ok")
    assert await reader.readexactly(2) == b"ok"
    writer.close()


@pytest.mark.asyncio
async def test_delete_closes_connections_and_frees_the_port(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    await client.delete_proxy("p")
    assert await read_until_closed(reader, timeout=2) == (b"", None)
    writer.close()
    assert await _refused(proxy.port)
    with pytest.raises(ProxyNotFound):
        await client.delete_proxy("p")
    again = await client.create_proxy("p", upstream.addr, listen=proxy.listen)
    assert again.listen == proxy.listen


@pytest.mark.asyncio
async def test_port_conflict_is_500_with_go_text(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    holder = await client.create_proxy("a", upstream.addr)
    with pytest.raises(ProxyError) as caught:
        await client.create_proxy("b", upstream.addr, listen=holder.listen)
    assert caught.value.status == 500
    assert caught.value.message == f"listen tcp {holder.listen}: bind: address already in use"
    assert "b" not in await client.proxies()
    with pytest.raises(ProxyAlreadyExists):
        await client.create_proxy("a", upstream.addr)


@pytest.mark.asyncio
async def test_bad_listen_address_is_500(client: ToxiproxyClient, upstream: Upstream) -> None:
    with pytest.raises(ProxyError) as caught:
        await client.create_proxy("p", upstream.addr, listen="local373")
    assert caught.value.status == 500
    assert caught.value.message == "listen tcp: address local373: missing port in address"


@pytest.mark.asyncio
async def test_equivalent_listen_update_keeps_live_connections(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    """Since 2.12 ``localhost:P`` and ``127.0.0.1:P`` are the same listen address."""
    proxy = await client.create_proxy("p", upstream.addr)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"1")
    assert await reader.readexactly(1) == b"1"
    await client.update_proxy("p", listen=f"localhost:{proxy.port}")
    writer.write(b"2")
    async with asyncio.timeout(2):
        assert await reader.readexactly(1) == b"2"
    writer.close()


@pytest.mark.asyncio
async def test_upstream_change_restarts_and_new_connections_use_it(
    client: ToxiproxyClient, upstream: Upstream, sink: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    updated = await client.update_proxy("p", upstream=sink.addr)
    assert (updated.upstream, updated.listen, updated.enabled) == (sink.addr, proxy.listen, True)
    assert await read_until_closed(reader, timeout=2) == (b"", None)  # old one closed
    writer.close()
    _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"new")
    assert await (await sink.peer()).wait_bytes(3) == b"new"
    writer.close()


@pytest.mark.asyncio
async def test_reset_enables_and_removes_toxics_but_keeps_proxies(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    await client.add_toxic("p", "latency", attributes={"latency": 100, "jitter": 10})
    await client.update_proxy("p", enabled=False)
    await client.reset()
    after = await client.get_proxy("p")
    assert (after.enabled, after.toxics, after.listen) == (True, (), proxy.listen)


@pytest.mark.asyncio
async def test_populate_keeps_identical_and_replaces_changed(
    client: ToxiproxyClient, upstream: Upstream, sink: Upstream
) -> None:
    first = await client.populate(
        [{"name": "a", "listen": "127.0.0.1:0", "upstream": upstream.addr}]
    )
    listen = first[0].listen
    await client.add_toxic("a", "latency", attributes={"latency": 5})
    kept = await client.populate(
        [{"name": "a", "listen": f"localhost:{first[0].port}", "upstream": upstream.addr}]
    )
    assert kept[0].listen == listen
    assert [t.name for t in kept[0].toxics] == ["latency_downstream"]
    replaced = await client.populate([{"name": "a", "listen": listen, "upstream": sink.addr}])
    assert replaced[0].toxics == ()
    assert replaced[0].upstream == sink.addr


@pytest.mark.asyncio
async def test_stopping_the_server_closes_everything(upstream: Upstream) -> None:
    async with ProxyServer() as srv, ToxiproxyClient(srv.url) as api:
        proxy = await api.create_proxy("p", upstream.addr)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        await api.add_toxic("p", "latency", attributes={"latency": 10_000})
        writer.write(b"held by latency")
    assert await read_until_closed(reader, timeout=2) == (b"", None)
    writer.close()
    assert await _refused(proxy.port)


def test_api_binds_loopback_only() -> None:
    async def main() -> tuple[str, int]:
        async with ProxyServer() as srv:
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=1)
            sock.close()
            return srv.url, srv.port

    url, port = asyncio.run(main())
    assert url == f"http://127.0.0.1:{port}"


def test_api_on_localhost_answers_ipv4_and_ipv6() -> None:
    async def main() -> list[str]:
        async with ProxyServer(host="localhost") as srv:
            reached = []
            for host in ("127.0.0.1", "::1"):
                try:
                    reader, writer = await asyncio.open_connection(host, srv.port)
                except OSError:
                    continue
                writer.write(b"GET /version HTTP/1.0\r\n\r\n")
                reached.append((await reader.read())[:12].decode())
                writer.close()
            return reached

    reached = asyncio.run(main())
    assert reached[0] == "HTTP/1.0 200"
    if socket.has_ipv6:
        assert reached == ["HTTP/1.0 200", "HTTP/1.0 200"]
