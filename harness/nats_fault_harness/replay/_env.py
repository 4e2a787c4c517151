"""One nats-server and one proxy, reused by many scenario runs (property examples, replays).

Starting a server and a proxy costs a few hundred milliseconds; a property test runs
dozens of examples, so :class:`ReusableEnv` starts both once and gives every run a fresh
:class:`~nats_fault_harness.scenario.ScenarioEnv`: a new
:class:`~nats_fault_harness.history.History` and
:class:`~nats_fault_harness.faults.FaultLog`, a new link factory whose proxies are deleted after the
run, a resumed (or restarted) server and a fresh service from the factory.

Determinism. The proxy derives every random draw (jitter, toxicity rolls, ``frames``
probabilities) from its server seed and a path of names: proxy name, connection index,
direction, toxic name. The harness's proxy here always runs with the same server seed
(:data:`PROXY_SEED`); each run names its proxies after ``scenario.seed`` (``link-s<seed>-1``)
and numbers its toxics from 1, so the same scenario (seed included) and the same traffic
make the same draws in any process, which is what makes a replay exact.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nats_fault_harness.faults import FaultLog, Link, LinkFactory
from nats_fault_harness.history import History
from nats_fault_harness.scenario import (
    Scenario,
    ScenarioEnv,
    ScenarioResult,
    SutFactory,
    run_scenario,
)
from nats_fault_harness.scenario._loop import run_bounded
from nats_fault_harness.servers import NatsServer, ServerConfig

if TYPE_CHECKING:
    from nats_fault_harness.replay._search import SearchTally

__all__ = ["PROXY_SEED", "ReusableEnv"]

PROXY_SEED = 0
DRAIN_S = 1.0
"""The server seed of the proxy a :class:`ReusableEnv` starts (see the module docstring)."""


class _SeededLinkFactory(LinkFactory):
    """A link factory whose proxy names depend only on the scenario seed and their order."""

    def __init__(self, *args: Any, seed: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tag = f"s{seed}" if seed is not None else "s-"
        self._count = itertools.count(1)

    def link_to(self, upstream: str, *, name: str) -> Link:
        """A new proxy to ``upstream``, named ``<name>-s<seed>-<n>``."""
        proxy = f"{name}-{self._tag}-{next(self._count)}"
        info = self.api.create_proxy(proxy, upstream, listen="127.0.0.1:0")
        self.created.append(proxy)
        return Link(self.api, proxy, info.listen, self.log, extensions=self.extensions, label=name)


def _number_toxics_from_one() -> None:
    """Restart the toxic numbering of :mod:`nats_fault_harness.faults`
    (``latency_1_downstream``...).

    Toxic names are part of the proxy's seed path; :class:`~nats_fault_harness.faults.Link` numbers
    them from a module-wide counter, so without this a run's draws would depend on how many
    toxics earlier runs made. (A per-run counter in ``Link`` would make this unnecessary.)
    """
    from nats_fault_harness.faults import _link

    _link._ids = itertools.count(1)


class ReusableEnv:
    """A server and a proxy started once; :meth:`run` runs one scenario in a fresh env.

    Use as a context manager (or call :meth:`start` and :meth:`close`). Not thread-safe:
    one run at a time.

    Args:
        binary: the nats-server binary (default: the usual lookup).
        base_dir: where servers keep their files (default: a temporary directory).
        toxiproxy_url: use this proxy API instead of starting the harness's own; draws are
            then only reproducible if that proxy was started with ``--seed 0``.
        drain_s: how long a run waits for confirmed messages to reach the observer after
            the faults are healed (``None``: the runner's default, 5 s). Delivery on a
            healed loopback link takes milliseconds; the wait only matters when a message
            is lost, where it is the whole cost of the example.
    """

    def __init__(
        self,
        *,
        binary: str | None = None,
        base_dir: str | Path | None = None,
        toxiproxy_url: str | None = None,
        drain_s: float | None = DRAIN_S,
    ) -> None:
        self.drain_s = drain_s
        self._binary = binary
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._base = Path(base_dir) if base_dir is not None else None
        self._url = toxiproxy_url
        self._process: Any = None
        self._api: Any = None
        self._extensions: frozenset[str] = frozenset()
        self.server: NatsServer | None = None
        self._extra: list[NatsServer] = []
        self.runs = 0
        self.searches: dict[str, SearchTally] = {}
        """Property test name -> its verdict tally (see
        :mod:`nats_fault_harness.replay._search`)."""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ReusableEnv:
        """Start the server and the proxy (once)."""
        if self.server is not None:
            return self
        from nats_fault_harness.proxy import SyncToxiproxyClient
        from nats_fault_harness.proxy._process import ProxyProcess

        if self._base is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="nfh-reusable-")
            self._base = Path(self._tmp.name)
        try:
            if self._url is None:
                self._process = ProxyProcess(seed=PROXY_SEED).start()
                self._url = str(self._process.url)
            self._api = SyncToxiproxyClient(self._url)
            info = self._api.extensions() or {}
            self._extensions = frozenset(info.get("extensions", ()))
            self.server = NatsServer(binary=self._binary, base_dir=self._base, name="reused")
            self.server.start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop everything this env started."""
        for server in [*self._extra, *([self.server] if self.server else [])]:
            server.close()
        self._extra.clear()
        self.server = None
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._process is not None:
            self._process.stop()
            self._process = None
            self._url = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._base = None

    def __enter__(self) -> ReusableEnv:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ runs
    def run(self, scenario: Scenario, sut_factory: SutFactory) -> ScenarioResult:
        """Run ``scenario`` against a fresh service from ``sut_factory`` (blocking).

        Raises:
            ConfigError, WaitTimeout: as :func:`~nats_fault_harness.scenario.run_scenario`.
        """
        return run_bounded(self.arun(scenario, sut_factory))

    async def arun(self, scenario: Scenario, sut_factory: SutFactory) -> ScenarioResult:
        """:meth:`run` for a caller that already has an event loop."""
        self.start()
        server = self.server
        assert server is not None
        await asyncio.to_thread(self._reset_server, server)
        _number_toxics_from_one()
        links = _SeededLinkFactory(
            self._api, FaultLog(History()), self._extensions, seed=scenario.seed
        )
        env = ScenarioEnv(links, server=server, make_server=self._make_server)
        if self.drain_s is not None:
            env.drain_s = self.drain_s
        self.runs += 1
        try:
            return await run_scenario(scenario, sut_factory=sut_factory, env=env)
        finally:
            await asyncio.to_thread(self._after, links)

    @staticmethod
    def _reset_server(server: NatsServer) -> None:
        if server.is_paused:
            server.resume()
        if not server.is_running:
            server.start()

    def _make_server(self, config: ServerConfig | None = None, **fields: Any) -> NatsServer:
        base = ServerConfig() if config is None else config
        server = NatsServer(
            base.with_(**fields) if fields else base, binary=self._binary, base_dir=self._base
        )
        self._extra.append(server)
        return server.start()

    def _after(self, links: LinkFactory) -> None:
        links.log.heal_all()
        links.close()
        for server in self._extra:
            server.close()
        self._extra.clear()
