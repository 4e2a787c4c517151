"""A LinkFactory asks its proxy for its extensions; a missing one is refused with a plain message.

The factory used to assume "no extensions" unless told, so one built by hand on the
harness's own proxy refused ``frames()`` claiming it needed "the harness's proxy". Against
a proxy without extensions the message now names the extension, the proxy's URL and how
to get the extensions.

A real ``toxiproxy-server`` is not installed here; :class:`_ToxiproxyFront` stands in for
its API only: it forwards Toxiproxy's own routes to the harness's proxy process (so the
links and their faults are real) and answers the extension routes ``404 page not found``,
as toxiproxy-server does.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import nats
import pytest

from nats_fault_harness.errors import UnsupportedFeature
from nats_fault_harness.faults import FaultLog, FaultyCluster, LinkFactory
from nats_fault_harness.proxy import SyncToxiproxyClient
from nats_fault_harness.proxy._fixtures_support import ToxiproxyEndpoint
from nats_fault_harness.servers import NatsServer

_EXTENSION_PATHS = ("/extensions", "/events", "/toxics/batch")  # plus .../connections


def _is_extension(path: str) -> bool:
    return path.split("?")[0] in _EXTENSION_PATHS or "/connections" in path


class _ToxiproxyFront:
    """Toxiproxy's API in front of the harness's proxy, without the extensions."""

    def __init__(self, backend: str) -> None:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                if _is_extension(self.path):
                    self._answer(404, b"404 page not found\n", "text/plain; charset=utf-8")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                request = urllib.request.Request(
                    backend + self.path, data=body, method=self.command
                )
                request.add_header("Content-Type", "application/json")
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, raw = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, raw = exc.code, exc.read()
                front.paths.append(f"{self.command} {self.path} {status}")
                self._answer(status, raw, "application/json")

            def _answer(self, status: int, raw: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = do_DELETE = _forward

        self.paths: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def plain_front(toxiproxy: ToxiproxyEndpoint) -> Iterator[_ToxiproxyFront]:
    front = _ToxiproxyFront(toxiproxy.url)
    yield front
    front.close()


@pytest.mark.asyncio
@pytest.mark.proxy_extension("nats")
async def test_a_factory_built_by_hand_asks_the_proxy_and_frames_work(
    toxiproxy: ToxiproxyEndpoint, fault_log: FaultLog, nats_server: NatsServer
) -> None:
    with SyncToxiproxyClient(toxiproxy.url) as api:
        factory = LinkFactory(api, fault_log)  # no extensions given: asked of the proxy
        try:
            assert {"nats", "connect_name", "events"} <= factory.extensions
            link = factory.link(nats_server)
            watcher = await nats.connect(nats_server.url)
            sub = await watcher.subscribe("orders.*")
            await watcher.flush()
            nc = await nats.connect(link.url)
            with link.frames("PUB", subject="orders.*", action="drop", nth=1):
                await nc.publish("orders.1", b"dropped")
                await nc.publish("orders.2", b"kept")
                await nc.flush()
            msg = await sub.next_msg(timeout=5)
            assert msg.subject == "orders.2"
            with pytest.raises(nats.errors.TimeoutError):
                await sub.next_msg(timeout=0.2)
            await nc.close()
            await watcher.close()
        finally:
            factory.close()


def test_frames_without_the_extension_names_it_the_proxy_and_the_way_out(
    plain_front: _ToxiproxyFront, fault_log: FaultLog, nats_server: NatsServer
) -> None:
    with SyncToxiproxyClient(plain_front.url) as api:
        factory = LinkFactory(api, fault_log)
        try:
            assert factory.extensions == frozenset()
            link = factory.link(nats_server)  # a real proxy, made through the front
            with link.latency(5):  # what Toxiproxy has works
                pass
            with pytest.raises(UnsupportedFeature) as info:
                link.frames("PUB", subject="orders.*", nth=3)
        finally:
            factory.close()
    message = str(info.value)
    assert message.startswith(
        "the frames fault needs the harness's own proxy extension 'nats' (the NATS-frame "
        f"toxic), which the proxy at {plain_front.url} does not offer"
    ), message
    for hint in ("TOXIPROXY_URL", "--toxiproxy-url", "nats-harness toxiproxy"):
        assert hint in message, hint
    assert "https://github.com/nats-fault-harness/nats-fault-harness/blob/main/docs/" in message
    assert [f.kind for f in fault_log.history.faults()] == ["latency"]  # frames never applied
    assert any(p.startswith("POST /proxies ") for p in plain_front.paths)


def test_every_extension_fault_of_a_link_says_the_same(
    plain_front: _ToxiproxyFront, fault_log: FaultLog, nats_server: NatsServer
) -> None:
    with SyncToxiproxyClient(plain_front.url) as api:
        factory = LinkFactory(api, fault_log)
        try:
            link = factory.link(nats_server)
            refused = {
                "reset()": lambda: link.reset(),
                "reset(after_bytes=)": lambda: link.reset(after_bytes=10),
                "connect_name=": lambda: link.latency(5, connect_name="svc-*"),
            }
            for what, fault in refused.items():
                with pytest.raises(UnsupportedFeature) as info:
                    fault()
                assert str(info.value).startswith(f"{what} needs the harness's own proxy"), what
                assert plain_front.url in str(info.value)
        finally:
            factory.close()


def test_a_faulty_cluster_on_a_proxy_without_extensions_names_them(
    plain_front: _ToxiproxyFront, fault_log: FaultLog
) -> None:
    with SyncToxiproxyClient(plain_front.url) as api, pytest.raises(UnsupportedFeature) as info:
        FaultyCluster(api, fault_log, 3, extensions=frozenset())
    assert str(info.value).startswith(
        "a FaultyCluster needs the harness's own proxy extensions 'connect_name', "
        f"'connection_reset', 'nats' (route partitions), which the proxy at {plain_front.url}"
    ), str(info.value)


def test_the_front_answers_like_toxiproxy_without_extensions(plain_front: _ToxiproxyFront) -> None:
    """The stand-in must look like a real toxiproxy-server to the feature detection."""
    with SyncToxiproxyClient(plain_front.url) as api:
        assert api.extensions() is None
        assert api.version()
        with pytest.raises(UnsupportedFeature):
            api.events()
