"""Mutants of the request timeout (``fix.typed-errors.request``): a request that does not
end within its own timeout.

Every request fault that holds replies lets such a request return late and pass as
``ok``; a lost reply (``request-lost-replies``) makes it hang until the harness abandons
it, and the ``exceptions`` checker's deadline rule reports both.
"""

from __future__ import annotations

from collections.abc import Mapping

from nats_fault_harness.reference import IncomingMessage
from nats_fault_harness.reference import NATSRequestError as _TypedRequestError
from nats_fault_harness.reference._translate import Op, translate
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import MutantService, sut_for
from tests.mutants._mutant import Mutant

__all__ = ["CATALOG", "request_ignores_timeout", "request_retries_past_timeout"]

_REQUEST = ("fix.typed-errors.request", "fix.typed-errors")


class _NoDeadline(MutantService):
    async def request(
        self,
        subject: str,
        data: bytes = b"",
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> IncomingMessage:
        main = self._require().pool.main
        wait = timeout if timeout is not None else self._config.request_timeout
        with translate(Op.REQUEST, subject=subject, timeout=wait):
            # the defect: the timeout is reported in errors but never applied; nats-py's
            # wait_for(future, None) waits for the reply as long as it takes
            reply = await main.client.request(
                subject,
                data,
                timeout=None,  # type: ignore[arg-type]
                headers=dict(headers) if headers else None,
            )
        return IncomingMessage(reply.subject, reply.data, reply.reply, reply.headers)


def request_ignores_timeout() -> ServiceUnderTest:
    """``request()`` never applies its timeout: it waits for a reply indefinitely."""
    return sut_for(_NoDeadline)


class _RetriesPastTimeout(MutantService):
    async def request(
        self,
        subject: str,
        data: bytes = b"",
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> IncomingMessage:
        for attempt in range(3):
            try:
                return await super().request(subject, data, timeout=timeout, headers=headers)
            except _TypedRequestError as exc:
                # the defect: a hidden retry, each with the full timeout: the caller's
                # 0.4 s request takes 1.2 s to fail
                if not exc.timed_out or attempt == 2:
                    raise
        raise AssertionError("unreachable")


def request_retries_past_timeout() -> ServiceUnderTest:
    """``request()`` retries a timed-out request twice, each with the full timeout."""
    return sut_for(_RetriesPastTimeout)


CATALOG = (
    Mutant(
        "request_ignores_timeout",
        "deadlines",
        _REQUEST,
        "request() never applies its timeout: waits for the reply indefinitely",
        ("request-lost-replies", "request-during-blackhole"),
    ),
    Mutant(
        "request_retries_past_timeout",
        "deadlines",
        _REQUEST,
        "request() retries a timed-out request twice: 3x its timeout before raising",
        ("request-lost-replies",),
    ),
)
