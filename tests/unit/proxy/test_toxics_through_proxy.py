"""Each toxic through a real proxy on loopback: timing, integrity, closes and resets.

Timing tolerances are +-25 ms for delays (a 2-core machine shared with other test runs),
+-10 % for bandwidth.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from nats_fault_harness.proxy import ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream, read_until_closed

_TOL = 0.025
_MESSAGE = b"hello world " + b"x" * 32 * 1024 + b"\n"


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


# ---------------------------------------------------------------- latency (contract #28)


@pytest.mark.asyncio
@pytest.mark.parametrize(("up_ms", "down_ms"), [(100, 0), (0, 100), (100, 100), (150, 50)])
async def test_latency_one_way_each_direction(
    client: ToxiproxyClient, sink: Upstream, up_ms: int, down_ms: int
) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    if up_ms:
        await client.add_toxic("p", "latency", stream="upstream", attributes={"latency": up_ms})
    if down_ms:
        await client.add_toxic("p", "latency", attributes={"latency": down_ms})
    reader, writer = await _connect(proxy.port)
    sent = time.monotonic()
    writer.write(_MESSAGE)
    peer = await sink.peer()
    await peer.wait_bytes(len(_MESSAGE))
    upstream_delay = peer.arrivals[-1][0] - sent
    assert abs(upstream_delay - up_ms / 1000) <= _TOL, upstream_delay
    replied = time.monotonic()
    peer.send(_MESSAGE)
    await reader.readexactly(len(_MESSAGE))
    downstream_delay = time.monotonic() - replied
    assert abs(downstream_delay - down_ms / 1000) <= _TOL, downstream_delay
    writer.close()


@pytest.mark.asyncio
async def test_two_latency_toxics_add_up(client: ToxiproxyClient, sink: Upstream) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    for name in ("a", "b"):
        await client.add_toxic(
            "p", "latency", name=name, stream="upstream", attributes={"latency": 200}
        )
    _, writer = await _connect(proxy.port)
    sent = time.monotonic()
    writer.write(b"two hops")
    peer = await sink.peer()
    await peer.wait_bytes(8)
    assert abs(peer.arrivals[-1][0] - sent - 0.4) <= _TOL
    writer.close()


@pytest.mark.asyncio
async def test_jitter_stays_within_bounds(client: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    await client.add_toxic("p", "latency", attributes={"latency": 60, "jitter": 40})
    reader, writer = await _connect(proxy.port)
    delays = []
    for _ in range(10):
        start = time.monotonic()
        writer.write(b"j")
        await reader.readexactly(1)
        delays.append(time.monotonic() - start)
    writer.close()
    assert all(0.02 - _TOL <= d <= 0.1 + _TOL for d in delays), delays
    assert max(delays) - min(delays) > 0.01, "no jitter seen"


@pytest.mark.asyncio
async def test_latency_does_not_cap_throughput(client: ToxiproxyClient, sink: Upstream) -> None:
    """4 MiB behind 100 ms of latency: about 100 ms plus transfer time, not 100 ms a chunk."""
    proxy = await client.create_proxy("p", sink.addr)
    await client.add_toxic("p", "latency", stream="upstream", attributes={"latency": 100})
    _, writer = await _connect(proxy.port)
    payload = os.urandom(4 * 1024 * 1024)
    start = time.monotonic()
    writer.write(payload)
    peer = await sink.peer()
    assert await peer.wait_bytes(len(payload), timeout=20) == payload
    elapsed = peer.arrivals[-1][0] - start
    assert 0.1 - _TOL <= elapsed < 1.5, elapsed  # per-chunk latency would take 12.8 s
    writer.close()


# ---------------------------------------------------------------- bandwidth (contract #29)


@pytest.mark.asyncio
async def test_bandwidth_480000_bytes_at_1000_kbs(client: ToxiproxyClient, sink: Upstream) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    await client.add_toxic("p", "bandwidth", stream="upstream", attributes={"rate": 1000})
    _, writer = await _connect(proxy.port)
    payload = os.urandom(480_000)
    start = time.monotonic()
    writer.write(payload)
    peer = await sink.peer()
    assert await peer.wait_bytes(len(payload)) == payload
    elapsed = peer.arrivals[-1][0] - start
    assert abs(elapsed - 0.48) <= 0.048, elapsed
    writer.close()


# ---------------------------------------------------------------- slow_close


@pytest.mark.asyncio
async def test_slow_close_delays_the_close_not_the_data(
    client: ToxiproxyClient, sink: Upstream
) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    await client.add_toxic("p", "slow_close", attributes={"delay": 200})
    reader, writer = await _connect(proxy.port)
    writer.write(b"x")
    peer = await sink.peer()
    start = time.monotonic()
    peer.send(b"bye")
    peer.close()
    assert await reader.readexactly(3) == b"bye"
    assert time.monotonic() - start < 0.1
    assert await read_until_closed(reader, timeout=2) == (b"", None)
    assert abs(time.monotonic() - start - 0.2) <= _TOL
    writer.close()


# ---------------------------------------------------------------- timeout (contract #30)


@pytest.mark.asyncio
async def test_timeout_closes_after_silence(client: ToxiproxyClient, sink: Upstream) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    await client.add_toxic("p", "timeout", stream="upstream", attributes={"timeout": 100})
    reader, writer = await _connect(proxy.port)
    start = time.monotonic()
    writer.write(b"dropped")
    assert await read_until_closed(reader, timeout=2) == (b"", None)
    assert abs(time.monotonic() - start - 0.1) <= _TOL
    assert all(len(p.received) == 0 for p in sink.peers)
    writer.close()


@pytest.mark.asyncio
async def test_timeout_zero_holds_then_removal_closes_both_sides(
    client: ToxiproxyClient, sink: Upstream
) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    await client.add_toxic("p", "timeout", stream="upstream", attributes={"timeout": 0})
    reader, writer = await _connect(proxy.port)
    writer.write(b"into the void")
    peer = await sink.peer()
    with pytest.raises(TimeoutError):
        await read_until_closed(reader, timeout=0.3)
    assert peer.received == b""
    start = time.monotonic()
    await client.remove_toxic("p", "timeout_upstream")
    assert await read_until_closed(reader, timeout=1) == (b"", None)
    async with asyncio.timeout(1):
        await peer.closed.wait()
    assert time.monotonic() - start < 1
    writer.close()


@pytest.mark.asyncio
async def test_removing_latency_in_front_of_a_timeout_does_not_hang(
    client: ToxiproxyClient, sink: Upstream
) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    await client.add_toxic("p", "latency", stream="upstream", attributes={"latency": 10})
    await client.add_toxic("p", "timeout", stream="upstream", attributes={"timeout": 0})
    _, writer = await _connect(proxy.port)
    for _ in range(5):
        writer.write(b"hello")
        await writer.drain()
    start = time.monotonic()
    await client.remove_toxic("p", "latency_upstream")
    assert time.monotonic() - start < 1
    writer.close()


@pytest.mark.asyncio
async def test_removing_a_rolled_noop_timeout_keeps_the_connection(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    await client.add_toxic("p", "timeout", toxicity=0.0, attributes={"timeout": 0})
    reader, writer = await _connect(proxy.port)
    writer.write(b"1")
    assert await reader.readexactly(1) == b"1"
    await client.remove_toxic("p", "timeout_downstream")
    writer.write(b"2")
    async with asyncio.timeout(2):
        assert await reader.readexactly(1) == b"2"
    writer.close()


# ---------------------------------------------------------------- reset_peer (contract #31)


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", ["upstream", "downstream"])
async def test_reset_peer_resets_after_timeout(
    client: ToxiproxyClient, upstream: Upstream, stream: str
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    await client.add_toxic("p", "reset_peer", stream=stream, attributes={"timeout": 100})
    reader, writer = await _connect(proxy.port)
    start = time.monotonic()
    writer.write(b"trigger")
    data, error = await read_until_closed(reader, timeout=2)
    elapsed = time.monotonic() - start
    assert isinstance(error, ConnectionResetError), (data, error)
    assert 0.1 - _TOL <= elapsed <= 0.21 + _TOL, elapsed
    peer = await upstream.peer()
    async with asyncio.timeout(2):
        await peer.closed.wait()
    if stream == "downstream":  # the upstream got the bytes, then the RST
        assert isinstance(peer.error, ConnectionResetError), peer.error
    writer.close()


@pytest.mark.asyncio
async def test_reset_peer_added_to_a_live_connection_still_resets(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    """Toxiproxy only resets connections that existed before the toxic; we always do."""
    proxy = await client.create_proxy("p", upstream.addr)
    reader, writer = await _connect(proxy.port)
    writer.write(b"1")
    assert await reader.readexactly(1) == b"1"
    await client.add_toxic("p", "reset_peer", stream="upstream", attributes={"timeout": 0})
    writer.write(b"2")
    _, error = await read_until_closed(reader, timeout=2)
    assert isinstance(error, ConnectionResetError), error
    writer.close()


@pytest.mark.asyncio
async def test_reset_peer_with_toxicity_zero_leaves_connections_alone(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    """Issue #603: a toxic that rolled noop has no side effect on the close."""
    proxy = await client.create_proxy("p", upstream.addr)
    await client.add_toxic("p", "reset_peer", toxicity=0.0, attributes={"timeout": 0})
    reader, writer = await _connect(proxy.port)
    writer.write(b"fine")
    assert await reader.readexactly(4) == b"fine"
    peer = await upstream.peer()
    peer.close()
    assert await read_until_closed(reader, timeout=2) == (b"", None)
    writer.close()


