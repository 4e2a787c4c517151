"""The data plane while toxics come and go: no byte lost or reordered, live connections."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest

from nats_fault_harness.proxy import ProxyServer, ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream, read_until_closed

_COUNT = 65_535


def _expected() -> bytes:
    return b"".join(struct.pack(">H", i) for i in range(_COUNT))


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", ["upstream", "downstream"])
async def test_no_data_dropped_while_latency_toggles(
    client: ToxiproxyClient, upstream: Upstream, stream: str
) -> None:
    """Toxiproxy's TestNoDataDropped: 65 535 ordered 2-byte writes while a 1000 ms latency
    toxic is added and removed in a tight loop; everything arrives, in order, then EOF."""
    proxy = await client.create_proxy("p", upstream.addr)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writing = True
    toggles = 0

    async def toggle() -> None:
        nonlocal toggles
        while writing:
            await client.add_toxic(
                "p", "latency", stream=stream, name="lag", attributes={"latency": 1000}
            )
            await client.remove_toxic("p", "lag")
            toggles += 1

    async def write() -> None:
        nonlocal writing
        try:
            for start in range(0, _COUNT, 64):
                for i in range(start, min(start + 64, _COUNT)):
                    writer.write(struct.pack(">H", i))
                await writer.drain()
                await asyncio.sleep(0)
        finally:
            writing = False

    async with asyncio.timeout(60), asyncio.TaskGroup() as group:
        group.create_task(toggle())
        group.create_task(write())
        echoed = group.create_task(reader.readexactly(2 * _COUNT))
    assert toggles >= 5, f"only {toggles} add/remove cycles ran during the writes"
    assert echoed.result() == _expected()
    writer.write_eof()
    assert await read_until_closed(reader, timeout=5) == (b"", None)
    writer.close()


@pytest.mark.asyncio
async def test_no_data_dropped_while_updates_switch_a_toxic_on_and_off(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    """Updates restart a toxic and re-roll it: toxicity 1 <-> 0 links it in and out."""
    proxy = await client.create_proxy("p", upstream.addr)
    await client.add_toxic(
        "p", "latency", name="lag", stream="upstream", attributes={"latency": 50}
    )
    await client.add_toxic(
        "p",
        "slicer",
        name="cut",
        stream="upstream",
        attributes={"average_size": 7, "size_variation": 3},
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writing = True
    updates = 0

    async def flip() -> None:
        nonlocal updates
        while writing:
            for toxicity in (0.0, 1.0):
                await client.update_toxic(
                    "p", "lag", toxicity=toxicity, attributes={"latency": 50 if toxicity else 500}
                )
                await client.update_toxic("p", "cut", toxicity=1.0 - toxicity)
                updates += 1

    async def write() -> None:
        nonlocal writing
        try:
            for start in range(0, _COUNT, 256):
                for i in range(start, min(start + 256, _COUNT)):
                    writer.write(struct.pack(">H", i))
                await writer.drain()
                await asyncio.sleep(0)
        finally:
            writing = False

    async with asyncio.timeout(60), asyncio.TaskGroup() as group:
        group.create_task(flip())
        group.create_task(write())
        echoed = group.create_task(reader.readexactly(2 * _COUNT))
    assert updates >= 4, updates
    assert echoed.result() == _expected()
    writer.close()


@pytest.mark.asyncio
async def test_echo_survives_toxics_added_and_removed_concurrently(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    """Contract #26: 100 echoes while noop/latency toxics come and go on both streams."""
    proxy = await client.create_proxy("p", upstream.addr)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    done = False

    async def churn() -> None:
        n = 0
        while not done:
            n += 1
            for stream in ("upstream", "downstream"):
                await client.add_toxic("p", "noop", stream=stream, name=f"n{stream}{n}")
                await client.add_toxic(
                    "p", "latency", stream=stream, name=f"l{stream}{n}", attributes={"latency": 1}
                )
            for stream in ("upstream", "downstream"):
                await client.remove_toxic("p", f"n{stream}{n}")
                await client.remove_toxic("p", f"l{stream}{n}")

    async def echo() -> None:
        nonlocal done
        try:
            for i in range(100):
                message = f"message {i:03d}\n".encode()
                writer.write(message)
                assert await reader.readexactly(len(message)) == message
        finally:
            done = True

    async with asyncio.timeout(60), asyncio.TaskGroup() as group:
        group.create_task(churn())
        group.create_task(echo())
    await client.reset()
    writer.write(b"still alive")
    assert await reader.readexactly(11) == b"still alive"
    writer.close()


@pytest.mark.asyncio
async def test_toxic_applies_to_live_connection_and_removal_restores_speed(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)

    async def round_trip() -> float:
        start = time.monotonic()
        writer.write(b"ping")
        await reader.readexactly(4)
        return time.monotonic() - start

    assert await round_trip() < 0.1
    await client.add_toxic("p", "latency", attributes={"latency": 150})
    assert 0.125 <= await round_trip() < 0.4
    await client.remove_toxic("p", "latency_downstream")
    assert await round_trip() < 0.1
    writer.close()


@pytest.mark.asyncio
async def test_toxicity_zero_passes_then_update_rolls_again(
    server: ProxyServer, client: ToxiproxyClient, sink: Upstream
) -> None:
    """Contract #25: a toxicity-0 timeout lets data pass; updated to toxicity 1 and
    timeout 100 it closes the connection ~100 ms later."""
    proxy = await client.create_proxy("p", sink.addr)
    await client.add_toxic(
        "p", "timeout", stream="upstream", toxicity=0.0, attributes={"timeout": 0}
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"passes")
    peer = await sink.peer()
    assert await peer.wait_bytes(6) == b"passes"
    start = time.monotonic()
    await client.update_toxic("p", "timeout_upstream", toxicity=1.0, attributes={"timeout": 100})
    assert await read_until_closed(reader, timeout=2) == (b"", None)
    assert 0.08 <= time.monotonic() - start < 0.4
    writer.close()
    rolls = [e["active"] for e in (await client.events()).events if e["type"] == "toxic_rolled"]
    assert rolls == [False, True]
