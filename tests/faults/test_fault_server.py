"""Server faults as context managers: applied, healed even on error, journaled."""

from __future__ import annotations

from collections.abc import Callable

import nats
import pytest

from nats_fault_harness import wait_until_async
from nats_fault_harness.faults import FaultLog, ServerFaults
from nats_fault_harness.history import History
from nats_fault_harness.servers import NatsServer


@pytest.fixture
def log(nats_history: History) -> FaultLog:
    return FaultLog(nats_history)


def test_kill_heals_by_restarting_on_the_same_port(
    nats_server_factory: Callable[..., NatsServer], log: FaultLog
) -> None:
    server = nats_server_factory()
    port = server.port
    with ServerFaults(server, log).kill() as fault:
        assert fault.active
        assert not server.is_running
        assert log.active() == [fault]
    assert server.is_running
    assert server.port == port
    assert log.active() == []
    (window,) = log.history.faults()
    assert window.kind == "kill"
    assert window.target == f"server:{server.name}"
    assert window.end is not None
    assert window.end >= window.start


def test_fault_heals_when_the_body_raises(
    nats_server_factory: Callable[..., NatsServer], log: FaultLog
) -> None:
    server = nats_server_factory()
    seen_paused = []

    def body() -> None:
        with ServerFaults(server, log).pause():
            seen_paused.append(server.is_paused)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        body()
    assert seen_paused == [True]
    assert not server.is_paused
    assert log.history.faults()[0].end is not None


def test_open_ended_fault_and_idempotent_heal(
    nats_server_factory: Callable[..., NatsServer], log: FaultLog
) -> None:
    server = nats_server_factory()
    fault = ServerFaults(server, log).pause()()
    assert server.is_paused
    with pytest.raises(RuntimeError, match="already applied"):
        fault()
    fault.heal()
    fault.heal()
    assert not server.is_paused
    assert len(log.history.faults()) == 1


def test_heal_all_brings_everything_back(
    nats_server_factory: Callable[..., NatsServer], log: FaultLog
) -> None:
    a, b = nats_server_factory(), nats_server_factory()
    ServerFaults(a, log).kill()()
    ServerFaults(b, log).pause()()
    assert len(log.active()) == 2
    assert log.heal_all() == []
    assert a.is_running
    assert not b.is_paused
    assert log.active() == []


def test_restart_is_an_instant_fault(
    nats_server_factory: Callable[..., NatsServer], log: FaultLog
) -> None:
    server = nats_server_factory()
    pid = server.pid
    ServerFaults(server, log).restart()()
    assert server.pid != pid
    (window,) = log.history.faults()
    # The window spans the action itself (stop and start again): opened before, closed
    # after, never left open as a lasting fault would be.
    assert window.status == "healed"
    assert window.end is not None
    assert 0 < window.end - window.start < 5.0
    assert log.active() == []


@pytest.mark.asyncio
async def test_async_lame_duck_is_seen_by_the_client_and_healed(
    nats_server_factory: Callable[..., NatsServer], log: FaultLog
) -> None:
    server = nats_server_factory()
    history = log.history
    nc = await nats.connect(
        server.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=200,
        **history.nats_callbacks("svc"),
    )
    async with ServerFaults(server, log).lame_duck():
        await wait_until_async(
            lambda: any(e.kind == "lame_duck" for e in history.client_events()),
            timeout=3,
            what="lame_duck_mode_cb",
        )
    assert server.is_running
    await wait_until_async(
        lambda: any(e.kind == "reconnected" for e in history.client_events()),
        timeout=10,
        what="client back after heal",
    )
    (window,) = history.faults()
    lame = next(e for e in history.client_events() if e.kind == "lame_duck")
    assert window.start <= lame.t <= (window.end or 0)
    await nc.close()
