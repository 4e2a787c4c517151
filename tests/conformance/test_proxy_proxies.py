"""Proxy objects: create, list, update, delete, populate, reset (contract §1.2-1.4; checklist §3
items 4-13, 22-23) plus what upstream tests miss: disable/delete closing live connections, PATCH vs
POST equivalence and the ``/populate`` partial-failure body.

Ports are always chosen by the kernel (``127.0.0.1:0``); where a test needs "the same port again"
it reuses the port the server reported.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from ._support import (
    ProxyApi,
    connect_outcome,
    echo_roundtrip,
    is_open,
    json_keys,
    listen_port,
    local_addr,
    read_until_closed,
)
from ._upstream import Sockets, Upstream

# ---------------------------------------------------------------- create / list / get


def test_create_reports_bound_port_and_shape(api: ProxyApi, echo: Upstream) -> None:
    """Item 9 / §1.2: 201, keys in Go order, real port for ``:0``, upstream verbatim, no toxics."""
    resp = api.post("/proxies", {"name": "p", "listen": "127.0.0.1:0", "upstream": echo.addr})
    assert resp.status == 201, resp.body
    proxy = resp.json()
    assert json_keys(proxy) == ["name", "listen", "upstream", "enabled", "toxics"]
    assert proxy["name"] == "p"
    assert proxy["listen"].startswith("127.0.0.1:")
    assert listen_port(proxy) > 0
    assert proxy["upstream"] == echo.addr
    assert proxy["enabled"] is True
    assert proxy["toxics"] == []
    assert api.get("/proxies").json() == {"p": proxy}
    assert api.proxy("p") == proxy
    assert connect_outcome(local_addr(proxy)) == "accepted"


def test_list_is_an_object_sorted_by_name(api: ProxyApi, echo: Upstream) -> None:
    """§1.3: ``GET /proxies`` is a JSON object; Go's encoder sorts map keys."""
    for name in ("charlie", "alpha", "bravo"):
        api.create_proxy(name, echo.addr)
    assert list(api.get("/proxies").json()) == ["alpha", "bravo", "charlie"]


def test_localhost_listen_is_reported_resolved(api: ProxyApi, echo: Upstream) -> None:
    """Item 9 / §1.4: ``localhost:P`` is stored as ``127.0.0.1:P``; upstream is never resolved."""
    port = listen_port(api.create_proxy("probe", echo.addr))
    assert api.delete("/proxies/probe").status == 204
    proxy = api.create_proxy("p", "localhost:6379", listen=f"localhost:{port}")
    assert proxy["listen"] == f"127.0.0.1:{port}"
    assert proxy["upstream"] == "localhost:6379"


def test_upstream_is_not_dialled_at_create(api: ProxyApi) -> None:
    """§1.3: an unresolvable upstream is accepted at create time."""
    proxy = api.create_proxy("p", "somehost.invalid:12345")
    assert proxy["upstream"] == "somehost.invalid:12345"


@pytest.mark.parametrize("listen", [None, ""])
def test_empty_listen_binds_a_random_loopback_port(
    api: ProxyApi, echo: Upstream, listen: str | None
) -> None:
    """§1.4: missing listen → a random port. Deviation: on 127.0.0.1, not on all interfaces
    (Go shows ``[::]:p``); the same for an update to ``""`` and a disabled create."""
    proxy = api.create_proxy("p", echo.addr, listen=listen)
    assert proxy["listen"].startswith("127.0.0.1:")
    assert listen_port(proxy) > 0
    assert connect_outcome(local_addr(proxy)) == "accepted"
    moved = api.update_proxy("p", listen="")
    assert moved["listen"].startswith("127.0.0.1:")
    assert connect_outcome(local_addr(moved)) == "accepted"
    assert api.create_proxy("d", echo.addr, listen=listen, enabled=False)["listen"] == (
        "127.0.0.1:0"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "", "upstream": "127.0.0.1:1"}, "missing required field: name"),
        ({"upstream": "127.0.0.1:1"}, "missing required field: name"),
        ({"name": "x", "upstream": ""}, "missing required field: upstream"),
        ({"name": "x"}, "missing required field: upstream"),
        ({}, "missing required field: name"),
    ],
)
def test_create_missing_fields(api: ProxyApi, body: dict[str, Any], message: str) -> None:
    """Item 4: blank name / upstream → 400 with the exact message (name checked first)."""
    resp = api.post("/proxies", body)
    assert resp.status == 400
    assert resp.json() == {"error": message, "status": 400}
    assert api.get("/proxies").json() == {}


