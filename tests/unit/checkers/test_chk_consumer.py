"""The consumer checker on hand-built histories: each rule, what allows it, and unknown.

The scenarios (``scenarios/jetstream-consume-*.yaml``) and the mutants of
``tests/mutants/jetstream_consumers.py`` check the same rules on real runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import check_consumer
from nats_fault_harness.checkers._consumer import RULES

DRIVER = "driver"


def _input(rec: Rec, mid: str, seq: int | None, t: float) -> None:
    value = {"id": mid, "mode": "jetstream", "subject": "orders"}
    if seq is None:
        rec.op("input", value, "info", process=DRIVER, t=t, done=t + 0.01)
        return
    result = {"id": mid, "stream": "S", "seq": seq, "duplicate": False, "attempts": 1}
    rec.op("input", value, "ok", process=DRIVER, result=result, t=t, done=t + 0.01)


def _output(rec: Rec, mid: str | None, t: float, payload_id: Any = "same") -> None:
    pid = mid if payload_id == "same" else payload_id
    rec.op("output", {"id": mid, "payload_id": pid}, process=DRIVER, t=t)


def _ledger(rec: Rec, kind: str, seq: int, deliveries: int = 1) -> None:
    rec.event(f"consumer_{kind}", client=DRIVER, stream_seq=seq, deliveries=deliveries)


def _read(rec: Rec, ok: bool = True, **state: Any) -> None:
    detail: dict[str, Any] = {"stream": "S", "consumer": "C", "ok": ok, "max_deliver": -1}
    if ok:
        detail |= {"num_pending": 0, "num_ack_pending": 0, "ack_floor_seq": 0}
    rec.event("consumer_read", client="runner", **(detail | state))


def _processed(rec: Rec, n: int) -> None:
    for i in range(n):
        _input(rec, f"i{i}", i + 1, t=i * 0.1)
        _output(rec, f"i{i}", t=i * 0.1 + 0.05)
        _ledger(rec, "ack", i + 1)


def test_every_message_processed_once_is_valid() -> None:
    rec = Rec()
    _processed(rec, 5)
    _read(rec)
    result = check_consumer(rec.h, ordered=True)
    assert result.valid is True, result.message
    assert result.details["processed"] == 5


def test_no_acknowledged_input_is_unknown() -> None:
    rec = Rec()
    _input(rec, "i0", None, t=0.0)
    _read(rec)
    result = check_consumer(rec.h)
    assert result.valid == "unknown"
    assert "no input was acknowledged" in result.message


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        ("ack", "acked without its effect"),
        ("term", "terminated without its effect"),
        ("max_deliveries", "given up after max_deliver without its effect"),
    ],
)
def test_a_message_settled_without_its_effect_is_invalid(kind: str, rule: str) -> None:
    rec = Rec()
    _processed(rec, 3)
    _input(rec, "lost", 4, t=1.0)
    _ledger(rec, "nak", 4, 1)
    _ledger(rec, kind, 4, 2)
    _read(rec)
    result = check_consumer(rec.h)
    assert result.valid is False
    assert result.details["flagged"] == {"lost": f"{rule} (#4, 2 deliveries)"}


def test_no_effect_and_no_ledger_entry_is_judged_by_the_consumer_state() -> None:
    rec = Rec()
    _processed(rec, 2)
    _input(rec, "late", 3, t=1.0)
    _read(rec, num_ack_pending=1)
    assert check_consumer(rec.h).details["flagged"] == {"late": "never processed (#3)"}

    rec = Rec()
    _processed(rec, 2)
    _input(rec, "gone", 3, t=1.0)
    _read(rec)  # nothing pending: the server is done with it
    assert check_consumer(rec.h).details["flagged"] == {"gone": "consumed without its effect (#3)"}


def test_no_effect_and_an_unreadable_consumer_is_unknown() -> None:
    rec = Rec()
    _processed(rec, 2)
    _input(rec, "x", 3, t=1.0)
    _read(rec, ok=False, error="TimeoutError")
    result = check_consumer(rec.h)
    assert result.valid == "unknown"
    assert "could not be read" in result.message
    assert "TimeoutError" in result.message


def test_a_duplicate_effect_is_invalid_unless_at_least_once() -> None:
    rec = Rec()
    _processed(rec, 3)
    _output(rec, "i1", t=2.0)  # processed again after a redelivery
    _ledger(rec, "ack", 2, 2)
    _read(rec)
    strict = check_consumer(rec.h)
    assert strict.valid is False
    assert strict.details["flagged"]["i1"].startswith("processed more than once (2 times")
    loose = check_consumer(rec.h, exactly_once=False)
    assert loose.valid is True, loose.message
    assert loose.details["allowed"]["i1"].startswith("redelivered: processed again")


def test_more_effects_than_max_deliver_is_invalid_in_both_modes() -> None:
    rec = Rec()
    _processed(rec, 2)
    for k in range(3):
        _output(rec, "i0", t=2.0 + k)
    _read(rec, max_deliver=3)
    for exactly_once in (True, False):
        flagged = check_consumer(rec.h, exactly_once=exactly_once).details["flagged"]
        assert flagged == {"i0": "processed more often than max_deliver allows (4 > 3)"}


def test_out_of_order_first_effects_are_invalid_when_ordered() -> None:
    rec = Rec()
    for i, seq in enumerate((1, 2, 3)):
        _input(rec, f"i{i}", seq, t=i * 0.1)
    _output(rec, "i0", t=1.0)
    _output(rec, "i2", t=1.1)
    _output(rec, "i1", t=1.2)  # #2 after #3
    _output(rec, "i0", t=1.3)
    _read(rec)
    result = check_consumer(rec.h, ordered=True, exactly_once=False)
    assert result.details["flagged"] == {"i1": "first processed out of stream order (#2 after #3)"}
    assert check_consumer(rec.h, exactly_once=False).valid is True


@pytest.mark.parametrize(
    ("mid", "payload"), [("nobody", "same"), ("i0", "i1")], ids=["unknown", "crossed"]
)
def test_an_effect_for_no_input_is_invalid(mid: str, payload: str) -> None:
    rec = Rec()
    _processed(rec, 2)
    _output(rec, mid, t=3.0, payload_id=payload)
    _read(rec)
    result = check_consumer(rec.h, exactly_once=False)
    assert result.valid is False
    assert list(result.details["flagged"].values()) == ["an effect for no input"]


def test_every_rule_is_listed() -> None:
    assert len(set(RULES)) == len(RULES) == 10
