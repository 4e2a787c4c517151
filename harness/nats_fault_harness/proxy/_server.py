"""The proxy server: API listener(s), proxies, shared runtime; in-process or stand-alone.

In-process (tests)::

    async with ProxyServer(port=0, seed=7) as server:
        client = ToxiproxyClient(server.url)

Stand-alone: :func:`serve_forever` (what ``python -m nats_fault_harness.proxy`` runs) serves until
SIGTERM or SIGINT, on uvloop when it is installed, and prints one line
``toxiproxy listening on http://HOST:PORT`` to stdout when ready.

The API binds ``127.0.0.1`` by default. For ``localhost`` it binds ``127.0.0.1`` and, when
the machine has IPv6, ``::1`` on the same port, because clients resolve ``localhost``
either way (Node's ``fetch`` may try ``::1`` first).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from aiohttp import web

from nats_fault_harness._version import __version__
from nats_fault_harness.errors import ConfigError, ProxyError
from nats_fault_harness.proxy._api import build_app
from nats_fault_harness.proxy._collection import ProxyCollection, ProxyInput
from nats_fault_harness.proxy._config import load_config
from nats_fault_harness.proxy._rng import SeedSource
from nats_fault_harness.proxy._runtime import Runtime

__all__ = ["ProxyServer", "serve", "serve_forever"]


def _bind_api(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for the API; ``localhost`` gets 127.0.0.1 plus ::1 on one port."""
    if host != "localhost":
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, _, _, _, sockaddr = infos[0]
        return [_listen_socket(family, sockaddr)]
    for _ in range(20):
        first = _listen_socket(socket.AF_INET, ("127.0.0.1", port))
        bound = first.getsockname()[1]
        try:
            return [first, _listen_socket(socket.AF_INET6, ("::1", bound))]
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and port == 0:
                first.close()
                continue
            if exc.errno == errno.EADDRINUSE:
                first.close()
                raise
            return [first]  # no IPv6 loopback here
    raise OSError(errno.EADDRINUSE, "no port free on both 127.0.0.1 and ::1")


def _listen_socket(family: int, sockaddr: tuple[object, ...]) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class ProxyServer:
    """A Toxiproxy-compatible server running in the current event loop.

    Args:
        host: API host (``127.0.0.1`` by default; ``localhost`` binds IPv4 and IPv6).
        port: API port; 0 picks a free one (see :attr:`port`).
        seed: seed for every random draw; ``None`` picks one (reported by /extensions).
        config: proxies to create at start (as ``/populate`` would).
        version: what ``GET /version`` reports.
        handler_timeout: seconds before an API call is answered 503.
        config_source: names the origin of ``config`` in errors ("config file x.json").

    Attributes:
        runtime: shared services (events, seed, background tasks).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int | None = None,
        config: Sequence[ProxyInput] = (),
        version: str = __version__,
        handler_timeout: float = 25.0,
        config_source: str = "config",
    ) -> None:
        self.host = host
        self._config_source = config_source
        self._requested_port = port
        self.port = port
        self.runtime = Runtime(seeds=SeedSource(seed))
        self.collection = ProxyCollection(self.runtime)
        self._config = list(config)
        self._version = version
        self._handler_timeout = handler_timeout
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the API."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def seed(self) -> int:
        """The seed in use (chosen at random when none was given)."""
        return self.runtime.seeds.seed

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected failures of background tasks (toxics, dials), oldest first."""
        return self.runtime.tasks.errors

    def check(self) -> None:
        """Raise the first background failure, if any.

        Raises:
            ProxyError: chained to the failure.
        """
        if self.errors:
            raise ProxyError(f"proxy background task failed: {self.errors[0]!r}") from (
                self.errors[0]
            )

    async def start(self) -> ProxyServer:
        """Create the configured proxies and start serving the API.

        Raises:
            ConfigError: a configured proxy could not be created (names the entry).
            OSError: the API address cannot be bound.
        """
        if self._config:
            done, error = await self.collection.populate(self._config)
            if error is not None:
                await self.collection.close_all()
                spec = self._config[len(done)]
                raise ConfigError(
                    f"{self._config_source}: entry {len(done) + 1} ({spec.name}): {error.message}",
                    where=f"{self._config_source}[{len(done) + 1}]",
                    value=spec,
                )
        sockets = _bind_api(self.host, self._requested_port)
        self.port = sockets[0].getsockname()[1]
        app = build_app(
            self.collection,
            self.runtime,
            version=self._version,
            handler_timeout=self._handler_timeout,
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runner = runner
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        return self

    async def aclose(self) -> None:
        """Stop the API, close every proxy and connection, and end background tasks."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self.collection.close_all()
        await self.runtime.tasks.aclose()

    async def __aenter__(self) -> ProxyServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def serve(
    host: str = "127.0.0.1",
    port: int = 8474,
    seed: int | None = None,
    config_path: str | Path | None = None,
    *,
    ready: Callable[[ProxyServer], None] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or cancellation), then close everything.

    Args:
        host: API host.
        port: API port (0 = any free port).
        seed: the seed; ``None`` picks one.
        config_path: a JSON file of proxies to create at start.
        ready: called once the API listens (default: print the ready line).
    """
    config = load_config(config_path) if config_path else []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        source = f"config file {config_path}"
        async with ProxyServer(
            host, port, seed=seed, config=config, config_source=source
        ) as server:
            (ready or _print_ready)(server)
            await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def _print_ready(server: ProxyServer) -> None:
    print(f"toxiproxy listening on {server.url}", flush=True)


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8474,
    seed: int | None = None,
    config_path: str | Path | None = None,
) -> None:
    """Run :func:`serve` in a new event loop (uvloop when available) until a signal.

    Raises:
        ConfigError: the config file is bad.
        OSError: the API address cannot be bound.
    """
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(host, port, seed, config_path))
    sys.stdout.flush()
