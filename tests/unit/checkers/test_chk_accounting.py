"""Accounting (Jepsen total-queue): lost, unexpected, duplicated, recovered, silently gone."""

from __future__ import annotations

import pytest
from chk_records import Rec
from hypothesis import given, settings
from hypothesis import strategies as st

from nats_fault_harness.checkers import check_accounting, make_checker
from nats_fault_harness.checkers._accounting import RULE_ONCE, RULE_SENDS, RULE_STRICT
from nats_fault_harness.checkers._registry import CheckerParamError
from nats_fault_harness.history import History

FATES = ("delivered", "lost", "kept", "recovered", "reported_failed", "silently_gone", "pending")


def test_all_confirmed_and_received_is_valid(rec: Rec) -> None:
    for mid in ("m1", "m2", "m3"):
        rec.publish(mid)
        rec.receive(mid)
    r = check_accounting(rec.h)
    assert r.valid is True, r.message
    assert r.details["delivered"] == ["m1", "m2", "m3"]
    assert r.details["counts"]["attempted"] == 3


def test_lost_message_is_named_with_its_timing(rec: Rec) -> None:
    rec.at(0.25).publish("m1")
    rec.at(0.5).publish("m2")
    rec.receive("m2")
    r = check_accounting(rec.h)
    assert r.valid is False
    assert r.details["lost"] == ["m1"]
    assert "1 lost (confirmed, never received): m1 (publish ok at t=0.250s)" in r.message


def test_receipt_by_a_non_observer_does_not_count(rec: Rec) -> None:
    rec.publish("m1")
    rec.receive("m1", process="svc-subscriber")
    assert check_accounting(rec.h).details["lost"] == ["m1"]


def test_unexpected_message(rec: Rec) -> None:
    rec.receive("ghost")
    r = check_accounting(rec.h)
    assert r.valid is False
    assert r.details["unexpected"] == ["ghost"]
    assert "unexpected (received, never published): ghost" in r.message


def test_duplicates_invalid_unless_allowed(rec: Rec) -> None:
    rec.publish("m1", "info", TimeoutError("flush timeout"))
    rec.receive("m1")
    rec.receive("m1")
    strict = check_accounting(rec.h)
    assert strict.valid is False
    assert "1 duplicated, exactly once required (allow_duplicates: false): m1 x2" in (
        strict.message
    )
    assert strict.details["duplicates_forbidden"]["m1"].startswith(RULE_STRICT)
    relaxed = check_accounting(rec.h, allow_duplicates=True)
    assert relaxed.valid is True, relaxed.message
    assert relaxed.details["duplicated"] == {"m1": 2}


def test_unknown_or_failed_publish_that_arrives_is_recovered(rec: Rec) -> None:
    rec.publish("m1", "info", TimeoutError("flush timeout"))
    rec.publish("m2", "fail", ConnectionError("down"))
    rec.receive("m1")
    rec.receive("m2")
    r = check_accounting(rec.h)
    assert r.valid is True, r.message
    assert r.details["recovered"] == ["m1", "m2"]


def test_unknown_outcome_not_received_is_not_lost(rec: Rec) -> None:
    rec.publish("m1", "info", TimeoutError("flush timeout"))
    rec.publish("m2", "pending")
    r = check_accounting(rec.h)
    assert r.valid is True, r.message
    assert (r.details["reported_failed"], r.details["pending"]) == (["m1"], ["m2"])


def test_silently_gone_is_a_failure_without_an_error(rec: Rec) -> None:
    rec.at(1.0).publish("m1", "fail")
    r = check_accounting(rec.h)
    assert r.valid is False
    assert r.details["silently_gone"] == ["m1"]
    assert "silently gone (not delivered, not queued, no error): m1 (publish fail at t=1.000s)" in (
        r.message
    )


def test_queued_ids_are_kept_not_lost(rec: Rec) -> None:
    rec.publish("m1")  # confirmed to the caller, then the batch group failed
    rec.publish("m2", "fail")
    rec.queued("m1", "m2")
    r = check_accounting(rec.h)
    assert r.valid is True, r.message
    assert r.details["kept"] == ["m1", "m2"]


def test_ids_still_kept_after_healing_are_forgotten_when_recovery_is_required(rec: Rec) -> None:
    rec.publish("m1", "fail")
    rec.publish("m2", "fail")
    rec.queued("m1", "m2")
    rec.recover("m2")  # the queue forgot m1
    rec.receive("m2")
    assert check_accounting(rec.h).valid is True
    r = check_accounting(rec.h, require_recovered=True)
    assert r.valid is False
    assert r.message.startswith(
        "1 kept in the failed queue, never recovered after the faults healed: m1"
    )


