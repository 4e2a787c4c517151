"""Is a subscriber live when its start returns? Counts a first message lost at start-up.

``python startup_race.py [N]`` starts a real nats-server, then N times: starts a consumer,
publishes one message to it at once (from another connection, flushed), and waits 2 s for
it; after a loss it sends a second message, to tell "not yet subscribed" from "never".
Five ways of starting, all in a queue group but the last: FastStream's ``await
broker.start()``, the same followed by a flush of the broker's connection, nats-py's
``await nc.subscribe()``, the same followed by ``await nc.flush()`` (the server has
answered the PING sent after the SUB), and that without a queue group.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import nats
from faststream.nats import NatsBroker

from nats_fault_harness.servers import NatsServer

Starter = Callable[[str, str, list[bytes]], Awaitable[Callable[[], Awaitable[None]]]]


async def faststream_start(url: str, subject: str, got: list[bytes], flush: bool = False):
    broker = NatsBroker(url, logger=None)

    @broker.subscriber(subject, queue="orders")
    async def handle(body: bytes) -> None:
        got.append(body)

    await broker.start()
    if flush:
        await broker._connection.flush()  # no public API; what a careful user reaches for
    return broker.stop


async def faststream_start_flush(url: str, subject: str, got: list[bytes]):
    return await faststream_start(url, subject, got, flush=True)


async def natspy_subscribe(
    url: str, subject: str, got: list[bytes], flush: bool = False, queue: str = "orders"
):
    nc = await nats.connect(url)

    async def handle(msg) -> None:
        got.append(msg.data)

    await nc.subscribe(subject, queue=queue, cb=handle)
    if flush:
        await nc.flush()
    return nc.close


async def natspy_subscribe_flush(url: str, subject: str, got: list[bytes]):
    return await natspy_subscribe(url, subject, got, flush=True)


async def natspy_subscribe_flush_no_queue(url: str, subject: str, got: list[bytes]):
    return await natspy_subscribe(url, subject, got, flush=True, queue="")


async def arrived(got: list[bytes], seconds: float = 2.0) -> bool:
    for _ in range(int(seconds / 0.01)):
        if got:
            return True
        await asyncio.sleep(0.01)
    return False


async def measure(url: str, n: int) -> None:
    sender = await nats.connect(url)
    starters: dict[str, Starter] = {
        "FastStream broker.start()": faststream_start,
        "FastStream broker.start() + flush": faststream_start_flush,
        "nats-py subscribe()": natspy_subscribe,
        "nats-py subscribe() + flush": natspy_subscribe_flush,
        "nats-py subscribe() + flush, no queue group": natspy_subscribe_flush_no_queue,
    }
    for label, start in starters.items():
        lost = later = 0
        for i in range(n):
            subject = f"race.{len(label)}.{i}"
            got: list[bytes] = []
            stop = await start(url, subject, got)
            await sender.publish(subject, b'"first"')
            await sender.flush()
            if not await arrived(got):
                lost += 1
                await sender.publish(subject, b'"second"')
                await sender.flush()
                later += await arrived(got)
            await stop()
        print(f"{label}: first message lost {lost} of {n}; after a loss the next came {later}")
    await sender.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    server = NatsServer()
    server.start()
    try:
        asyncio.run(measure(server.url, n))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
