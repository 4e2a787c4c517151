"""NATS-protocol toxics with real nats-server processes, our proxy and real nats-py clients.

Every message check uses a barrier (a later message on the same connection) instead of a
sleep: NATS keeps the order of one publisher's messages to one subscriber, so when the
barrier arrives, everything published before it has arrived too, or never will.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
import pytest_asyncio
from nats.aio.msg import Msg

from nats_fault_harness import wait_until_async as until
from nats_fault_harness.proxy import ProxyInfo, ToxiproxyClient
from nats_fault_harness.proxy._fixtures_support import ToxiproxyEndpoint
from nats_fault_harness.servers import ClusterSpec, NatsServer, ServerConfig


class Inbox:
    """Collects messages of a subscription callback."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bytes]] = []

    async def on(self, msg: Msg) -> None:
        self.got.append((msg.subject, msg.data))

    def subjects(self) -> list[str]:
        return [subject for subject, _ in self.got]


@pytest_asyncio.fixture
async def api(toxiproxy: ToxiproxyEndpoint) -> AsyncIterator[ToxiproxyClient]:
    async with toxiproxy.client() as client:
        yield client


async def connect(url: str, name: str, callbacks: Any = None, **options: Any) -> nats.NATS:
    settings: dict[str, Any] = {
        "name": name,
        "connect_timeout": 1,
        "reconnect_time_wait": 0.1,
        "max_reconnect_attempts": -1,
        "dont_randomize": True,
        **(callbacks.options() if callbacks is not None else {}),
        **options,
    }
    return await nats.connect(url, **settings)


def url_of(proxy: ProxyInfo) -> str:
    return f"nats://{proxy.listen}"


async def fired(api: ToxiproxyClient, since: int, toxic: str) -> list[dict[str, Any]]:
    events = (await api.events(since)).events
    return [e for e in events if e["type"] == "toxic_fired" and e["toxic"] == toxic]


@pytest.mark.asyncio
async def test_drop_the_third_pub_to_orders_star(
    api: ToxiproxyClient, nats_server: NatsServer
) -> None:
    proxy = await api.create_proxy("nats", f"127.0.0.1:{nats_server.port}")
    start = (await api.events()).next
    await api.add_toxic(
        "nats",
        "nats",
        stream="upstream",
        name="third_order",
        attributes={"verb": "PUB", "subject": "orders.*", "nth": 3, "action": "drop"},
    )
    watcher = await connect(nats_server.url, "watcher")
    inbox = Inbox()
    await watcher.subscribe("orders.*", cb=inbox.on)
    await watcher.subscribe("barrier", cb=inbox.on)
    await watcher.flush()
    publisher = await connect(url_of(proxy), "publisher")
    for i in range(1, 7):
        await publisher.publish(f"orders.{i}", b"order %d" % i)
    await publisher.publish("barrier", b"")
    await publisher.flush()
    await until(lambda: "barrier" in inbox.subjects(), timeout=5, what="the barrier message")
    assert inbox.subjects() == [
        "orders.1",
        "orders.2",
        "orders.4",
        "orders.5",
        "orders.6",
        "barrier",
    ]
    assert inbox.got[2] == ("orders.4", b"order 4")  # payloads untouched
    drops = await fired(api, start, "third_order")
    assert [(e["effect"], e["verb"], e["subject"], e["count"]) for e in drops] == [
        ("drop", "PUB", "orders.3", 3)
    ]
    await publisher.close()
    await watcher.close()


