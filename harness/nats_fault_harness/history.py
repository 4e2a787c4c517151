"""The one shared record of a test: operations, faults and client events on one clock.

Modelled on Jepsen's history. An *operation* is invoked and then completes exactly once as

- ``ok``: it happened (the server has the message, the reply arrived);
- ``fail``: it certainly did not happen (a typed error before anything left the client);
- ``info``: unknown (a timeout, a crash) - checkers must not count it as lost or delivered.

*Faults* have a start and (once healed) an end. *Client events* are the callbacks a NATS
client reports (disconnected, reconnected, error, closed, lame duck, slow consumer).
*Proxy events* are what the fault proxy saw (connections, toxics firing, bytes).

Every record carries ``t``: seconds on the monotonic clock since the history began. The
history is append-only and safe to use from several threads and tasks at once; readers get
immutable snapshots. It serializes to JSON and back without loss of the fields checkers use.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, TypeVar

from nats_fault_harness._nats_callbacks import NATS_CALLBACKS, recording_callbacks

__all__ = [
    "NATS_CALLBACKS",
    "ClientEvent",
    "ErrorInfo",
    "FaultRecord",
    "FaultStatus",
    "History",
    "Op",
    "OpHandle",
    "ProxyEvent",
]

OpType = Literal["invoke", "ok", "fail", "info"]
ClientEventKind = Literal[
    "connected",
    "disconnected",
    "reconnected",
    "error",
    "closed",
    "lame_duck",
    "slow_consumer",
    "discovered_server",
]


CauseLink = Literal["explicit", "implicit"]


@dataclass(frozen=True)
class ErrorInfo:
    """An exception reduced to data: its type, message, structured fields and cause chain.

    Attributes:
        cause: the next error of the chain: ``__cause__`` if set, else the implicit
            ``__context__`` (unless suppressed by ``raise ... from None``).
        cause_link: how ``cause`` was linked: ``"explicit"`` (``raise ... from exc``, the
            ``__cause__``), ``"implicit"`` (only the ``__context__`` Python sets when an
            exception is raised inside an ``except`` block), or ``None`` when there is no
            cause, or in a record written before this was kept (unknown). A chained cause,
            as promised, is an explicit one; an implicit context only says where the
            error happened to be raised.
    """

    type: str
    module: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    cause: ErrorInfo | None = None
    cause_link: CauseLink | None = None

    @classmethod
    def of(cls, exc: BaseException) -> ErrorInfo:
        """Capture ``exc``, its JSON-friendly public attributes and its cause chain."""
        fields = {
            k: _jsonable(v)
            for k, v in vars(exc).items()
            if not k.startswith("_") and k not in {"args", "__cause__"}
        }
        link: CauseLink | None = None
        cause: BaseException | None = None
        if exc.__cause__ is not None:
            cause, link = exc.__cause__, "explicit"
        elif exc.__context__ is not None and not exc.__suppress_context__:
            cause, link = exc.__context__, "implicit"
        return cls(
            type(exc).__qualname__,
            type(exc).__module__,
            str(exc),
            fields,
            cls.of(cause) if cause is not None else None,
            link,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorInfo:
        """Inverse of :func:`dataclasses.asdict`."""
        cause = data.get("cause")
        link = data.get("cause_link")
        return cls(
            data["type"],
            data["module"],
            data["message"],
            dict(data.get("fields") or {}),
            cls.from_dict(cause) if cause else None,
            link if link in ("explicit", "implicit") else None,
        )


def _jsonable(value: object) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, BaseException):
        return asdict(ErrorInfo.of(value))
    return repr(value)


@dataclass(frozen=True)
class Op:
    """One half of an operation: its invocation or its completion."""

    index: int
    t: float
    process: str
    type: OpType
    f: str
    value: Any = None
    error: ErrorInfo | None = None
    op_id: int = 0


FaultStatus = Literal["applying", "applied", "apply_failed", "healed", "heal_failed"]


@dataclass(frozen=True)
class FaultRecord:
    """A fault window: what was done to which target, from ``start`` to ``end``.

    The window opens *before* the fault is applied and closes *after* its heal was
    confirmed, so every effect of the fault lies inside it.

    Attributes:
        status: ``applying`` (window open, action in flight), ``applied``, ``apply_failed``
            (the action raised; the window is closed), ``healed``, or ``heal_failed`` (the
            heal raised: the fault is still in place and the window stays open).
        step: the index of the scenario fault step it realises (``None``: not declared by a
            scenario, e.g. a fault a test applied itself or a link the runner held down).
        links: the proxies of the service's connections the fault acts on (the evidence
            rule looks for the service's connections there).
        error: why the apply or the last heal failed.
    """

    index: int
    fault_id: int
    kind: str
    target: str
    params: dict[str, Any]
    start: float
    end: float | None = None
    status: FaultStatus = "applied"
    step: int | None = None
    links: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ClientEvent:
    """A client callback, as reported by the NATS client."""

    index: int
    t: float
    client: str
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProxyEvent:
    """An event from the fault proxy's feed (connection, toxic, bytes)."""

    index: int
    t: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