def test_create_duplicate_name_is_409(api: ProxyApi, echo: Upstream) -> None:
    """Item 12: name conflict → 409 ``proxy already exists`` (checked before binding)."""
    first = api.create_proxy("p", echo.addr)
    resp = api.post("/proxies", {"name": "p", "upstream": echo.addr, "listen": first["listen"]})
    assert resp.status == 409
    assert resp.json() == {"error": "proxy already exists", "status": 409}
    assert api.proxy("p") == first


def test_port_conflict_is_500_then_works_after_holder_goes(api: ProxyApi, echo: Upstream) -> None:
    """Item 12 / item 22: same listen address → 500 ``...address already in use``; nothing added;
    after deleting the holder the same create succeeds on that port."""
    holder = api.create_proxy("holder", echo.addr)
    resp = api.post(
        "/proxies", {"name": "second", "upstream": echo.addr, "listen": holder["listen"]}
    )
    assert resp.status == 500, resp.body
    assert resp.json()["status"] == 500
    assert "address already in use" in resp.error()
    assert set(api.get("/proxies").json()) == {"holder"}
    assert api.delete("/proxies/holder").status == 204
    again = api.create_proxy("second", echo.addr, listen=holder["listen"])
    assert again["listen"] == holder["listen"]
    assert connect_outcome(local_addr(again)) == "accepted"


# ---------------------------------------------------------------- enable / disable


def test_create_disabled_echoes_listen_and_does_not_bind(api: ProxyApi, echo: Upstream) -> None:
    """Item 10: created disabled → listen unresolved, port refuses; enable opens; disable closes."""
    port = listen_port(api.create_proxy("probe", echo.addr))
    assert api.delete("/proxies/probe").status == 204
    proxy = api.create_proxy("p", echo.addr, listen=f"localhost:{port}", enabled=False)
    assert proxy["enabled"] is False
    assert proxy["listen"] == f"localhost:{port}"
    assert connect_outcome(("127.0.0.1", port)) == "refused"
    enabled = api.update_proxy("p", enabled=True)
    assert enabled["enabled"] is True
    assert enabled["listen"] == f"127.0.0.1:{port}"
    assert connect_outcome(("127.0.0.1", port)) == "accepted"
    assert api.update_proxy("p", enabled=False)["enabled"] is False
    assert connect_outcome(("127.0.0.1", port)) == "refused"


def test_disable_is_idempotent_and_reenable_rebinds_same_port(
    api: ProxyApi, echo: Upstream
) -> None:
    """Item 22 / §1.4: stop twice is fine, start twice is fine; the ``:0`` port is kept."""
    proxy = api.create_proxy("p", echo.addr)
    addr = local_addr(proxy)
    for _ in range(2):
        assert api.update_proxy("p", enabled=False)["listen"] == proxy["listen"]
        assert connect_outcome(addr) == "refused"
    for _ in range(2):
        assert api.update_proxy("p", enabled=True)["listen"] == proxy["listen"]
        assert connect_outcome(addr) == "accepted"


def test_disable_closes_live_connections_on_both_sides(
    api: ProxyApi, held: Upstream, sockets: Sockets
) -> None:
    """§1.4 / §2.2 (not covered upstream): disabling closes the client and upstream sockets."""
    proxy = api.create_proxy("p", held.addr)
    client = sockets.connect(local_addr(proxy))
    server = sockets.track(held.accept())
    client.sendall(b"hi")
    assert server.recv(2) == b"hi"
    api.update_proxy("p", enabled=False)
    assert read_until_closed(client, 2.0)[1] in ("eof", "reset")
    assert read_until_closed(server, 2.0)[1] in ("eof", "reset")
    assert connect_outcome(local_addr(proxy)) == "refused"


