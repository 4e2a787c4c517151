"""Exceptions: typed errors with fields and an explicit cause, in time, and only when due."""

from __future__ import annotations

from functools import partial

import pytest
from chk_records import NATSRequestError, Rec

from nats_fault_harness.checkers import UNKNOWN, check_exceptions
from nats_fault_harness.history import ErrorInfo, History

check_requests = partial(
    check_exceptions,
    f="request",
    expected_types={"NATSRequestError"},
    required_fields=("subject", "timeout"),
)

EXPECT = {"subject": "svc.echo", "expect_error": True}


def _request_error(subject: str = "svc.echo", timeout: float = 0.5) -> NATSRequestError:
    try:
        try:
            raise TimeoutError("nats: timeout")
        except TimeoutError as exc:
            raise NATSRequestError(subject, timeout) from exc
    except NATSRequestError as err:
        return err


def _implicit_error() -> NATSRequestError:
    """Raised inside an ``except`` block without ``from``: only ``__context__`` is set."""
    try:
        try:
            raise TimeoutError("nats: timeout")
        except TimeoutError:
            raise NATSRequestError("svc.echo", 0.5)  # noqa: B904 - the defect under test
    except NATSRequestError as err:
        return err


class CausedError(NATSRequestError):
    """A typed error that keeps its cause as an attribute, as the reference's do."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__("svc.echo", 0.5)
        self.cause = cause


# ---------------------------------------------------------------------- typed errors
def test_typed_errors_with_fields_and_cause_are_valid(rec: Rec) -> None:
    rec.op("request", {"subject": "svc.echo"}, result={"reply": "hi"})
    rec.op("request", EXPECT, "fail", error=_request_error())
    rec.op("request", EXPECT, "info", error=_request_error())
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
    rec.op("request", {"expect_error": True}, "fail", error=TimeoutError("nats: timeout"))
    rec.op("request", {"expect_error": True}, "fail", error=NATSRequestError("svc.echo", 0.5))
    rec.op("request", {"expect_error": True}, "info")
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


def test_a_field_set_to_none_is_missing_and_not_listed_as_present(rec: Rec) -> None:
    rec.op("request", EXPECT, "info", error=NATSRequestError(None, 0.5))  # type: ignore[arg-type]
    r = check_requests(rec.h)
    assert r.valid is False
    assert r.details["problems"][0]["problem"] == (
        "NATSRequestError lacks fields ['subject'] (has ['timeout']; ['subject'] set to None)"
    )


def test_qualified_type_name_is_accepted(rec: Rec) -> None:
    rec.op("request", EXPECT, "fail", error=_request_error())
    r = check_exceptions(rec.h, f="request", expected_types={"chk_records.NATSRequestError"})
    assert r.valid is True, r.message


def test_no_operations_is_unknown(rec: Rec) -> None:
    rec.op("publish", {"id": "m1"})
    assert check_requests(rec.h).valid == UNKNOWN


# ---------------------------------------------------------------------- matching fields
def test_the_error_must_name_the_subject_and_timeout_the_request_used(rec: Rec) -> None:
    used = {"subject": "svc.echo", "timeout": 0.5, "expect_error": True}
    rec.op("request", used, "info", error=_request_error("svc.echo", 0.5))
    rec.op("request", used, "info", error=_request_error("", 0.5))
    rec.op("request", used, "info", error=_request_error("svc.echo", 5.0))
    r = check_requests(rec.h)
    assert r.valid is False
    problems = {p["op_id"]: p["problem"] for p in r.details["problems"]}
    assert sorted(problems) == [2, 3]
    assert problems[2] == "NATSRequestError.subject is '', but the operation used 'svc.echo'"
    assert problems[3] == "NATSRequestError.timeout is 5.0, but the operation used 0.5"


def test_fields_are_matched_only_where_both_sides_have_them(rec: Rec) -> None:
    rec.op("request", {"expect_error": True}, "info", error=_request_error("a.b", 0.5))
    rec.op("request", {"subject": "a.b", "expect_error": True}, "info", error=_request_error())
    assert check_requests(rec.h, match_fields=[]).valid is True
    r = check_requests(rec.h)
    assert r.valid is False
    assert [p["op_id"] for p in r.details["problems"]] == [2]


def test_an_integer_timeout_matches_its_float(rec: Rec) -> None:
    rec.op(
        "request", {"timeout": 1, "expect_error": True}, "info", error=_request_error(timeout=1.0)
    )
    assert check_requests(rec.h).valid is True


# ---------------------------------------------------------------------- explicit causes
def test_an_implicit_context_is_not_a_chained_cause(rec: Rec) -> None:
    rec.op("request", EXPECT, "info", error=_implicit_error())
    assert check_requests(rec.h).valid is True  # only require_cause asks for it
    r = check_requests(rec.h, require_cause=True)
    assert r.valid is False
    assert (
        "NATSRequestError does not chain its cause: only the implicit context (TimeoutError)"
        in r.message
    )


def test_a_cause_attribute_counts_as_a_chained_cause(rec: Rec) -> None:
    try:
        raise TimeoutError("nats: timeout")
    except TimeoutError as exc:
        err = CausedError(exc)  # kept as .cause, raised without ``from``
    rec.op("request", EXPECT, "info", error=err)
    rec.op("request", EXPECT, "info", error=CausedError(None))
    r = check_requests(rec.h, require_cause=True, expected_types=["CausedError"])
    assert r.valid is False
    assert [p["op_id"] for p in r.details["problems"]] == [2]
    assert r.details["problems"][0]["problem"] == "CausedError has no cause"


def test_error_info_records_how_the_cause_was_linked() -> None:
    explicit, implicit = ErrorInfo.of(_request_error()), ErrorInfo.of(_implicit_error())
    assert (explicit.cause_link, implicit.cause_link) == ("explicit", "implicit")
    assert implicit.cause is not None
    assert implicit.cause.type == "TimeoutError"
    try:
        try:
            raise TimeoutError("nats: timeout")
        except TimeoutError:
            raise NATSRequestError("svc.echo", 0.5) from None
    except NATSRequestError as err:
        suppressed = ErrorInfo.of(err)
    assert (suppressed.cause, suppressed.cause_link) == (None, None)
    assert ErrorInfo.of(ValueError("x")).cause_link is None


def test_cause_links_survive_json_and_old_records_are_undecided(rec: Rec) -> None:
    rec.op("request", EXPECT, "info", error=_implicit_error())
    rec.op("request", EXPECT, "info", error=_request_error())
    again = History.from_json(rec.h.to_json())
    r = check_requests(again, require_cause=True)
    assert [p["op_id"] for p in r.details["problems"]] == [1]
    old = rec.h.to_dict()
    for record in old["records"]:
        if record.get("error"):
            del record["error"]["cause_link"]  # written before the link was recorded
    r = check_requests(History.from_dict(old), require_cause=True)
    assert r.valid == UNKNOWN
    assert "has a cause recorded without how it was linked" in r.message


# ---------------------------------------------------------------------- deadlines
def _timed(rec: Rec, t: float, took: float, outcome: str = "info", timeout: float = 0.4) -> None:
    value = {"subject": "svc.echo", "timeout": timeout, "expect_error": True}
    error = _request_error(timeout=timeout) if outcome != "ok" else None
    rec.op("request", value, outcome, error=error, t=t, done=t + took, result={"bytes": 3})


def test_operations_ending_within_their_timeout_plus_slack_are_valid(rec: Rec) -> None:
    _timed(rec, 1.0, 0.41)
    _timed(rec, 2.0, 0.85)  # the slack (0.5 s) is for a loaded machine's timers
    _timed(rec, 3.0, 0.01, "ok")
    r = check_requests(rec.h)
    assert r.valid is True, r.message
    assert r.details["counts"]["deadline_checked"] == 3
    assert r.details["timing"]["max_overrun_s"] == pytest.approx(0.45)


def test_an_operation_ending_past_its_timeout_is_invalid_ok_or_not(rec: Rec) -> None:
    _timed(rec, 1.0, 1.57, "ok")  # a held reply returned late: the timeout never applied
    _timed(rec, 3.0, 2.0)
    r = check_requests(rec.h)
    assert r.valid is False
    problems = [p["problem"] for p in r.details["problems"]]
    assert problems == [
        "ended ok after 1.570s, past its bound 0.900s (timeout 0.4s + slack 0.5s)",
        "ended info after 2.000s, past its bound 0.900s (timeout 0.4s + slack 0.5s)",
    ]
    assert r.details["counts"]["late"] == 2


def test_the_slack_is_a_parameter(rec: Rec) -> None:
    _timed(rec, 1.0, 1.57, "ok")
    assert check_requests(rec.h, timeout_slack_s=1.5).valid is True
    assert check_requests(rec.h, timeout_slack_s=0.1).valid is False


def test_loop_stalls_during_the_operation_extend_its_bound(rec: Rec) -> None:
    _timed(rec, 1.0, 1.2)
    assert check_requests(rec.h).valid is False
    stall = {"t": 1.9, "lag_ms": 400.0}  # the loop was kept from running 1.49-1.89 s
    elsewhere = {"t": 5.0, "lag_ms": 900.0}
    rec.event("loop_lag", interval_ms=10.0, worst=[elsewhere, stall], max_ms=900.0)
    r = check_requests(rec.h)
    assert r.valid is True, r.message


def test_an_abandoned_operation_is_late(rec: Rec) -> None:
    rec.at(1.0)
    op = rec.h.invoke("svc", "request", {"subject": "svc.echo", "timeout": 0.4})
    rec.at(6.4)
    op.info(value={"abandoned": True, "waited_s": 5.4})
    r = check_requests(rec.h)
    assert r.valid is False
    assert r.details["problems"][0]["problem"] == (
        "abandoned by the harness after 5.400s (bound 0.900s = timeout 0.4s + slack 0.5s)"
    )
    assert r.details["counts"]["abandoned"] == 1
    r = check_requests(rec.h, timeout_slack_s=10.0)
    assert r.valid == UNKNOWN
    assert "abandoned by the harness after 5.400s, before its bound 10.400s" in r.message


def test_an_operation_that_never_ended_is_late_once_its_bound_passed(rec: Rec) -> None:
    rec.op("request", {"subject": "svc.echo", "timeout": 0.4}, "pending", t=1.0)
    rec.event("stats", t=1.5)
    r = check_requests(rec.h)
    assert r.valid == UNKNOWN
    assert "never ended after 0.500s, before its bound 0.900s" in r.message
    rec.event("stats", t=3.0)
    r = check_requests(rec.h)
    assert r.valid is False
    assert "never ended after 2.000s (bound 0.900s" in r.message


def test_operations_without_a_numeric_timeout_have_no_deadline(rec: Rec) -> None:
    rec.op(
        "request",
        {"timeout": "soon", "expect_error": True},
        "info",
        error=_request_error(),
        done=9.0,
    )
    rec.op(
        "request",
        {"timeout": True, "expect_error": True},
        "info",
        error=_request_error(),
        done=19.0,
    )
    r = check_requests(rec.h, match_fields=())
    assert r.valid is True, r.message
    assert r.details["counts"]["deadline_checked"] == 0


# ---------------------------------------------------------------------- unexpected errors
def _fault(rec: Rec, start: float, end: float | None, kind: str = "blackhole") -> None:
    fid = rec.at(start).h.fault_started(kind, "link")
    if end is not None:
        rec.at(end).h.fault_ended(fid)


def _fails(rec: Rec, t: float, took: float = 0.4) -> None:
    rec.op("request", {"subject": "svc.echo"}, "info", error=_request_error(), t=t, done=t + took)


def test_a_failure_on_a_healthy_link_before_any_fault_is_a_false_error(rec: Rec) -> None:
    rec.event("connected", t=0.1, member="svc-main")
    _fails(rec, 1.0)
    _fault(rec, 5.0, 6.0)
    r = check_requests(rec.h)
    assert r.valid is False
    assert r.details["problems"][0]["problem"] == (
        "failed on a healthy link (t=1.000-1.400s; no fault had been applied; "
        "recovery_s=2.0s) and was not marked expect_error: a false error"
    )
    assert r.details["counts"]["unexpected"] == 1


def test_failures_in_a_window_its_recovery_margin_or_marked_are_due(rec: Rec) -> None:
    rec.event("connected", t=0.1, member="svc-main")
    _fails(rec, 1.8)  # invoked before the fault, failed inside it
    _fault(rec, 2.0, 3.0)
    _fails(rec, 2.5)
    _fails(rec, 4.9)  # within recovery_s (2 s) of the heal
    rec.op("request", EXPECT, "info", error=_request_error(), t=9.0, done=9.4)
    rec.op("request", {"subject": "svc.echo"}, result={"bytes": 3}, t=9.5, done=9.51)
    r = check_requests(rec.h)
    assert r.valid is True, r.message
    assert r.details["counts"]["healthy"] == 1
    _fails(rec, 10.0)  # 7 s after the heal, the service connected all along
    r = check_requests(rec.h)
    assert r.valid is False
    assert "the last fault healed at t=3.000s, 7.000s before" in r.message


def test_the_recovery_margin_is_a_parameter(rec: Rec) -> None:
    rec.event("connected", t=0.1)
    _fault(rec, 2.0, 3.0)
    _fails(rec, 4.9)
    assert check_requests(rec.h).valid is True
    assert check_requests(rec.h, recovery_s=0.5).valid is False


def test_a_disconnect_that_began_in_a_fault_lasts_until_the_reconnect(rec: Rec) -> None:
    rec.event("connected", t=0.1, member="svc-main")
    _fault(rec, 1.0, 2.0, kind="kill")
    rec.event("disconnected", t=1.01, member="svc-main")
    rec.event("disconnected", t=1.02, member="svc-pool-0")
    rec.event("reconnected", t=2.5, member="svc-pool-0")
    _fails(rec, 5.0)  # svc-main is still away
    rec.event("reconnected", t=7.0, member="svc-main")
    _fails(rec, 8.5)  # within recovery_s of the reconnect
    r = check_requests(rec.h)
    assert r.valid is True, r.message
    _fails(rec, 9.5)
    r = check_requests(rec.h)
    assert r.valid is False
    assert [p["op_id"] for p in r.details["problems"]] == [3]


def test_a_disconnect_far_from_every_fault_makes_its_failures_undecided(rec: Rec) -> None:
    rec.event("connected", t=0.1)
    rec.event("disconnected", t=1.0)
    _fails(rec, 1.2)
    rec.event("reconnected", t=1.5)
    r = check_requests(rec.h)
    assert r.valid == UNKNOWN
    assert "failed while svc disconnected t=1.000-1.500s, far from every fault window" in (
        r.message
    )


def test_a_service_without_connection_events_is_undecided_after_a_fault(rec: Rec) -> None:
    _fails(rec, 1.0)  # before any fault: nothing can excuse it
    _fault(rec, 2.0, 3.0)
    _fails(rec, 6.0)
    r = check_requests(rec.h)
    assert r.valid is False
    assert [p["op_id"] for p in r.details["problems"]] == [1]
    assert [p["op_id"] for p in r.details["undecided"]] == [2]
    assert (
        "svc reports no connection events: cannot tell whether it had reconnected"
        in (r.details["undecided"][0]["problem"])
    )
    rec2 = Rec()
    _fault(rec2, 2.0, 3.0)
    _fails(rec2, 6.0)
    assert check_requests(rec2.h).valid == UNKNOWN


def test_an_open_fault_excuses_everything_after_it(rec: Rec) -> None:
    rec.event("connected", t=0.1)
    _fault(rec, 1.0, None, kind="down")
    _fails(rec, 30.0)
    assert check_requests(rec.h).valid is True


def test_ok_operations_on_a_healthy_link_decide_the_rule(rec: Rec) -> None:
    rec.op("unsubscribe", {"subject": "a"}, "ok_none", t=1.0, done=1.01)
    r = check_exceptions(rec.h, f="unsubscribe", expected_types=["NATSUnsubscribeError"])
    assert r.valid is True, r.message
    assert "1 on a healthy link, none failed" in r.message
    rec.op("unsubscribe", {"subject": "b"}, "fail", error=ValueError("closed"), t=2.0, done=2.01)
    r = check_exceptions(rec.h, f="unsubscribe", expected_types=["ValueError"])
    assert r.valid is False
    assert "failed on a healthy link" in r.message
