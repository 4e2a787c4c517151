"""One entry point for scripts: servers, the proxy, links, faults and a history, wired.

The pytest fixtures are thin wiring over public classes; :class:`Harness` is the same
wiring for a script, a notebook or another test runner::

    with Harness() as h:
        server = h.server(jetstream=True)
        link = h.link(server)
        with link.latency(100):
            ...
        with h.server_faults(server).kill():
            ...
    print(h.history.faults())

It starts the harness's own Toxiproxy-compatible proxy in a child process (or uses the
API at ``toxiproxy_url``, for example a real ``toxiproxy-server``), asks it which
extensions it offers, and journals every fault into :attr:`Harness.history`. Everything it
started (servers, clusters, proxies, the proxy process) is stopped when the ``with`` block
ends, in reverse order, even when the block raised.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nats_fault_harness.faults import (
        FaultLog,
        FaultyCluster,
        Link,
        LinkFactory,
        Pool,
        ServerFaults,
    )
    from nats_fault_harness.history import History
    from nats_fault_harness.proxy import ProxyProcess, SyncToxiproxyClient
    from nats_fault_harness.servers import NatsCluster, NatsServer, ServerConfig

__all__ = ["Harness"]


class Harness:
    """Servers, the proxy, links, faults and one history for a script (see the module).

    Args:
        toxiproxy_url: use this Toxiproxy-compatible API instead of starting the
            harness's own proxy (extensions are discovered from it: none for a real
            Toxiproxy, whose missing features raise ``UnsupportedFeature``).
        seed: the harness proxy's seed (same seed and traffic, same toxicity rolls and
            jitter); ignored with ``toxiproxy_url``.
        binary: the nats-server binary (default: the lookup of
            :func:`nats_fault_harness.servers.find_binary`).
        base_dir: where server stores and logs go (default: a temporary folder removed
            at the end).

    Attributes:
        history: every fault window and what the script records into it.
        log: the :class:`~nats_fault_harness.faults.FaultLog` faults journal into.
        links: the :class:`~nats_fault_harness.faults.LinkFactory` (proxies in front
            of servers).
        api: the proxy's API client.
        extensions: the extensions the proxy offers.
    """

    def __init__(
        self,
        *,
        toxiproxy_url: str | None = None,
        seed: int | None = None,
        binary: str | os.PathLike[str] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._url = toxiproxy_url
        self._seed = seed
        self._binary = binary
        self._base = Path(base_dir) if base_dir is not None else None
        self._stack = contextlib.ExitStack()
        self._started = False
        self._proxy: ProxyProcess | None = None
        self.history: History
        self.log: FaultLog
        self.links: LinkFactory
        self.api: SyncToxiproxyClient
        self.extensions: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Harness:
        """Start the proxy (unless ``toxiproxy_url``), the history and the link factory."""
        from nats_fault_harness.faults import FaultLog, LinkFactory
        from nats_fault_harness.history import History
        from nats_fault_harness.proxy import ProxyProcess, SyncToxiproxyClient

        if self._started:
            return self
        try:
            if self._base is None:
                tmp = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="nfh-"))
                self._base = Path(tmp)
            url = self._url
            if url is None:
                self._proxy = self._stack.enter_context(ProxyProcess(seed=self._seed))
                url = self._proxy.url
            self.api = self._stack.enter_context(SyncToxiproxyClient(url))
            self.history = History()
            self.log = FaultLog(self.history)
            self.links = LinkFactory(self.api, self.log)
            self._stack.callback(self.links.close)
            self.extensions = self.links.extensions
        except BaseException:
            self._stack.close()
            raise
        self._started = True
        return self

    def close(self) -> None:
        """Heal every fault, then stop everything started, newest first."""
        try:
            if self._started:
                self.log.heal_all()
        finally:
            self._started = False
            self._stack.close()

    def __enter__(self) -> Harness:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def proxy_url(self) -> str:
        """The proxy API's URL."""
        self._require()
        return self._url or (self._proxy.url if self._proxy is not None else "")

    # ------------------------------------------------------------------ servers
    def server(
        self, config: ServerConfig | None = None, *, name: str | None = None, **fields: Any
    ) -> NatsServer:
        """A started nats-server (``fields``: :class:`ServerConfig` fields such as
        ``jetstream=True``), stopped at the end."""
        from nats_fault_harness.servers import NatsServer

        self._require()
        server = NatsServer(
            _config(config, fields), name=name, binary=self._binary, base_dir=self._base
        )
        self._stack.callback(server.close)
        return server.start()

    def cluster(
        self, size: int = 3, config: ServerConfig | None = None, **fields: Any
    ) -> NatsCluster:
        """A started full-mesh cluster (routes direct, not through proxies)."""
        from nats_fault_harness.servers import NatsCluster

        self._require()
        cluster = NatsCluster(
            size, _config(config, fields), binary=self._binary, base_dir=self._base
        )
        self._stack.callback(cluster.close)
        return cluster.start()

    def faulty_cluster(
        self, size: int = 3, config: ServerConfig | None = None, **fields: Any
    ) -> FaultyCluster:
        """A started cluster whose routes all pass the proxy (``partition``, ``isolate``,
        ``heal``; needs the proxy's extensions for partitions)."""
        from nats_fault_harness.faults import FaultyCluster

        self._require()
        cluster = FaultyCluster(
            self.api,
            self.log,
            size,
            _config(config, fields),
            binary=self._binary,
            base_dir=self._base,
            extensions=self.extensions,
        )
        self._stack.callback(cluster.close)
        return cluster.start()

    # ------------------------------------------------------------------ links and faults
    def link(self, server: NatsServer, *, name: str | None = None) -> Link:
        """A proxy in front of ``server``; connect clients to ``link.url``."""
        self._require()
        return self.links.link(server, name=name)

    def pool(self, server: NatsServer, size: int = 3) -> Pool:
        """``size`` addressable member links (plus a shared one) in front of ``server``."""
        self._require()
        return self.links.pool(server, size)

    def server_faults(self, server: NatsServer) -> ServerFaults:
        """Kill, stop, pause, lame-duck or restart ``server``, journaled to the history."""
        from nats_fault_harness.faults import ServerFaults

        self._require()
        return ServerFaults(server, self.log)

    def _require(self) -> None:
        if not self._started:
            raise RuntimeError("Harness.start() was not called (use `with Harness() as h:`)")


def _config(config: ServerConfig | None, fields: dict[str, Any]) -> ServerConfig:
    from nats_fault_harness.servers import ServerConfig

    base = config or ServerConfig()
    return base.with_(**fields) if fields else base