def test_delete_closes_port_and_live_connections(
    api: ProxyApi, held: Upstream, sockets: Sockets
) -> None:
    """Item 11: delete → 204 empty, port refuses, connections closed, list empty, 2nd delete 404."""
    proxy = api.create_proxy("p", held.addr)
    client = sockets.connect(local_addr(proxy))
    server = sockets.track(held.accept())
    resp = api.delete("/proxies/p")
    assert (resp.status, resp.body) == (204, b"")
    assert connect_outcome(local_addr(proxy)) == "refused"
    assert read_until_closed(client, 2.0)[1] in ("eof", "reset")
    assert read_until_closed(server, 2.0)[1] in ("eof", "reset")
    assert api.get("/proxies").json() == {}
    again = api.delete("/proxies/p")
    assert again.status == 404
    assert again.json() == {"error": "proxy not found", "status": 404}


# ---------------------------------------------------------------- update


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update_keeps_omitted_fields_and_ignores_name(
    api: ProxyApi, echo: Upstream, method: str
) -> None:
    """§1.3: missing keys keep current values; ``name`` cannot be changed."""
    proxy = api.create_proxy("p", echo.addr)
    resp = api.request(method, "/proxies/p", {"name": "renamed", "upstream": "other:1"})
    assert resp.status == 200, resp.body
    updated = resp.json()
    assert updated["name"] == "p"
    assert updated["upstream"] == "other:1"
    assert updated["listen"] == proxy["listen"]
    assert updated["enabled"] is True
    assert set(api.get("/proxies").json()) == {"p"}


def test_patch_and_post_proxy_updates_are_equivalent(api: ProxyApi, echo: Upstream) -> None:
    """PATCH (2.6+) and deprecated POST accept the same body and give the same answer."""
    a = api.create_proxy("a", echo.addr)
    b = api.create_proxy("b", echo.addr)
    for body in ({"enabled": False}, {"upstream": "x:1"}, {"enabled": True, "upstream": echo.addr}):
        ra = api.post("/proxies/a", body)
        rb = api.patch("/proxies/b", body)
        assert ra.status == rb.status == 200
        got_a, got_b = ra.json(), rb.json()
        for got, orig in ((got_a, a), (got_b, b)):
            assert got.pop("name") == orig["name"]
            assert got.pop("listen") == orig["listen"]
        assert got_a == got_b


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update_errors(api: ProxyApi, echo: Upstream, method: str) -> None:
    """§1.3: unknown proxy → 404; empty body → 400 ``bad request body...``."""
    missing = api.request(method, "/proxies/nope", {"enabled": False})
    assert missing.status == 404
    assert missing.json() == {"error": "proxy not found", "status": 404}
    api.create_proxy("p", echo.addr)
    empty = api.request(method, "/proxies/p", data=b"")
    assert empty.status == 400
    assert empty.error().startswith("bad request body")


def test_update_listen_moves_port(api: ProxyApi, echo: Upstream) -> None:
    """Item 23: update listen to ``127.0.0.1:0`` → new port; old one refuses."""
    proxy = api.create_proxy("p", echo.addr)
    moved = api.update_proxy("p", listen="127.0.0.1:0")
    assert listen_port(moved) not in (0, listen_port(proxy))
    assert connect_outcome(local_addr(moved)) == "accepted"
    assert connect_outcome(local_addr(proxy)) == "refused"


