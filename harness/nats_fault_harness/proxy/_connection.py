"""One proxied TCP connection: the client socket, the upstream socket, and two links.

The client is accepted first and its reading held; the upstream is dialled per client (not
when the proxy is created). If the dial fails the client is closed: it sees an accepted
connection, then EOF, as with Toxiproxy. Both sockets get ``TCP_NODELAY``.

Teardown follows Toxiproxy (no half-close): when one direction's stream ends at its
destination, that socket is closed; the other direction then ends too, after flushing
what its toxics still hold. Two additions: when *both* peers have sent EOF, a forced EOF
is pushed through both directions (so a ``timeout`` toxic that swallowed a FIN cannot keep
a dead connection open), and a graceful close that cannot flush within
``Runtime.close_grace`` seconds is aborted.

Identification (extension): the client's first bytes pass a
:class:`~nats_fault_harness.proxy._identify.ConnectSniffer`, which reports the NATS ``CONNECT`` name
and kind (``client``/``route``/``gateway``) to :meth:`Connection.identified`; toxics
targeted with ``connect_name`` start then. Both show in the connection listing, in a
``connection_identified`` event and in ``connection_closed``. The sniffer forwards at once
unless a targeted toxic needs the name first (see :mod:`nats_fault_harness.proxy._identify`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from nats_fault_harness.proxy._identify import ConnectSniffer
from nats_fault_harness.proxy._link import Link
from nats_fault_harness.proxy._listen import format_addr, split_host_port
from nats_fault_harness.proxy._runtime import Runtime
from nats_fault_harness.proxy._side import Side
from nats_fault_harness.proxy._stage import Stage
from nats_fault_harness.proxy._toxic_spec import ToxicSpec

if TYPE_CHECKING:
    from nats_fault_harness.proxy._proxy import Proxy

__all__ = ["Connection", "Removal"]


def _dial_error(addr: str, exc: BaseException) -> str:
    """A failed dial in Go's words (``dial tcp 127.0.0.1:4222: connect: connection refused``)."""
    if isinstance(exc, TimeoutError):
        return f"dial tcp {addr}: i/o timeout"
    if isinstance(exc, socket.gaierror):
        return f"dial tcp: lookup {addr.rsplit(':', 1)[0]}: no such host"
    if isinstance(exc, OSError) and exc.errno:
        return f"dial tcp {addr}: connect: {os.strerror(exc.errno).lower()}"
    return f"dial tcp {addr}: {exc}"


@dataclasses.dataclass(frozen=True)
class Removal:
    """A toxic detached from one live connection whose stage still has to be stopped."""

    conn: Connection
    link: Link
    stage: Stage
    closes: bool

    def finish(self) -> None:
        """Unlink the stopped stage (synchronous); a ``closes_on_remove`` toxic closes."""
        self.link.finish_removal(self.stage, discard=self.closes)
        if self.closes:
            self.conn.note_reason("toxic_removed")