@pytest.mark.asyncio
async def test_holding_every_pong_for_two_seconds_makes_the_client_stale(
    api: ToxiproxyClient, nats_server: NatsServer, callback_log: Any
) -> None:
    proxy = await api.create_proxy("nats", f"127.0.0.1:{nats_server.port}")
    callbacks = callback_log()
    nc = await connect(
        url_of(proxy), "pinger", callbacks, ping_interval=0.5, max_outstanding_pings=1
    )
    inbox = Inbox()
    await nc.subscribe("still.flowing", cb=inbox.on)
    await nc.flush(timeout=2)
    held_at = time.monotonic()
    await api.add_toxic(
        "nats",
        "nats",
        name="slow_pong",
        attributes={"verb": "PONG", "action": "hold", "delay": 2000},
    )
    with pytest.raises(nats.errors.FlushTimeoutError):
        await nc.flush(timeout=1)
    # The byte stream is intact: MSGs still flow while PONGs are held (until stale).
    await nc.publish("still.flowing", b"yes")
    await until(
        lambda: callbacks.names().count("disconnected") >= 1,
        timeout=6,
        what="stale connection detected",
    )
    # Stale once a PING stays unanswered past the next tick: ~1 s; never the 2 s hold.
    assert callbacks.at("disconnected") - held_at < 2.0, callbacks.seen
    await api.remove_toxic("nats", "slow_pong")
    await until(
        lambda: "reconnected" in callbacks.names(), timeout=10, what="reconnect once PONGs flow"
    )
    await nc.flush(timeout=2)
    await nc.close()


@pytest.mark.asyncio
async def test_duplicate_each_msg_on_chat(api: ToxiproxyClient, nats_server: NatsServer) -> None:
    proxy = await api.create_proxy("nats", f"127.0.0.1:{nats_server.port}")
    await api.add_toxic(
        "nats",
        "nats",
        name="echo_chat",
        attributes={"verb": "MSG", "subject": "chat.>", "action": "duplicate"},
    )
    listener = await connect(url_of(proxy), "listener")
    inbox = Inbox()
    await listener.subscribe("chat.>", cb=inbox.on)
    await listener.subscribe("news", cb=inbox.on)
    await listener.flush()
    speaker = await connect(nats_server.url, "speaker")
    await speaker.publish("chat.room1", b"hello")
    await speaker.publish("chat.room1.thread", b"world")
    await speaker.publish("news", b"once")
    await speaker.flush()
    await until(lambda: "news" in inbox.subjects(), timeout=5, what="the news barrier")
    assert inbox.got == [
        ("chat.room1", b"hello"),
        ("chat.room1", b"hello"),
        ("chat.room1.thread", b"world"),
        ("chat.room1.thread", b"world"),
        ("news", b"once"),
    ]
    await speaker.close()
    await listener.close()


@pytest.mark.asyncio
async def test_toxics_targeted_by_connect_name_touch_only_that_client(
    api: ToxiproxyClient, nats_server: NatsServer
) -> None:
    proxy = await api.create_proxy("nats", f"127.0.0.1:{nats_server.port}")
    a = await connect(url_of(proxy), "a")
    b = await connect(url_of(proxy), "b")
    listed = {c["connect_name"]: c["kind"] for c in await api.connections("nats")}
    assert listed == {"a": "client", "b": "client"}
    await api.add_toxic(
        "nats", "latency", name="slow_b", connect_name="b", attributes={"latency": 300}
    )
    assert await a.rtt(timeout=2) < 0.2
    assert 0.28 <= await b.rtt(timeout=2) < 1.5
    await api.remove_toxic("nats", "slow_b")

    await api.add_toxic(
        "nats",
        "nats",
        stream="upstream",
        name="mute_b",
        connect_name="b",
        attributes={"verb": "PUB", "subject": "talk.>", "action": "drop"},
    )
    watcher = await connect(nats_server.url, "watcher")
    inbox = Inbox()
    await watcher.subscribe(">", cb=inbox.on)
    await watcher.flush()
    for client, name in ((a, "a"), (b, "b")):
        await client.publish(f"talk.{name}", b"hi")
        await client.publish(f"done.{name}", b"")
        await client.flush()
    await until(
        lambda: {"done.a", "done.b"} <= set(inbox.subjects()), timeout=5, what="both barriers"
    )
    assert [s for s in inbox.subjects() if s.startswith("talk.")] == ["talk.a"]
    for client in (a, b, watcher):
        await client.close()


