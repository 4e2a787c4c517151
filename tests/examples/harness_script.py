"""A script with the one entry point: servers, the proxy, links, faults and a history."""

import asyncio

import nats

from nats_fault_harness import Harness


async def main():
    with Harness() as h:  # the harness's own proxy in a child process; all stopped at the end
        server = h.server(jetstream=True)
        link = h.link(server)
        nc = await nats.connect(
            link.url, reconnect_time_wait=0.1, **h.history.nats_callbacks("script")
        )
        js = nc.jetstream()
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        async with link.latency(100):
            slow = await nc.rtt(timeout=2)
        # an extension fault: the proxy was asked which extensions it offers
        with link.frames("MSG*", subject="_INBOX.>", stream="downstream", nth=1):
            try:
                await js.publish("orders.1", b"1", headers={"Nats-Msg-Id": "o-1"}, timeout=0.5)
            except nats.errors.TimeoutError:
                print("PubAck lost")
        with h.server_faults(server).kill():  # SIGKILL; restarted on the same store at exit
            await asyncio.sleep(0.3)
        ack = await js.publish("orders.1", b"1", headers={"Nats-Msg-Id": "o-1"}, timeout=5)
        print(f"retried: seq {ack.seq}, duplicate {ack.duplicate}")
        await nc.close()
    print(f"rtt under latency: {slow:.2f} s")
    kinds = [event.kind for event in h.history.client_events()]
    print(f"client events: {', '.join(sorted(set(kinds)))}")
    for fault in h.history.faults():
        print(f"{fault.kind} on {fault.target}")


if __name__ == "__main__":
    asyncio.run(main())
