"""Config, schemas, subject manager and exception tree: pure checks, no server needed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

import nats_fault_harness.reference as ref
from nats_fault_harness.reference import (
    ChatMessage,
    ConnectionOptions,
    EventMessage,
    NATSConfig,
    NATSSubjectError,
    NATSSubjectManager,
    detect_message_type,
    validate_message,
)


def test_defaults_follow_the_document() -> None:
    cfg = NATSConfig()
    assert cfg.max_batch_retries == 3
    assert cfg.retry_delays() == pytest.approx((0.1, 0.2, 0.4))
    assert cfg.enable_message_validation is True
    assert cfg.manual_ack is False


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"max_batch_retries": -1}, "max_batch_retries"),
        ({"retry_base_delay": 0}, "retry_base_delay"),
        ({"flush_timeout": -1}, "flush_timeout"),
        ({"flush_interval": 0}, "flush_interval"),
        ({"health_check_interval": 0}, "health_check_interval"),
        ({"pool_size": -1}, "pool_size"),
        ({"servers": ()}, "servers"),
        ({"servers": ("http://x:1",)}, "servers"),
        ({"name": "has space"}, "name"),
        ({"enable_message_validaton": False}, "enable_message_validaton"),
        ({"connection": {"max_reconnect_attempts": 0}}, "max_reconnect_attempts"),
        ({"connection": {"connect_timeout": 0}}, "connect_timeout"),
    ],
)
def test_bad_config_names_the_field(fields: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(field_name)):
        NATSConfig.model_validate(fields)


def test_cross_field_rules() -> None:
    with pytest.raises(ValidationError, match="pool_member_servers"):
        NATSConfig(pool_size=2, pool_member_servers=(("nats://a:1",),))
    with pytest.raises(ValidationError, match="health_check_timeout"):
        NATSConfig(health_check_interval=1, health_check_timeout=2)


def test_member_servers_rotate_by_default() -> None:
    cfg = NATSConfig(servers=("nats://a:1", "nats://b:2"), pool_size=3)
    assert cfg.member_servers(0) == ("nats://a:1", "nats://b:2")
    assert cfg.member_servers(1) == ("nats://b:2", "nats://a:1")
    assert cfg.member_servers(2) == ("nats://a:1", "nats://b:2")


def test_connection_options_pass_through() -> None:
    kwargs = ConnectionOptions(ping_interval=1, max_reconnect_attempts=-1).connect_kwargs()
    assert kwargs["ping_interval"] == 1
    assert kwargs["max_reconnect_attempts"] == -1
    assert set(kwargs) <= {
        "connect_timeout", "reconnect_time_wait", "max_reconnect_attempts", "allow_reconnect",
        "ping_interval", "max_outstanding_pings", "pending_size", "flush_timeout",
        "dont_randomize",
    }  # fmt: skip


def _chat(**over: object) -> dict[str, object]:
    msg: dict[str, object] = {
        "message_id": "m1",
        "timestamp": datetime.now(UTC).isoformat(),
        "channel": "say",
        "sender_id": "p1",
        "sender_name": "Ann",
        "content": "hello",
        "room_id": "r1",
    }
    msg.update(over)
    return msg


def test_schemas_tell_chat_from_event_by_structure() -> None:
    event = {"message_id": "e1", "timestamp": "2026-01-13T00:00:00Z", "event_type": "game_tick"}
    assert detect_message_type(event) == "event"
    assert detect_message_type(_chat()) == "chat"
    assert isinstance(validate_message(event), EventMessage)
    assert isinstance(validate_message(_chat()), ChatMessage)


@pytest.mark.parametrize(
    ("message", "field_name"),
    [
        (_chat(content=""), "content"),
        ({k: v for k, v in _chat().items() if k != "sender_name"}, "sender_name"),
        (_chat(channel="a.b"), "channel"),
        (_chat(colour="red"), "colour"),
        ({"message_id": "e", "timestamp": "2026-01-13T00:00:00Z", "event_type": "Bad Type"},
         "event_type"),
    ],
)  # fmt: skip
def test_schema_errors_name_the_field(message: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_message(message)
    assert info.value.errors()[0]["loc"][0] == field_name


def test_subject_manager_builds_and_validates() -> None:
    subjects = NATSSubjectManager()
    assert subjects.build("chat_say_room", room_id="r-1") == "chat.say.room.r-1"
    assert subjects.build("chat_global") == "chat.global"
    for bad in ("a.b", ">", "*", "has space", ""):
        with pytest.raises(NATSSubjectError):
            subjects.build("chat_say_room", room_id=bad)
    with pytest.raises(NATSSubjectError, match="missing"):
        subjects.build("chat_say_room")
    with pytest.raises(NATSSubjectError, match="unknown"):
        subjects.build("nope")
    assert subjects.is_valid("chat.*.room.>", allow_wildcards=True)
    for bad in ("chat.*", "a..b", "a.>.b", "a b", "a.b*", ".a"):
        assert not subjects.is_valid(bad, allow_wildcards=bad != "chat.*"), bad
    subjects.register_pattern("orders", "orders.{region}.new")
    assert subjects.build("orders", region="eu") == "orders.eu.new"
    with pytest.raises(NATSSubjectError):
        subjects.register_pattern("bad", "orders..{x}")


def test_exception_tree_has_one_root() -> None:
    for name in ref.__all__:
        obj = getattr(ref, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, ref.NATSError), name
    assert issubclass(ref.PublishError, ref.NATSPublishError)


def test_reference_imports_nothing_from_the_harness() -> None:
    from pathlib import Path

    package = Path(ref.__file__).parent
    for path in package.glob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import nats_fault_harness", "from nats_fault_harness")):
                assert stripped.startswith(
                    ("from nats_fault_harness.reference", "import nats_fault_harness.reference")
                ), f"{path.name}: {stripped}"
