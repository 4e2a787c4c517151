"""Accounting (Jepsen total-queue): lost, unexpected, duplicated, recovered, silently gone."""

from __future__ import annotations

from chk_records import Rec
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checkers import check_accounting
from harness.history import History

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
    rec.publish("m1")
    rec.receive("m1")
    rec.receive("m1")
    strict = check_accounting(rec.h)
    assert strict.valid is False
    assert "1 duplicated: m1 x2" in strict.message
    relaxed = check_accounting(rec.h, allow_duplicates=True)
    assert relaxed.valid is True
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
    bad = r.details["lost"] or r.details["unexpected"] or r.details["silently_gone"]
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
            max(receipts, 1) if outcome == "ok" or recovered else receipts,
            queued,
            recovered,
        )
        for outcome, receipts, queued, recovered in msgs
    ]
    rec = _build(fixed, ghosts=0)
    r = check_accounting(rec.h, allow_duplicates=True)
    assert r.valid is True, r.message
    assert r.details["lost"] == []
