"""Fault records tell the truth: the window holds every effect, a failed heal stays visible."""

from __future__ import annotations

import nats
import pytest

from nats_fault_harness._wait import wait_until_async
from nats_fault_harness.errors import ProxyNotFound
from nats_fault_harness.faults import FaultLog, Link, LinkFactory
from nats_fault_harness.history import History

ROUNDS = 20


@pytest.mark.asyncio
async def test_the_client_sees_a_down_link_only_inside_the_window(
    nats_link: Link, nats_history: History
) -> None:
    """The window opens before the action: 20 of 20 disconnects land inside it."""
    nc = await nats.connect(
        nats_link.url,
        name="window-client",
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("window-client"),
    )
    try:
        for _ in range(ROUNDS):
            seen = len(nats_history.client_events("window-client"))
            async with nats_link.down():
                await wait_until_async(
                    lambda: any(
                        e.kind == "disconnected"
                        for e in nats_history.client_events("window-client")[seen:]  # noqa: B023
                    ),
                    timeout=5,
                    what="the client to see the link go down",
                )
            await wait_until_async(lambda: nc.is_connected, timeout=5, what="a reconnect")
    finally:
        await nc.close()
    windows = nats_history.faults()
    events = nats_history.client_events("window-client")
    disconnects = [e for e in events if e.kind == "disconnected"]
    assert len(windows) == ROUNDS
    assert all(w.status == "healed" and w.end is not None for w in windows)
    late = [
        (round(d.t, 4), round(w.start, 4))
        for w in windows
        for d in disconnects
        if w.start - 0.05 <= d.t < w.start  # a disconnect just before its own window
    ]
    assert late == []
    inside = [d for d in disconnects if any(w.start <= d.t <= w.end for w in windows)]  # type: ignore[operator]
    assert len(inside) >= ROUNDS


@pytest.mark.asyncio
async def test_the_window_closes_after_the_heal_is_confirmed(
    nats_link: Link, nats_history: History
) -> None:
    """When the window has closed, the link already accepts connections."""
    async with nats_link.down():
        pass
    (window,) = nats_history.faults()
    assert window.end is not None
    nc = await nats.connect(nats_link.url, allow_reconnect=False, connect_timeout=1)
    await nc.close()
    assert nats_history.now() > window.end


def test_a_failed_heal_stays_active_recorded_and_retried(
    nats_link: Link, nats_link_factory: LinkFactory, fault_log: FaultLog, nats_history: History
) -> None:
    api = nats_link_factory.api
    proxy = api.get_proxy(nats_link.proxy)
    fault = nats_link.down()
    fault()
    api.delete_proxy(nats_link.proxy)  # the heal (re-enable) now has nothing to act on
    with pytest.raises(ProxyNotFound):
        fault.heal()
    assert fault.active
    assert fault in fault_log.active()
    (record,) = nats_history.faults()
    assert (record.status, record.end) == ("heal_failed", None)
    assert record.error is not None
    assert "ProxyNotFound" in record.error
    errors = fault_log.heal_all()  # retried, fails again, still recorded
    assert [type(e) for e in errors] == [ProxyNotFound]
    assert fault.active
    # Put the proxy back (disabled, as the fault left it): the retry now heals.
    api.create_proxy(nats_link.proxy, proxy.upstream, listen=proxy.listen, enabled=False)
    assert fault_log.heal_all() == []
    assert not fault.active
    assert fault_log.active() == []
    (record,) = nats_history.faults()
    assert record.status == "healed"
    assert record.end is not None
    assert api.get_proxy(nats_link.proxy).enabled


def test_an_apply_that_fails_closes_its_window_as_failed(
    nats_link: Link, nats_link_factory: LinkFactory, fault_log: FaultLog, nats_history: History
) -> None:
    nats_link_factory.api.delete_proxy(nats_link.proxy)
    fault = nats_link.latency(100)
    with pytest.raises(ProxyNotFound):
        fault()
    assert not fault.active
    assert fault_log.active() == []
    (record,) = nats_history.faults()
    assert record.status == "apply_failed"
    assert record.end is not None
