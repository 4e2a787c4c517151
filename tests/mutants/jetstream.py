"""Mutants of JetStream publishing: a publisher that duplicates or loses what it reports
stored.

Each is the reference adapter with ``publish_jetstream`` replaced by a defect found in
real publishers: retrying a timed-out publish without ``Nats-Msg-Id`` (the server cannot
tell the retry from a new message), re-sending with a fresh id per attempt (the same
mistake, hidden behind a header), and "fire and forget" reporting success without waiting
for the PubAck.
"""

from __future__ import annotations

import uuid
from typing import Any

import nats.errors
from nats.js.errors import NoStreamResponseError

from nats_fault_harness.reference import NATSPublishError
from nats_fault_harness.scenario import ServiceUnderTest
from nats_fault_harness.scenario.reference_sut import ReferenceSut
from tests.mutants._mutant import Mutant

__all__ = [
    "CATALOG",
    "jetstream_fire_and_forget",
    "jetstream_retry_fresh_id",
    "jetstream_retry_without_msg_id",
]

_ATTEMPTS = 20


class _Retrying(ReferenceSut):
    """Retries every timeout, up to 20 sends; ``header`` picks the id each attempt sends."""

    def header(self, msg_id: str, attempt: int) -> dict[str, str] | None:
        raise NotImplementedError

    async def publish_jetstream(
        self, subject: str, data: bytes, msg_id: str, *, dedupe: bool
    ) -> dict[str, Any]:
        js = self._svc()._require().pool.main.client.jetstream()
        timeout = self._svc().config.jetstream_publish_timeout
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                ack = await js.publish(
                    subject, data, timeout=timeout, headers=self.header(msg_id, attempt)
                )
            except (nats.errors.TimeoutError, NoStreamResponseError) as exc:
                if attempt == _ATTEMPTS:
                    raise NATSPublishError(
                        "no PubAck", subject=subject, cause=exc, ambiguous=True
                    ) from exc
                continue
            return {
                "stream": ack.stream,
                "seq": ack.seq,
                "duplicate": bool(ack.duplicate),
                "attempts": attempt,
            }
        raise AssertionError("unreachable")


class _WithoutMsgId(_Retrying):
    def header(self, msg_id: str, attempt: int) -> dict[str, str] | None:
        return None  # the defect: no Nats-Msg-Id, so a retry is a new message


def jetstream_retry_without_msg_id() -> ServiceUnderTest:
    """A publish whose PubAck timed out is sent again, without ``Nats-Msg-Id``."""
    return _WithoutMsgId()


class _FreshId(_Retrying):
    def header(self, msg_id: str, attempt: int) -> dict[str, str] | None:
        return {"Nats-Msg-Id": uuid.uuid4().hex}  # the defect: a new id per attempt


def jetstream_retry_fresh_id() -> ServiceUnderTest:
    """Every attempt carries a fresh ``Nats-Msg-Id``: the server cannot dedupe a retry."""
    return _FreshId()


class _FireAndForget(ReferenceSut):
    async def publish_jetstream(
        self, subject: str, data: bytes, msg_id: str, *, dedupe: bool
    ) -> dict[str, Any]:
        client = self._svc()._require().pool.main.client
        headers = {"Nats-Msg-Id": msg_id} if dedupe else None
        try:  # the defect: a core publish and a flush, no PubAck awaited
            await client.publish(subject, data, headers=headers)
            await client.flush(timeout=1)
        except (nats.errors.Error, OSError) as exc:
            raise NATSPublishError("not sent", subject=subject, cause=exc, ambiguous=True) from exc
        return {"stream": "", "seq": 0, "duplicate": False, "attempts": 1}


def jetstream_fire_and_forget() -> ServiceUnderTest:
    """Reports a publish stored once the bytes are flushed, without waiting for the
    PubAck."""
    return _FireAndForget()


CATALOG = (
    Mutant(
        "jetstream_retry_without_msg_id",
        "jetstream",
        ("jetstream.exactly-once",),
        "a JetStream publish whose PubAck timed out is sent again without Nats-Msg-Id",
        ("jetstream-puback-drops",),
    ),
    Mutant(
        "jetstream_retry_fresh_id",
        "jetstream",
        ("jetstream.exactly-once",),
        "every attempt of a JetStream publish carries a fresh Nats-Msg-Id",
        ("jetstream-puback-drops",),
    ),
    Mutant(
        "jetstream_fire_and_forget",
        "jetstream",
        ("jetstream.acked-stored",),
        "a JetStream publish is reported stored once flushed, without waiting for its PubAck",
        ("jetstream-publish-drops",),
    ),
)
