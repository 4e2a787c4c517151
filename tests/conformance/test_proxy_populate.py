"""``POST /populate`` (contract §1.3-1.4 "Populate"; checklist §3 items 5-8) including the
partial-failure body that upstream tests do not check, and our ``[]`` deviation."""

from __future__ import annotations

from ._support import ProxyApi, connect_outcome, json_keys, listen_port, local_addr
from ._upstream import Upstream


def test_populate_two_proxies_in_order(api: ProxyApi, echo: Upstream) -> None:
    """Item 5: both created (201), returned in request order, both accept; ``enabled`` defaults
    to true."""
    body = [
        {"name": "one", "listen": "127.0.0.1:0", "upstream": echo.addr},
        {"name": "two", "listen": "127.0.0.1:0", "upstream": echo.addr, "enabled": True},
    ]
    resp = api.post("/populate", body)
    assert resp.status == 201, resp.body
    data = resp.json()
    assert list(data) == ["proxies"]
    proxies = data["proxies"]
    assert [p["name"] for p in proxies] == ["one", "two"]
    for p in proxies:
        assert json_keys(p) == ["name", "listen", "upstream", "enabled", "toxics"]
        assert p["enabled"] is True
        assert p["toxics"] == []
        assert connect_outcome(local_addr(p)) == "accepted"
    assert set(api.get("/proxies").json()) == {"one", "two"}


def test_populate_disabled_entry_refuses(api: ProxyApi, echo: Upstream) -> None:
    """Item 5: an entry with ``enabled:false`` is created but its port refuses."""
    port = listen_port(api.create_proxy("probe", echo.addr))
    assert api.delete("/proxies/probe").status == 204
    body = [
        {"name": "up", "listen": "127.0.0.1:0", "upstream": echo.addr},
        {"name": "down", "listen": f"127.0.0.1:{port}", "upstream": echo.addr, "enabled": False},
    ]
    resp = api.post("/populate", body)
    assert resp.status == 201, resp.body
    up, down = resp.json()["proxies"]
    assert up["enabled"] is True
    assert down["enabled"] is False
    assert connect_outcome(local_addr(up)) == "accepted"
    assert connect_outcome(("127.0.0.1", port)) == "refused"


def test_populate_identical_keeps_existing_proxy(api: ProxyApi, echo: Upstream) -> None:
    """Item 6: same name + equivalent listen/upstream → untouched: toxics and enabled state kept
    even though the request says ``enabled:false``; ``localhost:P`` reported as ``127.0.0.1:P``."""
    proxy = api.create_proxy("p", echo.addr)
    port = listen_port(proxy)
    api.add_toxic("p", "latency", attributes={"latency": 5})
    body = [{"name": "p", "listen": f"localhost:{port}", "upstream": echo.addr, "enabled": False}]
    resp = api.post("/populate", body)
    assert resp.status == 201, resp.body
    (kept,) = resp.json()["proxies"]
    assert kept["listen"] == f"127.0.0.1:{port}"
    assert kept["enabled"] is True
    assert [t["name"] for t in kept["toxics"]] == ["latency_downstream"]
    assert [t["name"] for t in api.toxics("p")] == ["latency_downstream"]
    assert connect_outcome(("127.0.0.1", port)) == "accepted"


def test_populate_changed_listen_replaces_proxy(api: ProxyApi, echo: Upstream) -> None:
    """Item 6 / §1.4: a different listen (``:0`` never equals the stored port) replaces the proxy:
    new port, old one closed, no toxics."""
    proxy = api.create_proxy("p", echo.addr)
    api.add_toxic("p", "latency", attributes={"latency": 5})
    resp = api.post("/populate", [{"name": "p", "listen": "127.0.0.1:0", "upstream": echo.addr}])
    assert resp.status == 201, resp.body
    (replaced,) = resp.json()["proxies"]
    assert replaced["toxics"] == []
    assert listen_port(replaced) != listen_port(proxy)
    assert connect_outcome(local_addr(proxy)) == "refused"
    assert connect_outcome(local_addr(replaced)) == "accepted"
    assert api.toxics("p") == []


def test_populate_unnamed_entry_creates_nothing(api: ProxyApi, echo: Upstream) -> None:
    """Item 7: ``missing required field: name at proxy 2`` (1-based), 400, zero proxies."""
    body = [
        {"name": "one", "listen": "127.0.0.1:0", "upstream": echo.addr},
        {"listen": "127.0.0.1:0", "upstream": echo.addr},
        {"name": "three", "listen": "127.0.0.1:0", "upstream": echo.addr},
    ]
    resp = api.post("/populate", body)
    assert resp.status == 400
    data = resp.json()
    assert data["error"] == "missing required field: name at proxy 2"
    assert data["status"] == 400
    assert not data.get("proxies")  # Go: null
    assert api.get("/proxies").json() == {}


def test_populate_missing_upstream_creates_nothing(api: ProxyApi, echo: Upstream) -> None:
    """§1.3: upstream is validated for all entries before anything is created."""
    body = [
        {"name": "one", "listen": "127.0.0.1:0", "upstream": echo.addr},
        {"name": "two", "listen": "127.0.0.1:0"},
    ]
    resp = api.post("/populate", body)
    assert resp.status == 400
    assert resp.error().startswith("missing required field: upstream")
    assert api.get("/proxies").json() == {}


def test_populate_partial_failure_body(api: ProxyApi, echo: Upstream) -> None:
    """Item 8 (and the body upstream tests do not check): entry 2 has a bad listen → error status
    (500), body ``{"error", "status", "proxies": [entry 1]}``; entry 1 exists, 2 and 3 do not."""
    body = [
        {"name": "one", "listen": "127.0.0.1:0", "upstream": echo.addr},
        {"name": "two", "listen": "local373", "upstream": echo.addr},
        {"name": "three", "listen": "127.0.0.1:0", "upstream": echo.addr},
    ]
    resp = api.post("/populate", body)
    assert resp.status == 500, resp.body
    data = resp.json()
    assert data["status"] == 500
    assert isinstance(data["error"], str)
    assert data["error"]
    assert [p["name"] for p in data["proxies"]] == ["one"]
    assert connect_outcome(local_addr(data["proxies"][0])) == "accepted"
    assert set(api.get("/proxies").json()) == {"one"}


def test_populate_bad_body_is_400(api: ProxyApi) -> None:
    """§1.3: the body must be a JSON array."""
    resp = api.post("/populate", {"name": "x", "upstream": "y:1"})
    assert resp.status == 400
    assert resp.error().startswith("bad request body")
    assert api.get("/proxies").json() == {}


def test_populate_empty_array_returns_empty_list(api: ProxyApi) -> None:
    """Deliberate deviation (§2.10): Go answers ``{"proxies": null}``; we answer ``[]`` so the node
    client (which iterates the list) does not throw."""
    resp = api.post("/populate", [])
    assert resp.status == 201, resp.body
    assert resp.json() == {"proxies": []}
