"""Mutants of ``fix.broker-validation``: no validation, one way only, no type detection,
and a configuration switch that is ignored."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from nats_fault_harness.reference import (
    ChatMessage,
    IncomingMessage,
    MessageHandler,
    NATSMessageBroker,
    NATSService,
    PublishError,
)
from nats_fault_harness.reference._translate import describe
from nats_fault_harness.reference.schemas import first_invalid_field, validation_problems
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import MutantService, sut_for

__all__ = [
    "no_broker_validation",
    "validation_error_unnamed_field",
    "validation_ignores_config",
    "validation_incoming_only",
    "validation_no_autodetect",
    "validation_outgoing_only",
]

Wrapped = Callable[[IncomingMessage], Awaitable[None]]


def _encode_unchecked(
    broker: NATSMessageBroker, subject: str, message: Mapping[str, Any]
) -> tuple[bytes, str | None]:
    """The broker before the fix: the subject is checked, the message is not."""
    broker.subjects.validate(subject)
    return json.dumps(dict(message)).encode(), message.get("message_id")


def _wrap_unchecked(broker: NATSMessageBroker, handler: MessageHandler) -> Wrapped:
    """Decode and deliver; only what cannot be decoded is dropped."""

    async def on_message(incoming: IncomingMessage) -> None:
        try:
            decoded = json.loads(incoming.data)
            if not isinstance(decoded, dict):
                raise ValueError("message is not a JSON object")
        except ValueError as exc:
            broker.service.report_event(
                "incoming_invalid", subject=incoming.subject, error=describe(exc)
            )
            return
        await handler(decoded)

    return on_message


class _UncheckedBroker(NATSMessageBroker):
    def _encode(self, subject: str, message: Mapping[str, Any]) -> tuple[bytes, str | None]:
        return _encode_unchecked(self, subject, message)

    def _wrap(self, handler: MessageHandler) -> Wrapped:
        return _wrap_unchecked(self, handler)


def no_broker_validation() -> ServiceUnderTest:
    """The broker validates nothing, either way."""
    return sut_for(MutantService, _UncheckedBroker)


class _OutgoingOnlyBroker(NATSMessageBroker):
    def _wrap(self, handler: MessageHandler) -> Wrapped:
        return _wrap_unchecked(self, handler)


def validation_outgoing_only() -> ServiceUnderTest:
    """Outgoing messages are validated; incoming ones reach the handler unchecked."""
    return sut_for(MutantService, _OutgoingOnlyBroker)


class _IncomingOnlyBroker(NATSMessageBroker):
    def _encode(self, subject: str, message: Mapping[str, Any]) -> tuple[bytes, str | None]:
        return _encode_unchecked(self, subject, message)


def validation_incoming_only() -> ServiceUnderTest:
    """Incoming messages are validated; outgoing ones are published unchecked."""
    return sut_for(MutantService, _IncomingOnlyBroker)


class _AlwaysValidatingBroker(NATSMessageBroker):
    def __init__(self, service: NATSService, **kwargs: Any) -> None:
        super().__init__(service, **kwargs)
        self._validate = True  # the defect: enable_message_validation is never read


def validation_ignores_config() -> ServiceUnderTest:
    """Validation stays on when ``enable_message_validation`` is false."""
    return sut_for(MutantService, _AlwaysValidatingBroker)


class _ChatOnlyBroker(NATSMessageBroker):
    """Every message is validated as a chat message (no detection of the type)."""

    def _encode(self, subject: str, message: Mapping[str, Any]) -> tuple[bytes, str | None]:
        self.subjects.validate(subject)
        try:
            model = ChatMessage.model_validate(message)
        except ValidationError as exc:
            field = first_invalid_field(exc)
            raise PublishError(
                f"invalid message for {subject!r}: field {field!r}",
                subject=subject,
                field=field,
                errors=validation_problems(exc),
                cause=exc,
            ) from exc
        return model.model_dump_json().encode(), model.message_id

    def _wrap(self, handler: MessageHandler) -> Wrapped:
        async def on_message(incoming: IncomingMessage) -> None:
            try:
                decoded = json.loads(incoming.data)
                if not isinstance(decoded, dict):
                    raise ValueError("message is not a JSON object")
                ChatMessage.model_validate(decoded)
            except ValueError as exc:
                self.service.report_event(
                    "incoming_invalid", subject=incoming.subject, error=describe(exc)
                )
                return
            await handler(decoded)

        return on_message


def validation_no_autodetect() -> ServiceUnderTest:
    """Messages are always validated against the chat schema, events included."""
    return sut_for(MutantService, _ChatOnlyBroker)


class _VagueErrorBroker(NATSMessageBroker):
    def _encode(self, subject: str, message: Mapping[str, Any]) -> tuple[bytes, str | None]:
        try:
            return super()._encode(subject, message)
        except PublishError as exc:
            # the defect: the error says something is wrong, not what
            raise PublishError(f"invalid message for {subject!r}", subject=subject) from exc


def validation_error_unnamed_field() -> ServiceUnderTest:
    """An invalid outgoing message raises PublishError that does not name the bad field."""
    return sut_for(MutantService, _VagueErrorBroker)
