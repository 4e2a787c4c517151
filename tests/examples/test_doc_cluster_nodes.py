"""Reaching the nodes of a nats_faulty_cluster: client URLs, monitoring, route proxies."""

import asyncio
import json
import urllib.request

import nats
import pytest


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.mark.asyncio
@pytest.mark.proxy_extension("nats", "connect_name", "connection_reset")
async def test_reach_each_node(nats_faulty_cluster, server_faults):
    cluster = await asyncio.to_thread(nats_faulty_cluster, 3)
    node = cluster[1]  # a NatsServer (also cluster.nodes[1]; len(cluster) == 3)
    assert node.url == cluster.urls[1]  # nats://127.0.0.1:PORT, direct: not proxied
    assert node.monitor_url.startswith("http://127.0.0.1:")  # /varz, /routez, /healthz...
    assert cluster.route_urls[1].startswith("nats://127.0.0.1:")  # node 1's route proxy

    varz = await asyncio.to_thread(get_json, node.monitor_url + "/varz")
    assert varz["server_id"] == node.server_id
    routez = await asyncio.to_thread(node.routez)  # the same endpoints, as methods
    others = {cluster[0].server_id, cluster[2].server_id}
    assert {r["remote_id"] for r in routez["routes"]} == others

    nc = await nats.connect(cluster.urls[0])
    async with server_faults(cluster[2]).pause():  # a server fault on one node
        assert await nc.rtt(timeout=2) < 1  # node 0 still answers its own client
    await nc.close()
