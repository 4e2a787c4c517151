"""A downed link keeps its port: refused while down, handed to nobody, the same port after.

``link.down()`` disables the proxy, which closes its listener. Toxiproxy frees the port then,
and a socket that takes it meanwhile makes the heal fail with ``address already in use``.
The harness's proxy keeps a placeholder bound on the port (see
``harness/nats_fault_harness/proxy/_listen.py``),
so these tests grab the port on purpose while the link is down and check every attempt
misses, then that the healed link carries NATS traffic on the same port.
"""

from __future__ import annotations

import errno

import nats
import pytest
from port_grabs import (
    GRAB_LISTENERS,
    bind_errno,
    connect_errno,
    fd_budget,
    nats_ping,
    port_of,
    port_zero_listeners,
    source_ports,
)

from nats_fault_harness import wait_until_async
from nats_fault_harness.faults import Link, LinkFactory
from nats_fault_harness.history import History
from nats_fault_harness.proxy._fixtures_support import ToxiproxyEndpoint
from nats_fault_harness.servers import NatsServer

ROUNDS = 200
GRAB_ROUNDS = 10
WINDOW_LISTENERS = 500


@pytest.fixture
def link(toxiproxy: ToxiproxyEndpoint, nats_link: Link) -> Link:
    """The shared server behind a fresh link of the harness's own proxy."""
    if toxiproxy.external:
        pytest.skip("a proxy the harness did not start (a real toxiproxy-server) frees the port")
    return nats_link


def test_a_downed_link_refuses_connections(link: Link) -> None:
    port = port_of(link.listen)
    nats_ping(port)
    with link.down():
        assert connect_errno(port) == errno.ECONNREFUSED
    nats_ping(port)


def test_nothing_can_take_a_downed_links_port(
    link: Link, nats_link_factory: LinkFactory, nats_server: NatsServer
) -> None:
    port = port_of(link.listen)
    with fd_budget(GRAB_LISTENERS):
        for _ in range(GRAB_ROUNDS):
            with link.down():
                assert bind_errno(port) == errno.EADDRINUSE
                assert bind_errno(port, "0.0.0.0") == errno.EADDRINUSE
                assert port not in port_zero_listeners()
                assert port not in source_ports()
                grabbers = [nats_link_factory.link(nats_server, name="grab") for _ in range(5)]
                assert port not in {port_of(g.listen) for g in grabbers}
                assert connect_errno(port) == errno.ECONNREFUSED
            nats_ping(port)
            assert nats_link_factory.api.get_proxy(link.proxy).listen == link.listen


@pytest.mark.asyncio
async def test_a_client_reconnects_to_the_healed_link_after_grabs(
    link: Link, nats_history: History
) -> None:
    nc = await nats.connect(
        link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )

    def seen(kind: str) -> bool:
        return any(e.kind == kind for e in nats_history.client_events())

    try:
        sub = await nc.subscribe("ports.check")
        with fd_budget(GRAB_LISTENERS), link.down():
            await wait_until_async(lambda: seen("disconnected"), timeout=5, what="disconnect")
            assert port_of(link.listen) not in port_zero_listeners()
        await wait_until_async(lambda: seen("reconnected"), timeout=5, what="reconnect")
        await nc.publish("ports.check", b"after the heal")
        assert (await sub.next_msg(timeout=5)).data == b"after the heal"
    finally:
        await nc.close()


@pytest.mark.slow
def test_many_down_up_rounds_with_a_new_link_in_each_window(
    link: Link, nats_link_factory: LinkFactory, nats_server: NatsServer
) -> None:
    """200 windows, each with a new link and 500 port-0 listeners: none may get the port.

    Without the placeholder about one window in 30 loses the port (500 of the ~14,000
    even ports that port-0 binds prefer), and its heal fails.
    """
    port = port_of(link.listen)
    api = nats_link_factory.api
    failures: list[str] = []
    with fd_budget(WINDOW_LISTENERS):
        for i in range(ROUNDS):
            try:
                with link.down():
                    new = nats_link_factory.link(nats_server, name=f"window{i}")
                    if port_of(new.listen) == port:
                        failures.append(f"round {i}: the new link got port {port}")
                    if port in port_zero_listeners(WINDOW_LISTENERS):
                        failures.append(f"round {i}: a port-0 listener got port {port}")
                nats_ping(port)
                api.delete_proxy(new.proxy)
            except Exception as exc:  # count every failed round, not only the first
                failures.append(f"round {i}: {type(exc).__name__}: {exc}")
    assert failures == []
    assert api.get_proxy(link.proxy).listen == link.listen
