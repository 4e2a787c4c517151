"""Validation: invalid publishes refused with PublishError naming the field; handlers spared."""

from __future__ import annotations

from chk_records import PublishError, Rec

from nats_fault_harness.checkers import UNKNOWN, check_validation


def test_refused_invalid_publish_and_reported_incoming_is_valid(rec: Rec) -> None:
    rec.op(
        "publish_invalid",
        {"id": "bad1", "field": "channel"},
        "fail",
        error=PublishError("invalid message", field="channel"),
    )
    rec.op(
        "publish_invalid",
        {"id": "bad2", "field": "sender_id"},
        "fail",
        error=PublishError("sender_id: field required"),
    )
    rec.op("inject_invalid", {"id": "in1"})
    rec.event("invalid_incoming", subject="chat.x", error="ValidationError")
    rec.op("handled", {"id": "good1"})
    r = check_validation(rec.h)
    assert r.valid is True, r.message


def test_accepted_or_mistyped_or_unnamed_field_is_invalid(rec: Rec) -> None:
    rec.op("publish_invalid", {"id": "bad1", "field": "channel"})
    rec.op("publish_invalid", {"id": "bad2", "field": "channel"}, "fail", error=ValueError("nope"))
    rec.op("publish_invalid", {"id": "bad3", "field": "channel"}, "fail")
    r = check_validation(rec.h)
    assert r.valid is False
    assert r.details["problems"] == [
        "publish_invalid op 1 (id bad1) ended ok, expected fail",
        "publish_invalid op 2 (id bad2) raised ValueError ('nope'), expected ['PublishError']",
        "publish_invalid op 2 (id bad2): ValueError does not name field 'channel' ('nope')",
        "publish_invalid op 3 (id bad3) failed with no error recorded",
    ]


def test_handler_invoked_for_invalid_incoming_is_invalid(rec: Rec) -> None:
    rec.op("inject_invalid", {"id": "in1"})
    rec.op("inject_invalid", {"id": "in2"})
    rec.event("invalid_incoming")
    rec.op("handled", {"id": "in2"})
    r = check_validation(rec.h)
    assert r.valid is False
    assert r.details["problems"] == [
        "handler invoked for invalid messages: in2",
        "2 invalid incoming messages injected, only 1 reported",
    ]


def test_nothing_invalid_sent_is_unknown(rec: Rec) -> None:
    rec.publish("m1")
    assert check_validation(rec.h).valid == UNKNOWN


def test_valid_incoming_messages_must_be_handled(rec: Rec) -> None:
    rec.op("inject_invalid", {"id": "bad1"})
    rec.event("invalid_incoming")
    rec.op("inject_valid", {"id": "ok1"})
    rec.op("inject_valid", {"id": "ok2"})
    rec.op("handled", {"id": "ok1"})
    r = check_validation(rec.h)
    assert r.valid is False
    assert r.details["problems"] == ["valid incoming messages never handled: ok2"]


def test_disabled_validation_must_let_everything_through(rec: Rec) -> None:
    rec.op("publish_invalid", {"id": "out1", "field": "content"})
    rec.op("inject_invalid", {"id": "in1"})
    rec.op("handled", {"id": "in1"})
    assert check_validation(rec.h, enabled=False).valid is True
    rec.op(
        "publish_invalid",
        {"id": "out2", "field": "content"},
        "fail",
        error=PublishError("invalid", field="content"),
    )
    rec.op("inject_invalid", {"id": "in2"})
    rec.event("invalid_incoming")
    r = check_validation(rec.h, enabled=False)
    assert r.valid is False
    assert r.details["problems"] == [
        "publish_invalid op 4 (id out2) ended fail with validation disabled",
        "invalid messages not handled with validation disabled: in2",
        "1 invalid_incoming reported with validation disabled",
    ]
