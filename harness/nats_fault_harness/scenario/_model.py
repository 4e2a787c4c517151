"""What a scenario file holds, as frozen pydantic models.

A :class:`Scenario` is data: the claims it verifies (ids from ``scenarios/claims.yaml``),
a :class:`Topology`, service configuration overrides (checked later against the service
under test), a :class:`Workload`, a fault schedule (:data:`FaultStep`, see
:mod:`nats_fault_harness.scenario._faults`) and the :class:`CheckerSpec` s that must hold. Every
model rejects unknown keys; cross-field rules (a ``member:3`` target needs a pool of at
least 4) are checked here too, so a model built in Python obeys the same rules as a file.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, Strict, model_validator
from pydantic_core import PydanticCustomError

from nats_fault_harness.natsproto import subject_matches
from nats_fault_harness.scenario._base import (
    MAX_ITEMS,
    ByteCount,
    Count,
    PayloadBytes,
    PosCount,
    Rate,
    Seconds,
    Seed,
    Size,
    StrictModel,
    Subject,
    SubjectFilter,
)
from nats_fault_harness.scenario._faults import FaultStep
from nats_fault_harness.scenario._step import EventTrigger

__all__ = [
    "CLAIM_ID",
    "CHECKERS",
    "CheckerSpec",
    "Claim",
    "Consumer",
    "Expect",
    "Claims",
    "Inputs",
    "Messages",
    "Publishes",
    "Requests",
    "Scenario",
    "ServerOptions",
    "Stream",
    "Subscription",
    "Topology",
    "Workload",
]

CLAIM_ID = r"^[a-z0-9][a-z0-9.-]*$"
ClaimId = Annotated[str, Strict(), Field(pattern=CLAIM_ID)]
CHECKERS = (
    "accounting",
    "outputs",
    "exceptions",
    "backoff",
    "pool",
    "validation",
    "loop_lag",
    "metrics",
    "health",
    "logs",
    "stream",
    "consumer",
)
CHECKER_VIEWS = {"metrics": "stats", "health": "health", "logs": "logs"}
"""Checkers that read an optional view of the service, and the capability they read."""
INPUT_CAPABILITY = {"request": "respond", "publish": "republish", "jetstream": "consume"}
"""The capability (and endpoint kind) each ``workload.inputs`` mode drives."""
Text = Annotated[str, Strict()]
Marker = Annotated[str, Strict(), Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class ServerOptions(StrictModel):
    """The nats-server options a scenario may set (``None``: the server's default)."""

    ping_interval_s: Seconds | None = None
    ping_max: PosCount | None = None
    write_deadline_s: Seconds | None = None
    max_payload: Annotated[PayloadBytes, Field(ge=1)] | None = None
    max_pending: Annotated[ByteCount, Field(ge=1)] | None = None
    lame_duck_duration_s: Seconds | None = None


class Stream(StrictModel):
    """A JetStream stream the runner creates before the service starts.

    It is created (file storage, limits retention) straight on a server, not through the
    faulted links, and read back the same way after the final heal: its content is the
    ground truth of the ``stream`` checker.
    """

    name: Annotated[str, Strict(), Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    subjects: Annotated[tuple[SubjectFilter, ...], Field(min_length=1, max_length=MAX_ITEMS)]
    replicas: Annotated[int, Strict(), Field(ge=1, le=5)] = 1
    duplicate_window_s: Seconds = 120.0


class Consumer(StrictModel):
    """A durable JetStream consumer the runner creates (after the streams, before the
    service starts) and reads back after the final heal.

    The service binds to it by name (:attr:`nats_fault_harness.services.Endpoint.consumer`);
    its state at the end (pending, unacknowledged, redelivered) is part of the ``consumer``
    checker's ground truth. ``kind: push`` delivers to a subject of the runner's choosing
    (nats-py's ``subscribe(durable=...)`` binds to it); ``pull`` is fetched by the service.
    ``ack_policy`` is always explicit.
    """

    name: Annotated[str, Strict(), Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    stream: Annotated[str, Strict(), Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    kind: Literal["push", "pull"] = "push"
    filter_subject: SubjectFilter | None = None
    ack_wait_s: Seconds = 30.0
    max_deliver: Annotated[int, Strict(), Field(ge=-1, le=10_000)] = -1
    max_ack_pending: Annotated[int, Strict(), Field(ge=1, le=100_000)] | None = None

    @model_validator(mode="after")
    def _max_deliver_not_zero(self) -> Consumer:
        if self.max_deliver == 0:
            raise _at(("max_deliver",), "max_deliver is -1 (unlimited) or at least 1, got 0")
        return self


class Topology(StrictModel):
    """What the service connects to: one ``server``, a ``pool`` of N links, a ``cluster``."""

    kind: Literal["server", "pool", "cluster"] = "server"
    size: Size = 1
    jetstream: Annotated[bool, Strict()] = False
    server: ServerOptions = Field(default_factory=ServerOptions)
    streams: Annotated[tuple[Stream, ...], Field(max_length=MAX_ITEMS)] = ()
    consumers: Annotated[tuple[Consumer, ...], Field(max_length=MAX_ITEMS)] = ()

    @model_validator(mode="after")
    def _size_fits_kind(self) -> Topology:
        if self.kind == "server" and self.size != 1:
            raise _at(("size",), "a single server has size 1, got {size}", size=self.size)
        if self.kind == "cluster" and self.size < 2:
            raise _at(("size",), "a cluster needs size >= 2, got {size}", size=self.size)
        return self

    @model_validator(mode="after")
    def _streams_fit(self) -> Topology:
        names = [s.name for s in self.streams]
        for i, stream in enumerate(self.streams):
            if not self.jetstream:
                raise _at(("streams", i), "a stream needs jetstream: true")
            if names.index(stream.name) != i:
                raise _at(
                    ("streams", i, "name"), "stream {name} is declared twice", name=stream.name
                )
            nodes = self.size if self.kind == "cluster" else 1
            if stream.replicas > nodes:
                raise _at(
                    ("streams", i, "replicas"),
                    "{replicas} replicas need as many servers; the topology has {nodes}",
                    replicas=stream.replicas,
                    nodes=nodes,
                )
        seen: set[tuple[str, str]] = set()
        for i, consumer in enumerate(self.consumers):
            if consumer.stream not in names:
                raise _at(
                    ("consumers", i, "stream"),
                    "stream {stream} is not declared in topology.streams ({names})",
                    stream=consumer.stream,
                    names=", ".join(names) or "none",
                )
            key = (consumer.stream, consumer.name)
            if key in seen:
                raise _at(
                    ("consumers", i, "name"),
                    "consumer {name} of stream {stream} is declared twice",
                    name=consumer.name,
                    stream=consumer.stream,
                )
            seen.add(key)
        return self


class Publishes(StrictModel):
    """``count`` messages over ``subjects`` (round robin); ``rate_per_s`` None = flat out.

    ``jetstream`` publishes each to a stream and waits for its PubAck
    (``publish_jetstream``), with the id as ``Nats-Msg-Id`` when ``msg_id_header``;
    ``in_flight`` of them may await their PubAck at once (launched at ``rate_per_s``).
    ``batched`` hands them to the service's batch, flushed at the end. With
    ``recover_during_faults`` the runner also asks the service to recover its failed-batch
    queue right after that flush, while the faults are still in place: a recovery that
    fails must keep the messages queued for the final recovery after the heal.
    """

    count: Count = 0
    rate_per_s: Rate | None = None
    subjects: Annotated[tuple[Subject, ...], Field(min_length=1, max_length=MAX_ITEMS)] = (
        "harness.test",
    )
    payload_bytes: PayloadBytes = 128
    batched: Annotated[bool, Strict()] = False
    recover_during_faults: Annotated[bool, Strict()] = False
    jetstream: Annotated[bool, Strict()] = False
    msg_id_header: Annotated[bool, Strict()] = True
    in_flight: Annotated[int, Strict(), Field(ge=1, le=1000)] = 1

    @model_validator(mode="after")
    def _jetstream_is_not_batched(self) -> Publishes:
        if self.jetstream and self.batched:
            raise _at(("jetstream",), "jetstream publishes are confirmed one by one, not batched")
        if self.in_flight > 1 and not self.jetstream:
            raise _at(
                ("in_flight",),
                "in_flight {n} needs jetstream: true (other publishes go one at a time)",
                n=self.in_flight,
            )
        return self

    @model_validator(mode="after")
    def _recover_needs_batches(self) -> Publishes:
        if self.recover_during_faults and not self.batched:
            raise _at(
                ("recover_during_faults",),
                "recover_during_faults needs batched: true (only batches are queued)",
            )
        return self


class Requests(StrictModel):
    """``count`` requests on ``subject``; ``responder`` False means nobody answers."""

    count: Count = 0
    rate_per_s: Rate | None = None
    subject: Subject = "harness.rpc"
    timeout_s: Seconds = 1.0
    responder: Annotated[bool, Strict()] = True


class Messages(StrictModel):
    """Structured (chat and event) messages through the service's validating broker.

    ``valid`` good messages and ``invalid`` bad ones (each bad in one named field) go both
    ways: the service publishes them (``outgoing``), and the observer sends them to a
    subscription of the service (``incoming``). Chat and event messages alternate, so the
    broker's detection of the message type is exercised too.
    """

    valid: Count = 0
    invalid: Count = 0
    subject: Subject = "harness.messages"
    outgoing: Annotated[bool, Strict()] = True
    incoming: Annotated[bool, Strict()] = True


class Subscription(StrictModel):
    """A subscription the service holds during the run (``queue``: a queue group)."""

    subject: SubjectFilter
    queue: Annotated[str, Strict(), Field(pattern=r"^[^\s]+$")] | None = None
    jetstream: Annotated[bool, Strict()] = False


class Inputs(StrictModel):
    """Consumer-shaped work: the harness's driver sends ``count`` inputs to the service.

    The driver connects straight to a server (never through the faulted links), like the
    observer. ``mode: request`` sends each input as a request to the service's ``respond``
    endpoint and listens for every reply, also late ones (``timeout_s`` is how long the
    driver waits before it records the request as unanswered); ``mode: publish``
    publishes each input to the service's ``republish`` endpoint and the observer
    collects what the service publishes on the endpoint's ``output`` subject;
    ``mode: jetstream`` publishes each input into a stream (with a PubAck, the input's id
    as ``Nats-Msg-Id``, each attempt waiting ``timeout_s``) for the service's ``consume``
    endpoint, and collects its outputs the same way.
    ``endpoint`` picks one of the service's endpoints of that kind by name (default: the
    first). Outputs are read as they arrive for ``settle_s`` seconds after the last input.
    """

    count: Count = 0
    rate_per_s: Rate | None = None
    mode: Literal["request", "publish", "jetstream"] = "request"
    timeout_s: Seconds = 1.0
    endpoint: Annotated[str, Strict()] | None = None
    settle_s: Seconds = 2.0


class Workload(StrictModel):
    """What the service does while the faults run."""

    publishes: Publishes = Field(default_factory=Publishes)
    requests: Requests = Field(default_factory=Requests)
    subscriptions: Annotated[tuple[Subscription, ...], Field(max_length=MAX_ITEMS)] = ()
    messages: Messages = Field(default_factory=Messages)
    inputs: Inputs = Field(default_factory=Inputs)


class CheckerSpec(StrictModel):
    """A checker that must hold, by name, with its parameters."""

    name: Literal[
        "accounting",
        "outputs",
        "exceptions",
        "backoff",
        "pool",
        "validation",
        "loop_lag",
        "metrics",
        "health",
        "logs",
        "stream",
        "consumer",
    ]
    params: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _params_fit(self) -> CheckerSpec:
        from nats_fault_harness.checkers._registry import CheckerParamError, make_checker

        try:
            make_checker(self.name, self.params)
        except CheckerParamError as exc:
            loc: tuple[str, ...] = ("params", exc.param) if exc.param else ("params",)
            raise _at(loc, "{problem}", problem=str(exc)) from None
        except (KeyError, TypeError) as exc:
            raise _at(("params",), "{problem}", problem=str(exc).strip("'\"")) from None
        return self


class Expect(StrictModel):
    """What the scenario expects of the run itself (not of a checker).

    ``start: fail`` declares that the service must fail to start (its connect is refused
    on purpose); otherwise a service that fails to start makes the verdict invalid.
    """

    start: Literal["ok", "fail"] = "ok"


class Scenario(StrictModel):
    """One scenario file. See the module docstring; defaults make a minimal file short."""

    name: Annotated[str, Strict(), Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
    description: Text = ""
    claims: Annotated[tuple[ClaimId, ...], Field(min_length=1, max_length=MAX_ITEMS)]
    topology: Topology = Field(default_factory=Topology)
    service: dict[str, JsonValue] = Field(default_factory=dict)
    workload: Workload = Field(default_factory=Workload)
    faults: Annotated[tuple[FaultStep, ...], Field(max_length=MAX_ITEMS)] = ()
    checkers: Annotated[tuple[CheckerSpec, ...], Field(min_length=1, max_length=MAX_ITEMS)]
    expect: Expect = Field(default_factory=Expect)
    instances: Annotated[int, Strict(), Field(ge=1, le=8)] = 1
    timeout_s: Seconds = 60.0
    markers: Annotated[tuple[Marker, ...], Field(max_length=MAX_ITEMS)] = ()
    seed: Seed | None = None

    def needs(self) -> dict[str, str]:
        """The capabilities a service needs for this scenario: name -> what needs it."""
        w = self.workload
        out: dict[str, str] = {}
        if w.publishes.count:
            p = w.publishes
            cap = "batch" if p.batched else "jetstream_publish" if p.jetstream else "publish"
            out[cap] = "workload.publishes"
        if w.requests.count:
            out["request"] = "workload.requests"
        if w.subscriptions:
            out["subscribe"] = "workload.subscriptions"
        m = w.messages
        if (m.valid or m.invalid) and (m.outgoing or m.incoming):
            out["messages"] = "workload.messages"
        if w.inputs.count:
            out[INPUT_CAPABILITY[w.inputs.mode]] = "workload.inputs"
        return out

    def checker_views(self) -> dict[str, str]:
        """The scenario's checkers that read an optional view: checker -> capability.

        A service without the view cannot feed the checker; the runner leaves it out (and
        says so), or skips the scenario when no other checker is left.
        """
        return {c.name: CHECKER_VIEWS[c.name] for c in self.checkers if c.name in CHECKER_VIEWS}

    @model_validator(mode="after")
    def _faults_can_fire(self) -> Scenario:
        """Reject fault steps that can be known, from the file alone, never to fire."""
        w = self.workload
        counts = {
            "publish": w.publishes.count,
            "request": w.requests.count,
            "input": w.inputs.count,
        }
        idle = not (
            w.publishes.count
            or w.requests.count
            or w.messages.valid
            or w.messages.invalid
            or w.inputs.count
        )
        for i, step in enumerate(self.faults):
            trigger = step.trigger
            if isinstance(trigger, EventTrigger):
                after = trigger.after
                if after not in counts or trigger.nth <= counts[after]:
                    continue
                raise _at(
                    ("faults", i, "trigger", "nth"),
                    "the {after} #{nth} never happens: the workload makes {count} {plural}",
                    after=after,
                    plural={"publish": "publishes", "request": "requests", "input": "inputs"}[
                        after
                    ],
                    nth=trigger.nth,
                    count=counts[after],
                )
            if trigger.at_s >= self.timeout_s:
                raise _at(
                    ("faults", i, "trigger", "at_s"),
                    "at_s {at_s} is not before the scenario's timeout_s {timeout}: "
                    "the fault could never fire",
                    at_s=trigger.at_s,
                    timeout=self.timeout_s,
                )
            if idle and trigger.at_s > 0:
                raise _at(
                    ("faults", i, "trigger", "at_s"),
                    "at_s {at_s} falls after the workload ended: it has nothing to do "
                    "(no publishes, requests, messages or inputs)",
                    at_s=trigger.at_s,
                )
        return self

    @model_validator(mode="after")
    def _streams_capture_publishes(self) -> Scenario:
        """JetStream publishes need JetStream and a declared stream for every subject."""
        p = self.workload.publishes
        if not (p.jetstream and p.count):
            return self
        if not self.topology.jetstream:
            raise _at(("workload", "publishes", "jetstream"), "needs topology.jetstream: true")
        patterns = [pat for s in self.topology.streams for pat in s.subjects]
        for j, subject in enumerate(p.subjects):
            if not any(subject_matches(pat, subject) for pat in patterns):
                raise _at(
                    ("workload", "publishes", "subjects", j),
                    "no stream of topology.streams captures {subject}",
                    subject=subject,
                )
        return self

    @model_validator(mode="after")
    def _jetstream_inputs_have_a_stream(self) -> Scenario:
        """``workload.inputs`` ``mode: jetstream`` needs JetStream and a declared stream."""
        i = self.workload.inputs
        if not (i.count and i.mode == "jetstream"):
            return self
        if not (self.topology.jetstream and self.topology.streams):
            raise _at(
                ("workload", "inputs", "mode"),
                "mode jetstream needs topology.jetstream: true and a stream in topology.streams",
            )
        return self

    @model_validator(mode="after")
    def _instances_consume(self) -> Scenario:
        """Several instances only make sense for consumer-shaped work (a queue group)."""
        w = self.workload
        client_shaped = (
            w.publishes.count
            or w.requests.count
            or w.subscriptions
            or w.messages.valid
            or w.messages.invalid
        )
        if self.instances > 1 and (client_shaped or not w.inputs.count):
            raise _at(
                ("instances",),
                "instances {n} needs a workload of inputs only (several consumers of the "
                "same subjects); drive a client-shaped workload with one instance",
                n=self.instances,
            )
        return self

    @model_validator(mode="after")
    def _targets_exist(self) -> Scenario:
        topo = self.topology
        for i, step in enumerate(self.faults):
            kind, _, index = step.target.partition(":")
            if kind in ("leader", "follower"):
                _leader_fits(topo, i, step.target)
                continue
            need = {"member": "pool", "node": "cluster"}.get(kind, kind)
            if need in ("pool", "cluster") and topo.kind != need:
                field = "target" if index else "fault"
                raise _at(
                    ("faults", i, field),
                    f"{{what}} needs a {need} topology, got {topo.kind}",
                    what=getattr(step, field),
                )
            picks: list[tuple[tuple[str | int, ...], str, int]] = []
            if index:
                picks.append((("target",), kind, int(index)))
            members = getattr(step, "members", ())
            picks += [(("members", j), "member", m) for j, m in enumerate(members)]
            picks += [((n,), "node", getattr(step, n)) for n in ("a", "b") if hasattr(step, n)]
            for loc, label, pick in picks:
                if pick >= topo.size:
                    raise _at(
                        ("faults", i, *loc),
                        "{what} is not in the topology: a {kind} of size {size} has 0..{last}",
                        what=f"{label} {pick}",
                        kind=topo.kind,
                        size=topo.size,
                        last=topo.size - 1,
                    )
        return self


def _leader_fits(topo: Topology, i: int, target: str) -> None:
    """``leader:<S>`` (``follower:<S>``) needs a JetStream cluster and a stream ``S``."""
    if topo.kind != "cluster" or not topo.jetstream:
        raise _at(
            ("faults", i, "target"),
            "{what} needs a cluster topology with jetstream: true, got {kind}{js}",
            what=target,
            kind=topo.kind,
            js="" if topo.jetstream else " without jetstream",
        )
    stream = target.partition(":")[2]
    names = [s.name for s in topo.streams]
    if stream not in names:
        raise _at(
            ("faults", i, "target"),
            "{what}: no stream {stream} in topology.streams (declared: {names})",
            what=target,
            stream=stream,
            names=", ".join(names) or "none",
        )


def _at(loc: tuple[str | int, ...], message: str, **ctx: Any) -> PydanticCustomError:
    """An error whose location is ``loc`` below the model that raises it.

    pydantic places a model validator's error at the model itself; the ``loc`` context
    entry lets the error reporter point at the field instead.
    """
    return PydanticCustomError("cross_field", message, {**ctx, "loc": loc})


class Claim(StrictModel):
    """One claim the remediation makes, with a stable id."""

    id: ClaimId
    text: Annotated[str, Strict(), Field(min_length=1)]


class Claims(StrictModel):
    """The claims catalogue: every claim scenarios may verify, by id."""

    claims: tuple[Claim, ...]

    def ids(self) -> tuple[str, ...]:
        """Every claim id, in catalogue order."""
        return tuple(c.id for c in self.claims)

    def __contains__(self, claim_id: object) -> bool:
        return any(c.id == claim_id for c in self.claims)

    def text(self, claim_id: str) -> str:
        """The text of claim ``claim_id`` (``KeyError`` if unknown)."""
        for claim in self.claims:
            if claim.id == claim_id:
                return claim.text
        raise KeyError(claim_id)
