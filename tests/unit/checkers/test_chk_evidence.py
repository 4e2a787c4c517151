"""The evidence checker on hand-built histories: a valid verdict must be earned."""

from __future__ import annotations

from typing import Any

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import (
    RUN_EVENT,
    RUNNER,
    check_accounting,
    check_evidence,
    check_exceptions,
    compose,
    run_checkers,
)

LINKS = {"link": "shared-1", "member:0": "pool.0-2", "member:1": "pool.1-3"}


def plan(rec: Rec, steps: list[dict[str, Any]], expect_start: str = "ok") -> None:
    rec.at(0.0).h.client_event(
        RUNNER,
        RUN_EVENT,
        {"service": "svc", "expect_start": expect_start, "steps": steps, "links": LINKS},
    )


def step(index: int = 0, label: str = "down on link, at 1 s", instant: bool = False) -> dict:
    return {"step": index, "label": label, "instant": instant}


def conn(
    rec: Rec, proxy: str, cid: int, opened: float, closed: float | None, name: str = ""
) -> None:
    rec.h.proxy_event("connection_opened", {"proxy": proxy, "connection": cid}, t=opened)
    if name:
        rec.h.proxy_event(
            "connection_identified",
            {"proxy": proxy, "connection": cid, "connect_name": name},
            t=opened,
        )
    if closed is not None:
        rec.h.proxy_event("connection_closed", {"proxy": proxy, "connection": cid}, t=closed)


def window(rec: Rec, start: float, end: float | None, *, index: int = 0, **kw: Any) -> None:
    links = kw.pop("links", ("shared-1",))
    kind = kw.pop("kind", "down")
    fid = rec.at(start).h.fault_started(kind, "link:x", kw, step=index, links=links)
    if end is not None:
        rec.at(end).h.fault_ended(fid)


def started(rec: Rec, outcome: str = "ok", error: BaseException | None = None) -> None:
    rec.op("start", {}, outcome, error=error, t=0.1, done=0.2)


def test_a_service_that_never_started_is_invalid(rec: Rec) -> None:
    plan(rec, [])
    started(rec, "fail", RuntimeError("batch_sise is not a setting"))
    r = check_evidence(rec.h)
    assert r.valid is False
    assert "failed to start (RuntimeError: batch_sise is not a setting)" in r.message


def test_a_start_expected_to_fail_that_succeeds_is_invalid(rec: Rec) -> None:
    plan(rec, [], expect_start="fail")
    started(rec)
    r = check_evidence(rec.h)
    assert r.valid is False
    assert "expects the start to fail" in r.message


def test_no_start_operation_is_invalid_and_no_plan_is_unknown(rec: Rec) -> None:
    assert check_evidence(rec.h).valid == "unknown"
    plan(rec, [])
    assert check_evidence(rec.h).valid is False


def test_a_declared_fault_that_never_fired_is_unknown(rec: Rec) -> None:
    plan(rec, [step(0, "kill on server, after reconnect #3")])
    started(rec)
    rec.op("publish", {"id": "a"}, t=1.0, done=1.1)
    r = check_evidence(rec.h)
    assert r.valid == "unknown"
    assert r.message == "fault 0 (kill on server, after reconnect #3) was never applied"


def test_a_fault_on_a_link_the_service_never_used_is_unknown(rec: Rec) -> None:
    plan(rec, [step(0, "break_members on pool, at 1 s")])
    started(rec)
    conn(rec, "shared-1", 1, 0.15, None, "svc-main")
    window(rec, 1.0, 2.0, kind="pool_break", links=("pool.1-3",), how="blackhole")
    rec.op("publish", {"id": "a"}, t=1.5, done=1.6)
    r = check_evidence(rec.h)
    assert r.valid == "unknown"
    assert "did not reach the service" in r.message
    assert "shared-1#1 (svc-main)" in r.message  # what it did use
    assert "pool.1-3" in r.message


def test_a_connection_crossing_the_window_is_evidence(rec: Rec) -> None:
    plan(rec, [step()])
    started(rec)
    conn(rec, "shared-1", 1, 0.15, 1.0001, "svc-main")  # cut by the fault
    window(rec, 1.0, 2.0)
    rec.op("publish", {"id": "a"}, t=1.5, done=2.5)
    r = check_evidence(rec.h)
    assert r.valid is True, r.message
    assert r.details["steps"][0]["windows"][0]["hit"] == ["shared-1#1 (svc-main)"]


def test_connections_closed_before_or_opened_after_the_window_are_not(rec: Rec) -> None:
    plan(rec, [step()])
    started(rec)
    conn(rec, "shared-1", 1, 0.15, 0.9)
    conn(rec, "shared-1", 2, 2.1, None)
    window(rec, 1.0, 2.0)
    rec.op("publish", {"id": "a"}, t=1.5, done=2.5)
    assert check_evidence(rec.h).valid == "unknown"


