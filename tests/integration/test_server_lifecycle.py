"""NatsServer start, readiness, failure reporting and monitoring, with real processes."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nats_fault_harness.errors import ServerNotRunning, ServerStartError, ServerStartTimeout
from nats_fault_harness.servers import NatsServer, ServerConfig


def test_start_learns_real_ports_and_is_ready(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    server = nats_server_factory()
    assert server.port > 0
    assert server.monitor_port > 0
    assert server.url == f"nats://127.0.0.1:{server.port}"
    # Ready means INFO was readable and /healthz is OK right now.
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        assert sock.recv(4096).startswith(b"INFO ")
    assert server.healthz() == {"status": "ok"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", server.version)
    assert server.varz()["server_id"] == server.server_id
    assert any("Server is ready" in line for line in server.log_tail())


def test_two_servers_never_share_a_port(nats_server_factory: Callable[..., NatsServer]) -> None:
    a, b = nats_server_factory(), nats_server_factory()
    assert {a.port, a.monitor_port}.isdisjoint({b.port, b.monitor_port})


def test_bad_config_fails_fast_with_exit_code_and_log(tmp_path: Path) -> None:
    # lame_duck_duration below 30s is a fatal config error in nats-server.
    server = NatsServer(ServerConfig(lame_duck_duration="4s"), base_dir=tmp_path)
    started = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        server.start()
    assert time.monotonic() - started < 5
    assert info.value.exit_code not in (None, 0)
    assert any(
        "lame_duck_duration" in line or "lame duck" in line.lower() for line in info.value.log_tail
    ), info.value.log_tail
    assert not server.is_running


def test_port_in_use_is_a_start_error(
    nats_server_factory: Callable[..., NatsServer], tmp_path: Path
) -> None:
    holder = nats_server_factory()
    clash = NatsServer(base_dir=tmp_path)
    clash.port = holder.port  # ask for a port that is taken
    with pytest.raises(ServerStartError) as info:
        clash.start()
    assert info.value.exit_code == 1
    assert "address already in use" in "\n".join(info.value.log_tail)


def test_start_timeout_is_bounded_and_says_what_was_missing(tmp_path: Path) -> None:
    fake = tmp_path / "nats-server"
    fake.write_text("#!/bin/sh\necho 'starting...' >&2\nexec sleep 30\n")
    fake.chmod(0o755)
    server = NatsServer(binary=fake, base_dir=tmp_path, start_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ServerStartTimeout) as info:
        server.start()
    assert time.monotonic() - started < 3
    assert info.value.timeout == 0.5
    assert info.value.waited_for == "monitoring listener"
    assert "starting..." in info.value.log_tail
    assert not server.is_running


def test_missing_binary_is_a_start_error(tmp_path: Path) -> None:
    gone = tmp_path / "nats-server"
    gone.write_text("")
    gone.chmod(0o755)
    server = NatsServer(binary=gone, base_dir=tmp_path)
    gone.unlink()
    with pytest.raises(ServerStartError, match="cannot run"):
        server.start()


def test_operations_on_a_stopped_server_raise(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    server = nats_server_factory()
    server.stop()
    server.stop()  # idempotent
    for op in (server.pause, server.resume, server.lame_duck, server.varz):
        with pytest.raises(ServerNotRunning):
            op()


def test_monitoring_endpoints(nats_server_factory: Callable[..., NatsServer]) -> None:
    server = nats_server_factory(jetstream=True)
    assert server.connz()["num_connections"] == 0
    assert server.routez()["num_routes"] == 0
    assert server.subsz()["num_subscriptions"] >= 0
    assert server.jsz()["config"]["store_dir"].startswith(str(server.store_dir))
    assert server.healthz(**{"js-enabled-only": True})["status"] == "ok"


def test_reload_applies_a_new_config(nats_server_factory: Callable[..., NatsServer]) -> None:
    server = nats_server_factory(ping_interval=30)
    assert server.varz()["ping_interval"] == 30_000_000_000
    server.reload(server.config.with_(ping_interval=7))
    assert server.varz()["ping_interval"] == 7_000_000_000


def test_auth_is_enforced(nats_server_factory: Callable[..., NatsServer]) -> None:
    from nats_fault_harness.servers import Auth

    server = nats_server_factory(auth=Auth(user="alice", password="s3cret"))
    assert server.varz()["auth_required"] is True
