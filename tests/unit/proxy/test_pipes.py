"""Each toxic's ``pipe`` driven directly through an in-memory ToxicIO (no sockets).

The double below implements the :class:`~nats_fault_harness.toxics.ToxicIO` protocol with queues and
lists, so a toxic's chunking, counting and cancellation can be checked exactly (the way
Toxiproxy's own toxic tests drive a stub).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from typing import Any

import pytest

from nats_fault_harness.toxics import (
    Bandwidth,
    Chunk,
    Latency,
    LimitData,
    ResetPeer,
    Slicer,
    SlowClose,
    Timeout,
    Toxic,
)


class MemoryIO:
    """A ToxicIO with an input queue and a list of emitted chunks."""

    def __init__(self, toxic: Toxic, seed: int = 0, state: Any = None) -> None:
        self.toxic = toxic
        self.rng = random.Random(seed)
        self.state = state if state is not None else toxic.new_state()
        self.inbox: asyncio.Queue[Chunk] = asyncio.Queue()
        self.out: list[Chunk] = []
        self.out_times: list[float] = []
        self.effects: list[str] = []
        self.was_reset = False
        self.loop = asyncio.get_running_loop()
        self.emitted = asyncio.Event()
        self.drained = asyncio.Event()

    async def get(self) -> Chunk:
        chunk = await self.inbox.get()
        if self.inbox.empty():
            self.drained.set()
        return chunk

    def emit(self, chunk: Chunk) -> None:
        self.out.append(chunk)
        self.out_times.append(self.loop.time())
        self.emitted.set()

    def close(self) -> None:
        self.emit(Chunk.end(self.loop.time(), forced=True))

    def reset(self) -> None:
        self.was_reset = True

    def fired(self, effect: str, **fields: object) -> None:
        self.effects.append(effect)

    def now(self) -> float:
        return self.loop.time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self.loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def feed(self, *chunks: bytes, eof: bool = False) -> None:
        for data in chunks:
            self.inbox.put_nowait(Chunk(data, self.loop.time()))
        if eof:
            self.inbox.put_nowait(Chunk.end(self.loop.time()))

    def data(self) -> bytes:
        return b"".join(c.data for c in self.out if not c.eof)

    def sizes(self) -> list[int]:
        return [len(c.data) for c in self.out if not c.eof]

    @property
    def ended(self) -> bool:
        return bool(self.out) and self.out[-1].eof


async def _run(io: MemoryIO, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        await io.toxic.pipe(io)


class LoopLateness:
    """How late the event loop ran timers while it was watched, in seconds (summed).

    A probe sleeps 10 ms at a time and adds up how much later than asked it woke. On a
    busy machine a toxic's sleeps overrun by about as much: a timing test allows that
    measured lateness on top of its own tolerance instead of a fixed margin that load
    can exceed.
    """

    STEP = 0.01

    def __init__(self) -> None:
        self.late = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self.STEP
            await asyncio.sleep(self.STEP)
            self.late += max(0.0, loop.time() - asked)

    async def __aenter__(self) -> LoopLateness:
        self._task = asyncio.create_task(self._probe())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


# ---------------------------------------------------------------- slicer (contract #32)


@pytest.mark.asyncio
async def test_slicer_cuts_into_averaged_slices_without_changing_data() -> None:
    toxic = Slicer.from_attributes({"average_size": 1024, "size_variation": 512, "delay": 10})
    io = MemoryIO(toxic, seed=3)
    payload = bytes(random.Random(1).randbytes(480_000))
    io.feed(*(payload[i : i + 32 * 1024] for i in range(0, len(payload), 32 * 1024)), eof=True)
    await _run(io, timeout=20)
    assert io.data() == payload
    assert io.ended
    assert 240 <= len(io.sizes()) <= 720
    assert all(size > 0 for size in io.sizes())


@pytest.mark.asyncio
async def test_slicer_average_one_no_variation_gives_single_bytes() -> None:
    io = MemoryIO(Slicer.from_attributes({"average_size": 1, "size_variation": 0}))
    io.feed(b"hello world, 24 bytes!!!", eof=True)
    await _run(io)
    assert io.sizes() == [1] * 24


def test_slicer_cuts_are_ordered_and_cover_the_chunk() -> None:
    toxic = Slicer.from_attributes({"average_size": 10, "size_variation": 10})
    rng = random.Random(5)
    for size in (1, 9, 10, 21, 1000, 32768):
        cuts = toxic.cuts(size, rng)
        assert cuts[-1] == size
        assert cuts == sorted(set(cuts))
        assert cuts[0] > 0


@pytest.mark.asyncio
async def test_slicer_cancelled_mid_chunk_flushes_the_rest() -> None:
    io = MemoryIO(Slicer.from_attributes({"average_size": 10, "delay": 50_000}))
    io.feed(b"x" * 100)
    task = asyncio.create_task(io.toxic.pipe(io))
    async with asyncio.timeout(5):
        await io.emitted.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert io.data() == b"x" * 100


# ---------------------------------------------------------------- limit_data (contract #33)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("writes", "forwarded", "closed"),
    [
        ([50], [50], False),
        ([100], [100], True),
        ([150], [100], True),
        ([25, 25, 25, 25], [25, 25, 25, 25], True),
        ([90, 20], [90, 10], True),
    ],
)
async def test_limit_data_budget(writes: list[int], forwarded: list[int], closed: bool) -> None:
    io = MemoryIO(LimitData.from_attributes({"bytes": 100}))
    io.feed(*(b"d" * n for n in writes))
    if closed:
        await _run(io)
        assert io.ended
        assert io.out[-1].forced
        assert io.effects == ["limit_reached"]
    else:
        task = asyncio.create_task(io.toxic.pipe(io))
        async with asyncio.timeout(5):
            await io.drained.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not io.ended
    assert io.sizes() == forwarded


@pytest.mark.asyncio
async def test_limit_data_zero_forwards_nothing() -> None:
    io = MemoryIO(LimitData.from_attributes({"bytes": 0}))
    io.feed(b"abc")
    await _run(io)
    assert io.sizes() == []
    assert io.ended


@pytest.mark.asyncio
async def test_limit_data_state_survives_a_restart() -> None:
    toxic = LimitData.from_attributes({"bytes": 100})
    first = MemoryIO(toxic)
    first.feed(b"a" * 90)
    task = asyncio.create_task(toxic.pipe(first))
    async with asyncio.timeout(5):
        await first.emitted.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    second = MemoryIO(toxic, state=first.state)
    second.feed(b"b" * 20)
    await _run(second)
    assert (first.sizes(), second.sizes()) == ([90], [10])


# ---------------------------------------------------------------- bandwidth (contract #29)


@pytest.mark.asyncio
async def test_bandwidth_rate_and_pieces() -> None:
    """480 000 bytes at 1000 KB/s take 480 ms; chunks above rate*100 are cut.

    Never faster than the rate; slower only by the lateness the loop itself showed (a
    loaded machine wakes every sleep late), plus 10%.
    """
    io = MemoryIO(Bandwidth.from_attributes({"rate": 1000}))
    payload = b"b" * 480_000
    start = io.loop.time()
    io.feed(payload[:250_000], payload[250_000:], eof=True)
    async with LoopLateness() as lateness:
        await _run(io)
    elapsed = io.loop.time() - start
    assert io.data() == payload
    assert elapsed >= 0.48 - 0.005, elapsed
    assert elapsed <= 0.48 + 0.048 + lateness.late, (elapsed, lateness.late)
    assert max(io.sizes()) <= 100_000


@pytest.mark.asyncio
async def test_bandwidth_cancel_flushes_held_bytes() -> None:
    io = MemoryIO(Bandwidth.from_attributes({"rate": 1}))
    io.feed(b"q" * 1000)  # ten 100-byte pieces, one per 100 ms
    task = asyncio.create_task(io.toxic.pipe(io))
    async with asyncio.timeout(5):
        await io.drained.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert io.data() == b"q" * 1000


# ---------------------------------------------------------------- latency


@pytest.mark.asyncio
async def test_latency_is_measured_from_arrival_and_two_add_up() -> None:
    first = MemoryIO(Latency.from_attributes({"latency": 100}))
    second = MemoryIO(Latency.from_attributes({"latency": 100}))
    start = first.loop.time()
    first.feed(b"a", b"b", b"c", eof=True)
    await _run(first)
    assert all(0.095 <= t - start <= 0.15 for t in first.out_times), "queued chunks aged"
    for chunk in first.out:
        second.inbox.put_nowait(chunk)
    await _run(second)
    assert all(0.195 <= t - start <= 0.26 for t in second.out_times)


@pytest.mark.asyncio
async def test_latency_jitter_is_uniform_within_bounds() -> None:
    toxic = Latency.from_attributes({"latency": 0, "jitter": 1000})
    io = MemoryIO(toxic, seed=4)
    draws = [io.rng.randrange(-1000, 1000) for _ in range(2000)]
    assert min(draws) >= -1000
    assert max(draws) < 1000
    assert abs(sum(draws) / len(draws)) < 60


@pytest.mark.asyncio
async def test_latency_cancel_releases_the_chunk_at_once() -> None:
    io = MemoryIO(Latency.from_attributes({"latency": 10_000}))
    io.feed(b"held")
    task = asyncio.create_task(io.toxic.pipe(io))
    async with asyncio.timeout(5):
        await io.drained.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert io.data() == b"held"


# ---------------------------------------------------------------- slow_close, timeout, reset


@pytest.mark.asyncio
async def test_slow_close_holds_only_the_eof() -> None:
    io = MemoryIO(SlowClose.from_attributes({"delay": 150}))
    start = io.loop.time()
    io.feed(b"data", eof=True)
    await _run(io)
    assert io.out_times[0] - start < 0.05
    assert 0.14 <= io.out_times[-1] - start <= 0.25
    assert io.ended


@pytest.mark.asyncio
async def test_timeout_drops_and_restarts_its_timer_on_each_chunk() -> None:
    timeout = 0.3
    io = MemoryIO(Timeout.from_attributes({"timeout": int(timeout * 1000)}))
    task = asyncio.create_task(io.toxic.pipe(io))
    fed: list[float] = []
    for _ in range(5):  # a chunk every 50 ms keeps it open
        io.feed(b"dropped")
        fed.append(io.loop.time())
        await asyncio.sleep(0.05)
    async with asyncio.timeout(10):
        await task
    assert io.sizes() == []
    assert io.ended
    assert io.effects == ["timeout"]
    # Judged by when the chunks really came (a loaded machine may sleep far past 50 ms):
    # the timer restarts on each chunk, so the toxic ends a full timeout after the last
    # chunk that came before the first silence as long as the timeout.
    gaps = [b - a for a, b in itertools.pairwise(fed)]
    last_seen = next((i for i, gap in enumerate(gaps) if gap >= timeout), len(fed) - 1)
    assert io.out_times[-1] - fed[last_seen] >= timeout - 0.01
    if last_seen == len(fed) - 1:  # every chunk came in time: it outlived the first's timer
        assert io.out_times[-1] - fed[0] >= timeout + 0.15


@pytest.mark.asyncio
async def test_timeout_swallows_peer_eof_but_not_forced() -> None:
    io = MemoryIO(Timeout.from_attributes({"timeout": 0}))
    io.feed(b"x", eof=True)
    io.inbox.put_nowait(Chunk.end(io.loop.time(), forced=True))
    await _run(io)
    assert len(io.out) == 1
    assert io.out[0].forced


@pytest.mark.asyncio
async def test_reset_peer_waits_for_data_then_timeout() -> None:
    io = MemoryIO(ResetPeer.from_attributes({"timeout": 100}))
    task = asyncio.create_task(io.toxic.pipe(io))
    await asyncio.sleep(0.15)
    assert not io.was_reset, "fired before any data"
    start = io.loop.time()
    io.feed(b"first")
    async with asyncio.timeout(5):
        await task
    assert io.was_reset
    assert io.sizes() == []
    assert 0.09 <= io.loop.time() - start <= 0.2
