"""The CONNECT sniffer never delays plain TCP; it holds only for a ``connect_name`` toxic.

The hold limit is raised to an hour here, so a byte that is held simply never arrives
within the test's deadline: the checks wait for arrival with deadlines and never depend on
how fast this machine is.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from nats_fault_harness import wait_until_async
from nats_fault_harness.proxy import ToxiproxyClient
from nats_fault_harness.proxy._testing import Peer, Upstream

INFO = b'INFO {"server_id":"SRV","max_payload":1048576} \r\n'
CONNECT = b'CONNECT {"lang":"python","name":"svc"}\r\n'


@pytest.fixture(autouse=True)
def _hold_for_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nats_fault_harness.proxy._identify.HOLD_SECONDS", 3600.0)


async def connected(
    client: ToxiproxyClient, up: Upstream
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Peer]:
    proxy = await client.get_proxy("p")
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    peer = await up.peer()
    if up.greeting:
        assert await reader.readexactly(len(up.greeting)) == up.greeting
    return reader, writer, peer


async def sent_promptly(
    client: ToxiproxyClient, writer: asyncio.StreamWriter, peer: Peer, data: bytes
) -> None:
    """``data`` reaches the upstream, and the proxy's listing says it forwarded it all."""
    before = len(peer.received)
    writer.write(data)
    await writer.drain()
    got = await peer.wait_bytes(before + len(data), timeout=5.0)
    assert got.endswith(data)
    [conn] = await client.connections("p")
    assert conn["bytes_up_held"] == 0
    assert conn["bytes_up_sent"] == conn["bytes_up"]


@pytest.mark.asyncio
@pytest.mark.parametrize("greeting", [b"", INFO])
@pytest.mark.parametrize("toxic", [None, "nats", "latency"])
@pytest.mark.parametrize("first", [b"c", b"CONNE"])
async def test_without_a_targeted_toxic_nothing_is_held(
    client: ToxiproxyClient, greeting: bytes, toxic: str | None, first: bytes
) -> None:
    """A lone ``c``, or half a ``CONNECT``: forwarded at once, whatever the upstream speaks
    and whatever other toxics (NATS-aware or not) the proxy has."""
    async with Upstream("sink", greeting=greeting) as up:
        await client.create_proxy("p", up.addr)
        if toxic == "nats":  # downstream: a frame toxic holds a partial frame by design
            await client.add_toxic("p", "nats", attributes={"verb": "MSG", "action": "drop"})
        elif toxic == "latency":
            await client.add_toxic("p", "latency", attributes={"latency": 1})
        _, writer, peer = await connected(client, up)
        await sent_promptly(client, writer, peer, first)
        if first == b"CONNE":  # the rest: identified all the same, from the watched copy
            writer.write(CONNECT[len(first) :])
            [conn] = await wait_until_async(
                lambda: _identified(client), timeout=5, what="the connection identified"
            )
            assert (conn["connect_name"], conn["kind"]) == ("svc", "client")
        writer.close()


async def _identified(client: ToxiproxyClient) -> list[dict[str, object]] | None:
    conns = await client.connections("p")
    return conns if conns and conns[0]["connect_name"] is not None else None


@pytest.mark.asyncio
@pytest.mark.parametrize("first", [b"c", b"CONN", b"co", b"C"])
async def test_a_targeted_toxic_does_not_delay_plain_tcp(
    client: ToxiproxyClient, first: bytes
) -> None:
    """An upstream that does not greet with INFO is not NATS: a CONNECT prefix passes."""
    async with Upstream("echo") as up:
        await client.create_proxy("p", up.addr)
        await client.add_toxic("p", "latency", connect_name="svc", attributes={"latency": 1})
        reader, writer, peer = await connected(client, up)
        await sent_promptly(client, writer, peer, first)
        assert await reader.readexactly(len(first)) == first
        await sent_promptly(client, writer, peer, b" more bytes\r\n")
        [conn] = await client.connections("p")
        assert conn["connect_name"] is None
        writer.close()


@pytest.mark.asyncio
async def test_a_targeted_toxic_holds_a_nats_connect_until_its_line_ends(
    client: ToxiproxyClient,
) -> None:
    """Held from the first byte (INFO came first, or the line starts ``CONNECT ``) so the
    targeted toxic sees the CONNECT; released with the CRLF."""
    for greeting, first in ((INFO, b"c"), (b"", b"CONNECT {")):
        async with Upstream("sink", greeting=greeting) as up:
            await client.create_proxy("p", up.addr)
            await client.add_toxic(
                "p",
                "nats",
                stream="upstream",
                connect_name="svc",
                attributes={"verb": "CONNECT", "action": "drop"},
            )
            _, writer, peer = await connected(client, up)
            writer.write(first)
            size = len(first)
            held = await wait_until_async(
                lambda: _held(client, size),  # noqa: B023 - awaited before the loop moves on
                timeout=5,
                what="the proxy holding it",
            )
            assert (held["bytes_up"], held["bytes_up_sent"]) == (0, 0)
            line = b"CONNECT " + json.dumps({"lang": "python", "name": "svc"}).encode()
            writer.write(line[len(first) :] + b"\r\nPING\r\n")
            assert await peer.wait_bytes(6) == b"PING\r\n"  # the toxic dropped the CONNECT
            writer.close()
            await client.delete_proxy("p")


async def _held(client: ToxiproxyClient, count: int) -> dict[str, object] | None:
    conns = await client.connections("p")
    return conns[0] if conns and conns[0]["bytes_up_held"] == count else None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("line", "name"),
    [
        (b'CONNECT {"lang":"go","name":"a\\udcffb"}\r\n', "a\ufffdb"),  # cleaned like API text
        (b'CONNECT {"lang":"go","name":"\\u0000"}\r\n', "\x00"),
        (b'CONNECT {"lang":"go","x":' + b"[" * 100_000 + b"}\r\n", None),  # too deep: unknown
        (b'CONNECT {"lang":"go","x":' + b"9" * 5_000 + b"}\r\n", None),  # int too long
        (b"CONNECT " + b"x" * 300_000, None),  # no CRLF within MAX_HOLD
    ],
)
async def test_a_hostile_connect_never_breaks_the_listing_or_the_feed(
    client: ToxiproxyClient, line: bytes, name: str | None
) -> None:
    async with Upstream("sink", greeting=INFO) as up:
        await client.create_proxy("p", up.addr)
        start = (await client.events()).next
        _, writer, peer = await connected(client, up)
        writer.write(line)
        await peer.wait_bytes(len(line))
        [conn] = await client.connections("p")
        assert conn["connect_name"] == name
        events = (await client.events(start)).events  # the feed still encodes
        assert [e["connect_name"] for e in events if e["type"] == "connection_identified"] == (
            [] if name is None else [name]
        )
        writer.close()
