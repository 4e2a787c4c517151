"""Mutants that raise where nothing failed (``fix.typed-errors``): a typed error on a
healthy link is still a false error.

The errors are typed, with their fields and cause, so the typing rules accept them; the
``exceptions`` checker's unexpected-error rule sees that they came outside every fault
window and its recovery margin.
"""

from __future__ import annotations

from collections.abc import Mapping

from nats_fault_harness.reference import IncomingMessage, NATSUnsubscribeError, SubscriptionInfo
from nats_fault_harness.reference import NATSRequestError as _TypedRequestError
from nats_fault_harness.reference._subscriptions import SubscriptionRegistry
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import MutantService, sut_for
from tests.mutants._mutant import Mutant

__all__ = ["CATALOG", "request_breaker_never_closes", "unsubscribe_raises_when_removed"]

_TYPED = "fix.typed-errors"


class _CheckAfterRemove(SubscriptionRegistry):
    async def unsubscribe(self, subscription: SubscriptionInfo | str) -> None:
        sub_id = subscription if isinstance(subscription, str) else subscription.id
        await super().unsubscribe(subscription)
        # the defect: "make sure it is gone" inverted - it is gone, so this raises
        if sub_id not in self._subs:
            raise NATSUnsubscribeError(
                f"unsubscribe of {sub_id!r} failed: subscription not found",
                subscription_id=sub_id,
            )


class _CheckAfterRemoveService(MutantService):
    subs_class = _CheckAfterRemove


def unsubscribe_raises_when_removed() -> ServiceUnderTest:
    """``unsubscribe()`` removes a valid open subscription, then raises anyway."""
    return sut_for(_CheckAfterRemoveService)


class _StuckBreaker(MutantService):
    _tripped: _TypedRequestError | None = None

    async def request(
        self,
        subject: str,
        data: bytes = b"",
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> IncomingMessage:
        wait = timeout if timeout is not None else self._config.request_timeout
        if self._tripped is not None:
            # the defect: a circuit breaker with no half-open state - once a request timed
            # out, every later request fails at once, healthy link or not
            raise _TypedRequestError(
                f"request on {subject!r} refused: circuit open since a timeout",
                subject=subject,
                timeout=wait,
                cause=self._tripped,
            ) from self._tripped
        try:
            return await super().request(subject, data, timeout=timeout, headers=headers)
        except _TypedRequestError as exc:
            if exc.timed_out:
                self._tripped = exc
            raise


def request_breaker_never_closes() -> ServiceUnderTest:
    """After one timed-out request, ``request()`` fails every later one at once."""
    return sut_for(_StuckBreaker)


CATALOG = (
    Mutant(
        "unsubscribe_raises_when_removed",
        "false_errors",
        ("fix.typed-errors.unsubscribe", _TYPED),
        "unsubscribe() removes a valid open subscription, then raises NATSUnsubscribeError",
        ("unsubscribe-open-subscription", "unsubscribe-after-reconnect"),
    ),
    Mutant(
        "request_breaker_never_closes",
        "false_errors",
        ("fix.typed-errors.request", _TYPED),
        "after one timed-out request, every later request raises at once (healthy link too)",
        ("request-lost-replies",),
    ),
)