def test_recovery_claim_without_receipt_is_lost(rec: Rec) -> None:
    rec.publish("m1", "fail")
    rec.publish("m2", "fail")
    rec.queued("m1", "m2")
    rec.recover("m1", "m2")
    rec.receive("m2")
    r = check_accounting(rec.h)
    assert r.valid is False
    assert r.details["lost"] == ["m1"]
    assert r.details["recovered"] == ["m2"]


def test_a_retried_id_counts_by_its_best_outcome(rec: Rec) -> None:
    rec.publish("m1", "fail", ConnectionError("down"))
    rec.publish("m1")
    assert check_accounting(rec.h).details["lost"] == ["m1"]


def test_verdict_survives_json_round_trip(rec: Rec) -> None:
    rec.publish("m1")
    rec.publish("m2", "fail")
    rec.receive("m1")
    before = check_accounting(rec.h)
    after = check_accounting(History.from_json(rec.h.to_json()))
    assert before == after
    assert after.details["silently_gone"] == ["m2"]


OUTCOMES = st.sampled_from(["ok", "fail", "info", "pending", "fail_silent"])
MESSAGE = st.tuples(OUTCOMES, st.integers(0, 2), st.booleans(), st.booleans())


def _build(msgs: list[tuple[str, int, bool, bool]], ghosts: int) -> Rec:
    rec = Rec()
    for i, (outcome, receipts, queued, recovered) in enumerate(msgs):
        mid = f"m{i}"
        if outcome == "fail_silent":
            rec.publish(mid, "fail")
        else:
            rec.publish(mid, outcome, RuntimeError("boom"))
        for _ in range(receipts):
            rec.receive(mid)
        if queued:
            rec.queued(mid)
        if recovered:
            rec.recover(mid)
    for g in range(ghosts):
        rec.receive(f"ghost{g}")
    return rec


@settings(max_examples=150, deadline=None)
@given(st.lists(MESSAGE, max_size=15), st.integers(0, 2))
def test_property_fates_partition_the_attempted_ids(
    msgs: list[tuple[str, int, bool, bool]], ghosts: int
) -> None:
    rec = _build(msgs, ghosts)
    r = check_accounting(rec.h, allow_duplicates=True)
    attempted = {f"m{i}" for i in range(len(msgs))}
    sets = [set(r.details[k]) for k in FATES]
    assert set().union(*sets) == attempted
    assert sum(len(s) for s in sets) == len(attempted)  # pairwise disjoint
    assert set(r.details["unexpected"]) == {f"ghost{g}" for g in range(ghosts)}
    assert set(r.details["duplicated"]) == {f"m{i}" for i, m in enumerate(msgs) if m[1] > 1}
    received = {f"m{i}" for i, m in enumerate(msgs) if m[1] > 0}
    assert set(r.details["delivered"]) | set(r.details["recovered"]) == received
    never_cut = {f"m{i}" for i, m in enumerate(msgs) if m[0] == "ok" and not m[2] and not m[3]}
    twice = {f"m{i}" for i, m in enumerate(msgs) if f"m{i}" in never_cut and m[1] > 1}
    assert set(r.details["duplicates_forbidden"]) == twice  # the once rule, nothing else
    assert set(r.details["duplicates_allowed"]) == set(r.details["duplicated"]) - twice
    bad = r.details["lost"] or r.details["unexpected"] or r.details["silently_gone"] or twice
    if not msgs and not bad:
        assert r.valid == "unknown"  # nothing was published: nothing decided
    else:
        assert r.valid is (not bad)


@settings(max_examples=150, deadline=None)
@given(st.lists(MESSAGE, min_size=1, max_size=15))
def test_property_a_receipt_for_every_confirmed_id_makes_it_valid(
    msgs: list[tuple[str, int, bool, bool]],
) -> None:
    fixed = [
        (
            "fail" if outcome == "fail_silent" else outcome,
            1
            if outcome == "ok" and not queued and not recovered  # never cut: exactly once
            else max(receipts, 1)
            if outcome == "ok" or recovered
            else receipts,
            queued,
            recovered,
        )
        for outcome, receipts, queued, recovered in msgs
    ]
    rec = _build(fixed, ghosts=0)
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is True, r.message
    assert r.details["lost"] == []


# ---------------------------------------------------------------------- duplicates, per id
def test_no_duplicates_leaves_the_verdict_as_it_was(rec: Rec) -> None:
    for mid in ("m1", "m2"):
        rec.publish(mid)
        rec.receive(mid)
    rec.event("group_failed", group="s", message_ids=["m2"], attempt=0)
    for allow in (False, True):
        r = check_accounting(rec.h, allow_duplicates=allow)
        assert r.valid is True, r.message
        assert r.message == (
            "2 attempted, 2 delivered, 0 recovered, 0 kept in the failed queue, "
            "0 reported failed, 0 pending, 0 duplicated"
        )
        assert (r.details["duplicates_allowed"], r.details["duplicates_forbidden"]) == ({}, {})
        assert r.details["cut"] == ["m2"]


