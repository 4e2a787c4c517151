"""Hand-built histories for the checker tests: a fake clock, a recorder, typed errors.

A uniquely named module (not ``conftest``) so tests can import it without clashing.
"""

from __future__ import annotations

from typing import Any

from nats_fault_harness.history import History


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class NATSRequestError(Exception):
    def __init__(self, subject: str, timeout: float) -> None:
        super().__init__(f"request to {subject} timed out after {timeout}s")
        self.subject = subject
        self.timeout = timeout


class PublishError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Rec:
    """Writes records at chosen history times (seconds since the start)."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.h = History(clock=self.clock)

    def at(self, t: float) -> Rec:
        self.clock.now = 100.0 + t
        return self

    def op(
        self,
        f: str,
        value: Any = None,
        outcome: str = "ok",
        *,
        error: BaseException | None = None,
        process: str = "svc",
        result: Any = None,
        t: float | None = None,
        done: float | None = None,
    ) -> None:
        if t is not None:
            self.at(t)
        handle = self.h.invoke(process, f, value)
        if done is not None:
            self.at(done)
        if outcome == "ok":
            handle.ok(value if result is None else result)
        elif outcome == "ok_none":
            handle.ok(None)
        elif outcome == "fail":
            handle.fail(error)
        elif outcome == "info":
            handle.info(error)
        # "pending": never completed

    def publish(self, mid: str, outcome: str = "ok", error: BaseException | None = None) -> None:
        self.op("publish", {"id": mid}, outcome, error=error)

    def receive(self, mid: str, process: str = "observer") -> None:
        self.op("receive", {"id": mid}, process=process)

    def queued(self, *ids: str) -> None:
        self.op("queued", {"ids": list(ids)})

    def recover(self, *ids: str) -> None:
        self.op("recover", {"ids": list(ids)})

    def event(self, kind: str, client: str = "svc", t: float | None = None, **detail: Any) -> None:
        if t is not None:
            self.at(t)
        self.h.client_event(client, kind, detail)
