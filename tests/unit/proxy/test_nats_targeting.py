"""NATS awareness in the proxy: ``connect_name`` identification and targeting, the ``nats``
toxic through the API, and the connection reset endpoint (in-process server, fake NATS peer).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from nats_fault_harness import wait_until_async
from nats_fault_harness.errors import ProxyError, ProxyNotFound
from nats_fault_harness.proxy import ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream, read_until_closed

INFO = b'INFO {"server_id":"SRV","max_payload":1048576} \r\n'


def connect_line(name: str | None, **extra: object) -> bytes:
    fields: dict[str, object] = {"verbose": False, "lang": "python", "name": name, **extra}
    fields = {key: value for key, value in fields.items() if value is not None}
    return b"CONNECT " + json.dumps(fields).encode() + b"\r\n"


async def nats_client(
    port: int, name: str | None, **extra: object
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw client that reads INFO and sends CONNECT, as nats clients do."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await reader.readuntil(b"\r\n") == INFO
    writer.write(connect_line(name, **extra))
    return reader, writer


async def connection_named(client: ToxiproxyClient, name: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = [c for c in await client.connections("p") if c["connect_name"] == name]
        return found[0] if found else None

    return await wait_until_async(probe, timeout=5, what=f"connection {name!r} identified")


async def round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
    start = time.monotonic()
    writer.write(b"PING\r\n")
    await reader.readuntil(b"PING\r\n")
    return time.monotonic() - start


@pytest.mark.asyncio
async def test_connections_are_identified_by_their_connect(client: ToxiproxyClient) -> None:
    async with Upstream("echo", greeting=INFO) as up:
        start = (await client.events()).next
        proxy = await client.create_proxy("p", up.addr)
        _, app = await nats_client(proxy.port, "orders-service")
        _, route = await nats_client(proxy.port, "NSERVERID", cluster="c", lang=None)
        _, anonymous = await nats_client(proxy.port, None)
        raw_reader, raw = await asyncio.open_connection("127.0.0.1", proxy.port)
        await raw_reader.readuntil(b"\r\n")
        raw.write(b"GET / HTTP/1.1\r\n\r\n")
        listed = await connection_named(client, "orders-service")
        assert (listed["kind"], listed["connected"]) == ("client", True)
        assert (await connection_named(client, "NSERVERID"))["kind"] == "route"
        assert (await connection_named(client, ""))["kind"] == "client"
        kinds = {c["id"]: (c["connect_name"], c["kind"]) for c in await client.connections("p")}
        assert kinds[4] == (None, None)  # not NATS: never identified
        for writer in (app, route, anonymous, raw):
            writer.close()
        await wait_until_async(
            lambda: _closed_events(client, start, 4),
            timeout=5,
            what="four connection_closed events",
        )
        events = (await client.events(start)).events
        identified = [e for e in events if e["type"] == "connection_identified"]
        assert [(e["connect_name"], e["kind"]) for e in identified] == [
            ("orders-service", "client"),
            ("NSERVERID", "route"),
            ("", "client"),
        ]
        closed = {e["connection"]: e for e in events if e["type"] == "connection_closed"}
        assert closed[1]["connect_name"] == "orders-service"
        assert closed[4]["kind"] is None


async def _closed_events(client: ToxiproxyClient, start: int, count: int) -> bool:
    events = (await client.events(start)).events
    return sum(e["type"] == "connection_closed" for e in events) >= count


@pytest.mark.asyncio
async def test_a_connect_split_across_reads_is_held_until_complete(
    client: ToxiproxyClient,
) -> None:
    async with Upstream("sink", greeting=INFO) as up:
        proxy = await client.create_proxy("p", up.addr)
        await client.add_toxic(
            "p",
            "nats",
            stream="upstream",
            connect_name="slow",
            attributes={"verb": "CONNECT", "action": "drop"},
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        await reader.readuntil(b"\r\n")
        line = connect_line("slow")
        for i in range(0, len(line), 5):
            writer.write(line[i : i + 5])
            await writer.drain()
            await asyncio.sleep(0.002)
        writer.write(b"PING\r\n")
        peer = await up.peer()
        assert await peer.wait_bytes(6) == b"PING\r\n"  # the targeted toxic saw the CONNECT
        writer.close()


@pytest.mark.asyncio
async def test_a_targeted_latency_slows_only_the_named_connection(
    client: ToxiproxyClient,
) -> None:
    async with Upstream("echo", greeting=INFO) as up:
        proxy = await client.create_proxy("p", up.addr)
        await client.add_toxic(
            "p", "latency", name="slow_b", connect_name="b*", attributes={"latency": 300}
        )
        a = await nats_client(proxy.port, "a")
        b = await nats_client(proxy.port, "b-1")
        await a[0].readuntil(b"\r\n")  # the echoed CONNECT
        await b[0].readuntil(b"\r\n")
        assert await round_trip(*a) < 0.2
        assert 0.28 <= await round_trip(*b) < 1.0
        listed = {c["connect_name"]: c for c in await client.connections("p")}
        assert listed["a"]["toxics"]["downstream"] == []
        assert listed["b-1"]["toxics"]["downstream"] == ["slow_b"]
        # Retargeting an existing toxic applies to live connections at once.
        await client.update_toxic("p", "slow_b", connect_name="a")
        assert 0.28 <= await round_trip(*a) < 1.0
        assert await round_trip(*b) < 0.2
        for _, writer in (a, b):
            writer.close()


@pytest.mark.asyncio
async def test_connect_name_is_in_the_toxic_json_only_when_set(client: ToxiproxyClient) -> None:
    async with Upstream("echo") as up:
        await client.create_proxy("p", up.addr)
        plain = await client.add_toxic("p", "latency", attributes={"latency": 1})
        assert plain.attributes == {"latency": 1, "jitter": 0}
        targeted = await client.add_toxic(
            "p", "latency", name="t", connect_name="x", attributes={"latency": 1}
        )
        assert targeted.attributes == {"latency": 1, "jitter": 0, "connect_name": "x"}
        kept = await client.update_toxic("p", "t", attributes={"latency": 2})
        assert kept.connect_name == "x"
        cleared = await client.update_toxic("p", "t", connect_name="")
        assert "connect_name" not in cleared.attributes
        with pytest.raises(ProxyError, match="connect_name of type string") as info:
            await client.add_toxic("p", "noop", attributes={"connect_name": 5})
        assert info.value.status == 400


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("attributes", "words"),
    [
        ({"verb": "PUBLISH", "action": "drop"}, "attribute verb must be one of"),
        ({"action": "drop", "nth": 1, "every": 2}, "every cannot be combined with nth"),
        ({"action": "drop", "subject": "a.>.b"}, "attribute subject must be a NATS subject"),
        ({"action": "drop", "probability": 2}, "probability must be between 0 and 1, got 2"),
    ],
)
async def test_nats_toxic_validation_is_a_400_naming_the_attribute(
    client: ToxiproxyClient, attributes: dict[str, object], words: str
) -> None:
    async with Upstream("echo") as up:
        await client.create_proxy("p", up.addr)
        with pytest.raises(ProxyError, match=words) as info:
            await client.add_toxic("p", "nats", attributes=attributes)
        assert info.value.status == 400
        assert await client.toxics("p") == []


@pytest.mark.asyncio
async def test_nats_toxic_on_a_live_connection_and_its_events(client: ToxiproxyClient) -> None:
    async with Upstream("sink", greeting=INFO) as up:
        proxy = await client.create_proxy("p", up.addr)
        _, writer = await nats_client(proxy.port, "pub")
        writer.write(b"PUB orders.0 1\r\n0\r\n")
        peer = await up.peer()
        await peer.wait_bytes(len(connect_line("pub")) + 19)
        start = (await client.events()).next
        await client.add_toxic(
            "p",
            "nats",
            stream="upstream",
            name="third",
            attributes={"verb": "PUB", "subject": "orders.*", "nth": 3, "action": "drop"},
        )
        frames = [b"PUB orders.%d 1\r\n%d\r\n" % (i, i) for i in range(1, 6)]
        for frame in frames:
            writer.write(frame)
        before = len(peer.received)
        await peer.wait_bytes(before + sum(map(len, frames)) - len(frames[2]))
        assert bytes(peer.received[before:]) == b"".join(frames[:2] + frames[3:])
        fired = [e for e in (await client.events(start)).events if e["type"] == "toxic_fired"]
        assert [(e["toxic"], e["effect"], e["verb"], e["subject"], e["count"]) for e in fired] == [
            ("third", "drop", "PUB", "orders.3", 3)
        ]
        writer.close()


@pytest.mark.asyncio
async def test_close_on_connect_of_a_named_peer(client: ToxiproxyClient) -> None:
    async with Upstream("sink", greeting=INFO) as up:
        proxy = await client.create_proxy("p", up.addr)
        await client.add_toxic(
            "p",
            "nats",
            stream="upstream",
            connect_name="NODE1",
            attributes={"verb": "CONNECT", "action": "close"},
        )
        reader, writer = await nats_client(proxy.port, "NODE1", cluster="c", lang=None)
        data, _ = await read_until_closed(reader, timeout=5)
        assert data == b""
        writer.close()
        _, ok = await nats_client(proxy.port, "NODE2", cluster="c", lang=None)
        ok.write(b"PING\r\n")
        peer = await up.peer(1)
        assert await peer.wait_bytes(len(connect_line("NODE2", cluster="c", lang=None)) + 6)
        ok.close()


# ---------------------------------------------------------------- connections/reset


@pytest.mark.asyncio
async def test_reset_connections_by_name_with_rst_and_fin(client: ToxiproxyClient) -> None:
    async with Upstream("echo", greeting=INFO) as up:
        proxy = await client.create_proxy("p", up.addr)
        a_reader, a_writer = await nats_client(proxy.port, "a")
        b_reader, b_writer = await nats_client(proxy.port, "b")
        c_reader, c_writer = await nats_client(proxy.port, "c")
        await connection_named(client, "a")
        await connection_named(client, "b")
        listed = await connection_named(client, "c")
        assert await client.reset_connections("p", connect_name="a") == [1]
        _, error = await read_until_closed(a_reader)
        assert isinstance(error, ConnectionResetError)
        assert await client.reset_connections("p", connect_name="b", mode="fin") == [2]
        data, error = await read_until_closed(b_reader)
        assert error is None
        assert data.endswith(b"\r\n")  # the echoed CONNECT, then a clean EOF
        assert [c["id"] for c in await client.connections("p")] == [listed["id"]]
        assert await client.reset_connections("p", ids=[99]) == []
        assert await round_trip(c_reader, c_writer) < 1.0  # untouched
        assert await client.reset_connections("p") == [3]
        for writer in (a_writer, b_writer, c_writer):
            writer.close()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"mode": "kill"}, "mode must be rst or fin"),
        ({"ids": [1, "2"]}, "ids must be an array"),
        ({"ids": 3}, "ids must be an array"),
        ({"connect_name": 1}, "of type string"),
    ],
)
async def test_reset_connections_validation(
    client: ToxiproxyClient, body: dict[str, object], words: str
) -> None:
    async with Upstream("echo") as up:
        await client.create_proxy("p", up.addr)
        status, raw = await client._send("POST", "/proxies/p/connections/reset", body)
        assert status == 400
        assert words in raw.decode()
    with pytest.raises(ProxyNotFound):
        await client.reset_connections("nope")


@pytest.mark.asyncio
async def test_the_count_is_per_proxy_stream_and_restarts_on_update(
    client: ToxiproxyClient,
) -> None:
    async with Upstream("sink", greeting=INFO) as up:
        proxy = await client.create_proxy("p", up.addr)
        await client.add_toxic(
            "p",
            "nats",
            stream="upstream",
            name="second",
            attributes={"verb": "PUB", "nth": 2, "action": "drop"},
        )
        first = await nats_client(proxy.port, "one")
        second = await nats_client(proxy.port, "two")
        first[1].write(b"PUB a 1\r\n1\r\n")  # match 1
        peer0 = await up.peer(0)
        await peer0.wait_bytes(len(connect_line("one")) + 12)
        second[1].write(b"PUB a 1\r\n2\r\nPUB a 1\r\n3\r\n")  # matches 2 (dropped) and 3
        peer1 = await up.peer(1)
        assert (await peer1.wait_bytes(len(connect_line("two")) + 12)).endswith(b"PUB a 1\r\n3\r\n")
        await client.update_toxic("p", "second", attributes={"nth": 2})  # counts afresh
        first[1].write(b"PUB a 1\r\n4\r\nPUB a 1\r\n5\r\nPUB a 1\r\n6\r\n")
        data = await peer0.wait_bytes(len(connect_line("one")) + 36)
        assert data.endswith(b"PUB a 1\r\n1\r\nPUB a 1\r\n4\r\nPUB a 1\r\n6\r\n")
        for _, writer in (first, second):
            writer.close()
