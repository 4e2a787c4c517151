"""The seed extension: same seed and same traffic give the same rolls and jitter."""

from __future__ import annotations

import asyncio
import time

import pytest

from nats_fault_harness.proxy import ProxyServer, ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream


async def _rolls(seed: int | None, upstream: Upstream, connections: int = 24) -> list[bool]:
    """Toxicity draws of a 0.5 toxic over ``connections`` connections, in order."""
    async with ProxyServer(seed=seed) as srv, ToxiproxyClient(srv.url) as api:
        proxy = await api.create_proxy("p", upstream.addr)
        await api.add_toxic("p", "latency", name="half", toxicity=0.5, attributes={"latency": 0})
        for _ in range(connections):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"x")
            await reader.readexactly(1)
            writer.close()
        events = (await api.events()).events
    rolls = [e for e in events if e["type"] == "toxic_rolled"]
    assert [e["connection"] for e in rolls] == list(range(1, connections + 1))
    return [e["active"] for e in rolls]


async def _jitter(seed: int, upstream: Upstream, messages: int = 16) -> tuple[list[float], str]:
    """Round-trip times (ms) of small echoes through latency 100 +- 100 ms downstream,
    and the toxic's name."""
    async with ProxyServer(seed=seed) as srv, ToxiproxyClient(srv.url) as api:
        proxy = await api.create_proxy("p", upstream.addr)
        toxic = await api.add_toxic("p", "latency", attributes={"latency": 100, "jitter": 100})
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        times = []
        for _ in range(messages):
            start = time.monotonic()
            writer.write(b"j")
            await reader.readexactly(1)
            times.append((time.monotonic() - start) * 1000)
        writer.close()
    return times, toxic.name


def _drawn(seed: int, toxic: str, n: int) -> list[int]:
    """The delays (ms) the seed decides for proxy ``p``'s first connection, one per echo
    (the documented derivation: seed + proxy, connection, stream, toxic, "draw")."""
    from nats_fault_harness.proxy._rng import SeedSource

    rng = SeedSource(seed).derive("p", 1, "downstream", toxic, "draw")
    return [max(0, 100 + rng.randrange(-100, 100)) for _ in range(n)]


@pytest.mark.asyncio
async def test_same_seed_same_toxicity_rolls(upstream: Upstream) -> None:
    first = await _rolls(7, upstream)
    second = await _rolls(7, upstream)
    assert first == second
    assert 0 < sum(first) < len(first), "a 0.5 toxicity should both fire and not fire"


@pytest.mark.asyncio
async def test_different_seeds_differ(upstream: Upstream) -> None:
    assert await _rolls(7, upstream) != await _rolls(8, upstream)


@pytest.mark.asyncio
async def test_same_seed_same_jitter_sequence(upstream: Upstream) -> None:
    """Compared are the seed's decisions, never two wall-clock runs: a busy machine only
    makes a round trip later than its drawn delay, never earlier, while a proxy that drew
    from anything but the seed falls short of some of the 16 draws."""
    first, toxic = await _jitter(99, upstream)
    second, _ = await _jitter(99, upstream)
    drawn = _drawn(99, toxic, len(first))
    assert max(drawn) - min(drawn) > 50, f"jitter of +-100 ms should vary the delay: {drawn}"
    assert drawn != _drawn(100, toxic, len(first))
    early_ms = 2.0  # timer granularity: a loop may wake a little before its deadline
    for measured in (first, second):
        too_early = [
            (i, round(m, 1), d)
            for i, (m, d) in enumerate(zip(measured, drawn, strict=True))
            if m < d - early_ms
        ]
        assert not too_early, too_early