@pytest.mark.asyncio
async def test_reset_endpoint_resets_the_named_client_which_reconnects(
    api: ToxiproxyClient, nats_server: NatsServer, callback_log: Any
) -> None:
    proxy = await api.create_proxy("nats", f"127.0.0.1:{nats_server.port}")
    victim_events, bystander_events = callback_log(), callback_log()
    victim = await connect(url_of(proxy), "victim", victim_events)
    bystander = await connect(url_of(proxy), "bystander", bystander_events)
    await until(
        lambda: victim.is_connected and bystander.is_connected, timeout=5, what="both connected"
    )
    await asyncio.sleep(0.15)  # nats-py waits reconnect_time_wait only for young links
    closed = await api.reset_connections("nats", connect_name="victim")
    assert len(closed) == 1
    await until(
        lambda: "reconnected" in victim_events.names(), timeout=5, what="victim reconnected"
    )
    assert victim_events.names()[:2] == ["error:ConnectionResetError", "disconnected"]
    await victim.flush(timeout=2)
    await bystander.flush(timeout=2)
    assert bystander_events.names() == []
    names = sorted(c["connect_name"] for c in await api.connections("nats"))
    assert names == ["bystander", "victim"]
    await victim.close()
    await bystander.close()


def _route_ids(server: NatsServer) -> set[str]:
    return {route["remote_id"] for route in server.routez()["routes"]}


@pytest.mark.asyncio
@pytest.mark.cluster
async def test_closing_route_connects_partitions_two_nodes_until_removed(
    api: ToxiproxyClient, tmp_path: Path
) -> None:
    node0 = NatsServer(
        ServerConfig(), cluster=ClusterSpec(name="c"), base_dir=tmp_path, name="node0"
    )
    started: list[NatsServer] = [node0]
    # node1 gossips an address that refuses connections, so node0 can never dial it
    # directly (an implicit route around the proxy, seen under load): every route passes
    # the proxy, as in FaultyCluster.
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))
    try:
        await asyncio.to_thread(node0.start)
        proxy = await api.create_proxy("route", f"127.0.0.1:{node0.cluster_port}")
        node1 = NatsServer(
            ServerConfig(),
            base_dir=tmp_path,
            name="node1",
            cluster=ClusterSpec(
                name="c",
                routes=(f"nats://{proxy.listen}",),
                advertise=f"127.0.0.1:{refusing.getsockname()[1]}",
            ),
        )
        started.append(node1)
        await asyncio.to_thread(node1.start)
        routed: Callable[[], bool] = lambda: _route_ids(node0) == {node1.server_id}  # noqa: E731
        await until(routed, timeout=10, what="node1 routed to node0 through the proxy")

        # Pooled route connections are identified as their CONNECT arrives: wait for all.
        async def identified() -> set[tuple[str, str]]:
            listed = await api.connections("route")
            seen = {(c["connect_name"], c["kind"]) for c in listed}
            return seen if listed and (None, None) not in seen else set()

        seen = await until(identified, timeout=5, what="route connections identified")
        assert seen == {(node1.server_id, "route")}

        await api.add_toxic(
            "route",
            "nats",
            stream="upstream",
            name="partition",
            connect_name=node1.server_id,
            attributes={"verb": "CONNECT", "action": "close"},
        )
        # Established routes passed their CONNECT already: cut them; redials are refused.
        assert await api.reset_connections("route", connect_name=node1.server_id)
        await until(
            lambda: not _route_ids(node0) and not _route_ids(node1),
            timeout=5,
            what="the route gone on both nodes",
        )
        start = (await api.events()).next
        await until(
            lambda: _closed_redials(api, start),
            timeout=10,
            what="node1 redialling and being closed",
        )
        assert not _route_ids(node0)
        assert not _route_ids(node1)

        await api.remove_toxic("route", "partition")
        await until(routed, timeout=15, what="the route back after removal")
        assert node0.server_id in _route_ids(node1)
    finally:
        for server in reversed(started):
            await asyncio.to_thread(server.close)
        refusing.close()


