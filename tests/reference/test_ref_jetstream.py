"""The reference service's ``publish_jetstream()``: a real JetStream server, the harness's
proxy dropping PubAcks (a ``MSG*`` frame fault on the service's ``_INBOX``), nats-py.

With a message id, a lost PubAck is retried with the same id and the server answers the
retry as a duplicate: one copy stored. Without one, the publish raises ambiguous and is
not retried: still one copy. A subject no stream captures gets no responders: retried
until the deadline, then raised as not ambiguous (nothing can have been stored).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import nats.errors
import pytest
import pytest_asyncio
from nats.js.client import JetStreamContext
from reference_support import Recorder, make_config, raw_client

from nats_fault_harness.proxy import ToxiproxyClient
from nats_fault_harness.proxy._fixtures_support import ToxiproxyEndpoint
from nats_fault_harness.reference import NATSPublishError, NATSService
from nats_fault_harness.servers import NatsServer


@pytest_asyncio.fixture
async def js(
    nats_server_factory: Callable[..., NatsServer],
) -> AsyncIterator[tuple[NatsServer, JetStreamContext]]:
    server = nats_server_factory(name="jspub", jetstream=True)
    admin = await raw_client(server.url, name="js-admin")
    context = admin.jetstream()
    await context.add_stream(name="ORDERS", subjects=["orders.>"])
    yield server, context
    await admin.close()


@pytest_asyncio.fixture
async def api(toxiproxy: ToxiproxyEndpoint) -> AsyncIterator[ToxiproxyClient]:
    async with toxiproxy.client() as client:
        yield client


async def _service_dropping_first_puback(
    api: ToxiproxyClient, server: NatsServer, recorder: Recorder, name: str
) -> NATSService:
    proxy = await api.create_proxy(name, f"127.0.0.1:{server.port}")
    await api.add_toxic(
        name,
        "nats",
        stream="downstream",
        name="first_puback",
        attributes={"verb": "MSG*", "subject": "_INBOX.>", "nth": 1, "action": "drop"},
    )
    config = make_config(f"nats://{proxy.listen}", pool_size=0, jetstream_publish_timeout=0.5)
    service = NATSService(config)
    service.add_observer(recorder)
    await service.connect()
    return service


@pytest.mark.asyncio
async def test_a_lost_puback_is_retried_with_the_same_id_and_stored_once(
    api: ToxiproxyClient, js: tuple[NatsServer, JetStreamContext], recorder: Recorder
) -> None:
    server, context = js
    service = await _service_dropping_first_puback(api, server, recorder, "js-retry")
    try:
        ack = await service.publish_jetstream("orders.1", b"one", msg_id="order-1")
    finally:
        await service.close()
    assert (ack.stream, ack.seq, ack.duplicate, ack.attempts) == ("ORDERS", 1, True, 2)
    (retry,) = recorder.of("jetstream_retry")
    assert (retry.attempt, retry.message_ids, retry.ambiguous) == (1, ("order-1",), True)
    assert retry.error is not None
    assert retry.error.startswith("TimeoutError")
    info = await context.stream_info("ORDERS")
    assert info.state.messages == 1


@pytest.mark.asyncio
async def test_without_an_id_a_lost_puback_raises_ambiguous_and_is_not_retried(
    api: ToxiproxyClient, js: tuple[NatsServer, JetStreamContext], recorder: Recorder
) -> None:
    server, context = js
    service = await _service_dropping_first_puback(api, server, recorder, "js-noid")
    try:
        with pytest.raises(NATSPublishError) as info:
            await service.publish_jetstream("orders.1", b"one")
    finally:
        await service.close()
    assert info.value.ambiguous is True
    assert info.value.subject == "orders.1"
    assert isinstance(info.value.__cause__, nats.errors.TimeoutError)
    assert recorder.of("jetstream_retry") == []
    stream = await context.stream_info("ORDERS")
    assert stream.state.messages == 1  # stored: only the PubAck was lost


@pytest.mark.asyncio
async def test_a_subject_without_a_stream_is_retried_until_the_deadline_then_not_ambiguous(
    js: tuple[NatsServer, JetStreamContext], recorder: Recorder
) -> None:
    server, _ = js
    config = make_config(server.url, pool_size=0, jetstream_retry_deadline=0.5)
    service = NATSService(config)
    service.add_observer(recorder)
    await service.connect()
    try:
        with pytest.raises(NATSPublishError) as info:
            await service.publish_jetstream("nostream.1", b"x", msg_id="x-1")
    finally:
        await service.close()
    assert info.value.ambiguous is False
    retries = recorder.of("jetstream_retry")
    assert retries, "no responders must be retried within the deadline"
    assert all(r.ambiguous is False for r in retries)
