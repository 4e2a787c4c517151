"""The observer: a connection straight to a server, bypassing every proxy; and the
service's own reports the runner records beside it (health readings, log records).

It is the run's ground truth for delivery (every message it receives is recorded as an
``observer`` ``receive`` operation, by id), the responder for the workload's requests,
and the sender of the messages injected into the service's subscriptions. It reconnects
on its own after a server restart; :meth:`Observer.ready` waits until it is subscribed
again, which the schedule uses to keep the service's links closed until then.

A message's id is its ``Nats-Msg-Id`` header, else the ``message_id`` of a JSON object
payload, else the payload's first space-separated token.

:class:`HealthPoller` and :class:`LogCapture` record what a service with the optional
``health()`` and ``loggers()`` views reports about itself (see their docstrings).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from nats_fault_harness.errors import WaitTimeout
from nats_fault_harness.history import History
from nats_fault_harness.scenario._messages import message_id_of
from nats_fault_harness.services._protocol import HEALTH_TIMING_KEYS, HealthTimingSut

__all__ = ["HEALTH_POLL_S", "HealthPoller", "LogCapture", "Observer"]

READY_S = 10.0


class Observer:
    """Receives, responds and injects on a direct connection; see the module docstring."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.received: set[str] = set()
        self._nc: Client | None = None
        self._must: set[str] | None = None
        self._all_in = asyncio.Event()
        self._connected = asyncio.Event()

    async def start(self, url: str, subjects: Iterable[str], responder: str | None) -> None:
        """Connect to ``url``, receive on ``subjects``, answer requests on ``responder``."""
        self._nc = nc = await nats.connect(
            url,
            name="harness-observer",
            connect_timeout=2,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.05,
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
        )
        self._connected.set()
        for subject in dict.fromkeys(subjects):
            await nc.subscribe(subject, cb=self._receive)
        if responder is not None:

            async def respond(msg: Msg) -> None:
                await msg.respond(b"pong:" + msg.data)

            await nc.subscribe(responder, cb=respond)
        await nc.flush(timeout=5)

    async def _disconnected(self) -> None:
        self._connected.clear()

    async def _reconnected(self) -> None:
        self._connected.set()

    async def _receive(self, msg: Msg) -> None:
        mid = (msg.headers or {}).get("Nats-Msg-Id") or message_id_of(msg.data)
        if mid is None:
            mid = msg.data.split(b" ", 1)[0].decode(errors="replace")
        self.history.invoke("observer", "receive", {"subject": msg.subject}).ok({"id": mid})
        self.received.add(mid)
        if self._must is not None and self._must <= self.received:
            self._all_in.set()

    async def publish(self, subject: str, data: bytes) -> None:
        """Publish ``data`` on ``subject`` and flush it to the server."""
        nc = self._client()
        await nc.publish(subject, data)
        await nc.flush(timeout=5)

    async def ready(self, timeout: float = READY_S) -> None:
        """Wait until connected and every subscription is registered with the server.

        Raises:
            WaitTimeout: not reconnected within ``timeout`` seconds.
        """
        nc = self._client()
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
                await nc.flush(timeout=int(timeout))
        except (TimeoutError, nats.errors.TimeoutError) as exc:
            raise WaitTimeout("the observer to reconnect to the restarted server", timeout) from exc

    async def drain(self, must: set[str], timeout: float) -> set[str]:
        """Wait up to ``timeout`` s until every id in ``must`` was received; the missing ones."""
        self._must = must
        if must <= self.received:
            self._all_in.set()
        try:
            async with asyncio.timeout(timeout):
                await self._all_in.wait()
        except TimeoutError:
            pass
        nc = self._client()
        if nc.is_connected:
            await nc.flush(timeout=5)
        await asyncio.sleep(0.1)  # late duplicates
        return must - self.received

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    def _client(self) -> Client:
        if self._nc is None:
            raise RuntimeError("the observer was not started")
        return self._nc


HEALTH_POLL_S = 0.05
"""How often the runner reads a :class:`~nats_fault_harness.services._protocol.HealthSut`'s
``health()``."""


