"""``nats-harness smoke``: real servers, real faults, a quick check of the machine.

Starts a server and clusters, drives a real nats-py client through a kill/restart and a
pause/resume, and prints each step with its timing. Exits non-zero if any step fails.
"""

from __future__ import annotations

import asyncio
import time

from nats_fault_harness._wait import wait_until_async
from nats_fault_harness.servers import NatsCluster, NatsServer, ServerConfig

__all__ = ["run_smoke"]


def _say(step: str, started: float, detail: str = "") -> None:
    print(f"  {step:<48} {1000 * (time.perf_counter() - started):8.1f} ms  {detail}", flush=True)


async def _client_through_faults(server: NatsServer) -> None:
    import nats

    events: list[str] = []

    async def on_disconnect() -> None:
        events.append("disconnected")

    async def on_reconnect() -> None:
        events.append("reconnected")

    async def on_error(exc: Exception) -> None:
        events.append(f"error:{type(exc).__name__}")

    t = time.perf_counter()
    nc = await nats.connect(
        server.url,
        name="smoke",
        reconnect_time_wait=0.05,
        max_reconnect_attempts=100,
        ping_interval=1,
        max_outstanding_pings=2,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
        connect_timeout=1,
    )
    _say("nats-py connected", t, server.url)
    got: list[bytes] = []

    async def handler(msg: object) -> None:
        got.append(msg.data)  # type: ignore[attr-defined]

    await nc.subscribe("smoke.>", cb=handler)
    await nc.publish("smoke.one", b"1")
    await nc.flush()
    await wait_until_async(lambda: len(got) == 1, timeout=2, what="first message")
    t = time.perf_counter()
    server.kill()
    server.restart()
    await wait_until_async(
        lambda: "reconnected" in events, timeout=10, what="reconnect after restart"
    )
    _say("SIGKILL + restart on same port, client back", t, " -> ".join(events))
    await nc.publish("smoke.two", b"2")
    await nc.flush()
    await wait_until_async(lambda: len(got) == 2, timeout=2, what="message after restart")
    _say("subscription replayed after reconnect", t, f"received {len(got)} messages")
    t = time.perf_counter()
    events.clear()
    server.pause()
    await wait_until_async(lambda: "disconnected" in events, timeout=10, what="stale detection")
    _say("SIGSTOP: client detected stale connection", t, "(ping_interval=1s, 2 outstanding)")
    server.resume()
    await wait_until_async(
        lambda: "reconnected" in events, timeout=10, what="reconnect after resume"
    )
    _say("SIGCONT: client reconnected", t, " -> ".join(events))
    await nc.close()


async def _main(binary: str | None) -> None:
    t = time.perf_counter()
    with NatsServer(binary=binary) as server:
        _say(f"nats-server {server.version} ready", t, f"{server.url} pid {server.pid}")
        await _client_through_faults(server)
    t = time.perf_counter()
    with NatsCluster(3, binary=binary) as cluster:
        _say("3-node cluster, full route mesh", t, ", ".join(cluster.urls))
        t = time.perf_counter()
        cluster.kill_node(1)
        cluster.restart_node(1)
        _say("node 1 killed and restarted, mesh re-formed", t)
    t = time.perf_counter()
    with NatsCluster(3, ServerConfig(jetstream=True), binary=binary) as cluster:
        _say("3-node JetStream cluster healthy", t, ", ".join(cluster.urls))


def run_smoke(binary: str | None = None) -> int:
    """Run the smoke job; return the process exit code."""
    from nats_fault_harness import _proc

    _proc.sweep_orphans()  # servers and temp folders of an earlier smoke that was killed
    print("nats-harness smoke: real servers, real faults", flush=True)
    started = time.perf_counter()
    try:
        asyncio.run(_main(binary))
    except Exception as exc:  # report and fail; the traceback is not the user's business
        print(f"FAILED: {type(exc).__name__}: {exc}", flush=True)
        return 1
    print(f"ok: all steps passed in {time.perf_counter() - started:.2f}s", flush=True)
    return 0
