"""JetStream on the plugin's fixtures: the shared server has it, each test starts empty.

Real servers, real nats-py; the shared-server tests run in a pytester subprocess so that
the order of the tests (and the session server they share) is the one a user gets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
import pytest

from nats_fault_harness import wait_until
from nats_fault_harness.errors import ServerError
from nats_fault_harness.faults import FaultyCluster, LinkFactory
from nats_fault_harness.servers import NatsServer
from nats_fault_harness.servers._jetstream import delete_all_streams, stream_count

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

_SHARED_SERVER_TESTS = """
import nats, pytest
from nats.js.errors import BucketNotFoundError, NotFoundError

seen = {}

async def _js(server):
    nc = await nats.connect(server.url)
    return nc, nc.jetstream()

@pytest.mark.asyncio
async def test_a_creates_streams_consumers_and_buckets(nats_server):
    nc, js = await _js(nats_server)
    info = await js.account_info()
    assert info.streams == 0
    await js.add_stream(name="ORDERS", subjects=["orders.>"])
    ack = await js.publish("orders.1", b"one")
    assert (ack.stream, ack.seq) == ("ORDERS", 1)
    await js.pull_subscribe("orders.>", durable="workers")
    kv = await js.create_key_value(bucket="settings")
    await kv.put("mode", b"fast")
    await js.create_object_store("blobs")
    assert (await js.account_info()).streams == 3   # ORDERS, KV_settings, OBJ_blobs
    assert nats_server.jsz()["consumers"] >= 1
    await nc.close()
    seen["connections_after_a"] = nats_server.varz()["total_connections"]

@pytest.mark.asyncio
async def test_b_sees_none_of_them(nats_server):
    # the reset connected once (there were streams to delete): exactly one connection
    assert nats_server.varz()["total_connections"] == seen["connections_after_a"] + 1
    assert nats_server.jsz()["streams"] == 0 and nats_server.jsz()["consumers"] == 0
    nc, js = await _js(nats_server)
    assert (await js.account_info()).streams == 0
    with pytest.raises(NotFoundError):
        await js.stream_info("ORDERS")
    with pytest.raises(BucketNotFoundError):
        await js.key_value("settings")
    with pytest.raises(NotFoundError):
        await js.consumer_info("ORDERS", "workers")
    await nc.close()
    seen["connections_after_b"] = nats_server.varz()["total_connections"]

def test_c_reset_without_streams_opens_no_connection(nats_server):
    assert nats_server.varz()["total_connections"] == seen["connections_after_b"]

@pytest.mark.asyncio
async def test_d_creates_a_stream_then_kills_the_server(nats_server):
    nc, js = await _js(nats_server)
    await js.add_stream(name="KILLED", subjects=["killed.>"])
    await js.publish("killed.1", b"stored before the kill")
    await nc.close()
    seen["store"] = nats_server.store_dir
    seen["port"] = nats_server.port
    nats_server.kill()

@pytest.mark.asyncio
async def test_e_restarted_on_the_same_store_empty_and_working(nats_server):
    assert nats_server.is_running and nats_server.port == seen["port"]
    assert nats_server.store_dir == seen["store"]
    assert nats_server.jsz()["config"]["store_dir"].startswith(str(seen["store"]))
    nc, js = await _js(nats_server)
    assert (await js.account_info()).streams == 0   # KILLED came back from the store, and went
    await js.add_stream(name="AFTER", subjects=["after.>"])
    ack = await js.publish("after.1", b"x")
    assert ack.seq == 1
    await nc.close()

def test_f_paused_by_a_test(nats_server):
    nats_server.pause()

@pytest.mark.asyncio
async def test_g_resumed_and_emptied(nats_server):
    assert not nats_server.is_paused
    nc, js = await _js(nats_server)
    assert (await js.account_info()).streams == 0
    await nc.close()
"""


def test_shared_server_has_jetstream_and_each_test_starts_empty(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shared=_SHARED_SERVER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=7)


_NO_JETSTREAM_TESTS = """
import nats, pytest
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

@pytest.mark.asyncio
async def test_without_jetstream(nats_server, nats_link):
    assert not nats_server.config.jetstream
    assert nats_server.jsz().get("disabled") is True
    nc = await nats.connect(nats_link.url)
    js = nc.jetstream()
    with pytest.raises(ServiceUnavailableError):   # the API's no responders
        await js.account_info()
    with pytest.raises(ServiceUnavailableError):
        await js.add_stream(name="S", subjects=["s"])
    with pytest.raises(NoStreamResponseError):     # a publish's no responders
        await js.publish("s", b"x")
    await nc.close()
