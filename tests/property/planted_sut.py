"""A reference service with a planted bug: a connection reset during a flush loses a message.

The bug, as a real one would look: when the connection drops while a batch is flushing,
the retry assumes the last message of each failed group was written before the drop,
skips it, and reports it confirmed. The message is never sent again: the server never
sees it, yet the service says it was published.

Replay a file written by the planted-bug test with
``nats-harness replay FILE --sut tests.property.planted_sut:make_planted_sut``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from nats_fault_harness.scenario import EventSink, FlushOutcome, PoolInit, ServiceUnderTest, SutEnv
from nats_fault_harness.scenario.reference_sut import ReferenceSut

SPEC = "tests.property.planted_sut:make_planted_sut"


class LosesOnResetDuringFlush(ReferenceSut):
    """:class:`ReferenceSut` whose batch retries drop a message after a reset mid-flush."""

    def __init__(self) -> None:
        super().__init__()
        self._flushing = False
        self._dropped_in_flush = False
        self._reset_in_flush = False
        self.lost: list[str] = []

    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        def observe(kind: str, detail: Any) -> None:
            if kind == "batch_flush_started":
                self._flushing, self._reset_in_flush = True, False
                self._dropped_in_flush = False
            elif kind == "disconnected" and self._flushing:
                self._reset_in_flush = True
            report(kind, detail)

        init = await super().start(env, observe)
        batches = self._svc()._parts.batches  # type: ignore[union-attr]
        original: Callable[..., Awaitable[Any]] = batches._attempt

        async def attempt(group: Any, conn: Any, n: int, **kwargs: Any) -> Any:
            retry_after_reset = n > 0 and self._reset_in_flush and not self._dropped_in_flush
            if retry_after_reset and len(group.messages) > 1:  # the bug
                lost = group.messages[-1]
                group = replace(group, messages=group.messages[:-1])
                batches.counters.in_flight -= 1
                self._confirmed.append(lost.message_id)
                self.lost.append(lost.message_id)
                self._dropped_in_flush = True
            return await original(group, conn, n, **kwargs)

        batches._attempt = attempt
        return init

    async def flush(self) -> FlushOutcome:
        try:
            return await super().flush()
        finally:
            self._flushing = False


def make_planted_sut() -> ServiceUnderTest:
    """The factory ``--sut tests.property.planted_sut:make_planted_sut`` names."""
    return LosesOnResetDuringFlush()
