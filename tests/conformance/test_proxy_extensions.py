"""Our extensions over Toxiproxy 2.12 (contract §6 wishes; interface agreed with the proxy
engineer) and the CLI entry point.

* ``python -m nats_fault_harness.proxy --host 127.0.0.1 --port 0 [--seed N] [--config file.json]``
prints
  ``toxiproxy listening on http://HOST:PORT`` when ready; SIGTERM stops it.
* ``--seed`` works (Toxiproxy's is a no-op, §1.5): same seed + same traffic → same toxicity rolls
  and jitter.
* ``GET /extensions`` → ``{"extensions": [...], "seed": N}``.
* ``GET /events?since=<seq>`` → ``{"events": [...], "next": seq}``: connections opened/closed,
  toxics added/removed/fired, bytes per direction.
* ``GET /proxies/{p}/connections``: the live connections of a proxy.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from ._cli import CliProxy
from ._support import ProxyApi, echo_roundtrip, local_addr, recv_exact, wait_for
from ._upstream import Sockets, Upstream

# ---------------------------------------------------------------- CLI


def test_cli_ready_line_and_sigterm() -> None:
    """The ready line names the real port; the API answers there; SIGTERM ends the process."""
    with CliProxy() as cli:
        assert cli.ready_line == f"toxiproxy listening on http://127.0.0.1:{cli.port}"
        assert cli.port > 0
        assert cli.api().get("/version").status == 200
        t0 = time.monotonic()
        code = cli.stop(timeout=10)
        assert code is not None, "did not exit within 10 s of SIGTERM"
        assert time.monotonic() - t0 < 10
    # (not re-checking the port: after exit it is free, and a parallel test may take it)
    assert cli.proc.poll() is not None


def test_cli_config_file_is_loaded(tmp_path: Path, echo: Upstream, sockets: Sockets) -> None:
    """§1.5: ``--config`` takes the ``/populate`` array format and creates the proxies at start."""
    config = tmp_path / "proxies.json"
    config.write_text(
        json.dumps(
            [
                {"name": "from_config", "listen": "127.0.0.1:0", "upstream": echo.addr},
                {"name": "off", "listen": "127.0.0.1:0", "upstream": echo.addr, "enabled": False},
            ]
        )
    )
    with CliProxy("--config", str(config)) as cli:
        proxies = cli.api().get("/proxies").json()
        assert set(proxies) == {"from_config", "off"}
        assert proxies["off"]["enabled"] is False
        client = sockets.connect(local_addr(proxies["from_config"]))
        assert echo_roundtrip(client, b"configured") == b"configured"


# ---------------------------------------------------------------- /extensions and --seed


def test_extensions_endpoint_reports_seed() -> None:
    with CliProxy("--seed", "42") as cli:
        resp = cli.api().get("/extensions")
        assert resp.status == 200, resp.body
        assert resp.content_type.startswith("application/json")
        body = resp.json()
        assert isinstance(body["extensions"], list)
        assert all(isinstance(name, str) and name for name in body["extensions"])
        assert body["seed"] == 42


def test_extensions_endpoint_without_seed_reports_the_one_used(api: ProxyApi) -> None:
    body = api.get("/extensions").json()
    assert isinstance(body["extensions"], list)
    assert isinstance(body["seed"], int)


def _seeded_run(seed: int, echo: Upstream) -> tuple[list[bool], list[float], str]:
    """Fixed traffic against a fresh server: 48 connections through a toxicity-0.5 cutter, then
    30 round trips through latency 10 ± 10 ms. Returns (which connections were cut, measured
    delays in ms, the latency toxic's name)."""
    with CliProxy("--seed", str(seed)) as cli:
        api = cli.api()
        cut = api.create_proxy("cut", echo.addr)
        api.add_toxic("cut", "limit_data", stream="upstream", toxicity=0.5, attributes={"bytes": 0})
        pattern = []
        for _ in range(48):
            with socket.create_connection(local_addr(cut), timeout=5) as sock:
                sock.sendall(b"x")
                try:
                    pattern.append(sock.recv(1) == b"")
                except ConnectionResetError:
                    pattern.append(True)
        jit = api.create_proxy("jitter", echo.addr)
        toxic = api.add_toxic("jitter", "latency", attributes={"latency": 10, "jitter": 10})
        delays = []
        with socket.create_connection(local_addr(jit), timeout=5) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(30):
                t0 = time.monotonic()
                sock.sendall(b"%04d" % i)
                recv_exact(sock, 4)
                delays.append((time.monotonic() - t0) * 1000)
        return pattern, delays, str(toxic["name"])


def _drawn_delays(seed: int, toxic: str, n: int = 30) -> list[int]:
    """The delays the seed decides for the jitter proxy's first connection (documented
    derivation: server seed + proxy, connection, stream, toxic, "draw"), one per echoed chunk."""
    from nats_fault_harness.proxy._rng import SeedSource

    rng = SeedSource(seed).derive("jitter", 1, "downstream", toxic, "draw")
    return [max(0, 10 + rng.randrange(-10, 10)) for _ in range(n)]


def test_seed_makes_toxicity_and_jitter_reproducible(echo: Upstream) -> None:
    """Same seed + same traffic → the same decisions: the cut pattern read off the sockets,
    and jitter delays that are the seed's draws. Compared are the decided values, never two
    wall-clock runs: a loaded machine only makes a delay later, never earlier than its draw,
    so "every measured delay >= its drawn delay" holds under load, while a proxy that drew
    from anything but the seed misses it in one of 30 round trips (chance ~2^-30)."""
    pattern_a, delays_a, toxic = _seeded_run(1234, echo)
    pattern_b, delays_b, _ = _seeded_run(1234, echo)
    pattern_c, delays_c, _ = _seeded_run(4321, echo)
    assert 5 <= sum(pattern_a) <= 43, pattern_a  # it is a coin, not a constant
    assert pattern_a == pattern_b
    assert pattern_a != pattern_c  # chance of a match 2^-48
    drawn_a, drawn_c = _drawn_delays(1234, toxic), _drawn_delays(4321, toxic)
    assert drawn_a != drawn_c
    early_ms = 2.0  # timer granularity: an event loop may wake a little before the deadline
    for measured, drawn in ((delays_a, drawn_a), (delays_b, drawn_a), (delays_c, drawn_c)):
        too_early = [
            (i, round(m, 2), d)
            for i, (m, d) in enumerate(zip(measured, drawn, strict=True))
            if m < d - early_ms
        ]
        assert not too_early, too_early


# ---------------------------------------------------------------- /events


def _events_since(api: ProxyApi, since: int) -> tuple[list[dict[str, Any]], int]:
    resp = api.get(f"/events?since={since}")
    assert resp.status == 200, resp.body
    body = resp.json()
    assert isinstance(body["events"], list), body
    assert isinstance(body["next"], int), body
    return body["events"], body["next"]


def _of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == type_]


