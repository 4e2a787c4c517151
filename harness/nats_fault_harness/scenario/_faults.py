"""The fault schedule: one step per fault, named and parameterised as in
:mod:`nats_fault_harness.faults`.

A step says which fault (``fault``, the discriminator), on what (``target``), with the
parameters of the matching :mod:`nats_fault_harness.faults` method (same names: ``ms``, ``jitter``,
``kb_per_s``, ``members``, ``how``...), and when: a :class:`TimedTrigger` (``at_s`` for
``for_s``) or an :class:`EventTrigger` (``after`` the ``nth`` publish, batch flush,
reconnect or request). ``for_s: null`` holds the fault until the workload ends; instant
faults (``reset``, ``restart``, ``break_members`` with ``how: reset``) take no ``for_s``.

A server fault or an ``isolate`` may name ``leader:<STREAM>``: the node leading that
JetStream stream *when the fault fires* (asked of the cluster then, waiting for an
election if there is none; see :mod:`nats_fault_harness.scenario._topology`), or
``follower:<STREAM>``: the lowest-numbered running replica that does not lead it.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from nats_fault_harness.natsproto import VERB_FAMILIES, VERBS, verbs_of
from nats_fault_harness.scenario._base import (
    MAX_SIZE,
    ByteCount,
    Index,
    KbPerS,
    Millis,
    PayloadBytes,
    PosCount,
    SubjectFilter,
)
from nats_fault_harness.scenario._step import Step

__all__ = ["FAULT_KINDS", "STREAM_NAME", "FaultStep"]

Stream = Literal["upstream", "downstream", "both"]
LinkTarget = Annotated[str, Strict(), Field(pattern=r"^(link|member:\d+|node:\d+)$")]
STREAM_NAME = r"[A-Za-z0-9_-]{1,64}"
ServerTarget = Annotated[
    str, Strict(), Field(pattern=rf"^(server|node:\d+|(leader|follower):{STREAM_NAME})$")
]
NodeTarget = Annotated[
    str, Strict(), Field(pattern=rf"^(node:\d+|(leader|follower):{STREAM_NAME})$")
]
ConnectName = Annotated[str, Strict(), Field(min_length=1)]


class Latency(Step):
    fault: Literal["latency"]
    target: LinkTarget = "link"
    ms: Millis
    jitter: Millis = 0
    stream: Stream = "downstream"
    connect_name: ConnectName | None = None


class Bandwidth(Step):
    fault: Literal["bandwidth"]
    target: LinkTarget = "link"
    kb_per_s: KbPerS
    stream: Stream = "downstream"
    connect_name: ConnectName | None = None


class Blackhole(Step):
    fault: Literal["blackhole"]
    target: LinkTarget = "link"
    stream: Stream = "both"
    connect_name: ConnectName | None = None


class Drop(Step):
    fault: Literal["drop"]
    target: LinkTarget = "link"
    stream: Stream = "both"
    connect_name: ConnectName | None = None


class Reset(Step):
    instant: ClassVar[bool] = True
    fault: Literal["reset"]
    target: LinkTarget = "link"
    connect_name: ConnectName | None = None


class Down(Step):
    fault: Literal["down"]
    target: LinkTarget = "link"


class SlowClose(Step):
    fault: Literal["slow_close"]
    target: LinkTarget = "link"
    delay_ms: Millis
    stream: Stream = "downstream"


class LimitData(Step):
    fault: Literal["limit_data"]
    target: LinkTarget = "link"
    bytes: ByteCount
    stream: Stream = "downstream"


class Frames(Step):
    fault: Literal["frames"]
    target: LinkTarget = "link"
    verb: Annotated[str, Strict(), Field(pattern=r"^([A-Z+-]+\*?|\*)$")]
    subject: SubjectFilter = ">"
    action: Literal["drop", "delay", "hold", "duplicate", "close"] = "drop"
    delay_ms: Millis = 0
    nth: PosCount | None = None
    every: PosCount | None = None
    first: PosCount | None = None
    after: PosCount | None = None
    probability: Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    stream: Stream = "upstream"
    connect_name: ConnectName | None = None
    reply: SubjectFilter | None = None
    header: Annotated[str, Strict(), Field(pattern=r"^[!-9;-~]{1,256}$")] | None = None
    header_value: Annotated[str, Strict(), Field(min_length=1, max_length=4096)] | None = None
    min_bytes: PayloadBytes | None = None
    max_bytes: PayloadBytes | None = None

    @model_validator(mode="after")
    def _identity_fits(self) -> Frames:
        if self.header_value is not None and self.header is None:
            raise PydanticCustomError(
                "cross_field", "header_value needs header", {"loc": ("header_value",)}
            )
        if (
            self.min_bytes is not None
            and self.max_bytes is not None
            and self.min_bytes > self.max_bytes
        ):
            raise PydanticCustomError(
                "cross_field",
                "min_bytes {min} exceeds max_bytes {max}",
                {"min": self.min_bytes, "max": self.max_bytes, "loc": ("min_bytes",)},
            )
        return self

    @model_validator(mode="after")
    def _known_verb(self) -> Frames:
        try:
            verbs_of(self.verb)
        except ValueError:
            raise PydanticCustomError(
                "cross_field",
                "unknown verb '{verb}': one of {verbs}, a family ({families}) or '*'",
                {
                    "verb": self.verb,
                    "verbs": ", ".join(VERBS),
                    "families": ", ".join(VERB_FAMILIES),
                    "loc": ("verb",),
                },
            ) from None
        return self

    @model_validator(mode="after")
    def _one_counter(self) -> Frames:
        given = [k for k in ("nth", "every", "first", "after") if getattr(self, k) is not None]
        if len(given) > 1:
            raise PydanticCustomError(
                "frames_counter",
                "at most one of nth, every, first, after; got {given}",
                {"given": ", ".join(given)},
            )
        return self


class BreakMembers(Step):
    fault: Literal["break_members"]
    target: Literal["pool"] = "pool"
    members: Annotated[tuple[Index, ...], Field(min_length=1, max_length=MAX_SIZE)]
    how: Literal["down", "blackhole", "drop", "reset"] = "down"

    def is_instant(self) -> bool:
        """``how: reset`` resets live connections once; the others last."""
        return self.how == "reset"


class BreakByName(Step):
    fault: Literal["break_by_name"]
    target: Literal["pool"] = "pool"
    connect_name: ConnectName
    how: Literal["blackhole", "drop", "reset"] = "blackhole"

    def is_instant(self) -> bool:
        """``how: reset`` resets live connections once; the others last."""
        return self.how == "reset"


class Kill(Step):
    fault: Literal["kill"]
    target: ServerTarget = "server"


class Stop(Step):
    fault: Literal["stop"]
    target: ServerTarget = "server"


class Pause(Step):
    fault: Literal["pause"]
    target: ServerTarget = "server"


class LameDuck(Step):
    fault: Literal["lame_duck"]
    target: ServerTarget = "server"


class Restart(Step):
    instant: ClassVar[bool] = True
    fault: Literal["restart"]
    target: ServerTarget = "server"
    graceful: Annotated[bool, Strict()] = False


class Partition(Step):
    fault: Literal["partition"]
    target: Literal["cluster"] = "cluster"
    a: Index
    b: Index
    one_way: Annotated[bool, Strict()] = False

    @model_validator(mode="after")
    def _two_nodes(self) -> Partition:
        if self.a == self.b:
            raise PydanticCustomError(
                "partition_nodes", "a and b must differ, both are {a}", {"a": self.a}
            )
        return self


class Isolate(Step):
    """Cut every route of one node (``node:<i>``, ``leader:<S>`` or ``follower:<S>``)."""

    fault: Literal["isolate"]
    target: NodeTarget


FaultStep = Annotated[
    Latency
    | Bandwidth
    | Blackhole
    | Drop
    | Reset
    | Down
    | SlowClose
    | LimitData
    | Frames
    | BreakMembers
    | BreakByName
    | Kill
    | Stop
    | Pause
    | LameDuck
    | Restart
    | Partition
    | Isolate,
    Field(discriminator="fault"),
]
"""One step of the fault schedule, chosen by its ``fault`` key."""

FAULT_KINDS: tuple[str, ...] = (
    "latency",
    "bandwidth",
    "blackhole",
    "drop",
    "reset",
    "down",
    "slow_close",
    "limit_data",
    "frames",
    "break_members",
    "break_by_name",
    "kill",
    "stop",
    "pause",
    "lame_duck",
    "restart",
    "partition",
    "isolate",
)
