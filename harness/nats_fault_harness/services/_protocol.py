"""The service under test, as the runner sees it: a small async protocol, and its loader.

Any service that implements :class:`ServiceUnderTest` can run the scenario library; the
reference service does so through :mod:`nats_fault_harness.scenario._reference_sut`. The runner
owns the history: the service reports what it did through the :data:`EventSink` it is
given at :meth:`ServiceUnderTest.start`, with the kinds and details of the checkers'
record conventions (``pool_initialized`` is written by the runner from :class:`PoolInit`).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from nats_fault_harness.errors import ConfigError

__all__ = [
    "HEALTH_TIMING_KEYS",
    "EventSink",
    "FlushOutcome",
    "HealthSut",
    "HealthTimingSut",
    "LoggingSut",
    "MessageHandler",
    "MessagingSut",
    "PoolInit",
    "ServiceUnderTest",
    "StatsSut",
    "SutEnv",
    "SutFactory",
    "load_sut",
]

EventSink = Callable[[str, Mapping[str, Any]], None]
"""``sink(kind, detail)``: record a client event (times in ``detail`` are history time)."""


@dataclass(frozen=True)
class SutEnv:
    """Where the service connects and how it is configured.

    Attributes:
        servers: URLs of the main connection (through the proxies).
        member_urls: URL member ``i`` of a connection pool dials (``pool.urls[i]``); for a
            single server every member dials the one link.
        service: the scenario's ``service`` overrides, for the service to validate.
        at: converts ``time.monotonic()`` to history time.
        inputs: the kind of endpoint (``"respond"``, ``"republish"`` or ``"consume"``)
            the scenario's driver will send inputs to, if any: a service that sets its
            consumers up on demand subscribes them in ``start()``; most services ignore
            it.
    """

    servers: tuple[str, ...]
    member_urls: tuple[str, ...]
    service: Mapping[str, Any] = field(default_factory=dict)
    at: Callable[[float], float] = float
    inputs: str | None = None


@dataclass(frozen=True)
class PoolInit:
    """How the service's connection pool came up; members are named by index ("0", "1").

    Attributes:
        size: configured pool size.
        connected: indices of the members that connected.
        failed: index -> reason, for the members that did not.
        enabled: whether the pool is in use.
        fallback: the pool is disabled and a single connection is used instead.
    """

    size: int
    connected: tuple[str, ...]
    failed: Mapping[str, str]
    enabled: bool
    fallback: bool

    def detail(self) -> dict[str, Any]:
        """The ``pool_initialized`` event detail of the checkers' conventions."""
        return {
            "size": self.size,
            "connected": list(self.connected),
            "failed": dict(self.failed),
            "enabled": self.enabled,
            "fallback": self.fallback,
        }


@dataclass(frozen=True)
class FlushOutcome:
    """Batched message ids settled since the previous flush: confirmed, or queued.

    Attributes:
        confirmed: ids the server confirmed.
        queued: ids moved to the failed-batch queue (kept, not lost).
        ambiguous: queued ids whose bytes may have reached a server.
    """

    confirmed: tuple[str, ...] = ()
    queued: tuple[str, ...] = ()
    ambiguous: frozenset[str] = frozenset()


@runtime_checkable
class ServiceUnderTest(Protocol):
    """What the runner drives. Every failing method raises the service's own typed error."""

    name: str
    """The client name in the history's client events."""

    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        """Connect (through the proxies in ``env``); report events to ``report``."""
        ...

    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        """Publish one message and return once the server confirmed it."""
        ...

    async def publish_batched(self, subject: str, data: bytes, msg_id: str) -> None:
        """Hand one message to the service's batch (settled by :meth:`flush`)."""
        ...

    async def flush(self) -> FlushOutcome:
        """Flush the batch, retries included; return every id settled since the last call."""
        ...

    async def recover(self) -> tuple[str, ...]:
        """Re-publish the failed-batch queue once; return the ids now confirmed."""
        ...

    async def request(self, subject: str, data: bytes, timeout: float) -> bytes:
        """Send a request and return the reply's payload."""
        ...

    async def subscribe(self, subject: str, queue: str | None) -> object:
        """Subscribe; return a handle for :meth:`unsubscribe`."""
        ...

    async def unsubscribe(self, handle: object) -> None:
        """Remove a subscription."""
        ...

    async def stop(self) -> None:
        """Close every connection (bounded by the service's own close timeout)."""
        ...


MessageHandler = Callable[[Mapping[str, Any]], None]
"""``handler(message)``: called with each decoded message the service let through."""


@runtime_checkable
class MessagingSut(Protocol):
    """Optional: a service with a validating message broker (``workload.messages``)."""

    async def publish_message(self, subject: str, message: Mapping[str, Any]) -> None:
        """Validate and publish one structured message; return once the server confirmed it.

        An invalid message raises the service's typed error naming the bad field.
        """
        ...

    async def subscribe_messages(self, subject: str, handler: MessageHandler) -> object:
        """Subscribe with validation; call ``handler`` with each valid decoded message."""
        ...


