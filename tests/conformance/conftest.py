"""Fixtures for the Toxiproxy 2.12 conformance suite.

One proxy *process* per session (per xdist worker): the client side of every test runs in this
process, the proxy in its own, so they never share an event loop. Each test gets a clean server
(every proxy deleted, ``POST /reset``) before and after it runs, its own upstream servers on
kernel-chosen ports, and its client sockets closed at teardown. If a test crashes the server, the
next test gets a fresh one (and the crash is still reported by the test that caused it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ._cli import CliProxy
from ._support import ProxyApi
from ._upstream import Sockets, Upstream, UpstreamMode


def start_proxy_process() -> Any:
    """``nats_fault_harness.proxy.ProxyProcess().start()``; the bare CLI if that class does not
    exist (yet).

    ``test_proxy_extensions.py`` checks ``ProxyProcess`` itself, so the fallback hides nothing.
    """
    try:
        from nats_fault_harness.proxy import ProxyProcess
    except ImportError:
        return CliProxy()
    proc = ProxyProcess()
    started = proc.start()
    return started if started is not None else proc


class ProxyHandle:
    """The session's proxy process, restartable if a test killed it."""

    def __init__(self) -> None:
        self._proc: Any = None
        self.start()

    def start(self) -> None:
        self._proc = start_proxy_process()
        self.url: str = str(self._proc.url).rstrip("/")

    def stop(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.stop()
            self._proc = None

    def ensure_alive(self) -> None:
        if not ProxyApi(self.url).healthy():
            self.stop()
            self.start()


@pytest.fixture(scope="session")
def proxy_handle() -> Iterator[ProxyHandle]:
    handle = ProxyHandle()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def proxy_url(proxy_handle: ProxyHandle) -> str:
    """Base URL (``http://127.0.0.1:PORT``) of a live proxy server."""
    proxy_handle.ensure_alive()
    return proxy_handle.url


@pytest.fixture
def api(proxy_url: str) -> Iterator[ProxyApi]:
    """An API client on a server with no proxies; everything the test made is removed after."""
    client = ProxyApi(proxy_url)
    client.clean()
    yield client
    client.clean()


@pytest.fixture
def upstream_factory() -> Iterator[Callable[..., Upstream]]:
    """Make upstream servers (``echo``/``line``/``hold``); all closed at teardown."""
    made: list[Upstream] = []

    def make(mode: UpstreamMode = "echo") -> Upstream:
        server = Upstream(mode)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def echo(upstream_factory: Callable[..., Upstream]) -> Upstream:
    """A TCP echo server on 127.0.0.1 with a kernel-chosen port."""
    return upstream_factory("echo")


@pytest.fixture
def held(upstream_factory: Callable[..., Upstream]) -> Upstream:
    """An upstream that hands each accepted socket to the test (``held.accept()``)."""
    return upstream_factory("hold")


@pytest.fixture
def sockets() -> Iterator[Sockets]:
    """Client sockets; ``sockets.connect(addr)``; all closed at teardown."""
    made = Sockets()
    yield made
    made.close_all()
