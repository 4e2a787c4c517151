"""Message schemas (the document's ``nats_messages``): chat messages and event messages.

The broker tells the two apart by structure, not by a type tag: a message with an
``event_type`` key is an event, anything else is validated as chat. Defaulting to chat
means a malformed chat message is reported by its missing or bad field (``content``,
``channel``...) instead of a vague "unknown message type".

Both models forbid unknown keys, so a misspelt field is an error that names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ChatMessage",
    "EventMessage",
    "MessageType",
    "detect_message_type",
    "first_invalid_field",
    "validate_message",
    "validation_problems",
]

MessageType = Literal["chat", "event"]

_TOKEN = r"^[A-Za-z0-9_-]+$"


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str = Field(min_length=1, max_length=128)
    timestamp: datetime


class ChatMessage(_Base):
    """A chat line sent by a player to a channel.

    Attributes:
        message_id: unique id, used for de-duplication.
        timestamp: when it was sent (ISO 8601 in JSON).
        channel: channel name, a single subject token (``say``, ``local``, ``global``...).
        sender_id: id of the sender.
        sender_name: display name of the sender.
        content: the text, 1 to 4096 characters.
        room_id: room the message belongs to, if any.
        target_id: addressee of a whisper, if any.
    """

    channel: str = Field(pattern=_TOKEN, max_length=64)
    sender_id: str = Field(min_length=1, max_length=128)
    sender_name: str = Field(min_length=1, max_length=64)
    content: str = Field(min_length=1, max_length=4096)
    room_id: str | None = Field(default=None, pattern=_TOKEN)
    target_id: str | None = Field(default=None, pattern=_TOKEN)


class EventMessage(_Base):
    """A game event.

    Attributes:
        message_id: unique id, used for de-duplication.
        timestamp: when it happened.
        event_type: dotted lower-case name such as ``player_entered`` or ``game.tick``.
        event_data: event-specific JSON object.
        source: the component that produced it, if known.
    """

    event_type: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=128)
    event_data: dict[str, Any] = Field(default_factory=dict)
    source: str | None = Field(default=None, max_length=128)


def detect_message_type(message: Mapping[str, Any]) -> MessageType:
    """Return ``"event"`` if the message has an ``event_type`` key, else ``"chat"``."""
    return "event" if "event_type" in message else "chat"


def validate_message(message: Mapping[str, Any]) -> ChatMessage | EventMessage:
    """Validate a message against the schema its structure selects.

    Args:
        message: the decoded message.

    Returns:
        The validated model.

    Raises:
        pydantic.ValidationError: naming every invalid field.
    """
    if detect_message_type(message) == "event":
        return EventMessage.model_validate(message)
    return ChatMessage.model_validate(message)


def validation_problems(exc: ValidationError) -> tuple[tuple[str, str], ...]:
    """Return ``(field, message)`` for each problem in a ``ValidationError``."""
    return tuple(
        (".".join(str(part) for part in err["loc"]) or "<message>", err["msg"])
        for err in exc.errors()
    )


def first_invalid_field(exc: ValidationError) -> str:
    """Return the dotted name of the first invalid field in a ``ValidationError``."""
    problems = validation_problems(exc)
    return problems[0][0] if problems else "<message>"