@runtime_checkable
class StatsSut(Protocol):
    """Optional: a service that reports statistics (read by the ``metrics`` checker)."""

    def stats(self) -> Mapping[str, Any]:
        """The current statistics, keyed as :data:`nats_fault_harness.checkers.METRIC_KEYS`."""
        ...


HEALTH_TIMING_KEYS = (
    "check_interval_s",
    "check_timeout_s",
    "ping_interval_s",
    "max_outstanding_pings",
)
"""What :meth:`HealthTimingSut.health_timing` may report (the ``health`` checker's inputs)."""


@runtime_checkable
class HealthSut(Protocol):
    """Optional: a service that reports its own health (read by the ``health`` checker).

    The runner calls :meth:`health` every ``HEALTH_POLL_S`` seconds from the service's
    start until it stops, on the service's event loop, and records each change as a
    ``health`` client event. A service may instead (or also) push ``health`` events
    itself through its :data:`EventSink` (``{"healthy": bool}``) when its health changes.
    """

    def health(self) -> bool | Mapping[str, Any]:
        """Healthy now? ``True``/``False``, or a mapping with ``"healthy": bool`` and any
        other JSON-able facts (they are recorded with the change). Must be quick and must
        not block: it reads the state the service's own checks maintain."""
        ...


@runtime_checkable
class HealthTimingSut(Protocol):
    """Optional, with :class:`HealthSut`: how quickly the service can notice a dead link.

    The ``health`` checker derives its bounds from these settings (never from a constant);
    without them it answers ``unknown``, unless the scenario gives the bounds.
    """

    def health_timing(self) -> Mapping[str, float]:
        """The service's configured settings, keyed as :data:`HEALTH_TIMING_KEYS`, in
        seconds (``max_outstanding_pings`` a count); leave out what does not apply:

        - ``check_interval_s`` / ``check_timeout_s``: the service's own periodic health
          check (a round trip through the server) and how long one check waits;
        - ``ping_interval_s`` / ``max_outstanding_pings``: its NATS client's keep-alive,
          which declares the connection stale after that many unanswered PINGs.
        """
        ...


@runtime_checkable
class LoggingSut(Protocol):
    """Optional: a service that logs through :mod:`logging` (read by the ``logs`` checker)."""

    def loggers(self) -> Sequence[str]:
        """Names of the loggers the service logs to. The runner installs a handler on each
        for the run (records of child loggers propagate to it, unless a child sets
        ``propagate = False``) and records every record as a ``log`` client event."""
        ...


SutFactory = Callable[[], ServiceUnderTest]


def load_sut(spec: str) -> SutFactory:
    """Import the factory named ``spec`` (``"package.module:factory"``).

    The current folder is put on ``sys.path`` first (as ``python -m`` does), so a service
    module in the project folder is found without installing it.

    Raises:
        ConfigError: naming ``spec`` when it is malformed, the module or attribute is
            missing, or the attribute is not callable.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"SUT spec {spec!r} must be 'module:factory'", where="sut", value=spec)
    if os.getcwd() not in sys.path and "" not in sys.path:
        # like `python -m`: a service module in the project folder is importable, also when
        # the console scripts (`nats-harness`, `pytest`) left the folder off the path
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"SUT spec {spec!r}: cannot import module {module_name!r}: {exc}",
            where="sut",
            value=spec,
        ) from exc
    factory: object = module
    for part in attr.split("."):
        try:
            factory = getattr(factory, part)
        except AttributeError as exc:
            raise ConfigError(
                f"SUT spec {spec!r}: module {module_name!r} has no attribute {attr!r}",
                where="sut",
                value=spec,
            ) from exc
    if not callable(factory):
        raise ConfigError(
            f"SUT spec {spec!r}: {attr!r} is not callable (a {type(factory).__name__})",
            where="sut",
            value=spec,
        )
    return _checked(spec, factory)


def _checked(spec: str, factory: Callable[[], object]) -> SutFactory:
    def make() -> ServiceUnderTest:
        sut = factory()
        missing = [m for m in _METHODS if not callable(getattr(sut, m, None))]
        if missing or not isinstance(getattr(sut, "name", None), str):
            raise ConfigError(
                f"SUT spec {spec!r}: {type(sut).__name__} is not a service under test "
                f"(missing: {', '.join(missing) or 'name'}); derive it from "
                "nats_fault_harness.services.Service, or implement ServiceUnderTest",
                where="sut",
                value=spec,
            )
        return sut  # type: ignore[return-value]

    return make


_METHODS: Sequence[str] = ("start", "stop")
"""What every service must have; the rest depends on its capabilities
(:data:`nats_fault_harness.services.CAPABILITIES`), checked per scenario."""
