"""The fault, event and workload kinds the strategies draw, and each parameter's values.

Every tuple is in the order the shrinker prefers: mildest (or simplest) first.
"""

from __future__ import annotations

STEP_S = 0.05
"""Granularity of start times and durations, in seconds."""

FAULT_CLASSES: dict[str, tuple[str, ...]] = {
    "slow": ("latency", "bandwidth", "slow_close"),
    "protocol": ("frames",),
    "stalled": ("blackhole", "pause"),
    "cut": ("drop", "reset", "limit_data"),
    "refused": ("down",),
    "partial": ("break_members", "break_by_name"),
    "replaced": ("stop", "kill", "restart", "lame_duck"),
}
"""The fault kinds grouped by what the service's client sees, mildest class first.

``slow``: bytes arrive late; ``protocol``: single NATS frames held, delayed or dropped;
``stalled``: the connection stays open and nothing arrives (a blackholed link, a paused
server); ``cut``: the connection closes and the next attempt connects; ``refused``:
connection attempts are refused until the heal; ``partial``: some of a pool's
connections fail, the others work; ``replaced``: the server process is gone, and a new one
with a new identity (and without the old one's state) takes its place.

A step draws its class first, then a kind within it (both toward the first when
shrinking): each failure mode a client must handle gets an equal share of the examples,
however many kinds produce it. Drawn uniformly by kind, the one kind that refuses
connections (``down``) and the one that replaces the server (``kill``) each got 1 step in
10 of the defaults, while three kinds that merely slow bytes got 3 in 10."""

FAULT_KINDS_BY_SEVERITY: tuple[str, ...] = tuple(
    kind for kinds in FAULT_CLASSES.values() for kind in kinds
)
"""The fault kinds these strategies draw, mildest first (the order the shrinker prefers):
:data:`FAULT_CLASSES` in order."""

DEFAULT_KINDS: tuple[str, ...] = (
    "latency",
    "bandwidth",
    "slow_close",
    "blackhole",
    "drop",
    "reset",
    "limit_data",
    "down",
    "pause",
    "kill",
)
"""Kinds drawn by default: every link fault but ``frames``, and the quick server faults.

``restart`` is left out for now (after a graceful restart the runner's observer did not
reconnect within 10 s: a harness issue, not the service's). ``lame_duck`` is left out
(nats-server's lame-duck duration is at least 30 s, too slow for an example). ``frames``
is opt-in: dropping a whole ``PUB`` frame is a lie no real network tells (see
:func:`fault_steps`).
"""

EVENT_KINDS: tuple[str, ...] = ("batch_flush", "publish", "request", "reconnect")
"""What an event trigger can count, in the order the shrinker prefers."""

DEFAULT_EVENTS: tuple[str, ...] = ("batch_flush", "publish", "request")
"""Event kinds drawn by default: :data:`EVENT_KINDS` but ``reconnect``, which happens only if
an earlier fault disconnected the service (so a fault triggered by it may never fire)."""

WORKLOAD_KINDS: tuple[str, ...] = ("batched", "confirmed", "requests")
"""Workload shapes :func:`workloads` draws: batched publishes with a final flush,
publishes confirmed one by one, or requests to a responder."""

_SERVER_KINDS = frozenset({"pause", "stop", "kill", "restart", "lame_duck"})
_POOL_KINDS = frozenset({"break_members", "break_by_name"})
_INSTANT = frozenset({"reset", "restart"})
_SUBJECTS = ("prop.a", "prop.b")
_LATENCY_MS = (0, 5, 20, 50, 100, 200, 350, 500, 1000, 2000)
_KB_PER_S = (1000, 500, 100, 50, 20, 10, 5, 1)
_LIMIT_BYTES = (65536, 16384, 4096, 1024, 256, 64, 0)
_STREAMS = ("downstream", "upstream", "both")
