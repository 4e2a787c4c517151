"""Partial flush, retry backoff, failed batch queue and recovery under real faults.

Topology of the main scenario: two independent servers A and B; the service's main
connection and pool member 0 on A, pool member 1 on B. B is paused (SIGSTOP): the kernel
still accepts B's bytes, but nothing is answered, so groups routed to member 1 are
written but never confirmed (``ambiguous``), while groups on member 0 succeed.

Tolerances for retry delays: each measured delay (failure seen -> retry starts) must be
within [nominal - 5 ms, nominal + 80 ms] on a noisy 2-core machine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from reference_support import (
    Recorder,
    assert_stats_add_up,
    make_config,
    raw_client,
    settle,
    subjects_for,
    wait_for,
)

from nats_fault_harness.reference import ConnectionOptions, NATSService, RetryRecord, ServiceEvent
from nats_fault_harness.servers import NatsServer

LOW, HIGH = 0.005, 0.080


async def _counting_observer(url: str, subject: str) -> tuple[Client, Counter[str]]:
    client = await raw_client(url)
    seen: Counter[str] = Counter()

    async def count(msg: Msg) -> None:
        seen[(msg.headers or {}).get("Nats-Msg-Id", msg.data.decode())] += 1

    await client.subscribe(subject, cb=count)
    await settle(client)
    return client, seen


def _check_delays(records: list[RetryRecord], nominal: tuple[float, ...]) -> list[float]:
    assert [r.attempt for r in records] == list(range(1, len(nominal) + 1))
    measured = []
    for record, expected in zip(records, nominal, strict=True):
        assert record.nominal_delay == pytest.approx(expected)
        delay = record.measured_delay
        assert expected - LOW <= delay <= expected + HIGH, (record, delay)
        measured.append(round(delay * 1000, 1))
    return measured


@pytest.mark.asyncio
async def test_paused_member_partial_flush_retries_queue_and_recovery(
    nats_server_factory: Callable[..., NatsServer], recorder: Recorder
) -> None:
    a, b = nats_server_factory(name="pf-a"), nats_server_factory(name="pf-b")
    obs_a, seen_a = await _counting_observer(a.url, "pf.>")
    obs_b, seen_b = await _counting_observer(b.url, "pf.>")
    config = make_config(a.url, name="pf", pool_member_servers=((a.url,), (b.url,)))
    service = NATSService(config)
    service.add_observer(recorder)
    await service.connect()
    try:
        ok_subjects = subjects_for(service, "pf-pool-0", "pf.ok", 3)
        bad_subjects = subjects_for(service, "pf-pool-1", "pf.bad", 3)
        b.pause()  # returns once every thread is stopped
        ids = {s: [await service.publish_batched(s, b"x") for _ in range(10)]
               for s in ok_subjects + bad_subjects}  # fmt: skip
        ok_ids = {i for s in ok_subjects for i in ids[s]}
        bad_ids = {i for s in bad_subjects for i in ids[s]}

        result = await service.flush()

        # Partial flush: A's groups published, B's groups failed after 3 retries.
        assert result.groups == 6
        assert result.successful_messages == 30
        assert result.failed_messages == 30
        assert sorted(result.failed_subjects) == sorted(bad_subjects)
        assert result.retries == 9
        published = recorder.of("group_published")
        assert {e.subject for e in published} == set(ok_subjects)
        assert all(e.member == "pf-pool-0" for e in published)
        failed = recorder.of("group_failed")
        assert len(failed) == 3 * 4  # first try + 3 retries per bad group
        assert all(e.ambiguous for e in failed)  # bytes were written to the paused server
        assert all(e.member == "pf-pool-1" for e in failed)
        scheduled = recorder.of("retry_scheduled")
        assert sorted((e.attempt, e.delay) for e in scheduled) == sorted(
            (k, d) for k, d in ((1, 0.1), (2, 0.2), (3, 0.4)) for _ in bad_subjects
        )
        queued = recorder.of("batch_queued_failed")
        assert {i for e in queued for i in e.message_ids} == bad_ids

        # Retry timing, from the stats the harness's backoff checker reads.
        stats = service.get_connection_stats()
        measured = {
            s: _check_delays([r for r in stats.retry_log if r.subject == s], (0.1, 0.2, 0.4))
            for s in bad_subjects
        }
        print(f"measured retry delays (ms) with a paused member: {measured}")
        assert all(r.outcome == "failed" for r in stats.retry_log)
        assert stats.failed_batch_queue_size == 30
        assert stats.failed_batch_queue_groups == 3
        assert stats.last_flush_successful_messages == 30
        assert stats.last_flush_failed_messages == 30
        assert stats.retry_attempts == 9
        assert stats.retry_successes == 0
        assert_stats_add_up(service)
        await wait_for(lambda: ok_ids <= set(seen_a), timeout=5, what="A's groups at observer")

        # Health checks see what nats-py's status flag does not.
        assert stats.members["pf-pool-1"]["connected"] is True
        await service.check_health()
        members = service.get_connection_stats().members
        assert members["pf-pool-1"]["healthy"] is False
        assert members["pf-pool-0"]["healthy"] is True

        # Heal, then recover: queued groups go through a member they did not fail on.
        b.resume()
        recovery = await service.recover_failed_batches()
        assert recovery.attempted_messages == 30
        assert recovery.recovered_messages == 30
        assert recovery.still_failed_messages == 0
        assert set(recovery.recovered_ids) == bad_ids
        assert {e.member for e in recorder.of("recovered")} == {"pf-pool-0"}
        stats = service.get_connection_stats()
        assert stats.failed_batch_queue_size == 0
        assert stats.recovered_messages == 30
        assert stats.batch_messages_published == 60
        assert_stats_add_up(service)

        # Observer on the healthy path: every id exactly once.
        await service.publish("pf.sentinel", b"sentinel")
        await wait_for(lambda: seen_a["sentinel"] == 1, timeout=5, what="sentinel on A")
        assert set(seen_a) == ok_ids | bad_ids | {"sentinel"}
        assert set(seen_a.values()) == {1}

        # The failed attempts were ambiguous: the paused server still had the bytes and
        # delivered them after SIGCONT to its own subscribers (here: observer on B).
        await wait_for(lambda: bad_ids <= set(seen_b), timeout=5, what="stale copies on B")
        copies = Counter(seen_b[i] for i in bad_ids)
        print(f"copies per message delivered by the resumed server B: {dict(copies)}")
        assert min(copies) >= 1
    finally:
        if b.is_paused:
            b.resume()
        await service.close()
        await obs_a.close()
        await obs_b.close()


@pytest.mark.asyncio
async def test_backoff_with_a_disconnected_member_then_exactly_once_recovery(
    nats_server_factory: Callable[..., NatsServer], recorder: Recorder
) -> None:
    a, b = nats_server_factory(name="bo-a"), nats_server_factory(name="bo-b")
    options = ConnectionOptions(connect_timeout=0.3, reconnect_time_wait=0.05,
                                max_reconnect_attempts=-1)  # fmt: skip
    config = make_config(a.url, name="bo", connection=options, pool_size=1,
                         pool_member_servers=((b.url,),))  # fmt: skip
    service = NATSService(config)
    service.add_observer(recorder)
    await service.connect()
    try:
        b.kill()
        await wait_for(
            lambda: not service.get_connection_stats().members["bo-pool-0"]["connected"],
            timeout=5, what="pool member to notice the kill",
        )  # fmt: skip
        sent = {await service.publish_batched("bo.x", str(i).encode()) for i in range(5)}
        result = await service.flush()
        assert result.failed_messages == 5
        failed = recorder.of("group_failed")
        assert len(failed) == 4
        assert not any(e.ambiguous for e in failed)  # nothing was handed to a socket
        records = list(service.get_connection_stats().retry_log)
        measured = _check_delays(records, (0.1, 0.2, 0.4))
        print(f"measured retry delays (ms) with a disconnected member: {measured}")

        b.start()
        await wait_for(
            lambda: service.get_connection_stats().members["bo-pool-0"]["connected"],
            timeout=10, what="pool member to reconnect",
        )  # fmt: skip
        obs_b, seen_b = await _counting_observer(b.url, "bo.>")
        recovery = await service.recover_failed_batches()
        assert recovery.recovered_messages == 5
        await wait_for(lambda: sent <= set(seen_b), timeout=5, what="recovered messages")
        # Never sent before, so no duplicate even on the same server.
        assert all(seen_b[i] == 1 for i in sent)
        await obs_b.close()
    finally:
        await service.close()


@pytest.mark.asyncio
async def test_retry_succeeds_once_the_server_is_back(
    nats_server_factory: Callable[..., NatsServer], recorder: Recorder
) -> None:
    a, b = nats_server_factory(name="rs-a"), nats_server_factory(name="rs-b")
    options = ConnectionOptions(connect_timeout=0.3, reconnect_time_wait=0.05,
                                max_reconnect_attempts=-1)  # fmt: skip
    config = make_config(a.url, name="rs", connection=options, pool_size=1,
                         pool_member_servers=((b.url,),), max_batch_retries=5)  # fmt: skip
    service = NATSService(config)
    service.add_observer(recorder)

    def heal_on_first_retry(event: ServiceEvent) -> None:
        if event.kind == "retry_scheduled" and event.attempt == 1:
            b.start()

    await service.connect()
    try:
        b.kill()
        await wait_for(
            lambda: not service.get_connection_stats().members["rs-pool-0"]["connected"],
            timeout=5, what="pool member to notice the kill",
        )  # fmt: skip
        service.add_observer(heal_on_first_retry)
        for i in range(3):
            await service.publish_batched("rs.x", str(i).encode())
        result = await service.flush()
        assert result.successful_messages == 3
        assert result.failed_messages == 0
        assert result.retried_messages == 3
        stats = service.get_connection_stats()
        assert stats.retry_successes == 1
        assert stats.retry_log[-1].outcome == "published"
        assert stats.failed_batch_queue_size == 0
        assert_stats_add_up(service)
    finally:
        await service.close()
