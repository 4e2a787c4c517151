"""A server that is down keeps its ports: refused meanwhile, handed to nobody, the same after.

A killed or stopped nats-server frees its listeners. The harness holds a placeholder on
each of its ports (client, monitoring, route) for the server object's life (see
``harness/nats_fault_harness/servers/_ports.py``), so these tests grab the ports on purpose while
the server is
down and check every attempt misses, then that the restarted server serves on the same ports.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

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

from nats_fault_harness.errors import ServerStartError
from nats_fault_harness.faults import FaultyCluster, ServerFaults
from nats_fault_harness.servers import NatsCluster, NatsServer, ServerConfig

ROUNDS = 100
GRAB_ROUNDS = 5
WINDOW_LISTENERS = 500


def _ports(server: NatsServer) -> dict[str, int]:
    ports = {"client": server.port, "monitoring": server.monitor_port}
    if server.cluster is not None:
        ports["route"] = server.cluster_port
    assert all(port > 0 for port in ports.values()), ports
    return ports


def _assert_held(ports: dict[str, int]) -> None:
    """Every way to get the ports misses; connects are refused (nothing listens)."""
    for what, port in ports.items():
        assert bind_errno(port) == errno.EADDRINUSE, what
        assert bind_errno(port, "0.0.0.0") == errno.EADDRINUSE, what
        assert connect_errno(port) == errno.ECONNREFUSED, what
    grabbed = port_zero_listeners() | source_ports()
    assert not grabbed & set(ports.values()), {k: p for k, p in ports.items() if p in grabbed}


def _assert_serving(server: NatsServer, ports: dict[str, int]) -> None:
    assert _ports(server) == ports
    nats_ping(server.port)
    varz = server.varz()
    assert (varz["port"], varz["http_port"]) == (ports["client"], ports["monitoring"])
    if "route" in ports:
        assert varz["cluster"]["cluster_port"] == ports["route"]


@pytest.mark.parametrize("fault", ["kill", "stop"])
def test_a_server_that_is_down_keeps_its_ports(
    nats_server_factory: Callable[..., NatsServer],
    server_faults: Callable[[NatsServer], ServerFaults],
    fault: str,
) -> None:
    server = nats_server_factory()
    ports = _ports(server)
    with fd_budget(GRAB_LISTENERS):
        for _ in range(GRAB_ROUNDS):
            with getattr(server_faults(server), fault)():
                assert not server.is_running
                _assert_held(ports)
            _assert_serving(server, ports)


@pytest.mark.slow
def test_many_kill_restart_rounds_with_a_new_server_in_each_window(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    """100 windows, each with a new server and 500 port-0 listeners: no port may move."""
    server = nats_server_factory()
    ports = _ports(server)
    failures: list[str] = []
    with fd_budget(WINDOW_LISTENERS):
        for i in range(ROUNDS):
            try:
                server.kill()
                other = nats_server_factory(name=f"window{i}")
                if clash := set(_ports(other).values()) & set(ports.values()):
                    failures.append(f"round {i}: a new server got port(s) {clash}")
                other.close()
                if clash := port_zero_listeners(WINDOW_LISTENERS) & set(ports.values()):
                    failures.append(f"round {i}: port-0 listeners got port(s) {clash}")
                server.start()
                _assert_serving(server, ports)
            except Exception as exc:  # count every failed round, not only the first
                failures.append(f"round {i}: {type(exc).__name__}: {exc}")
    assert failures == []


def test_close_releases_the_ports(nats_server_factory: Callable[..., NatsServer]) -> None:
    server = nats_server_factory()
    ports = _ports(server)
    server.close()
    assert (server.port, server.monitor_port) == (-1, -1)
    for what, port in ports.items():
        assert bind_errno(port) == 0, what


def test_a_failed_first_start_gives_its_ports_back(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    server = nats_server_factory(ServerConfig(lame_duck_duration="4s"), start=False)
    with pytest.raises(ServerStartError, match="exited with code"):
        server.start()
    assert (server.port, server.monitor_port) == (-1, -1)


@pytest.mark.cluster
def test_a_cluster_node_that_is_down_keeps_its_ports(
    nats_cluster_factory: Callable[..., NatsCluster],
) -> None:
    cluster = nats_cluster_factory(3)
    ports = _ports(cluster[1])
    with fd_budget(GRAB_LISTENERS):
        for _ in range(2):
            cluster.kill_node(1)
            _assert_held(ports)
            cluster.restart_node(1)
            _assert_serving(cluster[1], ports)
            assert {len(node.remote_route_ids()) for node in cluster} == {2}


@pytest.mark.cluster
@pytest.mark.proxy_extension("nats", "connect_name", "connection_reset")
def test_a_faulty_cluster_node_that_is_down_keeps_its_route_port(
    nats_faulty_cluster: Callable[..., FaultyCluster],
) -> None:
    cluster = nats_faulty_cluster(3)
    ports = _ports(cluster[2])
    upstream = cluster.api.get_proxy(cluster.proxies[2]).upstream
    assert port_of(upstream) == ports["route"]
    with fd_budget(GRAB_LISTENERS):
        cluster[2].kill()
        _assert_held(ports)
        cluster.restart_node(2)  # waits for the full mesh, every route through a proxy
    _assert_serving(cluster[2], ports)
    assert cluster.api.get_proxy(cluster.proxies[2]).upstream == upstream
