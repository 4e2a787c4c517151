"""Reading the history of a test: operations, client events, fault windows, proxy events."""

import nats
import pytest

from nats_fault_harness import wait_until_async
from nats_fault_harness.checkers import operations, summary
from nats_fault_harness.history import ClientEvent, FaultRecord, History, Op, ProxyEvent


@pytest.mark.asyncio
async def test_reading_the_history(nats_link, nats_link_factory, nats_history):
    nc = await nats.connect(
        nats_link.url, reconnect_time_wait=0.05, **nats_history.nats_callbacks("app")
    )
    op = nats_history.invoke("app", "request", {"subject": "nobody.home", "timeout": 0.5})
    try:
        await nc.request("nobody.home", b"", timeout=0.5)
    except nats.errors.NoRespondersError as exc:
        op.fail(exc)  # certainly did not happen

    def kinds():
        return [e.kind for e in nats_history.client_events("app")]

    with nats_link.down():
        await wait_until_async(lambda: "disconnected" in kinds(), timeout=5, what="disconnect")
    await wait_until_async(lambda: "reconnected" in kinds(), timeout=5, what="reconnect")
    await nc.close()
    nats_link_factory.pull_events()  # copy the proxy's feed in now (else at teardown)

    # every record in append order; all times are seconds on one clock since the start
    records = nats_history.records()
    assert {type(r) for r in records} == {Op, ClientEvent, FaultRecord, ProxyEvent}

    # operations: invocation and completion records, paired by operations()
    assert [(o.f, o.type) for o in nats_history.ops()] == [
        ("request", "invoke"),
        ("request", "fail"),
    ]
    (request,) = operations(nats_history, "request")
    assert request.outcome == "fail"
    assert request.error.type == "NoRespondersError"  # the exception, stored as data
    assert request.field("subject") == "nobody.home"
    assert summary(nats_history)["request"]["fail"] == 1

    # client events: what the nats-py callbacks reported
    assert kinds().index("disconnected") < kinds().index("reconnected") < kinds().index("closed")

    # fault windows: one record per fault, open or closed
    (down,) = nats_history.faults()
    assert (down.kind, down.target, down.status) == ("down", nats_link.target, "healed")
    assert down.start < down.end
    disconnected = next(e for e in nats_history.client_events("app") if e.kind == "disconnected")
    assert down.start <= disconnected.t <= down.end
    assert down.links == (nats_link.proxy,)
    assert nats_history.open_faults() == []

    # proxy events (the harness's proxy only): connections seen on the link
    seen = [e for e in nats_history.proxy_events() if e.kind == "connection_opened"]
    assert seen
    assert all(e.detail["proxy"] == nats_link.proxy for e in seen)

    # JSON and back: what the report and `nats-harness replay` read
    again = History.from_json(nats_history.to_json())
    assert len(again) == len(nats_history)
    assert operations(again, "request")[0].error == request.error
