"""The one boundary where nats-py and OS errors become the service's own exceptions.

Every call into nats-py in this package happens inside ``with translate(Op.X, ...)``. The
context manager lets the service's own exceptions through untouched, maps
``nats.errors.Error`` (the root of every nats-py and JetStream error) and ``OSError``
(``ConnectionResetError`` from ``close()`` during a reconnect, builtins ``TimeoutError``
from ``connect()`` and from ``asyncio.timeout``) to the class for the operation, and
chains the original with ``raise ... from exc``. ``asyncio.CancelledError`` is a
``BaseException`` and always passes through: cancellation is never turned into an error.

Keeping the mapping in one place is what makes "every public method raises only
``NATSError`` subclasses" checkable: grep for ``nats.`` calls outside a ``translate`` block.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import nats.errors

from nats_fault_harness.reference.nats_exceptions import (
    NATSConnectionError,
    NATSError,
    NATSPublishError,
    NATSRequestError,
    NATSSubscribeError,
    NATSUnsubscribeError,
)

__all__ = ["Op", "TranslationState", "translate"]

_TRANSLATED: tuple[type[BaseException], ...] = (nats.errors.Error, OSError)


class Op(enum.Enum):
    """The operation a ``translate`` block performs; it picks the exception class."""

    CONNECT = "connect"
    CLOSE = "close"
    HEALTH = "health check"
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    REQUEST = "request"
    ACK = "ack"


@dataclass
class TranslationState:
    """Mutable facts a block records while it runs, used if it fails.

    Attributes:
        ambiguous: set to True once bytes that the failure may concern were handed to
            the socket, so the server may have them even though the operation failed.
    """

    ambiguous: bool = False


@contextmanager
def translate(
    op: Op,
    *,
    subject: str | None = None,
    timeout: float | None = None,
    subscription_id: str | None = None,
    message_count: int = 1,
) -> Iterator[TranslationState]:
    """Run a block of nats-py calls and translate its errors for ``op``.

    Args:
        op: what the block does.
        subject: the subject involved, copied to the exception.
        timeout: the timeout in force (requests), copied to the exception.
        subscription_id: the service's subscription id (unsubscribe).
        message_count: how many messages a publish block covers.

    Yields:
        A :class:`TranslationState` the block updates (``state.ambiguous = True``).

    Raises:
        NATSError: the subclass for ``op``, with the nats-py error as ``__cause__``.
    """
    state = TranslationState()
    try:
        yield state
    except NATSError:
        raise
    except _TRANSLATED as exc:
        raise _to_service_error(
            op, exc, state, subject, timeout, subscription_id, message_count
        ) from exc


def describe(exc: BaseException) -> str:
    """Return ``"ClassName: message"`` for an error, the form used in reports and stats."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _to_service_error(
    op: Op,
    exc: BaseException,
    state: TranslationState,
    subject: str | None,
    timeout: float | None,
    subscription_id: str | None,
    message_count: int,
) -> NATSError:
    where = f" on {subject!r}" if subject else ""
    text = f"{op.value}{where} failed: {describe(exc)}"
    if op is Op.PUBLISH:
        return NATSPublishError(
            text,
            subject=subject,
            cause=exc,
            message_count=message_count,
            ambiguous=state.ambiguous,
        )
    if op is Op.REQUEST:
        no_responders = isinstance(exc, nats.errors.NoRespondersError)
        # nats.errors.TimeoutError subclasses builtins TimeoutError (an OSError).
        timed_out = isinstance(exc, TimeoutError)
        if no_responders:
            text = f"request{where} failed: no responders ({describe(exc)})"
        elif timed_out:
            text = f"request{where} timed out after {timeout}s ({describe(exc)})"
        return NATSRequestError(
            text,
            subject=subject or "",
            timeout=timeout if timeout is not None else 0.0,
            cause=exc,
            timed_out=timed_out,
            no_responders=no_responders,
        )
    if op is Op.UNSUBSCRIBE:
        return NATSUnsubscribeError(
            text, subscription_id=subscription_id or "", subject=subject, cause=exc
        )
    if op in (Op.SUBSCRIBE, Op.ACK):
        return NATSSubscribeError(text, subject=subject, cause=exc)
    return NATSConnectionError(text, subject=subject, cause=exc)