def test_never_cut_confirmed_id_duplicated_is_invalid_even_when_duplicates_are_allowed(
    rec: Rec,
) -> None:
    rec.publish("m1")
    rec.publish("m2")
    for mid in ("m1", "m1", "m1", "m2"):
        rec.receive(mid)
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is False
    assert r.details["duplicates_forbidden"] == {"m1": RULE_ONCE}
    assert r.details["duplicates_allowed"] == {}
    assert r.message.startswith(
        "1 duplicated, confirmed on first attempt, never cut: must arrive once: m1 x3 ["
    )


def test_retry_that_resends_a_confirmed_group_is_caught(rec: Rec) -> None:
    """Group s.a confirmed at once, s.b failed and was retried: only s.b's id may repeat."""
    handles = [
        (mid, rec.h.invoke("svc", "publish", {"id": mid, "subject": subject, "batched": True}))
        for mid, subject in (("a1", "s.a"), ("a2", "s.a"), ("b1", "s.b"))
    ]
    rec.event("group_published", group="s.a", message_ids=["a1", "a2"], attempt=0)
    rec.event("group_failed", group="s.b", message_ids=["b1"], attempt=0, ambiguous=True)
    rec.event("retry_scheduled", group="s.b", message_ids=["b1"], attempt=1, delay=0.1)
    rec.event("group_published", group="s.b", message_ids=["b1"], attempt=1)
    for mid, handle in handles:  # the flush settled: every publish confirmed
        handle.ok({"id": mid})
    for mid in ("a1", "a1", "a2", "a2", "b1", "b1"):  # the retry re-sent the whole batch
        rec.receive(mid)
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is False
    assert r.details["duplicates_forbidden"] == {"a1": RULE_ONCE, "a2": RULE_ONCE}
    assert "named by a group_failed event" in r.details["duplicates_allowed"]["b1"]
    assert (
        "2 duplicated, confirmed on first attempt, never cut: must arrive once: a1 x2, a2 x2"
    ) in r.message


def test_id_named_by_a_group_failed_event_may_be_duplicated(rec: Rec) -> None:
    rec.publish("m1")  # ok: the retry succeeded
    rec.event("group_failed", group="s", message_ids=["m1"], attempt=0, ambiguous=True)
    rec.receive("m1")
    rec.receive("m1")
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is True, r.message
    assert r.details["duplicates_forbidden"] == {}
    reason = r.details["duplicates_allowed"]["m1"]
    assert reason.startswith("cut by a fault, at least once")
    assert "named by a group_failed event" in reason
    assert "(1 allowed: cut by a fault)" in r.message


@pytest.mark.parametrize(
    ("outcome", "why"),
    [
        ("info", "its publish ended info (outcome unknown)"),
        ("fail", "its publish ended fail"),
        ("pending", "its publish never completed"),
    ],
)
def test_id_whose_publish_ended_unknown_or_failed_may_be_duplicated(
    rec: Rec, outcome: str, why: str
) -> None:
    rec.publish("m1", outcome, TimeoutError("flush timeout"))
    rec.receive("m1")
    rec.receive("m1")
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is True, r.message
    assert why in r.details["duplicates_allowed"]["m1"]


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ("queued", "kept in the failed-batch queue (queued)"),
        ("recover", "re-published by recover"),
        ("retry_started", "named by a retry event"),
        ("batch_queued_failed", "named by a batch_queued_failed event"),
        ("recovered", "re-published by a recovery (recovered event)"),
    ],
)
def test_queued_recovered_or_retried_ids_may_be_duplicated(rec: Rec, record: str, why: str) -> None:
    rec.publish("m1")
    if record == "queued":
        rec.queued("m1")
    elif record == "recover":
        rec.recover("m1")
    else:
        rec.event(record, group="s", message_ids=["m1"])
    rec.receive("m1")
    rec.receive("m1")
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is True, r.message
    assert why in r.details["duplicates_allowed"]["m1"]


def test_strict_accounting_forbids_even_cut_duplicates_and_says_why_they_were_cut(
    rec: Rec,
) -> None:
    rec.publish("m1")
    rec.event("group_failed", group="s", message_ids=["m1"], attempt=0)
    rec.receive("m1")
    rec.receive("m1")
    r = check_accounting(rec.h)
    assert r.valid is False
    assert r.details["duplicates_forbidden"]["m1"] == (
        f"{RULE_STRICT}; cut: named by a group_failed event"
    )


