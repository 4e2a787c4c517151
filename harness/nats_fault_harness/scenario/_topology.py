"""A scenario's topology made real (links, pool, cluster), and its fault steps as faults.

Building is synchronous (proxy API calls, server starts); the runner calls it in a thread.

A step whose target is ``leader:<STREAM>`` is resolved when it fires (:func:`resolve_step`):
the cluster is asked which node leads the stream then (``/jsz`` on the running nodes,
waiting for an election if there is none), and the step becomes the same step on
``node:<i>``. The fault then journals ``{"leader_of": stream, "node": i, "server": name}``
in its parameters, and the service links it reaches are that node's. ``follower:<S>``
resolves the same way to the lowest-numbered running replica that does not lead ``S``
(journaled as ``{"follower_of": S, ...}``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.faults import (
    Fault,
    FaultLog,
    FaultyCluster,
    Link,
    LinkFactory,
    Pool,
    ServerFaults,
)
from nats_fault_harness.scenario._model import Scenario
from nats_fault_harness.servers import NatsServer
from nats_fault_harness.servers._leader import LEADER_TIMEOUT_S

__all__ = [
    "Built",
    "ScenarioEnv",
    "build",
    "make_fault",
    "resolve_step",
    "service_links",
    "step_label",
]

_SERVER_FIELDS = {
    "ping_interval_s": "ping_interval",
    "ping_max": "ping_max",
    "write_deadline_s": "write_deadline",
    "max_payload": "max_payload",
    "max_pending": "max_pending",
    "lame_duck_duration_s": "lame_duck_duration",
}


@dataclass
class ScenarioEnv:
    """What the plugin's fixtures give a scenario run.

    Attributes:
        links: puts servers behind proxies; its log's history is the run's history.
        server: the server of a ``server`` or ``pool`` topology without server options.
        make_server: ``make_server(**ServerConfig fields)`` for topologies with options.
        make_cluster: ``make_cluster(size, **fields)`` for ``cluster`` topologies.
        drain_s: how long a run waits, after the final heal, for confirmed messages to
            reach the observer; a lost message costs the whole wait.
    """

    links: LinkFactory
    server: NatsServer | None = None
    make_server: Callable[..., NatsServer] | None = None
    make_cluster: Callable[..., FaultyCluster] | None = None
    drain_s: float = 5.0

    @property
    def log(self) -> FaultLog:
        """The fault log (and, through it, the history)."""
        return self.links.log


@dataclass
class Built:
    """The topology of one run: what the service dials, and what faults can hit."""

    servers: tuple[str, ...]
    member_urls: tuple[str, ...]
    direct_url: str
    links: dict[str, Link] = field(default_factory=dict)
    server_faults: dict[str, ServerFaults] = field(default_factory=dict)
    pool: Pool | None = None
    cluster: FaultyCluster | None = None


def _server_options(scenario: Scenario) -> dict[str, Any]:
    opts = scenario.topology.server.model_dump(exclude_none=True)
    return {_SERVER_FIELDS[k]: v for k, v in opts.items()}


def build(scenario: Scenario, env: ScenarioEnv) -> Built:
    """Create the scenario's servers and proxies (blocking)."""
    topo, log = scenario.topology, env.log
    options = _server_options(scenario)
    if topo.kind == "cluster":
        if env.make_cluster is None:
            raise ConfigError("a cluster topology needs make_cluster", where="topology")
        cluster = env.make_cluster(topo.size, jetstream=topo.jetstream, **options)
        node_links = [env.links.link(node, name=f"node.{i}") for i, node in enumerate(cluster)]
        urls = tuple(link.url for link in node_links)
        return Built(
            urls,
            urls,
            cluster[-1].url,  # the observer's node: the service dials node 0 first
            {f"node:{i}": link for i, link in enumerate(node_links)},
            {f"node:{i}": ServerFaults(node, log) for i, node in enumerate(cluster)},
            cluster=cluster,
        )
    if options or topo.jetstream or env.server is None:
        if env.make_server is None:
            raise ConfigError(
                "server options or JetStream need make_server", where="topology.server"
            )
        server = env.make_server(jetstream=topo.jetstream, **options)
    else:
        server = env.server
    faults = {"server": ServerFaults(server, log)}
    if topo.kind == "pool":
        pool = env.links.pool(server, topo.size)
        members = {f"member:{i}": m for i, m in enumerate(pool.members)}
        return Built(
            (pool.shared.url,),
            tuple(pool.urls),
            server.url,
            {"link": pool.shared, **members},
            faults,
            pool=pool,
        )
    link = env.links.link(server)
    return Built((link.url,), (link.url,), server.url, {"link": link}, faults)


