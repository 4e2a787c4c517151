"""A cluster of nats-server nodes forming a full route mesh."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from nats_fault_harness import _proc
from nats_fault_harness._wait import wait_until
from nats_fault_harness.errors import ClusterError, MonitoringError, ServerNotRunning, WaitTimeout
from nats_fault_harness.servers._config import ClusterSpec, ServerConfig
from nats_fault_harness.servers._server import NatsServer

__all__ = ["NatsCluster"]


class NatsCluster:
    """N routed nats-server nodes (default 3), optionally with JetStream.

    Without JetStream the first node is the seed and the others route to it; gossip
    completes the mesh. JetStream needs configured routes on every node, so the seed also
    gets a route to a port that is held bound but never listened on (it refuses, and no
    other process can take it) — no port is guessed. Every node's client, monitoring and
    route ports are held by the node for the cluster's life (see
    :class:`~nats_fault_harness.servers.NatsServer`), so :meth:`restart_node` finds them free.

    Ready means every node sees ``size - 1`` distinct remote server ids in ``/routez`` and,
    with JetStream, every node's ``/healthz`` is OK.

    Args:
        size: number of nodes (>= 2).
        config: options shared by every node.
        name: cluster name (also the prefix of node names).
        binary: nats-server path; found automatically if omitted.
        base_dir: parent folder for the node folders; temporary if omitted.
        node_config: called with each node index to derive per-node options, or ``None``.
        start_timeout: seconds for the whole cluster to become ready.
    """

    def __init__(
        self,
        size: int = 3,
        config: ServerConfig | None = None,
        *,
        name: str | None = None,
        binary: str | os.PathLike[str] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        node_config: Callable[[int], ServerConfig] | None = None,
        start_timeout: float = 20.0,
    ) -> None:
        if size < 2:
            raise ValueError(f"a cluster needs at least 2 nodes, got size={size}")
        self.size = size
        self.config = config or ServerConfig()
        self.name = name or f"c{os.getpid()}x{id(self) % 100000}"
        self.start_timeout = start_timeout
        self._own_dir = base_dir is None
        self.directory = (
            Path(base_dir) / self.name if base_dir else _proc.own_temp_dir("nfh-cluster-")
        )
        self._binary = binary
        self._node_config = node_config
        self._placeholder: socket.socket | None = None
        self.nodes: list[NatsServer] = []

    @property
    def jetstream(self) -> bool:
        """True if the nodes run JetStream."""
        return self.config.jetstream

    def start(self) -> NatsCluster:
        """Start every node and wait for the mesh (and JetStream health)."""
        deadline = time.monotonic() + self.start_timeout
        try:
            seed = self._make_node(0, routes=self._seed_routes())
            seed.start()
            for index in range(1, self.size):
                self._make_node(index, routes=(seed.route_url,))
            for node in self.nodes[1:]:
                node.start()
            self.wait_ready(timeout=max(0.1, deadline - time.monotonic()))
        except BaseException:
            self.close()
            raise
        return self

    def _seed_routes(self) -> tuple[str, ...]:
        if not self.jetstream:
            return ()
        placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        placeholder.bind(("127.0.0.1", 0))  # bound, never listening: connects are refused
        self._placeholder = placeholder
        return (f"nats://127.0.0.1:{placeholder.getsockname()[1]}",)

    def _make_node(self, index: int, *, routes: tuple[str, ...]) -> NatsServer:
        config = self._node_config(index) if self._node_config else self.config
        node = NatsServer(
            config,
            name=f"{self.name}-n{index}",
            binary=self._binary,
            base_dir=self.directory,
            cluster=ClusterSpec(name=self.name, routes=routes),
            start_timeout=self.start_timeout,
        )
        self.nodes.append(node)
        return node

    # ----------------------------------------------------------------- readiness
    def _mesh_complete(self) -> bool:
        expected = {n.server_id for n in self.nodes}
        for node in self.nodes:
            if not node.is_running or node.is_paused:
                return False
            try:
                if node.remote_route_ids() != expected - {node.server_id}:
                    return False
            except (MonitoringError, ServerNotRunning):
                return False
        return True

    def _all_healthy(self) -> bool:
        try:
            return all(n.healthz().get("status") == "ok" for n in self.nodes)
        except (MonitoringError, ServerNotRunning):
            return False

    def route_view(self) -> dict[str, set[str]]:
        """Map of node name to the names of the nodes it has routes to (for messages)."""
        by_id = {n.server_id: n.name for n in self.nodes}
        view: dict[str, set[str]] = {}
        for node in self.nodes:
            try:
                view[node.name] = {by_id.get(i, i) for i in node.remote_route_ids()}
            except (MonitoringError, ServerNotRunning):
                view[node.name] = set()
        return view

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait for the full mesh (and JetStream health, if enabled).

        Raises:
            ClusterError: not ready in time; the message shows each node's routes.
        """
        deadline = time.monotonic() + timeout
        try:
            wait_until(self._mesh_complete, timeout=timeout, what="full route mesh")
            if self.jetstream:
                wait_until(
                    self._all_healthy,
                    timeout=max(0.1, deadline - time.monotonic()),
                    what="JetStream /healthz on every node",
                )
        except WaitTimeout as exc:
            raise ClusterError(
                f"cluster {self.name} not ready after {timeout:.1f}s waiting for {exc.what}; "
                f"routes seen: {self.route_view()}"
            ) from exc

    # ----------------------------------------------------------------- node faults
    def restart_node(self, index: int, *, graceful: bool = False, timeout: float = 20.0) -> None:
        """Restart node ``index`` on the same ports and wait for the mesh to re-form."""
        self.nodes[index].restart(graceful=graceful)
        self.wait_ready(timeout)

    def kill_node(self, index: int) -> None:
        """SIGKILL node ``index`` (restart it with :meth:`restart_node`)."""
        self.nodes[index].kill()

    def wait_for_interest(
        self, subject: str, *, count: int = 1, queue: str | None = None, timeout: float = 5.0
    ) -> None:
        """Block until every running node has ``count`` subscriptions matching ``subject``
        (its own clients' and those routes brought); see
        :meth:`NatsServer.wait_for_interest`. A message published to any node then reaches
        the subscribers.

        Raises:
            WaitTimeout: a node lacks the interest after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if node.is_running and not node.is_paused:
                left = max(deadline - time.monotonic(), 0.0)
                node.wait_for_interest(subject, count=count, queue=queue, timeout=left)

    @property
    def urls(self) -> list[str]:
        """Client URLs of every node."""
        return [n.url for n in self.nodes]

    def __iter__(self) -> Iterator[NatsServer]:
        return iter(self.nodes)

    def __getitem__(self, index: int) -> NatsServer:
        return self.nodes[index]

    def __len__(self) -> int:
        return len(self.nodes)

    def close(self) -> None:
        """Stop every node, release its ports, remove the cluster folder (idempotent)."""
        for node in self.nodes:
            node.close()
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        if self._own_dir:
            _proc.forget_dir(self.directory)

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
