"""nats-py against a blackholed link: its own write buffer fills as on the wire.

The defects that show only when a client's pending buffer fills need the link to push
back as a dead peer does. Each figure below is the payload a nats-py client publishes
into the fault before its ``pending_data_size`` reaches 1 MiB (its flusher is stuck in
``drain()``: the socket takes no more), recorded as bytes, not times:

* a NATS "server" that answers the handshake and then never reads again (the kernel-only
  figure: the client's send buffer and the peer's receive buffer);
* the harness's ``blackhole()`` by default (the proxy stops reading at once);
* ``blackhole(buffer_bytes=8 MiB)``, the old behaviour kept on request.

Real nats-server, real proxy process, real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import nats
import pytest

from nats_fault_harness import wait_until_async
from nats_fault_harness.errors import ConfigError, UnsupportedFeature
from nats_fault_harness.faults import BLACKHOLE_MS, Link, LinkFactory
from nats_fault_harness.servers import NatsServer

MIB = 1024 * 1024
PAYLOAD = 16 * 1024
PENDING_FULL = 1 * MIB
CAP = 64 * MIB
SETTLE_S = 0.3


async def _publish_until_pending_fills(nc: Any, subject: str) -> int:
    """Payload bytes published before nats-py's pending buffer holds :data:`PENDING_FULL`
    and still does :data:`SETTLE_S` later (a busy reader, such as a proxy reading ahead on a
    loaded machine, may only be late, not stopped)."""
    published = 0
    seq = 0
    while True:
        if nc.pending_data_size >= PENDING_FULL:
            await asyncio.sleep(SETTLE_S)
            if nc.pending_data_size >= PENDING_FULL:
                return published
        assert published < CAP, f"{published:,} B published and the pending buffer never filled"
        await nc.publish(subject, struct.pack(">Q", seq) + b"p" * (PAYLOAD - 8))
        seq += 1
        published += PAYLOAD
        await asyncio.sleep(0)  # the flusher hands pending bytes to the socket if it can


async def _connect(url: str, name: str) -> Any:
    return await nats.connect(
        url,
        name=name,
        allow_reconnect=False,
        pending_size=4 * CAP,  # publish never blocks on nats-py's own limit here
        ping_interval=120,
    )


@contextlib.contextmanager
def _server_that_stops_reading() -> Iterator[str]:
    """A NATS peer that greets, answers the handshake's PING, then never reads again."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            held.append(conn)
            conn.sendall(b'INFO {"server_id":"still","max_payload":1048576,"proto":1}\r\n')
            seen = b""
            while b"PING\r\n" not in seen:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                seen += chunk
            conn.sendall(b"PONG\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"nats://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for conn in held:
            conn.close()
        thread.join(5)


def _bytes_read_by_proxy(factory: LinkFactory, link: Link) -> int:
    return sum(int(c["bytes_up"]) for c in factory.api.connections(link.proxy))


async def _into_blackhole(
    factory: LinkFactory, link: Link, buffer_bytes: int
) -> tuple[int, int, Any]:
    """(payload published until pending filled, bytes the proxy read in the fault, client)."""
    nc = await _connect(link.url, f"bp-{buffer_bytes}")
    await nc.flush(timeout=5)
    fault = link.blackhole(buffer_bytes=buffer_bytes)
    await asyncio.to_thread(fault)
    before = _bytes_read_by_proxy(factory, link)
    published = await _publish_until_pending_fills(nc, "bp.x")
    read = _bytes_read_by_proxy(factory, link) - before
    return published, read, (nc, fault)


@pytest.mark.asyncio
async def test_pending_buffer_fills_with_the_kernel_buffers_not_8_mib_more(
    nats_server: NatsServer, nats_link_factory: LinkFactory
) -> None:
    with _server_that_stops_reading() as url:
        still = await _connect(url, "still")
        kernel = await _publish_until_pending_fills(still, "bp.k")
    # The peer is gone (its unread bytes made the close an RST); a flush cannot hang now.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(still.close(), 10)

    default_link = nats_link_factory.link(nats_server, name="bp-default")
    default, default_read, (nc0, fault0) = await _into_blackhole(
        nats_link_factory, default_link, 0
    )
    old_link = nats_link_factory.link(nats_server, name="bp-buffered")
    old, old_read, (nc1, fault1) = await _into_blackhole(nats_link_factory, old_link, 8 * MIB)
    figures = (
        f"published before pending filled: stops-reading peer {kernel:,} B, "
        f"blackhole {default:,} B (proxy read {default_read:,}), "
        f"blackhole buffer_bytes=8MiB {old:,} B (proxy read {old_read:,})"
    )
    print(figures)
    assert default_read == 0, figures  # not a byte read into the fault
    assert default <= 1.25 * kernel + 512 * 1024, figures
    assert old_read >= 8 * MIB, figures
    assert old >= default + 7 * MIB, figures
    await fault1.aheal()
    await nc1.close()
    await fault0.aheal()
    await nc0.close()


@pytest.mark.asyncio
async def test_publishes_held_by_a_blackhole_arrive_in_order_after_the_heal(
    nats_server: NatsServer, nats_link: Link, nats_link_factory: LinkFactory
) -> None:
    """Megabytes published into the window (the client's buffer full) are delivered once,
    in order, when the blackhole heals; the proxy read none of them during the window."""
    watcher = await nats.connect(nats_server.url, name="watcher")
    seen: list[int] = []

    async def record(msg: Any) -> None:
        seen.append(struct.unpack(">Q", msg.data[:8])[0])

    await watcher.subscribe("bp.order", cb=record, pending_bytes_limit=4 * CAP)
    await watcher.flush(timeout=5)
    nc = await _connect(nats_link.url, "ordered")
    await nc.flush(timeout=5)
    with nats_link.blackhole():
        before = _bytes_read_by_proxy(nats_link_factory, nats_link)
        published = await _publish_until_pending_fills(nc, "bp.order")
        assert _bytes_read_by_proxy(nats_link_factory, nats_link) == before
        assert seen == []
    count = published // PAYLOAD
    await nc.flush(timeout=30)
    await wait_until_async(
        lambda: len(seen) >= count, timeout=30, what=f"{count} messages after the heal"
    )
    assert seen == list(range(count))
    await nc.close()
    await watcher.close()


# ---------------------------------------------------------------- the fault API


def test_blackhole_toxics_and_journal(
    nats_link: Link, nats_link_factory: LinkFactory, nats_history: Any
) -> None:
    api = nats_link_factory.api
    with nats_link.blackhole(stream="upstream"):
        (toxic,) = api.toxics(nats_link.proxy)
        assert (toxic.type, dict(toxic.attributes)) == ("blackhole", {"buffer_bytes": 0})
    with nats_link.blackhole(buffer_bytes=8 * MIB):
        toxics = api.toxics(nats_link.proxy)
        assert [dict(t.attributes) for t in toxics] == [{"buffer_bytes": 8 * MIB}] * 2
    first, second = nats_history.faults()
    assert first.params == {"stream": "upstream", "buffer_bytes": 0}
    assert second.params == {"stream": "both", "buffer_bytes": 8 * MIB}


@pytest.mark.parametrize("bad", [-1, 8 * MIB + 1, True])
def test_buffer_bytes_out_of_range_is_refused(nats_link: Link, bad: int) -> None:
    with pytest.raises(ConfigError, match="buffer_bytes"):
        nats_link.blackhole(buffer_bytes=bad)


def test_without_the_extension_blackhole_falls_back_to_an_hour_of_latency(
    nats_link: Link, nats_link_factory: LinkFactory
) -> None:
    """What a real Toxiproxy gets (no ``blackhole`` toxic); ``buffer_bytes`` is refused."""
    plain = Link(
        nats_link.api,
        nats_link.proxy,
        nats_link.listen,
        nats_link.log,
        extensions=nats_link.extensions - {"blackhole"},
    )
    with pytest.raises(UnsupportedFeature, match="blackhole"):
        plain.blackhole(buffer_bytes=1024)
    with plain.blackhole(stream="downstream"):
        (toxic,) = nats_link_factory.api.toxics(nats_link.proxy)
        assert (toxic.type, toxic.attributes["latency"]) == ("latency", BLACKHOLE_MS)


def test_pool_blackholes_take_buffer_bytes(
    nats_server: NatsServer, nats_link_factory: LinkFactory
) -> None:
    pool = nats_link_factory.pool(nats_server, 2)
    api = nats_link_factory.api
    with pool.break_members([1], how="blackhole", buffer_bytes=MIB):
        assert api.toxics(pool[0].proxy) == []
        assert {t.attributes["buffer_bytes"] for t in api.toxics(pool[1].proxy)} == {MIB}
    with pool.break_members([0], how="blackhole"):
        assert {t.attributes["buffer_bytes"] for t in api.toxics(pool[0].proxy)} == {0}
    with pytest.raises(ConfigError, match="buffer_bytes"):
        pool.break_members([0], how="down", buffer_bytes=MIB)
    with pytest.raises(ConfigError, match="buffer_bytes"):
        pool.break_by_name("svc-*", how="drop", buffer_bytes=MIB)


def test_the_read_ahead_ceiling_is_the_same_number_everywhere() -> None:
    """``buffer_bytes``' maximum (fault API, toxic) is the proxy's per-direction ceiling."""
    from nats_fault_harness.faults._link import MAX_BUFFER_BYTES as fault_max
    from nats_fault_harness.proxy._link import HIGH_WATER
    from nats_fault_harness.toxics._blackhole import MAX_BUFFER_BYTES as toxic_max

    assert fault_max == toxic_max == HIGH_WATER == 8 * MIB