class Connection:
    """A client connection through a proxy.

    Attributes:
        id: the connection index within its proxy (1, 2, ...), also its seed path.
        client: ``ip:port`` of the client.
        links: ``{"upstream": Link, "downstream": Link}`` once the upstream is connected.
        opened_at: ``time.monotonic()`` at accept; ``opened_at_wall`` is ``time.time()``.
        connect_name: the NATS ``CONNECT`` name once seen (``""`` if it has none), else None.
        kind: ``client``, ``route`` or ``gateway`` once the ``CONNECT`` was seen, else None.
    """

    def __init__(self, proxy: Proxy, conn_id: int) -> None:
        self.proxy = proxy
        self.proxy_name = proxy.name
        self.runtime: Runtime = proxy.runtime
        self.id = conn_id
        self.client = ""
        self.upstream_addr = proxy.upstream
        self.client_side = Side(self, "client")
        self.upstream_side: Side | None = None
        self.links: dict[str, Link] = {}
        self.opened_at = time.monotonic()
        self.opened_at_wall = time.time()
        self.reason = ""
        self.connect_name: str | None = None
        self.kind: str | None = None
        self.done = asyncio.Event()
        self._dial_task: asyncio.Task[None] | None = None
        self._dialling = False
        self._grace: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ set-up
    def side_made(self, side: Side) -> None:
        """A socket is connected; for the client, hold its reads and dial the upstream."""
        if side is not self.client_side:
            return
        peer = side.transport.get_extra_info("peername")
        self.client = format_addr(str(peer[0]), int(peer[1])) if peer else "?"
        side.set_reading(False)
        self.proxy.connection_accepted(self)
        if side.closed_by_us:  # the proxy was stopped meanwhile
            return
        self._dialling = True
        name = f"dial {self.proxy_name}#{self.id}"
        self._dial_task = self.runtime.tasks.spawn(self._connect_upstream(), name=name)

    async def _connect_upstream(self) -> None:
        try:
            upstream = await self._dial()
        except asyncio.CancelledError:  # the proxy stopped while dialling
            self._dialling = False
            self._maybe_teardown()
            raise
        self._dialling = False
        if upstream is None:
            self.client_side.close()
            self._maybe_teardown()
            return
        self.upstream_side = upstream
        if self.client_side.lost or self.client_side.closed_by_us:
            upstream.close(abort=True)
            return
        self._wire(upstream)

    async def _dial(self) -> Side | None:
        """Connect to the upstream; ``None`` (and a ``connection_failed`` event) on failure."""
        loop = asyncio.get_running_loop()
        upstream = Side(self, "upstream")
        try:
            host, port = split_host_port(self.upstream_addr)
            async with asyncio.timeout(self.runtime.dial_timeout):
                await loop.create_connection(lambda: upstream, host or "localhost", port)
        except Exception as exc:  # OSError, TimeoutError, AddressError or a surprise
            self.note_reason("dial_failed")
            self.runtime.events.emit(
                "connection_failed",
                proxy=self.proxy_name,
                connection=self.id,
                client=self.client,
                upstream=self.upstream_addr,
                error=_dial_error(self.upstream_addr, exc),
            )
            return None
        return upstream

    def _wire(self, upstream: Side) -> None:
        client = self.client_side
        up = Link(self, "upstream", client, upstream)
        down = Link(self, "downstream", upstream, client)
        self.links = {"upstream": up, "downstream": down}
        client.out_link, client.in_link = ConnectSniffer(self, client, up), down
        upstream.out_link, upstream.in_link = down, up
        self.runtime.events.emit(
            "connection_opened",
            proxy=self.proxy_name,
            connection=self.id,
            client=self.client,
            upstream=self.upstream_addr,
        )
        for spec in self.proxy.toxic_specs():
            self.links[spec.direction].add_stage(spec)
        # Bytes (or a FIN) that arrived before the links existed: the upstream's (a server
        # greeting such as NATS INFO) before this call, the client's while we dialled. The
        # greeting goes first so the sniffer knows whether the server speaks NATS.
        for side in (upstream, client):
            reader = side.out_link
            assert reader is not None
            for data in side.pending:
                reader.feed(data)
            side.pending.clear()
            if side.eof:
                reader.feed_eof(forced=False)
            side.set_reading(True)
        up.update_reading()
        down.update_reading()

    def identified(self, name: str, kind: str) -> None:
        """The client's ``CONNECT`` was seen: record it and start toxics targeted at it."""
        self.connect_name = name
        self.kind = kind
        self.runtime.events.emit(
            "connection_identified",
            proxy=self.proxy_name,
            connection=self.id,
            client=self.client,
            connect_name=name,
            kind=kind,
        )
        for link in self.links.values():
            link.retarget()

    @property
    def wired(self) -> bool:
        """True once both sockets are connected and the links exist."""
        return bool(self.links)

    # ------------------------------------------------------------------ toxics
    def add_toxic(self, spec: ToxicSpec) -> None:
        """Apply a new toxic to this live connection."""
        if self.links:
            self.links[spec.direction].add_stage(spec)

    async def remove_toxic(self, spec: ToxicSpec) -> None:
        """Remove a toxic; a ``closes_on_remove`` toxic that was active closes the link."""
        removal = self.detach_toxic(spec)
        if removal is not None:
            await removal.stage.stop()
            removal.finish()

    def detach_toxic(self, spec: ToxicSpec) -> Removal | None:
        """First, synchronous step of removing a toxic from this live connection.

        Returns:
            The removal to finish (``await removal.stage.stop()``, then
            ``removal.finish()``) if the toxic was active here, else None.
        """
        if not self.links:
            return None
        link = self.links[spec.direction]
        stage = link.detach_stage(spec.name)
        if stage is None:
            return None
        return Removal(self, link, stage, spec.toxic.closes_on_remove)

    async def update_toxic(self, spec: ToxicSpec) -> None:
        """Restart a toxic with new attributes (toxicity rolled again)."""
        if self.links:
            await self.links[spec.direction].update_stage(spec)

    # ------------------------------------------------------------------ teardown
    def note_reason(self, reason: str) -> None:
        """Record why the connection is ending (the first reason wins)."""
        if not self.reason:
            self.reason = reason

    def _sides(self) -> list[Side]:
        return [s for s in (self.client_side, self.upstream_side) if s is not None]

    def side_eof(self, side: Side) -> None:
        """A socket's stream ended; push EOF into the link reading from it."""
        if side.eof:
            return
        side.eof = True
        if side.out_link is not None:
            side.out_link.feed_eof(forced=side.closed_by_us)
        sides = self._sides()
        if len(sides) == 2 and all(s.eof for s in sides):
            for link in self.links.values():
                link.feed_eof(forced=True)

    def side_lost(self, side: Side) -> None:
        """A socket is closed; tear down when every socket is."""
        if not self.reason and not side.closed_by_us:
            self.note_reason(f"{side.name}_closed")
        self.side_eof(side)
        self._maybe_teardown()

    def _maybe_teardown(self) -> None:
        """Tear down once every socket is closed and no dial is in flight."""
        if not self._dialling and all(s.lost for s in self._sides()):
            self._teardown()

    def link_finished(self, link: Link) -> None:
        """A direction's stream ended at its destination: close that socket."""
        self._close_side(link.dst)

    def _close_side(self, side: Side) -> None:
        side.close()
        if self._grace is None and not side.lost:
            self._grace = asyncio.get_running_loop().call_later(
                self.runtime.close_grace, self._grace_expired
            )

    def _grace_expired(self) -> None:
        """A graceful close could not flush in time: abort the sockets still closing."""
        self._grace = None
        for side in self._sides():
            if side.closed_by_us and not side.lost:
                side.close(abort=True)

    def abort(self, reason: str) -> None:
        """Close both sockets now (FIN, queued data dropped), as disabling a proxy does."""
        self.note_reason(reason)
        if self._dial_task is not None and not self._dial_task.done():
            self._dial_task.cancel()
        for side in self._sides():
            side.close(abort=True)

    def reset(self) -> None:
        """TCP RST on both sockets: SO_LINGER(0) set now, then close."""
        self.note_reason("reset")
        if self._dial_task is not None and not self._dial_task.done():
            self._dial_task.cancel()
        for side in self._sides():
            side.close(linger_zero=True)

    def close(self) -> None:
        """FIN on both sockets now, after flushing what is queued to them (bounded)."""
        if self._dial_task is not None and not self._dial_task.done():
            self._dial_task.cancel()
        for side in self._sides():
            self._close_side(side)

    def _teardown(self) -> None:
        if self.done.is_set():
            return
        for link in self.links.values():
            link.cancel_all()
        if self._grace is not None:
            self._grace.cancel()
        self.proxy.connection_closed(self)
        if self.links:
            up, down = self.links["upstream"], self.links["downstream"]
            self.runtime.events.emit(
                "connection_closed",
                proxy=self.proxy_name,
                connection=self.id,
                client=self.client,
                reason=self.reason or "closed",
                connect_name=self.connect_name,
                kind=self.kind,
                bytes_up=up.bytes_in,
                bytes_down=down.bytes_in,
                bytes_up_sent=up.bytes_out,
                bytes_down_sent=down.bytes_out,
            )
        self.done.set()

    def to_json(self) -> dict[str, Any]:
        """The connection as listed by ``GET /proxies/{proxy}/connections``."""
        up, down = self.links.get("upstream"), self.links.get("downstream")
        sniffer = self.client_side.out_link
        return {
            "id": self.id,
            "client": self.client,
            "upstream": self.upstream_addr,
            "connected": self.wired,
            "connect_name": self.connect_name,
            "kind": self.kind,
            "bytes_up": up.bytes_in if up else 0,
            "bytes_down": down.bytes_in if down else 0,
            "bytes_up_sent": up.bytes_out if up else 0,
            "bytes_down_sent": down.bytes_out if down else 0,
            "bytes_up_held": sniffer.held if isinstance(sniffer, ConnectSniffer) else 0,
            "opened_at": self.opened_at,
            "opened_at_wall": self.opened_at_wall,
            "toxics": {
                "upstream": up.active_toxics() if up else [],
                "downstream": down.active_toxics() if down else [],
            },
        }
