"""The reference service's exception tree: one root, one class per failing operation.

Every public method of :class:`~nats_fault_harness.reference.NATSService` and
:class:`~nats_fault_harness.reference.NATSMessageBroker` raises only these classes (or pydantic's
``ValidationError`` for a bad config, which happens before any I/O). nats-py's own errors
never escape: ``nats_fault_harness.reference._translate`` turns them into these at one boundary and
chains the original as ``__cause__`` (also kept as ``.cause``)::

    NATSError                      root; ``.cause`` is the nats-py / OS error, if any
    ├── NATSConnectionError        connect failed, service not running, connection closed
    ├── NATSPublishError           a message was not confirmed by the server
    │   └── PublishError           broker: invalid outgoing message (``.field``) or delivery failure
    ├── NATSSubscribeError         subscribe / JetStream consumer set-up failed
    ├── NATSUnsubscribeError       unsubscribe failed (closed connection, unknown subscription)
    ├── NATSRequestError           request failed: ``.timed_out`` or ``.no_responders``
    └── NATSSubjectError           a subject (or a pattern parameter) is not a valid NATS subject

Why structured fields: callers (and the fault harness's checkers) decide what to do from
``subject``, ``timeout``, ``ambiguous``, ``timed_out``... rather than by parsing messages.
"""

from __future__ import annotations

__all__ = [
    "NATSConnectionError",
    "NATSError",
    "NATSPublishError",
    "NATSRequestError",
    "NATSSubjectError",
    "NATSSubscribeError",
    "NATSUnsubscribeError",
    "PublishError",
]


class NATSError(Exception):
    """Root of every exception the reference service raises.

    Attributes:
        subject: the subject involved, when there is one.
        cause: the underlying nats-py or OS error (same object as ``__cause__``), or None.
    """

    def __init__(
        self, message: str, *, subject: str | None = None, cause: BaseException | None = None
    ) -> None:
        super().__init__(message)
        self.subject = subject
        self.cause = cause


class NATSConnectionError(NATSError):
    """Connecting failed, the service is not running, or its connection is closed."""


class NATSPublishError(NATSError):
    """One or more messages were not confirmed as received by the server.

    Attributes:
        message_count: how many messages the failed operation covered.
        ambiguous: True when the bytes may have been written to a socket before the
            failure, so the server may still have received (and delivered) them; False
            when nothing was sent. A retry of an ambiguous publish can duplicate it.
    """

    def __init__(
        self,
        message: str,
        *,
        subject: str | None = None,
        cause: BaseException | None = None,
        message_count: int = 1,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, subject=subject, cause=cause)
        self.message_count = message_count
        self.ambiguous = ambiguous


class PublishError(NATSPublishError):
    """The broker refused or failed to publish a message.

    Attributes:
        field: the first invalid field of an outgoing message (``"content"``,
            ``"event_type"``, ``"subject"``...), or None when the failure was delivery.
        errors: every validation problem as ``(field, message)`` pairs.
    """

    def __init__(
        self,
        message: str,
        *,
        subject: str | None = None,
        cause: BaseException | None = None,
        field: str | None = None,
        errors: tuple[tuple[str, str], ...] = (),
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, subject=subject, cause=cause, ambiguous=ambiguous)
        self.field = field
        self.errors = errors


class NATSSubscribeError(NATSError):
    """Subscribing (or binding a JetStream consumer) failed."""


class NATSUnsubscribeError(NATSError):
    """Unsubscribing failed.

    Attributes:
        subscription_id: the service's id of the subscription.
    """

    def __init__(
        self,
        message: str,
        *,
        subscription_id: str,
        subject: str | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message, subject=subject, cause=cause)
        self.subscription_id = subscription_id


class NATSRequestError(NATSError):
    """A request got no reply.

    Attributes:
        timeout: the timeout the request used, in seconds.
        timed_out: True when nobody answered within ``timeout`` (a responder may exist).
        no_responders: True when the server said at once that nobody subscribes.
    """

    def __init__(
        self,
        message: str,
        *,
        subject: str,
        timeout: float,
        cause: BaseException | None = None,
        timed_out: bool = False,
        no_responders: bool = False,
    ) -> None:
        super().__init__(message, subject=subject, cause=cause)
        self.timeout = timeout
        self.timed_out = timed_out
        self.no_responders = no_responders


class NATSSubjectError(NATSError):
    """A subject, or a parameter used to build one, breaks the NATS subject rules.

    Attributes:
        reason: what rule was broken.
    """

    def __init__(self, message: str, *, subject: str | None = None, reason: str = "") -> None:
        super().__init__(message, subject=subject)
        self.reason = reason
