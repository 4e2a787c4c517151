"""The async client: typed results, error mapping, feature detection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from nats_fault_harness.errors import (
    ProxyAlreadyExists,
    ProxyError,
    ProxyNotFound,
    ToxicAlreadyExists,
    ToxicNotFound,
    UnsupportedFeature,
)
from nats_fault_harness.proxy import ProxyInfo, ToxicInfo, ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream


@pytest_asyncio.fixture
async def plain_toxiproxy() -> AsyncIterator[str]:
    """An HTTP server that answers like a real Toxiproxy to paths it lacks."""

    async def not_found(request: web.Request) -> web.Response:
        return web.Response(text="404 page not found\n", status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_found)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.asyncio
async def test_typed_round_trip(client: ToxiproxyClient, upstream: Upstream) -> None:
    created = await client.create_proxy("p", upstream.addr)
    assert isinstance(created, ProxyInfo)
    assert created.enabled
    toxic = await client.add_toxic(
        "p", "latency", name="lag", stream="upstream", toxicity=0.25, attributes={"latency": 5}
    )
    assert toxic == ToxicInfo("lag", "latency", "upstream", 0.25, {"latency": 5, "jitter": 0})
    updated = await client.update_toxic("p", "lag", attributes={"jitter": 2})
    assert updated.attributes == {"latency": 5, "jitter": 2}
    assert await client.toxics("p") == [updated]
    assert await client.get_toxic("p", "lag") == updated
    assert (await client.proxies())["p"].toxics == (updated,)
    disabled = await client.update_proxy("p", enabled=False)
    assert (disabled.enabled, disabled.listen) == (False, created.listen)
    await client.remove_toxic("p", "lag")
    await client.delete_proxy("p")
    assert await client.proxies() == {}


@pytest.mark.asyncio
async def test_names_are_quoted_in_paths(client: ToxiproxyClient, upstream: Upstream) -> None:
    await client.create_proxy("a b/c?", upstream.addr)
    await client.add_toxic("a b/c?", "noop", name="n %2F")
    assert (await client.get_proxy("a b/c?")).toxics[0].name == "n %2F"
    assert [c["id"] for c in await client.connections("a b/c?")] == []
    await client.remove_toxic("a b/c?", "n %2F")
    await client.delete_proxy("a b/c?")


@pytest.mark.asyncio
async def test_errors_map_to_harness_exceptions(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    with pytest.raises(ProxyNotFound) as caught:
        await client.get_proxy("nope")
    assert (caught.value.status, caught.value.message) == (404, "proxy not found")
    await client.create_proxy("p", upstream.addr)
    with pytest.raises(ProxyAlreadyExists):
        await client.create_proxy("p", upstream.addr)
    with pytest.raises(ToxicNotFound):
        await client.remove_toxic("p", "nope")
    await client.add_toxic("p", "noop", name="n")
    with pytest.raises(ToxicAlreadyExists):
        await client.add_toxic("p", "latency", name="n", stream="upstream")
    with pytest.raises(ProxyError) as bad:
        await client.add_toxic("p", "bandwidth", attributes={"rate": 0})
    assert bad.value.status == 400
    assert "rate" in bad.value.message
    assert "got 0" in bad.value.message


@pytest.mark.asyncio
async def test_unreachable_server_is_a_proxy_error() -> None:
    async with ToxiproxyClient("http://127.0.0.1:9", timeout=2) as api:
        with pytest.raises(ProxyError, match="failed"):
            await api.proxies()


@pytest.mark.asyncio
async def test_feature_detection_against_a_server_without_extensions(
    plain_toxiproxy: str,
) -> None:
    async with ToxiproxyClient(plain_toxiproxy) as api:
        assert await api.extensions() is None
        with pytest.raises(UnsupportedFeature):
            await api.events()
        with pytest.raises(UnsupportedFeature):
            await api.connections("p")
