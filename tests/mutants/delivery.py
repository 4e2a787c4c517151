"""Mutant of the delivery guarantee: a group is "confirmed" when ``nc.flush()`` returns.

nats-py's ``flush()`` returns at once, with no round trip, while the client is
reconnecting (its read loop is down), and its PING can overtake PUBs still in the
client's buffer; so messages buffered or written into a dying socket are reported
confirmed and then lost. The reference confirms with an in-order echo marker instead
(``harness/nats_fault_harness/reference/_delivery.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nats_fault_harness.reference import NATSPublishError, OutgoingMessage
from nats_fault_harness.reference._pool import Connection
from nats_fault_harness.reference._translate import Op, translate
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import HookedBatchPublisher, MutantService, sut_for

__all__ = ["trusting_flush"]


async def _send_flushed(conn: Connection, messages: Sequence[OutgoingMessage], timeout: float):
    subject = messages[0].subject if messages else ""
    with translate(Op.PUBLISH, subject=subject, message_count=len(messages)) as state:
        for message in messages:
            headers = dict(message.headers) if message.headers else None
            await conn.client.publish(message.subject, message.data, headers=headers)
            state.ambiguous = True
        await conn.client.flush(timeout=timeout)  # the defect: trusted as a receipt


class _FlushTrustingPublisher(HookedBatchPublisher):
    async def send(self, conn: Connection, messages: Sequence[OutgoingMessage]) -> None:
        await _send_flushed(conn, messages, self._config.flush_timeout)


class _FlushTrustingService(MutantService):
    batch_class = _FlushTrustingPublisher

    async def publish(
        self, subject: str, data: bytes, *, headers: Mapping[str, str] | None = None
    ) -> None:
        main = self._require().pool.main
        msg = OutgoingMessage(subject, data, "", dict(headers) if headers else None)
        try:
            await _send_flushed(main, [msg], self._config.flush_timeout)
        except NATSPublishError:
            self.publish_failures += 1
            raise
        self.published += 1


def trusting_flush() -> ServiceUnderTest:
    """Publishes and batch groups count as confirmed once ``nc.flush()`` returns."""
    return sut_for(_FlushTrustingService)