def test_a_connect_name_fault_counts_only_matching_connections(rec: Rec) -> None:
    plan(rec, [step(0, "blackhole on link, at 1 s")])
    started(rec)
    conn(rec, "shared-1", 1, 0.15, None, "other-client")
    window(rec, 1.0, 2.0, kind="blackhole", connect_name="svc-*")
    rec.op("publish", {"id": "a"}, t=1.5, done=1.6)
    assert check_evidence(rec.h).valid == "unknown"
    conn(rec, "shared-1", 2, 0.2, None, "svc-main")
    assert check_evidence(rec.h).valid is True


def test_a_fault_beside_an_idle_service_is_unknown(rec: Rec) -> None:
    plan(rec, [step(0, "latency on link, at 5 s, for 1 s")])
    started(rec)
    conn(rec, "shared-1", 1, 0.15, None)
    rec.op("publish", {"id": "a"}, t=1.0, done=1.1)
    window(rec, 5.0, 6.0, kind="latency", ms=100)
    r = check_evidence(rec.h)
    assert r.valid == "unknown"
    assert "the service did nothing" in r.message


def test_an_instant_fault_needs_no_overlapping_operation(rec: Rec) -> None:
    plan(rec, [step(0, "reset on link, at 1 s", instant=True)])
    started(rec)
    conn(rec, "shared-1", 1, 0.15, 1.0)
    window(rec, 1.0, 1.0, kind="reset")
    assert check_evidence(rec.h).valid is True


def test_a_refused_member_counts_when_the_service_reports_it_failed(rec: Rec) -> None:
    plan(rec, [step(0, "break_members on pool, at 0 s")])
    window(rec, 0.05, 3.0, kind="pool_break", links=("pool.1-3",), how="down")
    started(rec)
    conn(rec, "pool.0-2", 1, 0.15, None)
    rec.op("publish", {"id": "a"}, t=1.5, done=1.6)
    assert check_evidence(rec.h).valid == "unknown"  # nothing says it tried member 1
    rec.h.client_event("svc", "pool_initialized", {"failed": {"1": "refused"}})
    assert check_evidence(rec.h).valid is True


def test_a_service_kept_out_entirely_by_a_down_link(rec: Rec) -> None:
    plan(rec, [step()], expect_start="fail")
    window(rec, 0.05, 2.0)
    started(rec, "fail", ConnectionRefusedError("refused"))
    r = check_evidence(rec.h)
    assert r.valid is True, r.message
    assert "failed to start, as expected" in r.message


def test_dial_failures_at_the_proxy_are_attempts(rec: Rec) -> None:
    plan(rec, [step(0, "kill on server, at 1 s, for 1 s")])
    started(rec)
    window(rec, 1.0, 2.0, kind="kill")
    rec.h.proxy_event("connection_failed", {"proxy": "shared-1", "connection": 3}, t=1.5)
    rec.op("publish", {"id": "a"}, "fail", error=OSError("down"), t=1.4, done=1.6)
    assert check_evidence(rec.h).valid is True


def test_events_the_proxy_dropped_are_named(rec: Rec) -> None:
    plan(rec, [step()])
    started(rec)
    window(rec, 1.0, 2.0, kind="latency")
    rec.h.proxy_event("events_dropped", {"dropped": 12})
    r = check_evidence(rec.h)
    assert r.valid == "unknown"
    assert "dropped 12 events" in r.message


def test_checkers_that_decided_on_nothing_are_unknown(rec: Rec) -> None:
    rec.op("request", {}, "ok", result={"reply": "x"}, t=1.0, done=1.1)
    assert check_accounting(rec.h).valid == "unknown"
    r = check_exceptions(rec.h, f="unsubscribe", expected_types=["NATSUnsubscribeError"])
    assert r.valid == "unknown"
    assert "no 'unsubscribe' operations" in r.message
    # one request that succeeded on a healthy link did decide something: no false error
    healthy = check_exceptions(rec.h, f="request", expected_types=["NATSRequestError"])
    assert healthy.valid is True
    fid = rec.at(2.0).h.fault_started("blackhole", "link:x")
    rec.op("request", {}, "ok", result={"reply": "y"}, t=2.1, done=2.2)
    rec.at(3.0).h.fault_ended(fid)
    assert check_exceptions(rec.h, f="request", expected_types=["E"]).valid is True


@pytest.mark.parametrize("verdict", [True, False, "unknown"])
def test_evidence_composes_with_the_other_checkers(rec: Rec, verdict: object) -> None:
    plan(rec, [])
    started(rec, "ok" if verdict is not False else "fail")
    if verdict != "unknown":  # with nothing published, accounting cannot decide
        rec.publish("a")
        rec.receive("a")
    results = run_checkers(rec.h, {"evidence": check_evidence, "accounting": check_accounting})
    assert compose(results).valid == verdict
