"""Network partitions of a nats-server cluster: every route passes a proxy we control.

Layout (measured in the reference note on cluster partitions): one *inbound* proxy ``P_i`` in front
of each node's route port. Node ``i`` listens on a route port it holds for its life (so
``restart_node`` rebinds it; see :class:`~nats_fault_harness.servers.NatsServer`), advertises
``127.0.0.1:<P_i port>`` (so gossip hands out proxy addresses only) and lists the other
nodes' inbound proxies as its routes. Every route connection then passes exactly one proxy:
the inbound proxy of the node that was dialled. A route connection's first frame is a
``CONNECT`` whose ``name`` is the *dialling* server's id, so in ``P_x`` the connections of
the pair (x, y) are those whose ``CONNECT`` name is ``y``'s server id.

Faults (each a :class:`~nats_fault_harness.faults.Fault`, journaled, healed even if the body
raises):

* ``partition(a, b)``: in ``P_a`` the connections dialled by ``b`` and in ``P_b`` those
  dialled by ``a`` are reset (RST) and new ones are closed at their ``CONNECT``. Applying
  returns once ``/routez`` on every node shows the expected topology (no a-b route, every
  other route present).
* ``partition(a, b, one_way=True)``: bytes from ``a`` to ``b`` stop; bytes from ``b``
  to ``a`` still flow. A NATS route is one TCP connection used both ways and kept alive by
  PING/PONG, so this is what a one-way packet loss does to it:

  - existing a-b route connections are *not* reset: ``a``'s frames (messages, PINGs,
    PONGs) stop at once, ``b``'s still reach ``a``; each node notices only by its PING
    timeout (``ping_interval`` x ``ping_max``; the fixture sets ``ping_interval`` to 1 s)
    and then drops the route. ``a``'s bytes are held by a ``blackhole`` toxic, which
    stops reading ``a``'s socket at once: ``a``'s writes back up through the kernel's
    buffers, as when its packets go unacknowledged (they used to be read and discarded,
    so ``a`` never felt back-pressure);
  - no new a-b route can form, in either direction: a handshake needs both directions
    (as a TCP handshake does), so new dials between them are closed at ``CONNECT``.

  Applying returns once the route is gone on both nodes (that PING timeout, a few
  seconds), so the end state is the same as a full partition; what differs is the
  transition (silent loss and ping-timeout detection instead of an immediate RST).
* ``isolate(a)``: ``a`` partitioned from every other node (``stream_leader(name)`` says
  which node leads a JetStream stream, to isolate or kill the leader).
* ``heal()``: heal every active fault of this cluster; each heal returns once the full
  mesh is back (explicit routes are retried by nats-server about every second) and, with
  JetStream and no other cut left, once the cluster is *ready*.

**Ready** means the same after a start, a node restart and a heal (:meth:`FaultyCluster.
ready`): the routes are as the active faults call for, and with JetStream and no cut
active, every node's ``/healthz`` is OK (it has a meta leader and its streams are current)
and every stream has a leader a quorum of its replicas agrees on. A heal records both
moments in the history: the fault window closes when the cluster is ready, and a client
event ``cluster_ready`` of client ``cluster:<name>`` says when the routes were back
(``routes_s``, seconds after the heal began) and when it was ready (``ready_s``), so
recovery margins start from readiness, not from the removal of the toxics. Measured: see
docs/jetstream-under-faults.md.

A dialling node may briefly register a route from the dialled node's greeting ``INFO``
before its ``CONNECT`` is closed (a flicker of milliseconds); verification polls until
the topology is stable enough to match.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nats_fault_harness._wait import wait_until
from nats_fault_harness.errors import (
    ClusterError,
    ConfigError,
    MonitoringError,
    ServerNotRunning,
    WaitTimeout,
)
from nats_fault_harness.faults._base import Fault, FaultLog, delete_proxies
from nats_fault_harness.faults._link import needs_extension
from nats_fault_harness.faults._toxics import ToxicOp, add_toxics, remove_toxics
from nats_fault_harness.servers._config import ClusterSpec, ServerConfig
from nats_fault_harness.servers._leader import (
    LEADER_TIMEOUT_S,
    agreed_leader,
    leader_views,
    stream_follower,
    stream_leader,
)
from nats_fault_harness.servers._server import NatsServer

if TYPE_CHECKING:
    from nats_fault_harness.proxy import SyncToxiproxyClient

__all__ = ["READY_TIMEOUT_S", "FaultyCluster"]

STABLE_S = 0.5
"""How long the route mesh must hold, unchanged, before a heal or a restart counts it back."""
READY_TIMEOUT_S = 45.0
"""How long a heal or a restart waits for JetStream to be ready again (measured: up to
11.8 s after a heal; elections 4-9 s)."""

_serial = itertools.count(1)
_toxic_ids = itertools.count(1)


@dataclass
class _Cut:
    """One cut pair and the toxics that implement it (``(proxy, toxic name)``)."""

    a: int
    b: int
    one_way: bool
    toxics: list[ToxicOp] = field(default_factory=list)

    def involves(self, i: int, j: int) -> bool:
        return {i, j} == {self.a, self.b}


class FaultyCluster:
    """N nats-server nodes whose every route passes an inbound proxy (partitionable).

    Args:
        api: a synchronous client of the harness's proxy (needs the ``nats``,
            ``connect_name`` and ``connection_reset`` extensions).
        log: where faults journal themselves.
        size: number of nodes (>= 2).
        config: options shared by every node; ``ping_interval`` defaults to 1 s here so
            dead routes are noticed quickly.
        name: cluster name (also the prefix of node and proxy names).
        binary: nats-server path; found automatically if omitted.
        base_dir: parent folder for the node folders; temporary if omitted.
        extensions: the proxy's extension names (checked at construction).
        start_timeout: seconds for the whole cluster to become ready.
        heal_timeout: seconds a heal (or restart) may take to show the mesh back.
    """

    def __init__(
        self,
        api: SyncToxiproxyClient,
        log: FaultLog,
        size: int = 3,
        config: ServerConfig | None = None,
        *,
        name: str | None = None,
        binary: str | os.PathLike[str] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        extensions: frozenset[str] | None = None,
        start_timeout: float = 30.0,
        heal_timeout: float = 15.0,
    ) -> None:
        if size < 2:
            raise ValueError(f"a cluster needs at least 2 nodes, got size={size}")
        if extensions is not None:
            missing = {"nats", "connect_name", "connection_reset"} - extensions
            if missing:
                raise needs_extension(api, "a FaultyCluster", "route partitions", *sorted(missing))
        base = config or ServerConfig()
        if base.ping_interval is None:
            base = base.with_(ping_interval=1)
        self.api = api
        self.log = log
        self.size = size
        self.config = base
        self.name = name or f"fc{os.getpid()}x{next(_serial)}"
        self.target = f"cluster:{self.name}"
        self.start_timeout = start_timeout
        self.heal_timeout = heal_timeout
        self._own_dir = base_dir is None
        self.directory = (
            Path(base_dir) / self.name
            if base_dir
            else Path(tempfile.mkdtemp(prefix="nfh-faulty-cluster-"))
        )
        self._binary = binary
        self.nodes: list[NatsServer] = []
        self.proxies: list[str] = []
        self.proxy_ports: list[int] = []
        self._placeholder: socket.socket | None = None
        self._cuts: list[_Cut] = []
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._closing = False
        self._extensions = extensions

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> FaultyCluster:
        """Create the proxies, start every node behind its proxy, wait for the mesh."""
        deadline = time.monotonic() + self.start_timeout
        try:
            placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            placeholder.bind(("127.0.0.1", 0))  # bound, never listening: dials are refused
            self._placeholder = placeholder
            refusing = f"127.0.0.1:{placeholder.getsockname()[1]}"
            for i in range(self.size):
                proxy = f"{self.name}-route{i}-{next(_serial)}"
                info = self.api.create_proxy(proxy, refusing, listen="127.0.0.1:0")
                self.proxies.append(proxy)
                self.proxy_ports.append(int(str(info.listen).rsplit(":", 1)[1]))
            for i in range(self.size):
                routes = tuple(
                    f"nats://127.0.0.1:{self.proxy_ports[j]}" for j in range(self.size) if j != i
                )
                self.directory.mkdir(parents=True, exist_ok=True)
                node = NatsServer(
                    self.config,
                    name=f"{self.name}-n{i}",
                    binary=self._binary,
                    base_dir=self.directory,
                    cluster=ClusterSpec(
                        name=self.name,
                        routes=routes,
                        advertise=f"127.0.0.1:{self.proxy_ports[i]}",
                    ),
                    start_timeout=max(1.0, deadline - time.monotonic()),
                )
                self.nodes.append(node)
            for proxy, node in zip(self.proxies, self.nodes, strict=True):
                node.start()
                self.api.update_proxy(proxy, upstream=f"127.0.0.1:{node.cluster_port}")
            self._wait_topology(max(0.5, deadline - time.monotonic()), "cluster start")
            if self.config.jetstream:
                self._wait_jetstream(max(0.5, deadline - time.monotonic()))
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove every fault (unverified), close the nodes, delete the proxies (idempotent)."""
        self._closing = True
        try:
            for fault in reversed(self._faults):
                fault.heal()
        finally:
            self._faults.clear()
            for node in self.nodes:
                node.close()
            delete_proxies(self.api, self.proxies)
            self.proxies.clear()
            if self._placeholder is not None:
                self._placeholder.close()
                self._placeholder = None
            if self._own_dir:
                shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> FaultyCluster:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- access
    @property
    def urls(self) -> list[str]:
        """Client URLs of every node (direct, not proxied)."""
        return [n.url for n in self.nodes]

    @property
    def route_urls(self) -> list[str]:
        """Each node's inbound route proxy (what the other nodes dial)."""
        return [f"nats://127.0.0.1:{p}" for p in self.proxy_ports]

    def __iter__(self) -> Iterator[NatsServer]:
        return iter(self.nodes)

    def __getitem__(self, index: int) -> NatsServer:
        return self.nodes[index]

    def __len__(self) -> int:
        return len(self.nodes)

    # ----------------------------------------------------------------- observation
    def route_view(self) -> dict[int, set[int | str]]:
        """Node index -> indices of the nodes it has routes to (unknown ids as strings)."""
        by_id = {n.server_id: i for i, n in enumerate(self.nodes)}
        view: dict[int, set[int | str]] = {}
        for i, node in enumerate(self.nodes):
            try:
                view[i] = {by_id.get(r, r) for r in node.remote_route_ids()}
            except (MonitoringError, ServerNotRunning):
                view[i] = {"<no routez>"}
        return view

    def stream_leader(self, stream: str, *, timeout: float = LEADER_TIMEOUT_S) -> int:
        """The index of the node leading JetStream stream ``stream`` now.

        Asked of the cluster (``/jsz`` on every running node): the leader a quorum of the
        stream's replicas names and that names itself. During an election this waits
        for one, up to ``timeout`` seconds.

        Raises:
            ClusterError: no agreed leader within ``timeout`` (names the stream and what
                each node reported).
        """
        return stream_leader(self.nodes, stream, timeout=timeout)

    def stream_follower(self, stream: str, *, timeout: float = LEADER_TIMEOUT_S) -> int:
        """The lowest-numbered running node that replicates ``stream`` and does not lead it."""
        return stream_follower(self.nodes, stream, timeout=timeout)

    def unproxied_routes(self) -> list[tuple[int, int]]:
        """``(node, port)`` of routes that bypass the proxies: dialled to a real route port.

        ``/routez`` shows, per route connection, the peer port: the dialled proxy's port
        for a connection the node dialled, the proxy's ephemeral port for one it accepted.
        (``did_solicit`` is no guide: nats-server sets it on both ends of a configured
        route.) A connection dialled straight to a node's route port is a bypass.
        """
        real = {n.cluster_port for n in self.nodes}
        found: list[tuple[int, int]] = []
        for i, node in enumerate(self.nodes):
            for route in node.routez().get("routes") or []:
                if int(route.get("port", 0)) in real:
                    found.append((i, int(route.get("port", 0))))
        return found

    def _cut_pairs(self) -> set[frozenset[int]]:
        return {frozenset((c.a, c.b)) for c in self._cuts}

    def expected_view(self) -> dict[int, set[int | str]]:
        """The topology the active faults call for: full mesh minus the cut pairs."""
        cut = self._cut_pairs()
        return {
            i: {j for j in range(self.size) if j != i and frozenset((i, j)) not in cut}
            for i in range(self.size)
        }

    def _topology_matches(self) -> bool:
        try:
            return self.route_view() == self.expected_view() and not self.unproxied_routes()
        except (MonitoringError, ServerNotRunning):
            return False

    def _wait_topology(self, timeout: float, what: str, *, stable_s: float = 0.0) -> None:
        """Wait until the routes are as the active faults call for, and have stayed so for
        ``stable_s`` (after a heal, two nodes may both dial and drop the duplicate route:
        a mesh seen once can lose a route a moment later)."""
        since: list[float] = []

        def settled() -> bool:
            if not self._topology_matches():
                since.clear()
                return False
            now = time.monotonic()
            if not since:
                since.append(now)
            return now - since[0] >= stable_s

        try:
            wait_until(settled, timeout=timeout, what=what, max_interval=0.1)
        except WaitTimeout as exc:
            try:
                unproxied: object = self.unproxied_routes()
            except (MonitoringError, ServerNotRunning) as err:
                unproxied = f"unknown ({err})"
            raise ClusterError(
                f"cluster {self.name}: {what}: routes not as expected after {timeout:.1f}s; "
                f"/routez shows (node -> peers) {self.route_view()}, expected "
                f"{self.expected_view()}; solicited routes bypassing the proxies: {unproxied}"
            ) from exc

    def _jetstream_ready(self) -> bool:
        """Every node's ``/healthz`` OK and every stream led by an agreed leader."""
        try:
            if not all(n.healthz().get("status") == "ok" for n in self.nodes):
                return False
            names = [n.name for n in self.nodes]
            streams = {
                str(d.get("name"))
                for a in self.nodes[0].jsz(streams=True).get("account_details") or ()
                for d in a.get("stream_detail") or ()
            }
            return all(
                agreed_leader(names, leader_views(self.nodes, s)) is not None for s in streams
            )
        except (MonitoringError, ServerNotRunning):
            return False

    def ready(self) -> bool:
        """Whether the cluster is ready (see the module docstring): the same definition
        after a start, a node restart and a heal."""
        if not self._topology_matches():
            return False
        return not self.config.jetstream or bool(self._cuts) or self._jetstream_ready()

    def _wait_jetstream(self, timeout: float) -> None:
        try:
            wait_until(
                self._jetstream_ready,
                timeout=timeout,
                what="JetStream ready on every node",
                max_interval=0.2,
            )
        except WaitTimeout as exc:
            raise ClusterError(
                f"cluster {self.name}: JetStream not ready after {timeout:.1f}s "
                "(/healthz OK on every node and an agreed leader for every stream)"
            ) from exc

    def _wait_ready(self, what: str, started: float, timeout: float | None = None) -> None:
        """After the routes: with JetStream and no cut left, wait until the cluster is
        ready; record both moments (``cluster_ready``)."""
        routes_s = time.monotonic() - started
        if self.config.jetstream and not self._cuts:
            self._wait_jetstream(READY_TIMEOUT_S if timeout is None else timeout)
        self.log.history.client_event(
            f"cluster:{self.name}",
            "cluster_ready",
            {
                "after": what,
                "routes_s": round(routes_s, 3),
                "ready_s": round(time.monotonic() - started, 3),
            },
        )

    # ----------------------------------------------------------------- cut mechanics
    def _add(
        self, cut: _Cut, proxy: int, type: str, stream: str, attrs: dict[str, Any], peer: int
    ) -> None:
        name = f"partition_{next(_toxic_ids)}_{stream}"
        peer_id = self.nodes[peer].server_id
        cut.toxics.append(ToxicOp(self.proxies[proxy], name, type, stream, attrs, 1.0, peer_id))

    def _batched(self) -> bool:
        """Whether the proxy takes toxics in batches (asked once if not told)."""
        if self._extensions is None:
            report = self.api.extensions() or {}
            self._extensions = frozenset(report.get("extensions", ()))
        return "batch" in self._extensions

    def _install(self, cuts: Sequence[_Cut]) -> None:
        """Put the toxics of every cut in place, then reset the live routes they cut.

        The toxics of all the cuts go in one batch (one step of the proxy: no route
        connection is accepted between the toxics of ``P_a`` and ``P_b``, nor between two
        pairs of an ``isolate``); without the extension one at a time. The resets come
        after the toxics, so a route dialled meanwhile cannot survive the partition.
        """
        close_connect = {"verb": "CONNECT", "subject": ">", "action": "close"}
        try:
            for cut in cuts:
                a, b = cut.a, cut.b
                cut.toxics = []
                # New dials between a and b, either way, are closed at their CONNECT.
                self._add(cut, a, "nats", "upstream", close_connect, peer=b)
                self._add(cut, b, "nats", "upstream", close_connect, peer=a)
                if cut.one_way:
                    # Live connections stop a's bytes only: in P_b a dialled (a's bytes go
                    # upstream), in P_a b dialled (a's bytes go downstream). Held, not read:
                    # a's socket stops draining, as on the wire.
                    hold = {"buffer_bytes": 0}
                    self._add(cut, b, "blackhole", "upstream", hold, peer=a)
                    self._add(cut, a, "blackhole", "downstream", hold, peer=b)
            add_toxics(self.api, [t for c in cuts for t in c.toxics], batch=self._batched())
            for cut in cuts:
                if cut.one_way:
                    continue
                for x, y in ((cut.a, cut.b), (cut.b, cut.a)):
                    self.api.reset_connections(
                        self.proxies[x], connect_name=self.nodes[y].server_id, mode="rst"
                    )
        except BaseException:
            self._uninstall(cuts)
            raise

    def _uninstall(self, cuts: Sequence[_Cut]) -> None:
        """Remove the toxics of every cut (one batch; already gone is fine)."""
        toxics = [t for c in cuts for t in c.toxics]
        for cut in cuts:
            cut.toxics = []
        remove_toxics(self.api, toxics, batch=self._batched(), missing_ok=True)

    def _check(self, i: int) -> None:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.size:
            raise ConfigError(
                f"node index must be 0..{self.size - 1}, got {i!r}", where="node", value=i
            )

    def _fault(
        self, kind: str, params: dict[str, Any], pairs: Sequence[tuple[int, int]], one_way: bool
    ) -> Fault:
        cuts: list[_Cut] = []
        apply_timeout = self.heal_timeout
        if one_way:
            ping = self.config.ping_interval
            ping_s = float(ping) if isinstance(ping, int | float) else 2.0
            apply_timeout += ping_s * ((self.config.ping_max or 2) + 2)

        def apply() -> None:
            with self._lock:
                try:
                    new = [_Cut(a, b, one_way) for a, b in pairs]
                    self._install(new)
                    cuts.extend(new)
                    self._cuts.extend(new)
                    self._wait_topology(apply_timeout, f"{kind} {params['nodes']}")
                except BaseException:
                    self._remove(cuts)
                    raise
                self._faults.append(fault)

        def heal() -> None:
            with self._lock:
                if fault in self._faults:
                    self._faults.remove(fault)
                started = time.monotonic()
                self._remove(cuts)
                if not self._closing:
                    what = f"heal of {kind} {params['nodes']}"
                    self._wait_topology(self.heal_timeout, what, stable_s=STABLE_S)
                    self._wait_ready(what, started)

        fault = Fault(self.log, kind, self.target, params, apply, heal)
        return fault

    def _remove(self, cuts: list[_Cut]) -> None:
        self._uninstall(cuts)
        for cut in cuts:
            if cut in self._cuts:
                self._cuts.remove(cut)
        cuts.clear()

    # ----------------------------------------------------------------- faults
    def partition(self, a: int, b: int, *, one_way: bool = False) -> Fault:
        """Cut the routes between nodes ``a`` and ``b`` (``one_way``: only a -> b bytes).

        See the module docstring for what ``one_way`` means for a route (one TCP
        connection used both ways). Applying waits until ``/routez`` shows the a-b route
        gone on both nodes and every other route present.
        """
        self._check(a)
        self._check(b)
        if a == b:
            raise ConfigError(f"cannot partition node {a} from itself", where="nodes", value=(a, b))
        params: dict[str, Any] = {"nodes": [a, b]}
        if one_way:
            params["one_way"] = True
        return self._fault("partition", params, [(a, b)], one_way)

    def isolate(self, a: int) -> Fault:
        """Cut every route of node ``a`` (the other nodes stay meshed)."""
        self._check(a)
        pairs = [(a, j) for j in range(self.size) if j != a]
        return self._fault("isolate", {"nodes": [a]}, pairs, False)

    def heal(self) -> None:
        """Heal every active fault of this cluster, newest first (each verifies the mesh)."""
        for fault in reversed(list(self._faults)):
            fault.heal()

    @property
    def active(self) -> list[Fault]:
        """This cluster's faults that are applied and not healed."""
        return list(self._faults)

    def restart_node(
        self, index: int, *, graceful: bool = False, timeout: float | None = None
    ) -> None:
        """Restart node ``index`` (same ports); re-apply active cuts for its new server id.

        The restarted node may route across a partition for the moment between its start
        and the re-application (its new id is unknown before it runs); the re-applied cut
        resets those routes. Returns once the topology is as the active faults call for
        and, with JetStream and no cut active, the cluster is ready (the module docstring).
        """
        self._check(index)
        with self._lock:
            started = time.monotonic()
            self.nodes[index].restart(graceful=graceful)
            affected = [cut for cut in self._cuts if index in (cut.a, cut.b)]
            self._uninstall(affected)
            self._install(affected)
            what = f"restart of node {index}"
            self._wait_topology(
                self.heal_timeout if timeout is None else timeout, what, stable_s=STABLE_S
            )
            self._wait_ready(what, started, timeout)

    def __repr__(self) -> str:
        return f"<FaultyCluster {self.name} size={self.size} cuts={len(self._cuts)}>"
