"""Plain TCP through the proxy process is not delayed by the NATS ``CONNECT`` sniffer.

A real client socket sends ``c`` (which could begin ``CONNECT``) and pauses. The sniffer
used to hold such bytes for up to 2 s even on a proxy without any toxic. Now the upstream
gets it at once. The proxy's own record says so too: the connection listing shows the byte
forwarded and nothing held, and the event feed shows no identification. The wall-clock bound
(1 s, half the old hold) is loose on purpose: a busy 2-core machine can stall for a few
hundred ms, but never waits out a 2 s timer early.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ._support import ProxyApi, local_addr, recv_exact, wait_for
from ._upstream import Sockets, Upstream

OLD_HOLD_S = 2.0


@pytest.mark.parametrize("toxic", [None, {"connect_name": "svc", "latency": 1}])
def test_a_lone_c_then_a_pause_reaches_the_upstream_at_once(
    api: ProxyApi, held: Upstream, sockets: Sockets, toxic: dict[str, Any] | None
) -> None:
    proxy = api.create_proxy("p", held.addr)
    if toxic is not None:  # a targeted toxic, but the upstream does not speak NATS
        api.add_toxic("p", "latency", attributes=toxic)
    since = api.get("/events").json()["next"]
    client = sockets.connect(local_addr(proxy))
    server = sockets.track(held.accept())
    sent = time.monotonic()
    client.sendall(b"c")
    assert recv_exact(server, 1, timeout=OLD_HOLD_S * 3) == b"c"
    elapsed = time.monotonic() - sent
    assert elapsed < OLD_HOLD_S / 2, f"the upstream got 'c' after {elapsed:.3f}s"
    [conn] = api.get("/proxies/p/connections").json()
    assert (conn["bytes_up"], conn["bytes_up_sent"], conn["bytes_up_held"]) == (1, 1, 0)
    events = api.get(f"/events?since={since}").json()["events"]
    assert not [e for e in events if e["type"] == "connection_identified"]
    client.sendall(b"onnect-ish, but not NATS\r\n")  # still plain bytes, passed through
    assert recv_exact(server, 26) == b"onnect-ish, but not NATS\r\n"
    wait_for(
        lambda: api.get("/proxies/p/connections").json()[0]["bytes_up_sent"] == 27,
        timeout=5,
        what="27 bytes forwarded",
    )
