"""Pool: one server behind three addressable members; fail member 1 only.

A client pool that dials ``nats_pool.urls[i]`` for member ``i`` sees exactly that member
fail while the others stay healthy: a partial pool failure, not a probability.
"""

import asyncio

import nats
import pytest


@pytest.mark.asyncio
async def test_member_1_down_at_initialization(nats_pool):
    async def connect(url):
        return await nats.connect(
            url,
            allow_reconnect=False,
            connect_timeout=1,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.05,
        )

    with nats_pool.break_members([1], how="down"):
        results = await asyncio.gather(
            *(connect(u) for u in nats_pool.urls), return_exceptions=True
        )
    ok = [r for r in results if not isinstance(r, BaseException)]
    assert len(ok) == 2
    assert isinstance(results[1], BaseException)
    for nc in ok:
        await nc.close()