"""


@pytest.mark.parametrize("how", ["option", "ini"])
def test_jetstream_can_be_turned_off(pytester: pytest.Pytester, how: str) -> None:
    pytester.makepyfile(test_off=_NO_JETSTREAM_TESTS)
    args = ["-p", "no:cacheprovider"]
    if how == "option":
        pytester.makeini("[pytest]\nnats_jetstream = true\n")  # the option wins over the ini
        args.append("--nats-no-jetstream")
    else:
        pytester.makeini("[pytest]\nnats_jetstream = false\n")
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)


def test_the_option_is_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--nats-no-jetstream*", "*nats_jetstream (bool)*"])


# ---------------------------------------------------------------------- reset errors
def _accounts(**users: dict[str, object]) -> dict[str, object]:
    """Two accounts with JetStream; a client without credentials is user ``a`` of ``A``."""
    return {
        "accounts": {
            "A": {"jetstream": "enabled", "users": [{"user": "a", "password": "a", **users}]},
            "B": {"jetstream": "enabled", "users": [{"user": "b", "password": "b"}]},
        },
        "no_auth_user": "a",
    }


async def _add_stream(url: str, name: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().add_stream(name=name, subjects=[f"{name.lower()}.>"])
    await nc.close()


def test_reset_names_the_stream_it_could_not_delete(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    deny = {"permissions": {"publish": {"deny": ["$JS.API.STREAM.DELETE.LOCKED"]}}}
    server = nats_server_factory(jetstream=True, extra=_accounts(**deny))
    asyncio.run(_add_stream(server.url, "LOCKED"))
    asyncio.run(_add_stream(server.url, "FREE"))
    with pytest.raises(ServerError) as info:
        delete_all_streams(server, timeout=1.0)
    message = str(info.value)
    assert f"JetStream reset of nats-server {server.name}" in message
    assert "could not delete 1 of 2 stream(s): 'LOCKED': TimeoutError: no reply" in message
    assert 'permissions violation for publish to "$js.api.stream.delete.locked"' in message
    assert info.value.name == server.name
    assert stream_count(server) == 1  # FREE went, LOCKED stayed


def test_reset_says_when_streams_it_cannot_see_remain(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    server = nats_server_factory(jetstream=True, extra=_accounts())
    asyncio.run(_add_stream(server.url.replace("nats://", "nats://b:b@"), "OTHER"))
    asyncio.run(_add_stream(server.url, "MINE"))
    with pytest.raises(ServerError, match=r"/jsz still counts 1 stream\(s\) after deleting "):
        delete_all_streams(server)


def test_reset_of_an_empty_server_deletes_nothing(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    server = nats_server_factory(jetstream=True)
    before = server.varz()["total_connections"]
    assert delete_all_streams(server) == []
    assert server.varz()["total_connections"] == before
    without = nats_server_factory()
    assert delete_all_streams(without) == []


# ---------------------------------------------------------------------- clusters
@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.asyncio
@pytest.mark.proxy_extension("nats", "connect_name", "connection_reset")
async def test_faulty_cluster_runs_r3_streams_over_proxied_routes(
    nats_faulty_cluster: Callable[..., FaultyCluster], nats_link_factory: LinkFactory
) -> None:
    cluster = await asyncio.to_thread(nats_faulty_cluster, 3, jetstream=True)
    assert all(node.config.jetstream for node in cluster)
    assert cluster.unproxied_routes() == []  # every route passes a proxy: partitionable
    link = nats_link_factory.link(cluster[0])
    nc = await nats.connect(link.url)
    js = nc.jetstream()
    info = await js.add_stream(name="R3", subjects=["r3.>"], num_replicas=3)
    assert info.cluster is not None
    assert info.cluster.name == cluster.name
    placed = {info.cluster.leader, *(peer.name for peer in info.cluster.replicas or ())}
    assert placed == {node.name for node in cluster}  # one replica on each node

    acks = [await js.publish(f"r3.{i}", f"m{i}".encode()) for i in range(10)]
    assert [(ack.stream, ack.seq) for ack in acks] == [("R3", i) for i in range(1, 11)]
    reader = await js.pull_subscribe("r3.>", durable="reader")
    got: list[bytes] = []
    while len(got) < 10:
        for msg in await reader.fetch(10 - len(got), timeout=5):
            await msg.ack()
            got.append(msg.data)
    assert got == [f"m{i}".encode() for i in range(10)]
    await nc.close()

    def stored_on_every_node() -> bool:
        return all(_messages(node, "R3") == 10 for node in cluster)

    await asyncio.to_thread(wait_until, stored_on_every_node, timeout=15, what="10 on each")


def _messages(server: NatsServer, stream: str) -> int:
    """Messages of ``stream`` in this server's replica (``/jsz``), -1 if it has none."""
    for account in server.jsz(streams=True).get("account_details") or ():
        for detail in account.get("stream_detail") or ():
            if detail.get("name") == stream:
                return int(detail["state"]["messages"])
    return -1
