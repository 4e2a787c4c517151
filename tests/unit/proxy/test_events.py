"""The event feed and the connection listing (extensions)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from nats_fault_harness.errors import ProxyNotFound
from nats_fault_harness.proxy import ProxyServer, ToxiproxyClient
from nats_fault_harness.proxy._events import EventLog
from nats_fault_harness.proxy._testing import Upstream, read_until_closed


def _of(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


@pytest.mark.asyncio
async def test_extensions_report(server: ProxyServer, client: ToxiproxyClient) -> None:
    report = await client.extensions()
    assert report is not None
    assert report["extensions"] == [
        "seed",
        "events",
        "connections",
        "validation",
        "nats",
        "connect_name",
        "connection_reset",
        "reset_after",
        "blackhole",
        "batch",
    ]
    assert (report["seed"], report["seeded"]) == (1234, True)


@pytest.mark.asyncio
async def test_random_seed_is_reported() -> None:
    async with ProxyServer() as srv, ToxiproxyClient(srv.url) as api:
        report = await api.extensions()
    assert report is not None
    assert report["seeded"] is False
    assert report["seed"] == srv.seed


@pytest.mark.asyncio
async def test_connection_lifecycle_events_with_bytes(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    start = (await client.events()).next
    proxy = await client.create_proxy("p", upstream.addr)
    await client.add_toxic(
        "p", "limit_data", name="cap", stream="upstream", attributes={"bytes": 100}
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    local = "{}:{}".format(*writer.get_extra_info("sockname"))
    writer.write(b"a" * 40)
    assert await reader.readexactly(40) == b"a" * 40
    writer.write(b"b" * 100)
    data, _ = await read_until_closed(reader, timeout=5)
    writer.close()

    async def closed() -> list[dict[str, Any]]:
        page = await client.events(start)
        return page.events if _of(page.events, "connection_closed") else []

    async with asyncio.timeout(5):
        events = await closed()
        while not events:
            page = await client.events(start, wait_ms=500)
            events = page.events if _of(page.events, "connection_closed") else []
    assert all(e["seq"] > start for e in events)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    opened = _of(events, "connection_opened")[0]
    assert (opened["proxy"], opened["connection"], opened["client"]) == ("p", 1, local)
    rolled = _of(events, "toxic_rolled")[0]
    assert (rolled["toxic"], rolled["stream"], rolled["active"]) == ("cap", "upstream", True)
    fired = _of(events, "toxic_fired")[0]
    assert (fired["toxic"], fired["toxic_type"], fired["effect"]) == (
        "cap",
        "limit_data",
        "limit_reached",
    )
    done = _of(events, "connection_closed")[0]
    assert done["reason"] == "limit_reached"
    assert (done["bytes_up"], done["bytes_up_sent"]) == (140, 100)
    assert done["bytes_down"] == done["bytes_down_sent"] == 40 + len(data)
    assert _of(events, "toxic_added")[0]["toxic"]["attributes"] == {"bytes": 100}
    for event in events:
        assert isinstance(event["t"], float)
        assert isinstance(event["wall"], float)
        assert abs(event["wall"] - time.time()) < 60


@pytest.mark.asyncio
async def test_long_poll_returns_when_an_event_arrives(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    cursor = (await client.events()).next
    waiter = asyncio.ensure_future(client.events(cursor, wait_ms=5000))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    started = time.monotonic()
    await client.create_proxy("p", upstream.addr)
    page = await asyncio.wait_for(waiter, 5)
    assert time.monotonic() - started < 1.0
    assert page.events
    assert page.next > cursor


def test_ring_buffer_is_bounded_and_reports_drops() -> None:
    log = EventLog(capacity=5)
    for i in range(12):
        log.emit("tick", i=i)
    events, nxt, dropped = log.since(0)
    assert [e["i"] for e in events] == [7, 8, 9, 10, 11]
    assert (nxt, dropped) == (12, 7)
    events, nxt, dropped = log.since(10)
    assert ([e["i"] for e in events], nxt, dropped) == ([10, 11], 12, 0)
    assert log.since(12) == ([], 12, 0)
    assert log.since(99) == ([], 12, 0), "a cursor from another server resyncs"
    events, nxt, _ = log.since(0, limit=2)
    assert ([e["seq"] for e in events], nxt) == ([8, 9], 9)


@pytest.mark.asyncio
async def test_connections_listing(client: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    await client.add_toxic("p", "latency", name="lag", attributes={"latency": 1})
    await client.add_toxic("p", "latency", name="never", stream="upstream", toxicity=0.0)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"12345")
    await reader.readexactly(5)
    listed = await client.connections("p")
    assert len(listed) == 1
    conn = listed[0]
    assert conn["id"] == 1
    assert conn["client"] == "{}:{}".format(*writer.get_extra_info("sockname"))
    assert (conn["bytes_up"], conn["bytes_down"]) == (5, 5)
    assert conn["toxics"] == {"upstream": [], "downstream": ["lag"]}
    assert conn["opened_at"] <= time.monotonic()
    writer.close()
    with pytest.raises(ProxyNotFound):
        await client.connections("nope")