async def _closed_redials(api: ToxiproxyClient, since: int) -> bool:
    return len(await fired(api, since, "partition")) >= 2


@pytest.mark.asyncio
@pytest.mark.parametrize(("verb", "dropped"), [("PUB", []), ("PUB*", ["orders.2", "orders.4"])])
async def test_the_pub_family_catches_publishes_with_headers(
    api: ToxiproxyClient, nats_server: NatsServer, verb: str, dropped: list[str]
) -> None:
    """nats-py sends a publish with headers (``Nats-Msg-Id``) as HPUB: ``PUB`` misses it,
    the family ``PUB*`` drops the 2nd and 4th publish, with headers or without."""
    proxy = await api.create_proxy("nats", f"127.0.0.1:{nats_server.port}")
    start = (await api.events()).next
    await api.add_toxic(
        "nats",
        "nats",
        stream="upstream",
        name="family",
        attributes={"verb": verb, "subject": "orders.*", "every": 2, "action": "drop"},
    )
    watcher = await connect(nats_server.url, "watcher")
    inbox = Inbox()
    await watcher.subscribe("orders.*", cb=inbox.on)
    await watcher.subscribe("barrier", cb=inbox.on)
    await watcher.flush()
    publisher = await connect(url_of(proxy), "publisher")
    for i in range(1, 5):  # odd ones plain (PUB), even ones with a header (HPUB)
        headers = {"Nats-Msg-Id": f"id-{i}"} if i % 2 == 0 else None
        await publisher.publish(f"orders.{i}", b"order %d" % i, headers=headers)
    await publisher.publish("barrier", b"")
    await publisher.flush()
    await until(lambda: "barrier" in inbox.subjects(), timeout=5, what="the barrier message")
    sent = [f"orders.{i}" for i in range(1, 5)]
    kept = [s for s in sent if s not in dropped]
    if verb == "PUB":  # only PUBs count: orders.1, orders.3; the 2nd of them is dropped
        kept = ["orders.1", "orders.2", "orders.4"]
    assert inbox.subjects() == [*kept, "barrier"]
    drops = await fired(api, start, "family")
    expected = [("PUB", "orders.3")] if verb == "PUB" else [("HPUB", s) for s in dropped]
    assert [(e["verb"], e["subject"]) for e in drops] == expected
    await publisher.close()
    await watcher.close()


@pytest.mark.asyncio
async def test_the_msg_family_drops_deliveries_with_headers(
    api: ToxiproxyClient, nats_server: NatsServer
) -> None:
    """A message published with headers is delivered as HMSG: ``MSG*`` drops it too."""
    proxy = await api.create_proxy("nats", f"127.0.0.1:{nats_server.port}")
    start = (await api.events()).next
    await api.add_toxic(
        "nats",
        "nats",
        stream="downstream",
        name="deliveries",
        attributes={"verb": "MSG*", "subject": "orders.>", "action": "drop"},
    )
    reader = await connect(url_of(proxy), "reader")
    inbox = Inbox()
    await reader.subscribe("orders.>", cb=inbox.on)
    await reader.subscribe("barrier", cb=inbox.on)
    await reader.flush()
    sender = await connect(nats_server.url, "sender")
    await sender.publish("orders.plain", b"a")
    await sender.publish("orders.headed", b"b", headers={"Nats-Msg-Id": "x"})
    await sender.publish("barrier", b"")
    await sender.flush()
    await until(lambda: "barrier" in inbox.subjects(), timeout=5, what="the barrier message")
    assert inbox.subjects() == ["barrier"]
    drops = await fired(api, start, "deliveries")
    assert [(e["verb"], e["subject"]) for e in drops] == [
        ("MSG", "orders.plain"),
        ("HMSG", "orders.headed"),
    ]
    await reader.close()
    await sender.close()