class HealthPoller:
    """Reads the service's ``health()`` every ``poll_s`` and records each change.

    Events (client = the service): ``health_config`` once (``poll_s`` and the service's
    ``health_timing()``), then ``health`` ``{"healthy": bool, ...the view's other facts,
    "polled": true}`` at the first reading and at every change, and a last one with
    ``"end": true`` when polling stops, so a checker knows how far the readings reach. A
    reading that raises or has no boolean ``healthy`` is recorded once as
    ``health_error`` and counts as no reading.
    """

    def __init__(self, history: History, client: str, sut: object, poll_s: float = HEALTH_POLL_S):
        self.history, self.client, self.sut, self.poll_s = history, client, sut, poll_s
        self._last: dict[str, Any] | None = None
        self._errors = 0

    def announce(self) -> None:
        """Record ``health_config``: the cadence, and the service's timing settings."""
        timing: dict[str, float] = {}
        if isinstance(self.sut, HealthTimingSut):
            try:
                raw = dict(self.sut.health_timing())
            except Exception as exc:
                self.history.client_event(self.client, "health_error", {"error": repr(exc)})
                raw = {}
            for key in HEALTH_TIMING_KEYS:
                value = raw.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    timing[key] = float(value)
        self.history.client_event(self.client, "health_config", {"poll_s": self.poll_s, **timing})

    def read(self) -> dict[str, Any] | None:
        """One reading as an event detail (None if the view failed)."""
        try:
            raw: object = self.sut.health()  # type: ignore[attr-defined]
        except Exception as exc:
            self._error(f"health() raised {exc!r}")
            return None
        if isinstance(raw, bool):
            return {"healthy": raw}
        if isinstance(raw, Mapping) and isinstance(raw.get("healthy"), bool):
            return {str(k): _plain(v) for k, v in raw.items()}
        self._error(f"health() returned {raw!r}, not a bool or a mapping with 'healthy'")
        return None

    def _error(self, why: str) -> None:
        if not self._errors:
            self.history.client_event(self.client, "health_error", {"error": why})
        self._errors += 1

    def sample(self, *, end: bool = False) -> None:
        """Read once; record the reading if it changed (or if this is the last one)."""
        detail = self.read()
        if detail is None:
            return
        if detail != self._last or end:
            self._last = detail
            extra = {"polled": True, **({"end": True} if end else {})}
            self.history.client_event(self.client, "health", {**detail, **extra})

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until ``stop`` is set; then record the last reading."""
        while not stop.is_set():
            self.sample()
            try:
                async with asyncio.timeout(self.poll_s):
                    await stop.wait()
            except TimeoutError:
                pass
        self.sample(end=True)


class _HistoryHandler(logging.Handler):
    def __init__(self, history: History, client: Callable[[], str]) -> None:
        super().__init__(logging.NOTSET)
        self.history, self.client = history, client

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the service's bug; keep the template
            message = str(record.msg)
        detail: dict[str, Any] = {
            "logger": record.name,
            "level": record.levelname,
            "levelno": record.levelno,
            "message": message,
        }
        if record.exc_info and record.exc_info[0] is not None:
            detail["exc_type"] = record.exc_info[0].__name__
        self.history.client_event(self.client(), "log", detail)


class LogCapture:
    """Records what the service logs, for the duration of a run.

    A handler is added to each logger the service declares (``LoggingSut.loggers()``);
    records of their child loggers propagate to it. Each record becomes a ``log`` client
    event ``{"logger", "level", "levelno", "message"}`` (``exc_type`` when it carries an
    exception) at the moment it was emitted; ``log_capture`` ``{"loggers": [...]}`` says
    which loggers were watched (``client()`` names the service at each record: an adapter
    may learn its name only when it starts). Levels are left alone: a record below its logger's
    effective level (WARNING by default) is never created, so it is not recorded.
    """

    def __init__(self, history: History, client: Callable[[], str], names: Iterable[str]) -> None:
        self.names = [n for n in dict.fromkeys(names) if isinstance(n, str) and n]
        self.history, self.client = history, client
        self._handler = _HistoryHandler(history, client)

    def __enter__(self) -> LogCapture:
        if self.names:
            self.history.client_event(self.client(), "log_capture", {"loggers": self.names})
        for name in self.names:
            logging.getLogger(name).addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.names:
            logging.getLogger(name).removeHandler(self._handler)


def _plain(value: object) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return repr(value)