def test_update_to_a_taken_listen_is_500(api: ProxyApi, echo: Upstream) -> None:
    """§1.3: a new listen that cannot be bound → 500 with the bind error. Deviation: the
    proxy is restored (Toxiproxy leaves it stopped with the new listen), so the failed
    request changed nothing."""
    holder = api.create_proxy("holder", echo.addr)
    proxy = api.create_proxy("p", echo.addr)
    resp = api.patch("/proxies/p", {"listen": holder["listen"], "upstream": "127.0.0.1:9"})
    assert resp.status == 500, resp.body
    assert resp.json()["status"] == 500
    assert "address already in use" in resp.error()
    assert api.proxy("p") == proxy
    assert connect_outcome(local_addr(proxy)) == "accepted"


@pytest.mark.parametrize("same", ["identical", "hostname"])
def test_equivalent_update_keeps_live_connection(
    api: ProxyApi, echo: Upstream, sockets: Sockets, same: str
) -> None:
    """Item 23 / §1.4: same listen again is a no-op; ``localhost:P`` vs ``127.0.0.1:P`` (2.12
    #631) does not count as a change, so a live connection survives."""
    proxy = api.create_proxy("p", echo.addr)
    client = sockets.connect(local_addr(proxy))
    assert echo_roundtrip(client, b"before") == b"before"
    listen = proxy["listen"] if same == "identical" else f"localhost:{listen_port(proxy)}"
    updated = api.update_proxy("p", listen=listen, upstream=echo.addr, enabled=True)
    assert updated["listen"] == proxy["listen"]
    assert echo_roundtrip(client, b"after") == b"after"


def test_changing_upstream_closes_live_connections(
    api: ProxyApi, echo: Upstream, sockets: Sockets, upstream_factory: Any
) -> None:
    """§1.4: a listen/upstream change stops the proxy (closing connections) and restarts it."""
    proxy = api.create_proxy("p", echo.addr)
    client = sockets.connect(local_addr(proxy))
    assert echo_roundtrip(client, b"x") == b"x"
    other = upstream_factory("echo")
    api.update_proxy("p", upstream=other.addr)
    assert read_until_closed(client, 2.0)[1] in ("eof", "reset")
    fresh = sockets.connect(local_addr(proxy))
    assert echo_roundtrip(fresh, b"y") == b"y"
    assert other.accepted_count == 1


# ---------------------------------------------------------------- reset


def test_reset_enables_clears_toxics_keeps_listen(api: ProxyApi, echo: Upstream) -> None:
    """Item 13: latency toxic read back (100/10); reset → enabled, no toxics, same port up."""
    proxy = api.create_proxy("p", echo.addr)
    toxic = api.add_toxic("p", "latency", attributes={"latency": 100, "jitter": 10})
    assert toxic["attributes"] == {"latency": 100, "jitter": 10}
    api.update_proxy("p", enabled=False)
    resp = api.post("/reset")
    assert (resp.status, resp.body) == (204, b"")
    after = api.proxy("p")
    assert after["enabled"] is True
    assert after["toxics"] == []
    assert after["listen"] == proxy["listen"]
    assert api.toxics("p") == []
    assert connect_outcome(local_addr(proxy)) == "accepted"


def test_reset_keeps_live_connections(api: ProxyApi, echo: Upstream, sockets: Sockets) -> None:
    """§1.4 / item 26: reset removes toxics but does not close connections."""
    proxy = api.create_proxy("p", echo.addr)
    api.add_toxic("p", "noop")
    client = sockets.connect(local_addr(proxy))
    assert echo_roundtrip(client, b"a") == b"a"
    assert api.post("/reset").status == 204
    assert echo_roundtrip(client, b"b") == b"b"
    assert is_open(client)


def test_reset_reports_a_bind_failure(api: ProxyApi, echo: Upstream) -> None:
    """§1.3: re-enabling during ``/reset`` can fail to bind (someone took the port) → 500."""
    proxy = api.create_proxy("p", echo.addr)
    api.update_proxy("p", enabled=False)
    squatter = socket.create_server(local_addr(proxy))
    try:
        resp = api.post("/reset")
        assert resp.status == 500, resp.body
        assert "address already in use" in resp.error()
    finally:
        squatter.close()
    assert api.post("/reset").status == 204
    assert api.proxy("p")["enabled"] is True
