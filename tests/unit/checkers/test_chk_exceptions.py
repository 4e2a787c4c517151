"""Exceptions: typed errors with fields and cause; no False/None instead of raising."""

from __future__ import annotations

from functools import partial

from chk_records import NATSRequestError, Rec

from harness.checkers import UNKNOWN, check_exceptions

check_requests = partial(
    check_exceptions,
    f="request",
    expected_types={"NATSRequestError"},
    required_fields=("subject", "timeout"),
)


def _request_error() -> NATSRequestError:
    try:
        try:
            raise TimeoutError("nats: timeout")
        except TimeoutError as exc:
            raise NATSRequestError("svc.echo", 0.5) from exc
    except NATSRequestError as err:
        return err


def test_typed_errors_with_fields_and_cause_are_valid(rec: Rec) -> None:
    rec.op("request", {"subject": "svc.echo"}, result={"reply": "hi"})
    rec.op("request", {"subject": "svc.echo"}, "fail", error=_request_error())
    rec.op("request", {"subject": "svc.echo"}, "info", error=_request_error())
    r = check_requests(rec.h, require_cause=True)
    assert r.valid is True, r.message
    assert r.details["counts"]["checked_errors"] == 2


def test_none_returned_during_a_fault_window_is_invalid(rec: Rec) -> None:
    fid = rec.at(1.0).h.fault_started("blackhole", "nats-1")
    rec.op("request", {"subject": "svc.echo"}, "ok_none", t=1.5)
    rec.at(2.0).h.fault_ended(fid)
    rec.op("request", {"subject": "svc.echo"}, "ok_none", t=3.0)  # after the window: allowed
    r = check_requests(rec.h)
    assert r.valid is False
    assert len(r.details["problems"]) == 1
    assert (
        "op 1 (svc, t=1.500s): returned None instead of raising "
        "(during fault blackhole on nats-1 from t=1.000s)" in r.message
    )


def test_false_returned_when_marked_expect_error_is_invalid(rec: Rec) -> None:
    rec.op("unsubscribe", {"sid": 3, "expect_error": True}, result=False)
    r = check_exceptions(rec.h, f="unsubscribe", expected_types={"NATSUnsubscribeError"})
    assert r.valid is False
    assert "returned False instead of raising (marked expect_error)" in r.message


def test_wrong_type_missing_fields_missing_cause_and_no_error(rec: Rec) -> None:
    rec.op("request", {}, "fail", error=TimeoutError("nats: timeout"))
    rec.op("request", {}, "fail", error=NATSRequestError("svc.echo", 0.5))
    rec.op("request", {}, "info")
    r = check_requests(
        rec.h, required_fields=("subject", "timeout", "attempts"), require_cause=True
    )
    assert r.valid is False
    problems = [p["problem"] for p in r.details["problems"]]
    assert problems[0].startswith(
        "raised TimeoutError ('nats: timeout'), expected ['NATSRequestError']"
    )
    assert "TimeoutError lacks fields ['subject', 'timeout', 'attempts']" in problems[0]
    assert problems[1] == (
        "NATSRequestError lacks fields ['attempts'] (has ['subject', 'timeout']); "
        "NATSRequestError has no cause"
    )
    assert problems[2] == "ended info with no error recorded"
    assert r.message.startswith("3 bad 'request' outcomes: op 1 (svc, t=0.000s): raised")


def test_qualified_type_name_is_accepted(rec: Rec) -> None:
    rec.op("request", {}, "fail", error=_request_error())
    r = check_exceptions(rec.h, f="request", expected_types={"chk_records.NATSRequestError"})
    assert r.valid is True, r.message


def test_no_operations_is_unknown(rec: Rec) -> None:
    rec.op("publish", {"id": "m1"})
    assert check_requests(rec.h).valid == UNKNOWN
