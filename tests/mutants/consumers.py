"""Mutants of the consumer-side promises: a responder or republisher that loses, repeats or
crosses its outputs under faults.

Each is the reference adapter's responder (``ref.quote``) or republisher (``ref.orders``)
with one realistic defect in its handler, found in real services: retrying an ambiguous
publish, a circuit breaker that sheds instead of waiting, a reply cache that answers
with a stale reply, a consumer that stops consuming after an error, a handler that
replays its last inputs after a reconnect.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from nats_fault_harness.reference import IncomingMessage
from nats_fault_harness.scenario import ServiceUnderTest
from nats_fault_harness.scenario._reference_sut import REPUBLISH, RESPOND
from nats_fault_harness.services import EventSink, PoolInit, SutEnv
from tests.mutants._base import MutantSut
from tests.mutants._mutant import Mutant

__all__ = [
    "CATALOG",
    "republish_breaker_drops",
    "republish_retries_ambiguous",
    "respond_replays_after_reconnect",
    "respond_stale_reply_cache",
    "respond_stops_after_error",
    "respond_without_queue_group",
]


class _RetriesAmbiguous(MutantSut):
    async def _process(self, msg: IncomingMessage) -> None:
        assert REPUBLISH.output is not None
        body = {"id": self._input_id(msg.data), "processed": True}
        for _ in range(2):
            try:
                await self._svc().publish(REPUBLISH.output, _json(body))
                return
            except Exception:  # the defect: an ambiguous failure is retried blindly
                continue


def republish_retries_ambiguous() -> ServiceUnderTest:
    """A failed (ambiguous) confirmed publish of an output is simply published again."""
    return _RetriesAmbiguous()


class _BreakerDrops(MutantSut):
    open_until = 0.0

    async def _process(self, msg: IncomingMessage) -> None:
        assert REPUBLISH.output is not None
        if time.monotonic() < self.open_until:
            return  # the defect: an open breaker sheds the input instead of holding it
        try:
            await self._svc().publish(
                REPUBLISH.output, _json({"id": self._input_id(msg.data), "processed": True})
            )
        except Exception:
            self.open_until = time.monotonic() + 1.0


def republish_breaker_drops() -> ServiceUnderTest:
    """After a failed publish a breaker opens for 1 s and inputs are dropped meanwhile."""
    return _BreakerDrops()


class _StaleReplyCache(MutantSut):
    last: bytes | None = None
    reconnected_at = -1e9

    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        def tap(kind: str, detail: Mapping[str, Any]) -> None:
            if kind == "reconnected":
                self.reconnected_at = time.monotonic()
            report(kind, detail)

        return await super().start(env, tap)

    async def _answer(self, msg: IncomingMessage) -> None:
        body = _json({"id": self._input_id(msg.data), "quoted": True})
        if self.last is not None and time.monotonic() - self.reconnected_at < 3.0:
            body = self.last  # the defect: "warm" replies from the cache after a reconnect
        self.last = body
        await self._svc().publish(msg.reply, body)


def respond_stale_reply_cache() -> ServiceUnderTest:
    """For 3 s after a reconnect every request gets the last reply from a cache."""
    return _StaleReplyCache()


class _StopsAfterError(MutantSut):
    stopped = False

    async def _answer(self, msg: IncomingMessage) -> None:
        if self.stopped:
            return  # the defect: after one failed reply the consumer silently stops
        try:
            await self._svc().publish(
                msg.reply, _json({"id": self._input_id(msg.data), "quoted": True})
            )
        except Exception:
            self.stopped = True


def respond_stops_after_error() -> ServiceUnderTest:
    """After one failed reply the responder ignores every later request."""
    return _StopsAfterError()


class _ReplaysAfterReconnect(MutantSut):
    recent: list[IncomingMessage]

    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        self.recent = []

        def tap(kind: str, detail: Mapping[str, Any]) -> None:
            report(kind, detail)
            if kind == "reconnected":  # the defect: "redeliver what may have been lost"
                self.replay = list(self.recent[-3:])

        self.replay: list[IncomingMessage] = []
        return await super().start(env, tap)

    async def _answer(self, msg: IncomingMessage) -> None:
        self.recent.append(msg)
        while self.replay:
            old = self.replay.pop(0)
            await super()._answer(old)
        await super()._answer(msg)


def respond_replays_after_reconnect() -> ServiceUnderTest:
    """After a reconnect the responder answers its last 3 requests again."""
    return _ReplaysAfterReconnect()


class _NoQueueGroup(MutantSut):
    async def _serve(self, env: SutEnv) -> None:
        if env.inputs == "respond":  # the defect: a plain subscription, no queue group
            await self._svc().subscribe(RESPOND.subject, self._answer)
        else:
            await super()._serve(env)


def respond_without_queue_group() -> ServiceUnderTest:
    """The responder subscribes without its queue group: every instance answers."""
    return _NoQueueGroup()


def _json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body).encode()


CATALOG = (
    Mutant(
        "republish_retries_ambiguous",
        "consumers",
        ("consumer.republish-once",),
        "an output whose confirmed publish failed ambiguously is published again",
        ("republish-during-blackhole",),
    ),
    Mutant(
        "republish_breaker_drops",
        "consumers",
        ("consumer.republish-once",),
        "a circuit breaker drops inputs for 1 s after a failed publish",
        ("republish-during-blackhole",),
    ),
    Mutant(
        "respond_stale_reply_cache",
        "consumers",
        ("consumer.respond-once",),
        "for 3 s after a reconnect requests are answered from a reply cache",
        ("respond-during-reset",),
    ),
    Mutant(
        "respond_stops_after_error",
        "consumers",
        ("consumer.respond-once", "consumer.recovers"),
        "after one failed reply the responder ignores every later request",
        ("respond-under-latency",),
    ),
    Mutant(
        "respond_replays_after_reconnect",
        "consumers",
        ("consumer.respond-once",),
        "after a reconnect the responder answers its last 3 requests again",
        ("respond-during-reset",),
    ),
    Mutant(
        "respond_without_queue_group",
        "consumers",
        ("consumer.respond-once",),
        "the responder subscribes without its queue group, so every instance answers",
        ("respond-queue-group-partition",),
    ),
)
