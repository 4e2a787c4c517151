"""Mutants of ``fix.typed-errors``: ``False``/``None`` instead of an exception, generic or
incomplete exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nats_fault_harness.reference import (
    IncomingMessage,
    NATSError,
    NATSPublishError,
    NATSUnsubscribeError,
    SubscriptionInfo,
)
from nats_fault_harness.reference import NATSRequestError as _TypedRequestError
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import MutantService, sut_for

__all__ = [
    "publish_raises_generic",
    "request_error_without_cause",
    "request_error_without_timeout",
    "request_none_on_no_responders",
    "request_raises_generic",
    "request_returns_none",
    "unsubscribe_returns_false",
]


class _FalseOnUnsubscribeError(MutantService):
    async def unsubscribe(self, subscription: SubscriptionInfo | str) -> Any:
        try:
            await super().unsubscribe(subscription)
        except NATSUnsubscribeError:
            return False  # the defect: the pre-fix contract
        return True


def unsubscribe_returns_false() -> ServiceUnderTest:
    """``unsubscribe()`` catches its error and returns ``False``."""
    return sut_for(_FalseOnUnsubscribeError)


class _NoneOnRequestError(MutantService):
    async def request(
        self,
        subject: str,
        data: bytes = b"",
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        try:
            return await super().request(subject, data, timeout=timeout, headers=headers)
        except _TypedRequestError:
            return None  # the defect: the pre-fix contract


def request_returns_none() -> ServiceUnderTest:
    """``request()`` returns ``None`` when it gets no reply."""
    return sut_for(_NoneOnRequestError)


class _NoneOnNoResponders(MutantService):
    async def request(
        self,
        subject: str,
        data: bytes = b"",
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        try:
            return await super().request(subject, data, timeout=timeout, headers=headers)
        except _TypedRequestError as exc:
            if exc.no_responders:
                return None  # the defect: "nobody listens" treated as an empty answer
            raise


def request_none_on_no_responders() -> ServiceUnderTest:
    """``request()`` raises on a timeout but returns ``None`` when nobody subscribes."""
    return sut_for(_NoneOnNoResponders)


class _GenericRequestError(MutantService):
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
            # the defect: a generic exception instead of the typed one
            raise Exception(f"request to {subject} failed: {exc}") from exc


def request_raises_generic() -> ServiceUnderTest:
    """``request()`` raises a bare ``Exception`` instead of ``NATSRequestError``."""
    return sut_for(_GenericRequestError)


class NATSRequestError(NATSError):
    """The request error as it was before the fix: no timeout information."""


class _RequestErrorWithoutTimeout(MutantService):
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
            raise NATSRequestError(str(exc), subject=subject, cause=exc.cause) from exc.cause


def request_error_without_timeout() -> ServiceUnderTest:
    """``request()`` raises a ``NATSRequestError`` that carries no ``timeout``."""
    return sut_for(_RequestErrorWithoutTimeout)


class _RequestErrorWithoutCause(MutantService):
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
            # the defect: "clean" tracebacks, the nats-py error is dropped
            raise _TypedRequestError(
                str(exc),
                subject=subject,
                timeout=exc.timeout,
                timed_out=exc.timed_out,
                no_responders=exc.no_responders,
            ) from None


def request_error_without_cause() -> ServiceUnderTest:
    """``request()`` raises ``NATSRequestError`` with its cause dropped (``from None``)."""
    return sut_for(_RequestErrorWithoutCause)


class _GenericPublishError(MutantService):
    async def publish(
        self, subject: str, data: bytes, *, headers: Mapping[str, str] | None = None
    ) -> None:
        try:
            await super().publish(subject, data, headers=headers)
        except NATSPublishError as exc:
            # the defect: a builtin exception instead of the typed one
            raise ConnectionError(f"publish to {subject} failed: {exc}") from exc


def publish_raises_generic() -> ServiceUnderTest:
    """``publish()`` raises ``ConnectionError`` instead of ``NATSPublishError``."""
    return sut_for(_GenericPublishError)
