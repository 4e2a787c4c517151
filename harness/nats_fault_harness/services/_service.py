"""A service under test by capability: the :class:`Service` base class and its endpoints.

Most NATS services are not clients that publish on demand: they *consume* subjects and
reply or republish. A service declares what it does in ``capabilities`` (names from
:data:`CAPABILITIES`) and implements the methods of those capabilities; everything else
keeps the base class's default, which raises :class:`CapabilityMissing`. A scenario whose
workload or checkers need a capability the service lacks is skipped with that reason,
never run to a verdict (:func:`missing_capabilities`).

Consumer-shaped capabilities (``respond``, ``republish``, ``consume``) are described by
:class:`Endpoint` s: the subject the harness's driver sends inputs to (straight to a
server, bypassing the faulted links), and for ``republish`` and ``consume`` the subject the
service's outputs appear on. A ``consume`` endpoint is a JetStream consumer: the driver
publishes each input into a stream and the service, bound to the durable consumer the
endpoint names, processes it (its output) and acknowledges it.
:meth:`Service.make_input` builds an input carrying an id and :meth:`Service.output_id`
reads the id back from a reply or output, so the ``outputs`` and ``consumer`` checkers can
account for every input.

A service written against the older all-methods :class:`ServiceUnderTest` protocol (no
``capabilities`` attribute) has the client-shaped capabilities whose methods it defines,
and the optional views (:class:`MessagingSut`, :class:`StatsSut`, :class:`HealthSut`,
:class:`LoggingSut`) it implements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.services._protocol import (
    EventSink,
    FlushOutcome,
    HealthSut,
    LoggingSut,
    MessageHandler,
    MessagingSut,
    PoolInit,
    StatsSut,
    SutEnv,
)

__all__ = [
    "CAPABILITIES",
    "CapabilityMissing",
    "Endpoint",
    "Service",
    "capabilities_of",
    "missing_capabilities",
]

CAPABILITIES: Mapping[str, tuple[str, ...]] = {
    "publish": ("publish",),
    "jetstream_publish": ("publish_jetstream",),
    "batch": ("publish_batched", "flush", "recover"),
    "request": ("request",),
    "subscribe": ("subscribe", "unsubscribe"),
    "messages": ("publish_message", "subscribe_messages"),
    "respond": ("endpoints",),
    "republish": ("endpoints",),
    "consume": ("endpoints",),
    "stats": ("stats",),
    "health": ("health",),
    "logs": ("loggers",),
}
"""Each capability and the methods a service must implement for it."""

_CLIENT_SHAPED = ("publish", "batch", "request", "subscribe")
_VIEWS: Mapping[str, type] = {
    "messages": MessagingSut,
    "stats": StatsSut,
    "health": HealthSut,
    "logs": LoggingSut,
}


class CapabilityMissing(ConfigError):
    """The service under test lacks a capability a scenario needs: the scenario is skipped.

    Attributes:
        missing: the capabilities it lacks.
        service: the service's name.
    """

    def __init__(self, service: str, missing: Iterable[str], needed_by: str = "") -> None:
        self.service = service
        self.missing = tuple(sorted(missing))
        by = f" ({needed_by})" if needed_by else ""
        super().__init__(
            f"service {service!r} lacks {', '.join(self.missing)}{by}",
            where="capabilities",
            value=list(self.missing),
        )


@dataclass(frozen=True)
class Endpoint:
    """A subject the service consumes.

    Attributes:
        subject: where the harness's driver sends inputs (for ``consume``: a subject the
            stream captures).
        output: for ``republish`` and ``consume``, the subject the service publishes each
            result to (an exact subject or a filter such as ``orders.done.>``); ``None``
            for ``respond`` (the result is the reply to the input's request).
        queue: the queue group the service subscribes with, if any (informational).
        name: a label for reports.
        consumer: for ``consume``, the durable JetStream consumer the service processes
            (the scenario's ``topology.consumers`` creates it, or the service does).
        stream: for ``consume``, the consumer's stream.
    """

    subject: str
    output: str | None = None
    queue: str | None = None
    name: str = ""
    consumer: str | None = None
    stream: str | None = None

    def __post_init__(self) -> None:
        if (self.consumer is None) != (self.stream is None):
            raise ConfigError(
                f"Endpoint {self.subject!r}: a consume endpoint names both consumer and "
                f"stream (got consumer={self.consumer!r}, stream={self.stream!r})",
                where="Endpoint",
                value=self.subject,
            )
        if self.consumer is not None and self.output is None:
            raise ConfigError(
                f"Endpoint {self.subject!r}: a consume endpoint needs the output subject "
                "its processing publishes to",
                where="Endpoint.output",
                value=self.subject,
            )

    @property
    def kind(self) -> str:
        """``"respond"``, ``"republish"`` or ``"consume"``."""
        if self.consumer is not None:
            return "consume"
        return "respond" if self.output is None else "republish"


def _lacking(capability: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(method: Callable[..., Any]) -> Callable[..., Any]:
        method.__lacks__ = capability  # type: ignore[attr-defined]
        return method

    return mark


class Service:
    """Base class of a service under test; override what ``capabilities`` declares.

    Class attributes:
        name: the service's name in the history (and its NATS connection name, by
            convention).
        capabilities: what the service does, from :data:`CAPABILITIES`.

    ``start`` and ``stop`` are always required. :meth:`start` receives the
    :class:`SutEnv` (the URLs to dial, through the faulted links) and an :data:`EventSink`;
    a service should report its connections' ``disconnected`` / ``reconnected`` /
    ``closed`` events there (:meth:`connection_callbacks` builds nats-py callbacks that
    do), so the checkers know when it was cut off.
    """

    name: str = "service"
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        declared = cls.__dict__.get("capabilities")
        if declared is None:
            return
        caps = frozenset(declared)
        unknown = sorted(caps - set(CAPABILITIES))
        if unknown:
            raise ConfigError(
                f"{cls.__name__}.capabilities: unknown {', '.join(unknown)} "
                f"(known: {', '.join(CAPABILITIES)})",
                where=f"{cls.__qualname__}.capabilities",
                value=unknown,
            )
        cls.capabilities = caps
        absent = [
            f"{method} ({cap})"
            for cap in sorted(caps)
            for method in CAPABILITIES[cap]
            if getattr(getattr(cls, method, None), "__lacks__", None) is not None
            or not callable(getattr(cls, method, None))
        ]
        if absent:
            raise ConfigError(
                f"{cls.__name__} declares capabilities it does not implement: "
                f"{', '.join(absent)} keep the base class's default",
                where=f"{cls.__qualname__}.capabilities",
                value=sorted(caps),
            )

    # ------------------------------------------------------------------ lifecycle
    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        """Connect through ``env``; return how the connections came up."""
        raise NotImplementedError(f"{type(self).__name__}.start()")

    async def stop(self) -> None:
        """Close every connection."""
        raise NotImplementedError(f"{type(self).__name__}.stop()")

    @staticmethod
    def single_connection() -> PoolInit:
        """The :class:`PoolInit` of a service with one connection (no pool)."""
        return PoolInit(1, ("0",), {}, enabled=False, fallback=False)

    @staticmethod
    def connection_callbacks(report: EventSink, member: str = "") -> dict[str, Any]:
        """nats-py ``connect()`` callbacks that report the connection's state changes.

        ``disconnected``, ``reconnected``, ``closed`` and ``error`` events go to
        ``report`` (with ``member`` when the service has several connections). Pass them
        as ``nats.connect(url, **Service.connection_callbacks(report))``.
        """
        extra = {"member": member} if member else {}

        def simple(kind: str) -> Callable[[], Any]:
            async def callback() -> None:
                report(kind, dict(extra))

            return callback

        async def error_cb(exc: Exception) -> None:
            report("error", {**extra, "error": f"{type(exc).__name__}: {exc}"})

        return {
            "disconnected_cb": simple("disconnected"),
            "reconnected_cb": simple("reconnected"),
            "closed_cb": simple("closed"),
            "error_cb": error_cb,
        }

    # ------------------------------------------------------------------ publish
    @_lacking("publish")
    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        """Publish one message and return once the server confirmed it."""
        raise CapabilityMissing(self.name, ["publish"])

    # ------------------------------------------------------------------ JetStream
    @_lacking("jetstream_publish")
    async def publish_jetstream(
        self, subject: str, data: bytes, msg_id: str, *, dedupe: bool
    ) -> Mapping[str, Any]:
        """Publish one message to a JetStream stream; return once its PubAck came.

        ``dedupe``: send ``msg_id`` as ``Nats-Msg-Id`` (the server then stores one copy
        per id within the stream's duplicate window); without it, publish without an
        id. Retrying is the service's own business. Returns the PubAck as
        ``{"stream": str, "seq": int, "duplicate": bool}`` (``"attempts": int``, how
        often it was sent, if the service knows); raises when no PubAck came (an
        ``ambiguous`` attribute of ``False`` says nothing can have been stored).
        """
        raise CapabilityMissing(self.name, ["jetstream_publish"])

    # ------------------------------------------------------------------ batch
    @_lacking("batch")
    async def publish_batched(self, subject: str, data: bytes, msg_id: str) -> None:
        """Hand one message to the service's batch (settled by :meth:`flush`)."""
        raise CapabilityMissing(self.name, ["batch"])

    @_lacking("batch")
    async def flush(self) -> FlushOutcome:
        """Flush the batch, retries included; return every id settled since the last call."""
        raise CapabilityMissing(self.name, ["batch"])

    @_lacking("batch")
    async def recover(self) -> tuple[str, ...]:
        """Re-publish the failed-batch queue once; return the ids now confirmed."""
        raise CapabilityMissing(self.name, ["batch"])

    # ------------------------------------------------------------------ request
    @_lacking("request")
    async def request(self, subject: str, data: bytes, timeout: float) -> bytes:
        """Send a request and return the reply's payload."""
        raise CapabilityMissing(self.name, ["request"])

    # ------------------------------------------------------------------ subscribe
    @_lacking("subscribe")
    async def subscribe(self, subject: str, queue: str | None) -> object:
        """Subscribe; return a handle for :meth:`unsubscribe`."""
        raise CapabilityMissing(self.name, ["subscribe"])

    @_lacking("subscribe")
    async def unsubscribe(self, handle: object) -> None:
        """Remove a subscription."""
        raise CapabilityMissing(self.name, ["subscribe"])

    # ------------------------------------------------------------------ messages
    @_lacking("messages")
    async def publish_message(self, subject: str, message: Mapping[str, Any]) -> None:
        """Validate and publish one structured message (see :class:`MessagingSut`)."""
        raise CapabilityMissing(self.name, ["messages"])

    @_lacking("messages")
    async def subscribe_messages(self, subject: str, handler: MessageHandler) -> object:
        """Subscribe with validation (see :class:`MessagingSut`)."""
        raise CapabilityMissing(self.name, ["messages"])

    # ------------------------------------------------------------------ consumer side
    @_lacking("respond")
    def endpoints(self) -> Sequence[Endpoint]:
        """The subjects the service consumes (called after :meth:`start`)."""
        raise CapabilityMissing(self.name, ["respond", "republish", "consume"])

    def make_input(self, endpoint: Endpoint, msg_id: str) -> bytes:
        """The payload of one input to ``endpoint`` carrying ``msg_id``.

        Default: ``{"id": msg_id}`` as JSON. Override to send what the service expects.
        """
        return json.dumps({"id": msg_id}).encode()

    def output_id(self, endpoint: Endpoint, data: bytes) -> str | None:
        """The input id a reply or output of ``endpoint`` answers (``None``: unreadable).

        Default: the ``"id"`` field of a JSON object.
        """
        try:
            value = json.loads(data)
        except ValueError:
            return None
        found = value.get("id") if isinstance(value, dict) else None
        return None if found is None else str(found)

    # ------------------------------------------------------------------ views
    @_lacking("stats")
    def stats(self) -> Mapping[str, Any]:
        """Statistics (see :class:`StatsSut`)."""
        raise CapabilityMissing(self.name, ["stats"])

    @_lacking("health")
    def health(self) -> bool | Mapping[str, Any]:
        """Healthy now? (see :class:`HealthSut`)."""
        raise CapabilityMissing(self.name, ["health"])

    @_lacking("logs")
    def loggers(self) -> Sequence[str]:
        """Logger names (see :class:`LoggingSut`)."""
        raise CapabilityMissing(self.name, ["logs"])


def _implements(sut: object, method: str) -> bool:
    found = getattr(sut, method, None)
    return callable(found) and getattr(found, "__lacks__", None) is None


def capabilities_of(sut: object) -> frozenset[str]:
    """What ``sut`` can do: its declared ``capabilities`` (a :class:`Service`) whose methods
    it has, or, for a service without the attribute, what its methods and optional views
    implement."""
    declared = getattr(sut, "capabilities", None)
    if isinstance(sut, Service) or declared is not None:
        # what it declares and really has (a wrapper may forward the attribute but not
        # every method)
        return frozenset(
            c
            for c in declared or ()
            if c in CAPABILITIES and all(_implements(sut, m) for m in CAPABILITIES[c])
        )
    caps = {c for c in _CLIENT_SHAPED if all(_implements(sut, m) for m in CAPABILITIES[c])}
    caps.update(c for c, view in _VIEWS.items() if isinstance(sut, view))
    return frozenset(caps)


def missing_capabilities(sut: object, needed: Iterable[str]) -> tuple[str, ...]:
    """The capabilities in ``needed`` that ``sut`` lacks, sorted."""
    return tuple(sorted(set(needed) - capabilities_of(sut)))
