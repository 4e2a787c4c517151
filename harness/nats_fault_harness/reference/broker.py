"""``NATSMessageBroker``: JSON message broker on top of :class:`NATSService`.

It adds what the remediation document asks of the broker layer:

* validation of outgoing and incoming messages against the chat/event schemas
  (``enable_message_validation``, on by default). An invalid outgoing message raises
  :class:`PublishError` naming the field and is never sent; an invalid incoming one
  (bad JSON, not an object, schema error) is counted in ``invalid_incoming``, reported as
  an ``incoming_invalid`` event and not handed to the handler. On a JetStream
  subscription it is then acknowledged, so a poison message is not redelivered forever;
* subjects built and validated by :class:`NATSSubjectManager` (bad subject ->
  ``PublishError(field="subject")`` / ``NATSSubscribeError``);
* ``is_connected()`` backed by the service's ping/pong health check, not just nats-py's
  status flag (which stays True for seconds after a server stops answering);
* JetStream subscriptions with manual ack (ack after the handler succeeds, nak when it
  raises) when ``manual_ack`` is configured.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nats_fault_harness.reference._subscriptions import IncomingMessage
from nats_fault_harness.reference._translate import describe
from nats_fault_harness.reference.config import NATSConfig
from nats_fault_harness.reference.nats_exceptions import (
    NATSPublishError,
    NATSRequestError,
    NATSSubjectError,
    NATSSubscribeError,
    PublishError,
)
from nats_fault_harness.reference.schemas import (
    first_invalid_field,
    validate_message,
    validation_problems,
)
from nats_fault_harness.reference.service import NATSService
from nats_fault_harness.reference.subjects import NATSSubjectManager

__all__ = ["BrokerStats", "MessageHandler", "NATSMessageBroker"]

MessageHandler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BrokerStats:
    """Broker counters.

    Attributes:
        published: messages confirmed (or, when batched, accepted into a batch).
        invalid_outgoing: publishes refused by validation.
        invalid_incoming: received messages dropped as invalid.
        delivered: messages handed to handlers.
    """

    published: int
    invalid_outgoing: int
    invalid_incoming: int
    delivered: int


class NATSMessageBroker:
    """Publish and subscribe JSON messages with validation and subject management.

    Args:
        service: the service to use (the broker does not own it unless built by
            :meth:`from_config`).
        subject_manager: subject rules and patterns; a default one if None.
        enable_message_validation: override ``service.config.enable_message_validation``.
    """

    def __init__(
        self,
        service: NATSService,
        *,
        subject_manager: NATSSubjectManager | None = None,
        enable_message_validation: bool | None = None,
    ) -> None:
        self._service = service
        self._subjects = subject_manager or NATSSubjectManager()
        flag = enable_message_validation
        self._validate = service.config.enable_message_validation if flag is None else flag
        self._published = 0
        self._invalid_outgoing = 0
        self._invalid_incoming = 0
        self._delivered = 0

    @classmethod
    def from_config(cls, config: NATSConfig, **kwargs: Any) -> NATSMessageBroker:
        """Build a broker with its own :class:`NATSService`."""
        return cls(NATSService(config), **kwargs)

    @property
    def service(self) -> NATSService:
        """The underlying service."""
        return self._service

    @property
    def subjects(self) -> NATSSubjectManager:
        """The subject manager used to build and validate subjects."""
        return self._subjects

    async def connect(self) -> None:
        """Connect the service. Raises ``NATSConnectionError`` on failure."""
        await self._service.connect()

    async def disconnect(self) -> None:
        """Close the service (final flush included)."""
        await self._service.close()

    def is_connected(self) -> bool:
        """True if connected *and* the last ping/pong health check passed."""
        return self._service.is_healthy()

    async def publish(
        self, subject: str, message: Mapping[str, Any], *, batched: bool = False
    ) -> str:
        """Validate and publish a message; return its ``message_id``.

        Args:
            subject: a concrete subject (no wildcards).
            message: chat or event message (see ``schemas``).
            batched: hand it to the service's batch instead of confirming it now.

        Raises:
            PublishError: ``field`` names the invalid field (``"subject"`` for a bad
                subject), or delivery failed (``field`` None, cause chained).
        """
        data, message_id = self._encode(subject, message)
        try:
            if batched:
                message_id = await self._service.publish_batched(
                    subject, data, message_id=message_id
                )
            else:
                await self._service.publish(subject, data)
        except NATSPublishError as exc:
            raise PublishError(
                f"publish to {subject!r} failed: {exc}",
                subject=subject,
                cause=exc,
                ambiguous=exc.ambiguous,
            ) from exc
        self._published += 1
        return message_id or ""

    async def publish_to(
        self, pattern: str, message: Mapping[str, Any], *, batched: bool = False, **params: str
    ) -> str:
        """Publish to the subject built from a named pattern (see ``NATSSubjectManager``).

        Raises:
            PublishError: bad pattern parameters (``field="subject"``) or as ``publish``.
        """
        try:
            subject = self._subjects.build(pattern, **params)
        except NATSSubjectError as exc:
            self._invalid_outgoing += 1
            raise PublishError(str(exc), subject=exc.subject, field="subject", cause=exc) from exc
        return await self.publish(subject, message, batched=batched)

    async def subscribe(
        self, subject: str, handler: MessageHandler, *, queue_group: str | None = None
    ) -> str:
        """Subscribe ``handler`` to decoded (and validated) messages; return the id.

        Raises:
            NATSSubscribeError: bad subject or nats-py refused.
        """
        self._check_subscribe_subject(subject)
        info = await self._service.subscribe(subject, self._wrap(handler), queue=queue_group or "")
        return info.id

    async def subscribe_jetstream(
        self,
        subject: str,
        handler: MessageHandler,
        *,
        stream: str | None = None,
        durable: str | None = None,
        ack_wait: float | None = None,
        max_deliver: int | None = None,
    ) -> str:
        """Subscribe to a JetStream stream; with ``manual_ack`` configured, each message
        is acked after ``handler`` returns and nak'ed (redelivered) when it raises.

        Raises:
            NATSSubscribeError: bad subject, no stream, or nats-py refused.
        """
        self._check_subscribe_subject(subject)
        info = await self._service.subscribe_jetstream(
            subject,
            self._wrap(handler),
            stream=stream,
            durable=durable,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
        )
        return info.id

    async def unsubscribe(self, subscription_id: str) -> None:
        """Remove a subscription. Raises ``NATSUnsubscribeError``."""
        await self._service.unsubscribe(subscription_id)

    async def request(
        self, subject: str, message: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a validated request and return the decoded JSON reply.

        Raises:
            PublishError: the request message is invalid.
            NATSRequestError: timed out, no responders, or the reply is not a JSON object.
        """
        data, _ = self._encode(subject, message)
        reply = await self._service.request(subject, data, timeout=timeout)
        try:
            decoded = json.loads(reply.data)
            if not isinstance(decoded, dict):
                raise ValueError("reply is not a JSON object")
        except ValueError as exc:
            wait = timeout if timeout is not None else self._service.config.request_timeout
            raise NATSRequestError(
                f"reply on {subject!r} is not a JSON object: {exc}",
                subject=subject,
                timeout=wait,
                cause=exc,
            ) from exc
        return decoded

    def get_stats(self) -> BrokerStats:
        """Return the broker's counters."""
        return BrokerStats(
            self._published, self._invalid_outgoing, self._invalid_incoming, self._delivered
        )

    def _encode(self, subject: str, message: Mapping[str, Any]) -> tuple[bytes, str | None]:
        try:
            self._subjects.validate(subject)
        except NATSSubjectError as exc:
            self._invalid_outgoing += 1
            raise PublishError(str(exc), subject=subject, field="subject", cause=exc) from exc
        if not self._validate:
            try:
                return json.dumps(dict(message)).encode(), message.get("message_id")
            except (TypeError, ValueError) as exc:
                self._invalid_outgoing += 1
                raise PublishError(
                    f"message for {subject!r} is not JSON-serializable: {exc}",
                    subject=subject,
                    cause=exc,
                ) from exc
        try:
            model = validate_message(message)
        except ValidationError as exc:
            self._invalid_outgoing += 1
            field = first_invalid_field(exc)
            raise PublishError(
                f"invalid message for {subject!r}: field {field!r}: "
                f"{validation_problems(exc)[0][1]}",
                subject=subject,
                field=field,
                errors=validation_problems(exc),
                cause=exc,
            ) from exc
        return model.model_dump_json().encode(), model.message_id

    def _check_subscribe_subject(self, subject: str) -> None:
        try:
            self._subjects.validate(subject, allow_wildcards=True)
        except NATSSubjectError as exc:
            raise NATSSubscribeError(str(exc), subject=subject, cause=exc) from exc

    def _wrap(self, handler: MessageHandler) -> Callable[[IncomingMessage], Awaitable[None]]:
        async def on_message(incoming: IncomingMessage) -> None:
            try:
                decoded = json.loads(incoming.data)
                if not isinstance(decoded, dict):
                    raise ValueError("message is not a JSON object")
                if self._validate:
                    validate_message(decoded)
            except ValueError as exc:  # JSONDecodeError and ValidationError included
                self._invalid_incoming += 1
                self._service.report_event(
                    "incoming_invalid", subject=incoming.subject, error=describe(exc)
                )
                return
            self._delivered += 1
            await handler(decoded)

        return on_message