def test_a_cut_id_arrives_at_most_once_per_send_the_service_reports(rec: Rec) -> None:
    rec.publish("m1")
    rec.event("group_failed", group="s", message_ids=["m1"], attempt=0, ambiguous=True)
    rec.event("group_published", group="s", message_ids=["m1"], attempt=1)
    rec.receive("m1")
    rec.receive("m1")
    ok = check_accounting(rec.h, allow_duplicates=True)
    assert ok.valid is True, ok.message
    assert "(2 receipts, 2 sends reported)" in ok.details["duplicates_allowed"]["m1"]
    rec.receive("m1")
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is False
    assert r.details["duplicates_forbidden"]["m1"].startswith(
        f"{RULE_SENDS}: 3 receipts, 2 sends reported; cut: named by a group_failed event"
    )
    assert (
        "1 duplicated, cut, but received more often than the service reports sending it: "
        "m1 x3 (2 sent)"
    ) in r.message


def test_the_send_bound_needs_a_service_that_reports_its_confirmed_sends(rec: Rec) -> None:
    """Only failures reported (no group_published): the number of sends is not known."""
    rec.publish("m1")
    rec.event("group_failed", group="s", message_ids=["m1"], attempt=0)
    for _ in range(3):
        rec.receive("m1")
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is True, r.message


def test_a_frame_duplicating_fault_lifts_both_rules_for_ids_in_flight(rec: Rec) -> None:
    rec.op("publish", {"id": "early"}, t=0.1, done=0.2)
    fault = rec.at(0.5).h.fault_started("frames_duplicate", "link:x", {"action": "duplicate"})
    rec.op("publish", {"id": "m1"}, t=0.6, done=0.7)
    rec.event("group_published", group="s", message_ids=["m1"], attempt=0)
    rec.at(1.0).h.fault_ended(fault)
    for mid in ("m1", "m1", "m1", "early", "early"):
        rec.receive(mid)
    r = check_accounting(rec.h, allow_duplicates=True)
    assert "a fault duplicated frames (frames_duplicate)" in r.details["duplicates_allowed"]["m1"]
    assert r.details["duplicates_forbidden"] == {"early": RULE_ONCE}  # done before it began


def test_a_group_event_without_ids_covers_the_ids_of_its_subject_in_flight(rec: Rec) -> None:
    rec.op("publish", {"id": "done", "subject": "s.a"}, t=0.1, done=0.2)
    rec.op("publish", {"id": "a", "subject": "s.a"}, t=0.3, done=1.0)
    rec.op("publish", {"id": "b", "subject": "s.b"}, t=0.3, done=1.0)
    rec.event("group_failed", t=0.5, group="s.a", attempt=0)
    for mid in ("done", "done", "a", "a", "b", "b"):
        rec.receive(mid)
    r = check_accounting(rec.h, allow_duplicates=True)
    assert set(r.details["duplicates_allowed"]) == {"a"}
    assert "(no message_ids: in flight)" in r.details["duplicates_allowed"]["a"]
    assert r.details["duplicates_forbidden"] == {"done": RULE_ONCE, "b": RULE_ONCE}


def test_a_group_named_after_no_subject_covers_every_id_in_flight(rec: Rec) -> None:
    rec.op("publish", {"id": "a", "subject": "s.a"}, t=0.3, done=1.0)
    rec.op("publish", {"id": "b", "subject": "s.b"}, t=0.3, done=1.0)
    rec.event("group_failed", t=0.5, group="batch-7", at=0.5)
    for mid in ("a", "a", "b", "b"):
        rec.receive(mid)
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is True, r.message
    assert set(r.details["duplicates_allowed"]) == {"a", "b"}


def test_any_duplicates_accepts_a_never_cut_duplicate_and_says_so(rec: Rec) -> None:
    rec.publish("m1")
    rec.receive("m1")
    rec.receive("m1")
    r = check_accounting(rec.h, any_duplicates=True)
    assert r.valid is True, r.message
    assert r.details["duplicates_allowed"]["m1"].startswith("any_duplicates: true")
    assert "(1 allowed: any id)" in r.message


def test_unexpected_duplicates_are_left_to_the_unexpected_rule(rec: Rec) -> None:
    rec.receive("ghost")
    rec.receive("ghost")
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is False
    assert r.details["duplicated"] == {"ghost": 2}
    assert (r.details["duplicates_allowed"], r.details["duplicates_forbidden"]) == ({}, {})
    assert r.message.startswith("1 unexpected (received, never published): ghost [")


def test_the_duplicate_parameters_are_strict_booleans_in_scenarios() -> None:
    make_checker("accounting", {"allow_duplicates": True, "any_duplicates": False})
    with pytest.raises(CheckerParamError, match="any_duplicates"):
        make_checker("accounting", {"any_duplicates": 1})