Record = Op | FaultRecord | ClientEvent | ProxyEvent
R = TypeVar("R", Op, FaultRecord, ClientEvent, ProxyEvent)


class OpHandle:
    """The pending completion of an invoked operation; complete it exactly once."""

    def __init__(self, history: History, invocation: Op) -> None:
        self._history = history
        self.invocation = invocation
        self.completion: Op | None = None

    def _complete(self, kind: OpType, value: Any, error: BaseException | None) -> Op:
        if self.completion is not None:
            raise RuntimeError(f"operation {self.invocation.op_id} already completed")
        inv = self.invocation
        self.completion = self._history._op(
            inv.process, kind, inv.f, value, ErrorInfo.of(error) if error else None, inv.op_id
        )
        return self.completion

    def ok(self, value: Any = None) -> Op:
        """It happened."""
        return self._complete("ok", value, None)

    def fail(self, error: BaseException | None = None, value: Any = None) -> Op:
        """It certainly did not happen."""
        return self._complete("fail", value, error)

    def info(self, error: BaseException | None = None, value: Any = None) -> Op:
        """Its outcome is unknown."""
        return self._complete("info", value, error)


class History:
    """Append-only, thread-safe journal of a test run on one monotonic clock."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.t0 = clock()
        self.wall_t0 = time.time()
        self._lock = threading.Lock()
        self._records: list[Record] = []
        self._op_ids = itertools.count(1)
        self._fault_ids = itertools.count(1)
        self._open_faults: dict[int, FaultRecord] = {}

    def now(self) -> float:
        """Seconds since the history began."""
        return self._clock() - self.t0

    def at(self, monotonic: float) -> float:
        """Convert an absolute ``time.monotonic()`` value to history time."""
        return monotonic - self.t0

    # ------------------------------------------------------------------ writing
    def _append(self, build: Callable[[int, float], R]) -> R:
        # The clock is read under the lock so that record order and time order agree.
        with self._lock:
            record = build(len(self._records), self.now())
            self._records.append(record)
            return record

    def _op(
        self, process: str, kind: OpType, f: str, value: Any, error: ErrorInfo | None, op_id: int
    ) -> Op:
        safe = _jsonable(value)
        return self._append(lambda i, t: Op(i, t, process, kind, f, safe, error, op_id))

    def invoke(self, process: str, f: str, value: Any = None) -> OpHandle:
        """Record the start of operation ``f`` by ``process``; complete the returned handle."""
        return OpHandle(self, self._op(process, "invoke", f, value, None, next(self._op_ids)))

    def fault_started(
        self,
        kind: str,
        target: str,
        params: dict[str, Any] | None = None,
        *,
        t: float | None = None,
        status: FaultStatus = "applied",
        step: int | None = None,
        links: tuple[str, ...] = (),
    ) -> int:
        """Record a fault's start; returns the id to pass to :meth:`fault_ended`.

        A fault that records its window before acting passes ``status="applying"`` and
        then :meth:`fault_status` ``"applied"`` (or ends the window ``"apply_failed"``).
        """
        fault_id = next(self._fault_ids)
        safe = _jsonable(params or {})
        record = self._append(
            lambda i, now: FaultRecord(
                i,
                fault_id,
                kind,
                target,
                safe,
                now if t is None else t,
                status=status,
                step=step,
                links=tuple(links),
            )
        )
        with self._lock:
            self._open_faults[fault_id] = record
        return fault_id

    def fault_status(
        self, fault_id: int, status: FaultStatus, *, error: str | None = None
    ) -> FaultRecord:
        """Record a new status of the open fault ``fault_id`` (its window stays open)."""
        with self._lock:
            opened = self._open_faults.get(fault_id)
            if opened is None:
                raise KeyError(f"fault {fault_id} is not open")
            record = replace(opened, index=len(self._records), status=status, error=error)
            self._records.append(record)
            self._open_faults[fault_id] = record
            return record

    def fault_ended(
        self,
        fault_id: int,
        *,
        t: float | None = None,
        status: FaultStatus = "healed",
        error: str | None = None,
    ) -> FaultRecord:
        """Record that fault ``fault_id``'s window closed (a second call is an error).

        ``status`` is ``"healed"``, or ``"apply_failed"`` for a fault whose action raised.
        """
        with self._lock:
            opened = self._open_faults.pop(fault_id, None)
        if opened is None:
            raise KeyError(f"fault {fault_id} is not open")
        return self._append(
            lambda i, now: replace(
                opened, index=i, end=now if t is None else t, status=status, error=error
            )
        )

    def client_event(self, client: str, kind: str, detail: dict[str, Any] | None = None) -> None:
        """Record a client callback."""
        safe = _jsonable(detail or {})
        self._append(lambda i, t: ClientEvent(i, t, client, kind, safe))

    def proxy_event(self, kind: str, detail: dict[str, Any], *, t: float | None = None) -> None:
        """Record an event from the proxy's feed (``t`` in history time if known)."""
        safe = _jsonable(detail)
        self._append(lambda i, now: ProxyEvent(i, now if t is None else t, kind, safe))

    # ------------------------------------------------------------------ reading
    def records(self) -> list[Record]:
        """Every record in append order (a snapshot)."""
        with self._lock:
            return list(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def ops(self) -> list[Op]:
        """Operation records (invocations and completions)."""
        return [r for r in self.records() if isinstance(r, Op)]

    def faults(self) -> list[FaultRecord]:
        """One record per fault: the closed window if it healed, else the open one."""
        latest: dict[int, FaultRecord] = {}
        for r in self.records():
            if isinstance(r, FaultRecord):
                latest[r.fault_id] = r
        return sorted(latest.values(), key=lambda r: r.start)

    def open_faults(self) -> list[FaultRecord]:
        """Faults started and not yet ended."""
        with self._lock:
            return list(self._open_faults.values())

    def client_events(self, client: str | None = None) -> list[ClientEvent]:
        """Client callbacks, optionally of one client."""
        return [
            r
            for r in self.records()
            if isinstance(r, ClientEvent) and (client is None or r.client == client)
        ]

    def proxy_events(self) -> list[ProxyEvent]:
        """Events from the proxy feed."""
        return [r for r in self.records() if isinstance(r, ProxyEvent)]

    # ------------------------------------------------------------------ nats-py wiring
    def nats_callbacks(
        self,
        client: str,
        *,
        accepts: Callable[..., Any] | None = None,
        only: Iterable[str] | None = None,
        **app_callbacks: Callable[..., Any] | None,
    ) -> dict[str, Callable[..., Awaitable[None]]]:
        """Callbacks for ``nats.connect(**history.nats_callbacks("svc"))`` that record events.

        Each callback records a client event of ``client`` (``error_cb`` records the error
        as data and tags ``SlowConsumerError`` as ``slow_consumer``). Without arguments it
        returns all six of :data:`NATS_CALLBACKS`.

        The application's own callbacks are given by name and wrapped: the wrapper records
        the event first, then calls the application's callback with the same arguments and
        awaits it if it returned an awaitable, so sync and async callbacks both work (the
        wrappers are coroutine functions, as nats-py requires). An exception raised by the
        application's callback propagates unchanged; the event is already recorded.
        ``None`` counts as not given::

            nats.connect(url, **history.nats_callbacks("svc", error_cb=on_error))

        A client that takes fewer keywords than nats-py (FastStream's ``NatsBroker`` has no
        ``lame_duck_mode_cb``) gets only those it accepts: ``accepts`` keeps the keywords
        the callable's signature names (all of them if it takes ``**kwargs``), ``only``
        keeps the names listed; both together keep what both allow::

            NatsBroker(url, **history.nats_callbacks("svc", accepts=NatsBroker))

        Raises:
            TypeError: an application callback under a name that is not one of
                :data:`NATS_CALLBACKS`, a name in ``only`` that is not one, an application
                callback that ``accepts``/``only`` leave out (it would silently never run),
                or an ``accepts`` whose signature cannot be read.
        """
        return recording_callbacks(
            self.client_event, client, accepts=accepts, only=only, app_callbacks=app_callbacks
        )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"wall_t0": ..., "records": [{"record": kind, ...}, ...]}``."""
        out = []
        for r in self.records():
            data = asdict(r)
            data["record"] = type(r).__name__
            out.append(data)
        return {"wall_t0": self.wall_t0, "records": out}

    def to_json(self, **kw: Any) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), **kw)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history (read-only use: checkers, reports) from :meth:`to_dict`."""
        history = cls()
        history.wall_t0 = float(data.get("wall_t0", 0.0))
        kinds: dict[str, type[Any]] = {
            "Op": Op,
            "FaultRecord": FaultRecord,
            "ClientEvent": ClientEvent,
            "ProxyEvent": ProxyEvent,
        }
        for raw in data["records"]:
            item = dict(raw)
            cls_ = kinds[item.pop("record")]
            if cls_ is Op and item.get("error"):
                item["error"] = ErrorInfo.from_dict(item["error"])
            if cls_ is FaultRecord:
                item["links"] = tuple(item.get("links") or ())
            history._records.append(cls_(**item))
        for r in history._records:
            if isinstance(r, FaultRecord):
                if r.end is None:
                    history._open_faults[r.fault_id] = r
                else:
                    history._open_faults.pop(r.fault_id, None)
        return history

    @classmethod
    def from_json(cls, text: str) -> History:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
