"""The stream checker on hand-built histories: each rule, what it allows, and unknown."""

from __future__ import annotations

from typing import Any

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import check_stream
from nats_fault_harness.checkers._stream import (
    AT_LEAST_ONCE,
    FAILED_STORED,
    LOST,
    MIXED_IDS,
    NO_MSG_ID,
    NOT_DEDUPED,
    OVER_SENT,
    PAST_WINDOW,
    UNEXPECTED,
    WRONG_SEQ,
)


def _pub(
    rec: Rec,
    mid: str,
    seq: int | None,
    *,
    outcome: str = "ok",
    attempts: int = 1,
    t: float = 0.0,
    done: float | None = None,
    msg_id: bool = True,
    duplicate: bool = False,
) -> None:
    value = {"id": mid, "subject": "js.a", "jetstream": True, "msg_id": msg_id}
    ack: dict[str, Any] = {
        "id": mid,
        "stream": "S",
        "seq": seq,
        "duplicate": duplicate,
        "attempts": attempts,
    }
    rec.op("publish", value, outcome, t=t, done=t + 0.01 if done is None else done, result=ack)


def _stored(rec: Rec, mid: str, seq: int, msg_id: str | None = "same") -> None:
    header = mid if msg_id == "same" else msg_id
    rec.op(
        "stored",
        {"stream": "S", "seq": seq},
        process="stream",
        result={"id": mid, "stream": "S", "seq": seq, "msg_id": header},
    )


def _read(rec: Rec, ok: bool = True, window: float = 120.0) -> None:
    rec.event("stream_read", client="runner", stream="S", ok=ok, duplicate_window_s=window)


def _base(n: int = 5) -> Rec:
    rec = Rec()
    for i in range(n):
        _pub(rec, f"m{i}", i + 1, t=i * 0.1)
    for i in range(n):
        _stored(rec, f"m{i}", i + 1)
    return rec


def test_every_acked_message_stored_once_is_valid() -> None:
    rec = _base()
    _read(rec)
    result = check_stream(rec.h)
    assert result.valid is True, result.message
    assert result.details["stored"] == 5
    assert "5 published (5 acked" in result.message


def test_an_acked_message_missing_from_the_stream_is_invalid() -> None:
    rec = _base()
    _pub(rec, "gone", 9, t=1.0)
    _read(rec)
    result = check_stream(rec.h)
    assert result.valid is False
    assert result.details["flagged"] == {"gone": LOST}
    assert f"1 {LOST}: gone" in result.message


def test_an_ack_naming_another_messages_sequence_is_invalid() -> None:
    rec = _base()
    _pub(rec, "x", 2, t=1.0)  # seq 2 holds m1
    _stored(rec, "x", 6)
    _read(rec)
    result = check_stream(rec.h)
    assert result.valid is False
    assert result.details["flagged"]["x"].startswith(WRONG_SEQ)


def test_unacked_publishes_may_be_stored_or_not() -> None:
    rec = _base()
    _pub(rec, "amb1", None, outcome="info", t=1.0)
    _pub(rec, "amb2", None, outcome="info", t=1.1)
    _stored(rec, "amb1", 6)
    _read(rec)
    result = check_stream(rec.h)
    assert result.valid is True, result.message
    assert result.details["unacked_stored"] == ["amb1"]
    assert result.details["unacked_absent"] == ["amb2"]


def test_a_publish_reported_not_sent_yet_stored_is_invalid() -> None:
    rec = _base()
    _pub(rec, "f", None, outcome="fail", t=1.0)
    _stored(rec, "f", 6)
    _read(rec)
    assert check_stream(rec.h).details["flagged"] == {"f": FAILED_STORED}


def test_a_stored_id_nobody_published_is_invalid() -> None:
    rec = _base()
    _stored(rec, "ghost", 6)
    _read(rec)
    assert check_stream(rec.h).details["flagged"] == {"ghost": UNEXPECTED}


