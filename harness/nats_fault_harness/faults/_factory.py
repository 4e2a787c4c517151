"""Building links and pools on a Toxiproxy-compatible API (used by the plugin's fixtures)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from nats_fault_harness.faults._base import FaultLog, delete_proxies
from nats_fault_harness.faults._link import Link
from nats_fault_harness.faults._pool import Pool

if TYPE_CHECKING:
    from nats_fault_harness.proxy import SyncToxiproxyClient
    from nats_fault_harness.servers import NatsServer

__all__ = ["LinkFactory"]

_serial = itertools.count(1)


class LinkFactory:
    """Creates proxies in front of servers and hands them out as :class:`Link`\\ s.

    Args:
        api: a synchronous client of the proxy API.
        log: where faults journal themselves.
        extensions: the API's extension names (empty for a real Toxiproxy); by default
            they are asked of the API (``GET /extensions``), so a factory on the harness's
            own proxy offers every fault and one on a real Toxiproxy refuses the extension
            faults with an error that says so.
    """

    def __init__(
        self,
        api: SyncToxiproxyClient,
        log: FaultLog,
        extensions: frozenset[str] | None = None,
    ) -> None:
        self.api = api
        self.log = log
        if extensions is None:
            report = api.extensions() or {}
            extensions = frozenset(report.get("extensions", ()))
        self.extensions = extensions
        self.created: list[str] = []
        self._events_mark = self._current_mark()

    def _current_mark(self) -> int:
        if "events" not in self.extensions:
            return 0
        # A cursor beyond the newest event answers with the newest sequence number.
        return self.api.events(2**62, limit=0).next

    def pull_events(self) -> int:
        """Copy the proxy's new events into the history (on its clock); return how many.

        The proxy stamps events with its process's ``time.monotonic()``, the same clock
        as the history's on Linux, so proxy events line up with faults and client events.
        """
        if "events" not in self.extensions:
            return 0
        history, copied = self.log.history, 0
        while True:
            page = self.api.events(self._events_mark)
            if page.dropped:  # the evidence rule must know what it cannot see
                history.proxy_event("events_dropped", {"dropped": page.dropped})
            for event in page.events:
                detail = {k: v for k, v in event.items() if k not in ("type", "t")}
                history.proxy_event(str(event["type"]), detail, t=history.at(float(event["t"])))
                copied += 1
            if page.next == self._events_mark or not page.events:
                self._events_mark = page.next
                return copied
            self._events_mark = page.next

    def link(self, server: NatsServer, *, name: str | None = None) -> Link:
        """A new proxy to ``server``'s client port."""
        return self.link_to(f"{server.host}:{server.port}", name=name or f"{server.name}")

    def link_to(self, upstream: str, *, name: str) -> Link:
        """A new proxy to any ``host:port``."""
        proxy = f"{name}-{next(_serial)}"
        info = self.api.create_proxy(proxy, upstream, listen="127.0.0.1:0")
        self.created.append(proxy)
        return Link(self.api, proxy, info.listen, self.log, extensions=self.extensions, label=name)

    def pool(self, server: NatsServer, size: int, *, name: str = "pool") -> Pool:
        """``size`` member links plus one shared link, all to ``server``."""
        if size < 1:
            raise ValueError(f"a pool needs at least one member, got size={size}")
        members = [self.link(server, name=f"{name}.{i}") for i in range(size)]
        shared = self.link(server, name=f"{name}.shared")
        return Pool(name, members, shared, self.log)

    def close(self) -> None:
        """Delete every proxy this factory created (ignoring ones already gone)."""
        delete_proxies(self.api, self.created)
        self.created.clear()
