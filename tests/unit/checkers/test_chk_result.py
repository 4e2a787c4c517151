"""CheckResult, merge_valid, compose, check_safe, run_checkers, summary."""

from __future__ import annotations

import json
from functools import partial

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import (
    CHECKERS,
    UNKNOWN,
    CheckResult,
    check_accounting,
    check_loop_lag,
    check_safe,
    compose,
    make_checker,
    merge_valid,
    run_checkers,
    summary,
)
from nats_fault_harness.history import History


def test_check_result_json_round_trip() -> None:
    for valid in (True, False, UNKNOWN):
        r = CheckResult("x", valid, {"lost": ["a"], "counts": {"n": 1}, "t": 0.5}, "msg")
        back = CheckResult.from_dict(json.loads(json.dumps(r.to_dict())))
        assert back == r
        assert back.valid is valid or back.valid == valid == UNKNOWN


def test_check_result_is_frozen_and_rejects_bad_verdicts() -> None:
    r = CheckResult("x", True)
    with pytest.raises(AttributeError):
        r.valid = False  # type: ignore[misc]
    with pytest.raises(ValueError, match="invalid verdict"):
        CheckResult.from_dict({"name": "x", "valid": "maybe", "details": {}, "message": ""})


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], True),
        ([True, True], True),
        ([True, UNKNOWN], UNKNOWN),
        ([UNKNOWN, False, True], False),
        ([False, UNKNOWN], False),
        ([UNKNOWN, UNKNOWN], UNKNOWN),
    ],
)
def test_merge_valid_priority(verdicts: list[bool | str], expected: bool | str) -> None:
    assert merge_valid(verdicts) == expected  # type: ignore[arg-type]


def test_compose_lists_every_result_that_is_not_valid() -> None:
    results = [
        CheckResult("a", True, {}, "fine"),
        CheckResult("b", UNKNOWN, {}, "no data"),
        CheckResult("c", False, {}, "2 lost: m1, m2"),
    ]
    out = compose(results)
    assert out.valid is False
    assert out.message == "b: unknown: no data\nc: INVALID: 2 lost: m1, m2"
    assert [r["name"] for r in out.details["results"]] == ["a", "b", "c"]
    assert compose(results[:2]).valid == UNKNOWN
    assert compose(results[:1]).valid is True
    assert compose(results[:1]).message == "all 1 checks valid"


def test_check_safe_turns_an_exception_into_unknown() -> None:
    def check_boom(history: History) -> CheckResult:
        raise KeyError("missing detail")

    r = check_safe(check_boom, History())
    assert r.valid == UNKNOWN
    assert r.name == "boom"
    assert r.details["error"]["type"] == "KeyError"
    assert "missing detail" in r.message
    json.dumps(r.to_dict())


def test_check_safe_rejects_a_non_result_and_names_partials() -> None:
    r = check_safe(lambda h: {"valid": True}, History(), name="bad")  # type: ignore[arg-type,return-value]
    assert (r.name, r.valid) == ("bad", UNKNOWN)
    assert check_safe(partial(check_loop_lag, threshold_ms=5), History()).name == "loop_lag"


def test_run_checkers_with_names_and_a_crashing_checker(rec: Rec) -> None:
    rec.publish("m1")
    rec.receive("m1")

    def crash(history: History) -> CheckResult:
        return CheckResult("never", 1 / 0 > 0)

    results = run_checkers(rec.h, {"acct": check_accounting, "crash": crash})
    assert [(r.name, r.valid) for r in results] == [("acct", True), ("crash", UNKNOWN)]
    assert compose(results).valid == UNKNOWN
    assert [r.name for r in run_checkers(rec.h, [check_accounting])] == ["accounting"]


def test_summary_counts_per_function_and_outcome(rec: Rec) -> None:
    rec.publish("m1")
    rec.publish("m2", "fail", RuntimeError("x"))
    rec.publish("m3", "info")
    rec.publish("m4", "pending")
    rec.receive("m1")
    assert summary(rec.h) == {
        "publish": {"invoke": 4, "ok": 1, "fail": 1, "info": 1, "pending": 1},
        "receive": {"invoke": 1, "ok": 1, "fail": 0, "info": 0, "pending": 0},
    }


def test_make_checker_binds_params_and_rejects_unknown_ones(rec: Rec) -> None:
    rec.event("loop_lag", max_ms=50.0)
    assert make_checker("loop_lag", {"threshold_ms": 10})(rec.h).valid is False
    assert make_checker("loop_lag")(rec.h).valid is True
    assert set(CHECKERS) == {
        "accounting",
        "outputs",
        "exceptions",
        "backoff",
        "pool",
        "validation",
        "loop_lag",
        "metrics",
        "health",
        "logs",
        "stream",
        "consumer",
    }
    with pytest.raises(KeyError, match="no checker 'latency'"):
        make_checker("latency")
    with pytest.raises(TypeError, match=r"checker 'loop_lag'.*threshold"):
        make_checker("loop_lag", {"threshold": 10})
    with pytest.raises(TypeError, match=r"checker 'exceptions'.*expected_types"):
        make_checker("exceptions", {"f": "request"})