@pytest.mark.parametrize(
    ("headers", "rule"),
    [((None, None), NO_MSG_ID), (("a", "b"), MIXED_IDS), (("m0", "m0"), NOT_DEDUPED)],
)
def test_a_duplicate_is_invalid_under_the_rule_its_copies_show(
    headers: tuple[str | None, str | None], rule: str
) -> None:
    rec = Rec()
    _pub(rec, "m0", 1, attempts=2)
    _stored(rec, "m0", 1, headers[0])
    _stored(rec, "m0", 2, headers[1])
    _read(rec)
    result = check_stream(rec.h)
    assert result.valid is False
    assert result.details["flagged"]["m0"].startswith(rule)
    assert f"1 {rule}: m0 x2" in result.message


def test_a_retry_past_the_duplicate_window_is_allowed() -> None:
    rec = Rec()
    _pub(rec, "m0", 1, attempts=3, t=0.0, done=5.0)
    _stored(rec, "m0", 1)
    _stored(rec, "m0", 2)
    _read(rec, window=2.0)
    result = check_stream(rec.h)
    assert result.valid is True, result.message
    assert result.details["allowed"]["m0"].startswith(PAST_WINDOW)


def test_at_least_once_allows_a_resent_duplicate_but_not_more_copies_than_sends() -> None:
    rec = Rec()
    _pub(rec, "resent", 1, attempts=2, msg_id=False)
    _stored(rec, "resent", 1, None)
    _stored(rec, "resent", 2, None)
    _pub(rec, "once", 3, attempts=1, msg_id=False)
    _stored(rec, "once", 3, None)
    _stored(rec, "once", 4, None)
    _read(rec)
    result = check_stream(rec.h, exactly_once=False)
    assert result.valid is False
    assert result.details["allowed"]["resent"].startswith(AT_LEAST_ONCE)
    assert result.details["flagged"]["once"].startswith(OVER_SENT)
    assert check_stream(rec.h).details["flagged"]["resent"].startswith(NO_MSG_ID)


def test_retry_events_count_as_sends_when_the_ack_has_no_attempts() -> None:
    rec = Rec()
    rec.op(
        "publish",
        {"id": "m0", "jetstream": True, "msg_id": False},
        result={"id": "m0", "stream": "S", "seq": 1},
    )
    rec.event("jetstream_retry", message_ids=["m0"], attempt=1)
    _stored(rec, "m0", 1, None)
    _stored(rec, "m0", 2, None)
    _read(rec)
    result = check_stream(rec.h, exactly_once=False)
    assert result.valid is True, result.message
    assert result.details["resent"] == ["m0"]


def test_unknown_without_publishes_without_a_read_or_with_nothing_decided() -> None:
    assert check_stream(Rec().h).valid == "unknown"
    rec = _base()
    assert "could not be read" in check_stream(rec.h).message
    _read(rec, ok=False)
    assert check_stream(rec.h).valid == "unknown"
    rec = Rec()
    _pub(rec, "m0", None, outcome="info")
    _read(rec)
    assert check_stream(rec.h).valid == "unknown"


def test_a_stream_filter_judges_only_that_stream() -> None:
    rec = _base()
    _read(rec)
    assert check_stream(rec.h, stream="OTHER").valid == "unknown"
    assert check_stream(rec.h, stream="S").valid is True


def test_accounting_leaves_jetstream_publishes_to_the_stream_checker() -> None:
    from nats_fault_harness.checkers import check_accounting

    rec = _base()
    _read(rec)
    assert check_accounting(rec.h).valid == "unknown"  # nothing of its own to account
    rec.publish("core-1")
    rec.receive("core-1")
    result = check_accounting(rec.h)
    assert result.valid is True, result.message
    assert result.details["counts"]["attempted"] == 1


def test_retry_errors_are_counted_by_type_and_err_code() -> None:
    rec = _base(1)
    rec.event("jetstream_retry", message_ids=["m0"], error="TimeoutError: nats: timeout")
    rec.event(
        "jetstream_retry",
        message_ids=["m0"],
        error="APIError: nats: APIError: code=409 err_code=10158 description='in process'",
    )
    _read(rec)
    details = check_stream(rec.h).details
    assert details["retry_errors"] == {"TimeoutError": 1, "APIError 10158": 1}
    assert details["resent"] == ["m0"]