def test_events_record_connection_toxic_and_bytes(
    api: ProxyApi, echo: Upstream, sockets: Sockets
) -> None:
    """Connection opened/closed with bytes per direction, toxic added/removed/fired, each event
    with a ``seq`` above the cursor it was read from. (Events of connections that earlier tests
    left closing are told apart by the client address.)"""
    _, start = _events_since(api, 0)
    proxy = api.create_proxy("p", echo.addr)
    api.add_toxic("p", "limit_data", name="cap", stream="upstream", attributes={"bytes": 2000})
    quiet = sockets.connect(local_addr(proxy))  # 1234 bytes each way, under the cap
    payload = b"e" * 1234
    assert echo_roundtrip(quiet, payload) == payload
    quiet_client = "{}:{}".format(*quiet.getsockname())
    quiet.close()
    loud = sockets.connect(local_addr(proxy))  # crosses the cap: the toxic fires
    loud_client = "{}:{}".format(*loud.getsockname())
    loud.sendall(b"f" * 3000)
    seen: list[dict[str, Any]] = []
    cursor = start

    def mine(type_: str) -> list[dict[str, Any]]:
        return [e for e in _of_type(seen, type_) if e.get("client") in (quiet_client, loud_client)]

    def both_closed() -> bool:
        nonlocal cursor
        events, cursor = _events_since(api, cursor)
        seen.extend(events)
        return len(mine("connection_closed")) >= 2

    wait_for(both_closed, timeout=5, what="connection_closed events of both connections")
    api.remove_toxic("p", "cap")
    events, cursor = _events_since(api, cursor)
    seen.extend(events)
    assert all(e["seq"] > start for e in seen)
    assert [e["seq"] for e in seen] == sorted({e["seq"] for e in seen})
    assert [e["client"] for e in mine("connection_opened")] == [quiet_client, loud_client]
    ours = [e for e in seen if e.get("proxy") == "p"]
    assert [e["toxic"]["name"] for e in _of_type(ours, "toxic_added")] == ["cap"]
    assert [e["toxic"]["name"] for e in _of_type(ours, "toxic_removed")] == ["cap"]
    loud_id = mine("connection_opened")[1]["connection"]
    fired = [e for e in _of_type(ours, "toxic_fired") if e.get("connection") == loud_id]
    assert len(fired) == 1, fired
    assert fired[0]["effect"] == "limit_reached"
    assert fired[0]["stream"] == "upstream"
    (closed,) = [e for e in mine("connection_closed") if e["client"] == quiet_client]
    assert closed["proxy"] == "p"
    assert (closed["bytes_up"], closed["bytes_down"]) == (1234, 1234), closed


