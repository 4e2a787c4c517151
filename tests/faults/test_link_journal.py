"""Link faults journal themselves, and the proxy's events land in the same history."""

from __future__ import annotations

import nats
import pytest

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.faults import Link, LinkFactory
from nats_fault_harness.history import History


@pytest.mark.asyncio
async def test_proxy_events_are_copied_on_the_history_clock(
    nats_link: Link, nats_link_factory: LinkFactory, nats_history: History
) -> None:
    nc = await nats.connect(nats_link.url, name="journal-client")
    with nats_link.latency(10):
        await nc.flush(timeout=2)
    await nc.close()
    copied = nats_link_factory.pull_events()
    assert copied > 0
    events = nats_history.proxy_events()
    kinds = [e.kind for e in events]
    # Only this test's events: it created exactly one proxy after the factory was made.
    assert kinds.count("proxy_created") == 1
    assert "connection_opened" in kinds
    assert "toxic_added" in kinds
    assert "toxic_removed" in kinds
    identified = [e for e in events if e.kind == "connection_identified"]
    assert identified[0].detail["connect_name"] == "journal-client"
    (window,) = nats_history.faults()
    added = next(e for e in events if e.kind == "toxic_added")
    removed = next(e for e in events if e.kind == "toxic_removed")
    assert window.end is not None
    # Proxy time and history time are the same clock: the toxic lived inside the window.
    assert window.start - 0.05 <= added.t <= removed.t <= window.end + 0.05
    assert nats_link_factory.pull_events() == 0  # nothing twice


def test_both_streams_add_two_toxics_and_heal_removes_them(
    nats_link: Link, nats_link_factory: LinkFactory
) -> None:
    api = nats_link_factory.api
    with nats_link.latency(50, jitter=5, stream="both"):
        toxics = api.toxics(nats_link.proxy)
        assert sorted(t.stream for t in toxics) == ["downstream", "upstream"]
        assert all(t.attributes == {"latency": 50, "jitter": 5} for t in toxics)
    assert api.toxics(nats_link.proxy) == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda link: link.latency(-1), "ms"),
        (lambda link: link.bandwidth(0), "kb_per_s"),
        (lambda link: link.latency(10, stream="sideways"), "stream"),
        (lambda link: link.limit_data(-5), "bytes"),
    ],
)
def test_bad_arguments_name_the_field(nats_link: Link, call: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        call(nats_link)  # type: ignore[operator]
    assert info.value.where == field
