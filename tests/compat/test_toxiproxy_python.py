"""The PyPI ``toxiproxy-python`` 0.1.1 client (import name ``toxiproxy``) against our server.

Every HTTP call the client makes (contract §4.1) is exercised: ``proxies``, ``get_proxy``,
``create`` (incl. ``enabled=False``), its client-side ``populate``, ``destroy_all``,
``disable``/``enable``/``down``, ``add_toxic``, ``toxics``, ``get_toxic``, ``destroy_toxic``,
``destroy``, ``reset``, ``version``, ``running``; plus the behaviours its own GitHub tests expect,
re-expressed here: create-disabled echoes ``listen``; disable → port refuses, enable → same port
accepts; reset re-enables, clears toxics, keeps ``listen``; invalid stream → ``InvalidToxic``;
duplicate → ``ProxyExists``; unknown → ``NotFound``.

The client keeps its server address in class attributes (``APIConsumer.host``/``port``); the
fixture points them at our server and restores them afterwards.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from toxiproxy.proxy import Proxy

EchoServer = Any  # the ``echo`` fixture from conftest.py


@pytest.fixture
def client(proxy_server: Any) -> Iterator[toxiproxy.Toxiproxy]:
    saved = (APIConsumer.host, APIConsumer.port)
    server = toxiproxy.Toxiproxy()
    server.update_api_consumer(proxy_server.host, proxy_server.port)
    try:
        yield server
    finally:
        APIConsumer.host, APIConsumer.port = saved


def _port(listen: str) -> int:
    return int(listen.rpartition(":")[2])


def _outcome(port: int) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        code = sock.connect_ex(("127.0.0.1", port))
    if code == 0:
        return "accepted"
    assert code == errno.ECONNREFUSED, errno.errorcode.get(code, code)
    return "refused"


def _echo_rtt(port: int, payload: bytes = b"ping") -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        t0 = time.monotonic()
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = sock.recv(1024)
            assert chunk, "EOF through the proxy"
            got += chunk
        assert got == payload
        return time.monotonic() - t0


def test_running_and_version(client: toxiproxy.Toxiproxy) -> None:
    """``running()`` is a raw IPv4 connect; ``version()`` returns the raw body bytes."""
    assert client.running() is True
    version = client.version()
    assert isinstance(version, bytes)
    assert version.startswith(b'{"version": "')
    assert version.endswith(b"\n")


def test_create_get_and_list(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    assert client.proxies() == {}
    proxy = client.create(upstream=echo.addr, name="p")
    assert isinstance(proxy, Proxy)
    assert (proxy.name, proxy.upstream, proxy.enabled) == ("p", echo.addr, True)
    assert proxy.listen.startswith("127.0.0.1:")
    assert _port(proxy.listen) > 0
    listed = client.proxies()
    assert list(listed) == ["p"]
    got = client.get_proxy("p")
    assert got is not None
    assert (got.name, got.listen, got.upstream, got.enabled) == ("p", proxy.listen, echo.addr, True)
    assert client.get_proxy("missing") is None
    assert _echo_rtt(_port(proxy.listen)) < 1.0


def test_create_disabled_echoes_listen(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    probe = client.create(upstream=echo.addr, name="probe")
    port = _port(probe.listen)
    assert probe.destroy() is True
    proxy = client.create(upstream=echo.addr, name="p", listen=f"localhost:{port}", enabled=False)
    assert proxy.enabled is False
    assert proxy.listen == f"localhost:{port}"
    assert _outcome(port) == "refused"


def test_duplicates_raise_proxy_exists(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    client.create(upstream=echo.addr, name="p")
    with pytest.raises(ProxyExists):  # the client's own pre-check
        client.create(upstream=echo.addr, name="p")
    # server-side 409, bypassing the pre-check, with no listen field (as in its GitHub tests)
    APIConsumer.post("/proxies", json={"name": "raw", "upstream": echo.addr})
    with pytest.raises(ProxyExists):
        APIConsumer.post("/proxies", json={"name": "raw", "upstream": echo.addr})


def test_disable_enable_and_down(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    proxy = client.create(upstream=echo.addr, name="p")
    port = _port(proxy.listen)
    proxy.disable()
    assert proxy.enabled is False
    assert client.get_proxy("p").enabled is False
    assert _outcome(port) == "refused"
    proxy.enable()
    assert proxy.enabled is True
    assert client.get_proxy("p").listen == proxy.listen
    assert _outcome(port) == "accepted"
    with proxy.down():
        assert _outcome(port) == "refused"
        assert client.get_proxy("p").enabled is False
    assert _outcome(port) == "accepted"
    assert client.get_proxy("p").enabled is True


def test_toxics_round_trip(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    proxy = client.create(upstream=echo.addr, name="p")
    assert proxy.toxics() == {}
    proxy.add_toxic(type="latency", attributes={"latency": 100, "jitter": 0})
    proxy.add_toxic(
        type="bandwidth", stream="upstream", name="bw", toxicity=0.5, attributes={"rate": 1000}
    )
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "bw"}
    lat = proxy.get_toxic("latency_downstream")
    assert (lat.type, lat.stream, lat.toxicity) == ("latency", "downstream", 1)
    assert lat.attributes == {"latency": 100, "jitter": 0}
    bw = proxy.get_toxic("bw")
    assert (bw.type, bw.stream, bw.attributes) == ("bandwidth", "upstream", {"rate": 1000})
    assert bw.toxicity == pytest.approx(0.5)
    assert proxy.get_toxic("nope") is None
    assert _echo_rtt(_port(proxy.listen)) >= 0.09  # the latency toxic is really applied
    assert proxy.destroy_toxic("bw") is True
    assert set(proxy.toxics()) == {"latency_downstream"}
    with pytest.raises(NotFound):
        proxy.destroy_toxic("bw")


def test_toxic_errors(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    proxy = client.create(upstream=echo.addr, name="p")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="latency", stream="walrustream")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="walrus")
    proxy.add_toxic(type="latency", name="dup")
    with pytest.raises(ProxyExists):  # 409 toxic already exists maps to ProxyExists
        proxy.add_toxic(type="latency", name="dup", stream="upstream")
    assert set(proxy.toxics()) == {"dup"}


def test_unknown_things_raise_not_found(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    ghost = Proxy(name="ghost", upstream=echo.addr, enabled=True, listen="127.0.0.1:1")
    with pytest.raises(NotFound):
        ghost.destroy()
    with pytest.raises(NotFound):
        ghost.toxics()
    with pytest.raises(NotFound):
        APIConsumer.get("/not-a-route")


def test_reset_reenables_clears_toxics_keeps_listen(
    client: toxiproxy.Toxiproxy, echo: EchoServer
) -> None:
    proxy = client.create(upstream=echo.addr, name="p")
    proxy.add_toxic(type="latency", attributes={"latency": 1000})
    proxy.disable()
    assert client.reset() is True
    after = client.get_proxy("p")
    assert after.enabled is True
    assert after.listen == proxy.listen
    assert after.toxics() == {}
    assert _echo_rtt(_port(proxy.listen)) < 0.5


def test_client_side_populate(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    """``populate`` compares upstream and listen strings with the server's and re-creates on a
    mismatch (it never calls ``/populate``)."""
    created = client.populate(
        [
            {"name": "one", "upstream": echo.addr, "listen": "127.0.0.1:0"},
            {"name": "two", "upstream": echo.addr, "listen": "127.0.0.1:0"},
        ]
    )
    assert [p.name for p in created] == ["one", "two"]
    one = client.get_proxy("one")
    one.add_toxic(type="latency", attributes={"latency": 5})
    # identical strings (as the server reports them): left alone, toxics kept
    again = client.populate([{"name": "one", "upstream": echo.addr, "listen": one.listen}])
    assert again == []
    assert set(client.get_proxy("one").toxics()) == {"latency_downstream"}
    # different upstream: destroyed and re-created without toxics
    replaced = client.populate(
        [{"name": "one", "upstream": f"localhost:{echo.port}", "listen": "127.0.0.1:0"}]
    )
    assert [p.upstream for p in replaced] == [f"localhost:{echo.port}"]
    assert client.get_proxy("one").toxics() == {}
    assert set(client.proxies()) == {"one", "two"}


def test_destroy_and_destroy_all(client: toxiproxy.Toxiproxy, echo: EchoServer) -> None:
    proxies = [client.create(upstream=echo.addr, name=f"p{i}") for i in range(3)]
    assert client.destroy(proxies[0]) is True
    assert _outcome(_port(proxies[0].listen)) == "refused"
    assert client.destroy("not a proxy object") is False
    client.destroy_all()
    assert client.proxies() == {}
    for proxy in proxies[1:]:
        assert _outcome(_port(proxy.listen)) == "refused"
