"""Mutants of the request error's context (``fix.typed-errors.request``): a typed error
whose cause is not chained, or whose subject is not the one requested.

Both raise ``NATSRequestError`` with every required field set, so a check that only asks
"is there a cause, is there a subject" accepts them: the first leaves only the implicit
``__context__`` Python sets inside an ``except`` block, the second says ``subject: ''``.
"""

from __future__ import annotations

from collections.abc import Mapping

from nats_fault_harness.reference import IncomingMessage
from nats_fault_harness.reference import NATSRequestError as _TypedRequestError
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import MutantService, sut_for
from tests.mutants._mutant import Mutant

__all__ = ["CATALOG", "request_error_implicit_cause", "request_error_wrong_subject"]

_REQUEST = ("fix.typed-errors.request", "fix.typed-errors")


class _ImplicitCause(MutantService):
    async def request(
        self,
        subject: str,
        data: bytes = b"",
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> IncomingMessage:
        try:
            return await super().request(subject, data, timeout=timeout, headers=headers)
        except _TypedRequestError as exc:
            # the defect: re-raised with a friendlier message, without ``from`` and
            # without the cause: only the implicit context links it to what happened
            raise _TypedRequestError(  # noqa: B904
                f"request to {subject} failed",
                subject=subject,
                timeout=exc.timeout,
                timed_out=exc.timed_out,
                no_responders=exc.no_responders,
            )


def request_error_implicit_cause() -> ServiceUnderTest:
    """``request()`` raises ``NATSRequestError`` inside ``except`` without ``from``."""
    return sut_for(_ImplicitCause)


class _WrongSubject(MutantService):
    async def request(
        self,
        subject: str,
        data: bytes = b"",
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> IncomingMessage:
        try:
            return await super().request(subject, data, timeout=timeout, headers=headers)
        except _TypedRequestError as exc:
            # the defect: the subject is taken from the nats-py error, which has none
            raise _TypedRequestError(
                str(exc),
                subject=getattr(exc.cause, "subject", None) or "",
                timeout=exc.timeout,
                cause=exc.cause,
                timed_out=exc.timed_out,
                no_responders=exc.no_responders,
            ) from exc.cause


def request_error_wrong_subject() -> ServiceUnderTest:
    """``request()`` raises ``NATSRequestError`` whose ``subject`` is ``''``."""
    return sut_for(_WrongSubject)


CATALOG = (
    Mutant(
        "request_error_implicit_cause",
        "chaining",
        _REQUEST,
        "request() raises NATSRequestError inside except without 'from' (implicit context only)",
        ("request-during-server-kill", "request-lost-replies"),
    ),
    Mutant(
        "request_error_wrong_subject",
        "chaining",
        _REQUEST,
        "request() raises NATSRequestError whose subject is '' instead of the one requested",
        ("request-no-responder", "request-lost-replies"),
    ),
)