def resolve_step(
    step: Any, built: Built, *, timeout: float = LEADER_TIMEOUT_S
) -> tuple[Any, dict[str, Any]]:
    """``step`` with a ``leader:<S>`` (``follower:<S>``) target replaced by ``node:<i>``.

    Blocking: asks the cluster, waiting through an election.

    Returns:
        ``(step, chosen)``: ``step`` unchanged and ``{}`` for any other target; otherwise
        a copy on ``node:<i>`` and ``{"leader_of": S, "node": i, "server": name}``
        (``follower_of`` for a follower).

    Raises:
        ClusterError: no leader of ``S`` agreed within ``timeout`` (names the stream).
    """
    target = str(getattr(step, "target", ""))
    role, _, stream = target.partition(":")
    if role not in ("leader", "follower"):
        return step, {}
    if built.cluster is None:
        raise ConfigError(f"{target} needs a cluster topology", where="target", value=target)
    if role == "leader":
        node = built.cluster.stream_leader(stream, timeout=timeout)
    else:
        node = built.cluster.stream_follower(stream, timeout=timeout)
    chosen = {f"{role}_of": stream, "node": node, "server": built.cluster[node].name}
    return step.model_copy(update={"target": f"node:{node}"}), chosen


def make_fault(step: Any, built: Built) -> Fault:
    """The (not yet applied) fault of one scenario fault step (``leader:`` resolved)."""
    kind = step.fault
    if kind in ("kill", "stop", "pause", "lame_duck", "restart"):
        sf = built.server_faults[step.target]
        return sf.restart(graceful=step.graceful) if kind == "restart" else getattr(sf, kind)()
    if kind == "partition":
        assert built.cluster is not None
        return built.cluster.partition(step.a, step.b, one_way=step.one_way)
    if kind == "isolate":
        assert built.cluster is not None
        return built.cluster.isolate(_node(step.target))
    if kind in ("break_members", "break_by_name"):
        assert built.pool is not None
        if kind == "break_members":
            return built.pool.break_members(step.members, step.how)
        return built.pool.break_by_name(step.connect_name, step.how)
    link = built.links[step.target]
    name: str | None = getattr(step, "connect_name", None)
    if kind == "latency":
        return link.latency(step.ms, jitter=step.jitter, stream=step.stream, connect_name=name)
    if kind == "bandwidth":
        return link.bandwidth(step.kb_per_s, stream=step.stream, connect_name=name)
    if kind in ("blackhole", "drop"):
        return getattr(link, kind)(stream=step.stream, connect_name=name)  # type: ignore[no-any-return]
    if kind == "reset":
        return link.reset(connect_name=name)
    if kind == "down":
        return link.down()
    if kind == "slow_close":
        return link.slow_close(step.delay_ms, stream=step.stream)
    if kind == "limit_data":
        return link.limit_data(step.bytes, stream=step.stream)
    if kind == "frames":
        return link.frames(
            step.verb,
            subject=step.subject,
            action=step.action,
            delay_ms=step.delay_ms,
            nth=step.nth,
            every=step.every,
            first=step.first,
            after=step.after,
            probability=step.probability,
            stream=step.stream,
            connect_name=name,
            reply=step.reply,
            header=step.header,
            header_value=step.header_value,
            min_bytes=step.min_bytes,
            max_bytes=step.max_bytes,
        )
    raise ConfigError(f"fault {kind!r} is not supported by the runner", where="faults")


def service_links(step: Any, built: Built) -> tuple[str, ...]:
    """The proxies of the service's links that step ``step`` acts on.

    A link or pool fault names its links itself (``()`` here); a server fault hits every
    link to that server, a partition the links to both sides (a service on a node the
    partition does not cut is not reached), an ``isolate`` every node's link (each node
    is on one side of a cut). ``step`` has its ``leader:`` target resolved.
    """
    kind, target = step.fault, getattr(step, "target", "")
    if kind in ("kill", "stop", "pause", "lame_duck", "restart"):
        if target == "server":
            return tuple(link.proxy for link in built.links.values())
        return (built.links[target].proxy,)
    if kind == "partition":
        return tuple(built.links[f"node:{n}"].proxy for n in (step.a, step.b))
    if kind == "isolate":
        return tuple(built.links[t].proxy for t in built.links if t.startswith("node:"))
    return ()


def _node(target: str) -> int:
    kind, _, index = target.partition(":")
    if kind != "node":
        raise ConfigError(f"expected node:<i>, got {target!r}", where="target", value=target)
    return int(index)


def step_label(step: Any) -> str:
    """``down on link, at 0 s`` / ``kill on node:1, after the 3rd reconnect, for 1.5 s``."""
    what = f"{step.fault} on {getattr(step, 'target', '?')}"
    trigger = step.trigger
    if hasattr(trigger, "after"):
        when = f"after {trigger.after} #{trigger.nth}"
    else:
        when = f"at {trigger.at_s:g} s"
    for_s = f", for {trigger.for_s:g} s" if trigger.for_s is not None else ""
    return f"{what}, {when}{for_s}"
