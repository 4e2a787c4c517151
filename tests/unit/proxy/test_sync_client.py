"""The blocking client: same calls, results and errors as the async one; one kept connection."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nats_fault_harness.errors import (
    ProxyAlreadyExists,
    ProxyError,
    ProxyNotFound,
    ToxicAlreadyExists,
    ToxicNotFound,
    UnsupportedFeature,
)
from nats_fault_harness.proxy import ProxyInfo, SyncToxiproxyClient, ToxicInfo, ToxiproxyClient
from nats_fault_harness.proxy._fixtures_support import ToxiproxyEndpoint


@pytest.fixture
def sync(toxiproxy: ToxiproxyEndpoint) -> Iterator[SyncToxiproxyClient]:
    with SyncToxiproxyClient(toxiproxy.url) as client:
        yield client


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_same_methods_and_signatures_as_the_async_client() -> None:
    sync_api, async_api = _public(SyncToxiproxyClient), _public(ToxiproxyClient)
    assert set(sync_api) - {"close"} == set(async_api) - {"aclose"}
    for name in set(sync_api) - {"close"}:
        assert sync_api[name].parameters == async_api[name].parameters, name


def test_round_trip_of_every_call(sync: SyncToxiproxyClient) -> None:
    created = sync.create_proxy("p", "127.0.0.1:9")
    assert isinstance(created, ProxyInfo)
    assert created.port > 0
    assert sync.get_proxy("p") == created
    assert list(sync.proxies()) == ["p"]
    assert sync.update_proxy("p", enabled=False).enabled is False
    toxic = sync.add_toxic(
        "p", "latency", name="lag", attributes={"latency": 5}, connect_name="svc-*"
    )
    assert toxic == ToxicInfo(
        "lag", "latency", "downstream", 1.0, {"latency": 5, "jitter": 0, "connect_name": "svc-*"}
    )
    nats = sync.add_toxic(
        "p",
        "nats",
        stream="upstream",
        name="n",
        attributes={"verb": "pub", "action": "drop", "nth": 3},
    )
    assert nats.attributes["verb"] == "PUB"
    assert sync.update_toxic("p", "lag", toxicity=0.5).toxicity == 0.5
    assert [t.name for t in sync.toxics("p")] == ["n", "lag"]
    assert sync.get_toxic("p", "n") == nats
    sync.remove_toxic("p", "n")
    populated = sync.populate([{"name": "q", "listen": "127.0.0.1:0", "upstream": "x:1"}])
    assert [p.name for p in populated] == ["q"]
    assert "version" in sync.version()
    report = sync.extensions()
    assert report is not None
    assert {"nats", "connect_name", "connection_reset"} <= set(report["extensions"])
    page = sync.events(0, limit=5)
    assert len(page.events) <= 5
    assert page.next >= 1
    assert sync.connections("p") == []
    assert sync.reset_connections("p", connect_name="x", mode="fin") == []
    sync.reset()
    assert sync.toxics("p") == []
    sync.delete_proxy("p")
    sync.delete_proxy("q")
    assert sync.proxies() == {}


def _errors(call: Callable[[Any], Any], client: Any) -> tuple[type, int | None, str]:
    try:
        result = call(client)
        if inspect.isawaitable(result):
            asyncio.run(_await(result))
    except ProxyError as exc:
        return type(exc), exc.status, str(exc)
    raise AssertionError("no error")


async def _await(result: Any) -> Any:
    return await result


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda c: c.get_proxy("nope"), ProxyNotFound),
        (lambda c: c.create_proxy("dup", "127.0.0.1:9"), ProxyAlreadyExists),
        (lambda c: c.get_toxic("dup", "nope"), ToxicNotFound),
        (lambda c: c.add_toxic("dup", "noop", name="t"), ToxicAlreadyExists),
        (lambda c: c.add_toxic("dup", "nats", attributes={"action": "boom"}), ProxyError),
        (lambda c: c.reset_connections("dup", mode="kill"), ProxyError),
    ],
)
def test_errors_map_exactly_like_the_async_client(
    sync: SyncToxiproxyClient,
    toxiproxy: ToxiproxyEndpoint,
    call: Callable[[Any], Any],
    expected: type,
) -> None:
    sync.create_proxy("dup", "127.0.0.1:9")
    sync.add_toxic("dup", "noop", name="t")

    async def via_async() -> tuple[type, int | None, str]:
        async with ToxiproxyClient(toxiproxy.url) as client:
            try:
                await call(client)
            except ProxyError as exc:
                return type(exc), exc.status, str(exc)
        raise AssertionError("no error")

    from_sync = _errors(call, sync)
    assert from_sync[0] is expected
    assert from_sync == asyncio.run(via_async())


def test_one_connection_is_kept_alive(sync: SyncToxiproxyClient) -> None:
    sync.proxies()
    conn = sync._conn
    assert conn is not None
    sock = conn.sock
    assert sock is not None
    for _ in range(5):
        sync.version()
    assert sync._conn is conn
    assert conn.sock is sock


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers like a real Toxiproxy to extension paths, closes silently after each answer."""

    protocol_version = "HTTP/1.1"
    connections: list[int]  # set on the class per test

    def setup(self) -> None:
        super().setup()
        self.connections.append(1)

    def do_GET(self) -> None:
        if self.path == "/version":
            body, status = b'{"version": "2.12.0"}\n', 200
        else:
            body, status = b"404 page not found\n", 404
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True  # without "Connection: close": the client must cope

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _plain_server() -> Iterator[tuple[str, list[int]]]:
    handler = type("Handler", (_Handler,), {"connections": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.connections
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_connection_closed_by_the_server_is_reopened_once() -> None:
    with _plain_server() as (url, connections), SyncToxiproxyClient(url) as client:
        for _ in range(3):
            assert client.version() == '{"version": "2.12.0"}'
        assert len(connections) == 3


def test_feature_detection_against_a_server_without_extensions() -> None:
    with _plain_server() as (url, _), SyncToxiproxyClient(url) as client:
        assert client.extensions() is None
        with pytest.raises(UnsupportedFeature):
            client.events()
        with pytest.raises(UnsupportedFeature):
            client.reset_connections("p")


def test_an_unreachable_server_is_a_proxy_error() -> None:
    with (
        SyncToxiproxyClient("http://127.0.0.1:9", timeout=2) as client,
        pytest.raises(ProxyError, match="GET /version"),
    ):
        client.version()
    with pytest.raises(ProxyError, match="not an http"):
        SyncToxiproxyClient("https://example.invalid")
