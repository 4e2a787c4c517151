"""Structured messages for the validation workload: valid ones, and ones bad in one field.

The shapes are those of the remediation document's message schemas: a chat message
(``channel``, ``sender_id``, ``sender_name``, ``content``) and an event message
(``event_type``, ``event_data``), both with ``message_id`` and ``timestamp``; an event is
recognised by its ``event_type`` key. Each invalid message names the field that is wrong,
so a checker can demand that the error names it too; invalid event messages are wrong in
an event-only field, so a broker that failed to detect the type would name another field.
Incoming messages may also be wrong as bytes (not JSON, not an object).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["invalid_message", "invalid_payload", "message_id_of", "valid_message"]

TIMESTAMP = "2026-01-01T00:00:00Z"


def valid_message(i: int, mid: str) -> dict[str, Any]:
    """Message ``i``: chat for even ``i``, event for odd ``i``."""
    if i % 2 == 0:
        return {
            "message_id": mid,
            "timestamp": TIMESTAMP,
            "channel": "global",
            "sender_id": f"player-{i}",
            "sender_name": f"Player {i}",
            "content": f"hello {i}",
        }
    return {
        "message_id": mid,
        "timestamp": TIMESTAMP,
        "event_type": "player.entered",
        "event_data": {"n": i},
        "source": "harness",
    }


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(message: dict[str, Any]) -> None:
        message[field] = value

    return change


def _drop(field: str) -> Callable[[dict[str, Any]], None]:
    def change(message: dict[str, Any]) -> None:
        del message[field]

    return change


# (base message kind 0 = chat / 1 = event, wrong field, change)
_INVALID: tuple[tuple[int, str, Callable[[dict[str, Any]], None]], ...] = (
    (0, "content", _set("content", "")),
    (1, "event_type", _set("event_type", "Not A Type!")),
    (0, "sender_id", _drop("sender_id")),
    (1, "event_data", _set("event_data", "not an object")),
    (0, "channel", _set("channel", "two words")),
    (0, "timestamp", _set("timestamp", "yesterday")),
    (0, "colour", _set("colour", "red")),
)


def invalid_message(i: int, mid: str) -> tuple[dict[str, Any], str]:
    """Message ``i`` made invalid in one field; returns ``(message, field)``."""
    kind, field, change = _INVALID[i % len(_INVALID)]
    message = valid_message(kind, mid)
    change(message)
    return message, field


def invalid_payload(i: int, mid: str) -> bytes:
    """Incoming bytes ``i``: every third is not a JSON object; the rest fail the schema."""
    if i % 3 == 2:
        return b'["not", "an", "object", "' + mid.encode() + b'"]'
    return json.dumps(invalid_message(i, mid)[0]).encode()


def message_id_of(data: bytes) -> str | None:
    """The ``message_id`` of a JSON object payload, if there is one."""
    if not data.startswith(b"{"):
        return None
    try:
        decoded = json.loads(data)
    except ValueError:
        return None
    mid = decoded.get("message_id") if isinstance(decoded, dict) else None
    return str(mid) if mid is not None else None
