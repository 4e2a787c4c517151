"""Which node leads a stream, from what each node's ``/jsz`` says (pure: no servers)."""

from __future__ import annotations

from nats_fault_harness.servers._leader import LeaderView, agreed_leader

NAMES = ["c-n0", "c-n1", "c-n2"]


def test_a_leader_named_by_all_and_by_itself() -> None:
    views = {i: LeaderView("c-n1", 3) for i in range(3)}
    assert agreed_leader(NAMES, views) == 1


def test_an_isolated_old_leader_alone_does_not_count() -> None:
    # n0 still calls itself leader; the majority has not elected yet.
    views = {0: LeaderView("c-n0", 3), 1: LeaderView(None, 3), 2: LeaderView(None, 3)}
    assert agreed_leader(NAMES, views) is None


def test_the_majority_s_new_leader_wins_over_a_stale_self_report() -> None:
    views = {0: LeaderView("c-n0", 3), 1: LeaderView("c-n2", 3), 2: LeaderView("c-n2", 3)}
    assert agreed_leader(NAMES, views) == 2


def test_a_leader_that_does_not_name_itself_is_not_agreed() -> None:
    # The survivors of a kill still name the dead node (its view is missing).
    views = {1: LeaderView("c-n0", 3), 2: LeaderView("c-n0", 3)}
    assert agreed_leader(NAMES, views) is None


def test_an_r1_stream_is_led_by_its_only_replica() -> None:
    views = {0: LeaderView(None, 0), 1: LeaderView("c-n1", 1), 2: LeaderView(None, 0)}
    assert agreed_leader(NAMES, views) == 1


def test_a_name_outside_the_cluster_is_ignored() -> None:
    views = {i: LeaderView("elsewhere", 3) for i in range(3)}
    assert agreed_leader(NAMES, views) is None
