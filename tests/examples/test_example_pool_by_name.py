"""Target one client by its NATS CONNECT name: the others sharing the address are untouched.

(Avoid ``flush(timeout=...)`` on the starved client to prove it is starved: in nats-py
2.16 a flush that timed out leaves a cancelled future behind, and the late PONG then stops
the client's read loop with ``InvalidStateError``. Watch its messages instead.)
"""

import nats
import pytest


@pytest.mark.asyncio
async def test_blackhole_only_member_b(nats_pool, nats_server):
    watcher = await nats.connect(nats_server.url)
    sub = await watcher.subscribe("from.*")
    await watcher.flush()
    url = nats_pool.shared.url
    a = await nats.connect(url, name="svc-pool-a")
    b = await nats.connect(url, name="svc-pool-b")
    with nats_pool.break_by_name("svc-pool-b", how="blackhole"):
        await b.publish("from.b", b"held")
        await a.publish("from.a", b"passes")
        await a.flush(timeout=10)
        first = await sub.next_msg(timeout=10)
        assert first.subject == "from.a"  # a's message overtakes b's held one
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=0.5)
    held = await sub.next_msg(timeout=10)  # healing releases what was held
    assert (held.subject, held.data) == ("from.b", b"held")
    for nc in (a, b, watcher):
        await nc.close()


@pytest.mark.asyncio
async def test_the_name_is_matched_on_member_links_too(nats_pool, nats_server):
    watcher = await nats.connect(nats_server.url)
    sub = await watcher.subscribe("via.*")
    await watcher.flush()
    member = nats_pool.urls[1]  # a pool whose members each dial their own link
    b = await nats.connect(member, name="svc-pool-b")
    other = await nats.connect(member, name="svc-pool-c")
    with nats_pool.break_by_name("svc-pool-b", how="blackhole") as fault:
        assert fault.kind == "pool_break_by_name"
        await b.publish("via.b", b"held")
        await other.publish("via.c", b"passes")
        await other.flush(timeout=10)
        assert (await sub.next_msg(timeout=10)).subject == "via.c"
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=0.5)
    assert (await sub.next_msg(timeout=10)).subject == "via.b"
    for nc in (b, other, watcher):
        await nc.close()
