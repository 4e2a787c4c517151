"""Frames chosen by what identifies a message, on a real server through the proxy: one
consumer's first deliveries, one publisher's PubAcks; and a filter that matches nothing,
whose run the evidence rule refuses to call valid."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
import nats.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from nats_fault_harness.faults import LinkFactory
from nats_fault_harness.history import History
from nats_fault_harness.scenario import _runner, parse_scenario
from nats_fault_harness.scenario._loop import run_bounded
from nats_fault_harness.scenario._topology import ScenarioEnv
from nats_fault_harness.scenario.reference_sut import make_reference_sut
from nats_fault_harness.servers import NatsServer

pytestmark = pytest.mark.proxy_extension("nats")


def _acted(history: History, links: LinkFactory) -> int:
    """Frames the newest fault's toxics acted on (the proxy's ``toxic_fired`` events)."""
    links.pull_events()
    toxics = set(history.faults()[-1].params["toxics"])
    return sum(
        1 for e in history.proxy_events() if e.kind == "toxic_fired" and e.detail["toxic"] in toxics
    )


async def _fetch_all(sub: object, n: int, deadline_s: float = 20.0) -> list[nats.aio.msg.Msg]:
    got: list[nats.aio.msg.Msg] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while len(got) < n and loop.time() < end:
        try:
            msgs = await sub.fetch(n - len(got), timeout=0.5)  # type: ignore[attr-defined]
        except nats.errors.TimeoutError:
            continue
        for msg in msgs:
            await msg.ack()
        got += msgs
    return got


@pytest.mark.asyncio
async def test_exactly_the_first_delivery_to_one_of_two_consumers_is_dropped(
    nats_link, nats_link_factory: LinkFactory, nats_history: History
) -> None:
    nc = await nats.connect(nats_link.url)
    js = nc.jetstream()
    await js.add_stream(name="ORDERS", subjects=["orders.>"])
    for name in ("billing", "audit"):
        config = ConsumerConfig(durable_name=name, ack_policy=AckPolicy.EXPLICIT, ack_wait=1)
        await js.add_consumer("ORDERS", config)
    for i in range(5):
        await js.publish(f"orders.{i}", b"%d" % i)
    billing = await js.pull_subscribe_bind("billing", "ORDERS")
    audit = await js.pull_subscribe_bind("audit", "ORDERS")
    first_to_billing = "$JS.ACK.ORDERS.billing.1.>"  # consumer billing, delivery count 1
    with nats_link.frames("MSG*", subject="orders.>", stream="downstream", reply=first_to_billing):
        audited = await _fetch_all(audit, 5)
        billed = await _fetch_all(billing, 5)
    await nc.close()
    assert sorted(m.metadata.sequence.stream for m in audited) == [1, 2, 3, 4, 5]
    assert {m.metadata.num_delivered for m in audited} == {1}  # audit: untouched
    assert sorted(m.metadata.sequence.stream for m in billed) == [1, 2, 3, 4, 5]
    assert {m.metadata.num_delivered for m in billed} == {2}  # each first delivery was lost
    assert _acted(nats_history, nats_link_factory) == 5


@pytest.mark.asyncio
async def test_every_puback_to_one_of_two_publishers_on_one_link_is_dropped(
    nats_link, nats_link_factory: LinkFactory, nats_history: History
) -> None:
    a = await nats.connect(nats_link.url, name="publisher-a")
    b = await nats.connect(nats_link.url, name="publisher-b")
    await a.jetstream().add_stream(name="ORDERS", subjects=["orders.>"])
    lost = ok = 0
    with nats_link.frames(
        "MSG*", subject="_INBOX.>", stream="downstream", connect_name="publisher-a"
    ):
        for i in range(3):
            for nc in (a, b):
                try:
                    await nc.jetstream().publish("orders.x", b"%d" % i, timeout=0.5)
                    ok += 1
                except nats.errors.TimeoutError:
                    assert nc is a
                    lost += 1
    info = await b.jetstream().stream_info("ORDERS")
    await a.close()
    await b.close()
    assert (lost, ok) == (3, 3)
    assert info.state.messages == 6  # a's publishes were stored; only their PubAcks died
    assert _acted(nats_history, nats_link_factory) == 3


SCENARIO = """\
name: frames-filter-matches-nothing
claims: [x.y]
workload:
  publishes: {count: 20, rate_per_s: 40, subjects: [nothing.a]}
faults:
  - fault: frames
    verb: HMSG
    subject: _INBOX.>
    stream: downstream
    trigger: {at_s: 0.1, for_s: 0.3}
checkers: [{name: accounting}]
timeout_s: 30
"""


def test_a_frames_fault_that_acted_on_nothing_leaves_the_verdict_unknown(
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    env = ScenarioEnv(nats_link_factory, server=nats_server, make_server=nats_server_factory)
    result = run_bounded(
        _runner.run_scenario(parse_scenario(SCENARIO), sut_factory=make_reference_sut, env=env),
        grace_s=1.0,
    )
    evidence = next(r for r in result.results if r.name == "evidence")
    assert evidence.valid == "unknown", evidence.message
    assert "acted on no frame" in evidence.message
    assert "verb HMSG, subject _INBOX.>, stream downstream" in evidence.message
    assert result.valid == "unknown"
    accounting = next(r for r in result.results if r.name == "accounting")
    assert accounting.valid is True  # the work was fine; the fault proved nothing