# ---------------------------------------------------------------- slicer, limit_data


@pytest.mark.asyncio
async def test_slicer_keeps_data_intact_both_ways(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = await client.create_proxy("p", upstream.addr)
    for stream in ("upstream", "downstream"):
        await client.add_toxic(
            "p",
            "slicer",
            stream=stream,
            attributes={"average_size": 64, "size_variation": 32, "delay": 10},
        )
    reader, writer = await _connect(proxy.port)
    payload = os.urandom(100_000)
    writer.write(payload)
    async with asyncio.timeout(20):
        assert await reader.readexactly(len(payload)) == payload
    writer.close()


@pytest.mark.asyncio
async def test_limit_data_truncates_and_closes(client: ToxiproxyClient, sink: Upstream) -> None:
    proxy = await client.create_proxy("p", sink.addr)
    await client.add_toxic("p", "limit_data", stream="upstream", attributes={"bytes": 100})
    reader, writer = await _connect(proxy.port)
    writer.write(b"a" * 60)
    peer = await sink.peer()
    await peer.wait_bytes(60)
    writer.write(b"b" * 90)
    assert await read_until_closed(reader, timeout=2) == (b"", None)
    async with asyncio.timeout(2):
        await peer.closed.wait()
    assert peer.received == b"a" * 60 + b"b" * 40
    writer.close()