def test_events_since_is_a_cursor(api: ProxyApi, echo: Upstream) -> None:
    """``next`` only grows; asking from ``next`` returns only newer events, and nothing when
    nothing happened."""
    _, first = _events_since(api, 0)
    events, same = _events_since(api, first)
    assert (events, same) == ([], first)
    api.create_proxy("p", echo.addr)
    api.add_toxic("p", "noop", name="n")
    newer, after = _events_since(api, first)
    assert newer, "adding a toxic produced no event"
    assert after > first
    again, final = _events_since(api, after)
    assert again == []
    assert final == after
    everything, _ = _events_since(api, 0)
    assert len(everything) >= len(newer)


# ---------------------------------------------------------------- /proxies/{p}/connections


def _connections(api: ProxyApi, proxy: str) -> list[Any]:
    resp = api.get(f"/proxies/{proxy}/connections")
    assert resp.status == 200, resp.body
    body = resp.json()
    if isinstance(body, dict):
        body = body["connections"]
    assert isinstance(body, list), body
    return body


def test_connections_endpoint_lists_live_connections(
    api: ProxyApi, echo: Upstream, sockets: Sockets
) -> None:
    proxy = api.create_proxy("p", echo.addr)
    assert _connections(api, "p") == []
    clients = [sockets.connect(local_addr(proxy)) for _ in range(2)]
    for client in clients:
        assert echo_roundtrip(client, b"hi") == b"hi"
    wait_for(lambda: len(_connections(api, "p")) == 2, timeout=3, what="2 live connections")
    for client in clients:
        client.close()
    wait_for(lambda: _connections(api, "p") == [], timeout=3, what="connections gone")


def test_connections_endpoint_unknown_proxy_is_404(api: ProxyApi) -> None:
    resp = api.get("/proxies/nope/connections")
    assert resp.status == 404
    assert resp.json() == {"error": "proxy not found", "status": 404}


@pytest.mark.parametrize("path", ["/events?since=0", "/extensions"])
def test_extension_endpoints_are_json(api: ProxyApi, path: str) -> None:
    resp = api.get(path)
    assert resp.status == 200
    assert resp.content_type.startswith("application/json")
