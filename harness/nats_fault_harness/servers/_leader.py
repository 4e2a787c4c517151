"""Which node leads a JetStream stream, as the cluster itself says (``/jsz``).

Every replica of a stream reports, in ``/jsz?streams=true``, the stream's ``cluster``
block with the ``leader`` it follows (a server name) and its peers. A node's view can be
stale: an isolated leader keeps calling itself leader until it steps down, and a node
that has just restarted knows no leader yet. So a leader counts only when a quorum of
the stream's replicas name it *and* it names itself; until then (an election) the
caller waits, with a bound.

Paused and stopped nodes are not asked (a paused server's monitoring port accepts the
connection and never answers).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats_fault_harness._wait import wait_until
from nats_fault_harness.errors import ClusterError, MonitoringError, ServerNotRunning, WaitTimeout
from nats_fault_harness.servers._server import NatsServer

__all__ = [
    "LEADER_TIMEOUT_S",
    "LeaderView",
    "agreed_leader",
    "leader_views",
    "stream_follower",
    "stream_leader",
]

LEADER_TIMEOUT_S = 30.0
"""How long :func:`stream_leader` waits for an agreed leader by default (elections after
a partition were measured at 4-9 s, JetStream's return after a heal at up to 11.8 s)."""


@dataclass(frozen=True)
class LeaderView:
    """What one node reports of a stream: the leader it names, and the replica count."""

    leader: str | None
    replicas: int


def _stream_detail(jsz: dict[str, Any], stream: str) -> dict[str, Any] | None:
    for account in jsz.get("account_details") or ():
        for detail in account.get("stream_detail") or ():
            if detail.get("name") == stream:
                return dict(detail)
    return None


def leader_views(nodes: Sequence[NatsServer], stream: str) -> dict[int, LeaderView]:
    """Node index -> what that node reports of ``stream`` (``/jsz?streams=true``).

    A node that does not host the stream reports ``LeaderView(None, 0)``; nodes that are
    down, paused or whose monitoring port failed are left out.
    """
    views: dict[int, LeaderView] = {}
    for i, node in enumerate(nodes):
        if not node.is_running or node.is_paused:
            continue
        try:
            jsz = node.jsz(streams=True)
        except (MonitoringError, ServerNotRunning):
            continue
        detail = _stream_detail(jsz, stream)
        if detail is None:
            views[i] = LeaderView(None, 0)
            continue
        cluster = detail.get("cluster") or {}
        leader = cluster.get("leader")
        peers = cluster.get("replicas") or ()
        views[i] = LeaderView(str(leader) if leader else None, 1 + len(peers))
    return views


def agreed_leader(
    names: Sequence[str], views: dict[int, LeaderView], replicas: int | None = None
) -> int | None:
    """The index of the leader that names itself and that a quorum of the replicas names.

    ``replicas`` defaults to the largest replica count any view shows.
    """
    size = replicas or max((v.replicas for v in views.values()), default=1)
    votes = Counter(v.leader for v in views.values() if v.leader is not None)
    for name, count in votes.most_common():
        if name not in names:
            continue
        i = names.index(name)
        mine = views.get(i)
        if mine is not None and mine.leader == name and count >= size // 2 + 1:
            return i
    return None


def stream_leader(
    nodes: Sequence[NatsServer],
    stream: str,
    *,
    replicas: int | None = None,
    timeout: float = LEADER_TIMEOUT_S,
) -> int:
    """The index in ``nodes`` of the server leading ``stream``, waiting for an election.

    Args:
        nodes: the cluster's servers, in node order.
        stream: the stream's name.
        replicas: the stream's replica count (the quorum is a majority of it); by default
            the largest count a node reports.
        timeout: seconds to wait for a leader a quorum agrees on.

    Raises:
        ClusterError: no agreed leader within ``timeout``; names the stream and what
            each node reported.
    """
    names = [n.name for n in nodes]
    last: dict[int, LeaderView] = {}

    def probe() -> tuple[int, ...]:
        nonlocal last
        last = leader_views(nodes, stream)
        found = agreed_leader(names, last, replicas)
        return () if found is None else (found,)

    try:
        return wait_until(
            probe, timeout=timeout, what=f"a leader of stream {stream}", max_interval=0.25
        )[0]
    except WaitTimeout as exc:
        seen = {f"node {i}": _shown(v, names) for i, v in sorted(last.items())}
        raise ClusterError(
            f"no leader of stream {stream!r} agreed by a quorum of its replicas after "
            f"{timeout:g} s; the nodes report: {seen or 'no node answered /jsz'}"
        ) from exc


def stream_follower(
    nodes: Sequence[NatsServer], stream: str, *, timeout: float = LEADER_TIMEOUT_S
) -> int:
    """The lowest-numbered running node that holds a replica of ``stream`` and does not
    lead it (the leader agreed as in :func:`stream_leader`, waiting for an election).

    Raises:
        ClusterError: no agreed leader within ``timeout``, or no other running replica.
    """
    leader = stream_leader(nodes, stream, timeout=timeout)
    views = leader_views(nodes, stream)
    for i in sorted(views):
        if i != leader and views[i].replicas:
            return i
    raise ClusterError(
        f"stream {stream!r} has no running replica besides its leader (node {leader})"
    )


def _shown(view: LeaderView, names: Sequence[str]) -> str:
    if not view.replicas:
        return "no such stream"
    if view.leader is None:
        return "no leader"
    return f"node {names.index(view.leader)}" if view.leader in names else view.leader
