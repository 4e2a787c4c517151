"""A proxy: a listener, its live connections, and its toxics.

Lifecycle as in Toxiproxy 2.12: starting binds ``listen`` and stores the bound address
(``127.0.0.1:0`` becomes ``127.0.0.1:43127``, so a later re-enable binds the same port);
stopping closes the listener (new connects are refused) and closes every live connection on
both sides; toxics are kept. Toxic changes apply to live connections and return once every
connection has them.

One difference, invisible in the API: a stopped proxy keeps its port. The first start binds
a placeholder (bound, never listening; see :mod:`nats_fault_harness.proxy._listen`) and listens on
its
port; stopping closes only the listener, so while the proxy is disabled its port refuses
connections yet no port-0 bind and no ``connect()`` of anyone can be given it, and the
re-enable cannot fail with ``address already in use`` because another socket took the port
meanwhile (Toxiproxy can: its port is free while disabled). The placeholder is released when
the proxy is deleted (:meth:`Proxy.release`) or its listen address changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

from nats_fault_harness.proxy._apierror import ApiError
from nats_fault_harness.proxy._connection import Connection, Removal
from nats_fault_harness.proxy._listen import bound_addr, listen_on, reserve, resolve_string
from nats_fault_harness.proxy._runtime import Runtime
from nats_fault_harness.proxy._side import Side
from nats_fault_harness.proxy._toxic_spec import ToxicSpec

__all__ = ["EMIT_LOGGER_KEY", "Proxy", "finish_removals"]

EMIT_LOGGER_KEY = True
"""Toxiproxy >= 2.5 accidentally serialises its logger as ``"Logger": {}``; we do too."""

_STOP_WAIT = 5.0


async def finish_removals(removals: list[Removal]) -> None:
    """Stop the detached stages (concurrently), then unlink them all in one step.

    Until the last stage has stopped every detached stage stays in its chain (data
    queues at it), so a connection's directions are released together, not one by one.
    """
    if not removals:
        return
    async with asyncio.TaskGroup() as group:
        for removal in removals:
            group.create_task(removal.stage.stop())
    for removal in removals:
        removal.finish()


class Proxy:
    """One named proxy from ``listen`` to ``upstream``.

    Attributes:
        name: the proxy's name (cannot change).
        listen: the listen address: as given while never started, the bound one after.
        upstream: ``host:port`` dialled for every accepted client.
        enabled: True while listening.
        connections: live connections by id.
        lock: serialises API operations on this proxy.
    """

    def __init__(self, runtime: Runtime, name: str, listen: str, upstream: str) -> None:
        self.runtime = runtime
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.connections: dict[int, Connection] = {}
        self.lock = asyncio.Lock()
        self._toxics: list[ToxicSpec] = []
        self._server: asyncio.AbstractServer | None = None
        self._placeholder: socket.socket | None = None
        self._next_id = 0

    # ------------------------------------------------------------------ views
    def toxic_specs(self) -> list[ToxicSpec]:
        """All toxics: upstream ones in insertion order, then downstream ones."""
        return [t for t in self._toxics if t.direction == "upstream"] + [
            t for t in self._toxics if t.direction == "downstream"
        ]

    def targets_names(self) -> bool:
        """True if a toxic is targeted by ``connect_name`` (connections must be identified
        before their ``CONNECT`` passes)."""
        return any(spec.connect_name for spec in self._toxics)

    def find_toxic(self, name: str) -> ToxicSpec | None:
        """The toxic called ``name`` in either stream."""
        return next((t for t in self._toxics if t.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """Toxiproxy's proxy object, keys in its order."""
        data: dict[str, Any] = {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
        }
        if EMIT_LOGGER_KEY:
            data["Logger"] = {}
        data["toxics"] = [t.to_json() for t in self.toxic_specs()]
        return data

    def _event(self, type_: str) -> None:
        self.runtime.events.emit(type_, proxy=self.name, listen=self.listen, upstream=self.upstream)

    # ------------------------------------------------------------------ lifecycle
    async def start(self, *, quiet: bool = False) -> bool:
        """Bind and start accepting; False if it was already started.

        The first start reserves the port with a placeholder held until :meth:`release`;
        every start listens on the placeholder's address.

        Args:
            quiet: skip the ``proxy_enabled`` event (creation reports ``proxy_created``).

        Raises:
            ApiError: 500 with Go's text when the address is bad or the bind fails.
        """
        if self.enabled:
            return False
        fresh = self._placeholder is None
        placeholder = self._placeholder or await reserve(self.listen)
        try:
            sock = listen_on(placeholder)
            loop = asyncio.get_running_loop()
            try:
                self._server = await loop.create_server(self._protocol, sock=sock, backlog=1024)
            except OSError as exc:
                sock.close()
                raise ApiError(
                    f"listen tcp {bound_addr(placeholder)}: {exc.strerror or exc}", 500
                ) from exc
        except BaseException:
            if fresh:
                placeholder.close()
            raise
        self._placeholder = placeholder
        self.listen = bound_addr(placeholder)
        self.enabled = True
        if not quiet:
            self._event("proxy_enabled")
        return True

    def release(self) -> None:
        """Give the port back: close the placeholder (call after :meth:`stop`; idempotent)."""
        placeholder, self._placeholder = self._placeholder, None
        if placeholder is not None:
            placeholder.close()

    async def start_checked(self, *, quiet: bool = False) -> bool:
        """:meth:`start`, with a failure to get a socket at all (``EMFILE``) as a 500 too.

        Raises:
            ApiError: 500 with Go's text (``listen tcp ADDR: socket: too many open files``).
        """
        try:
            return await self.start(quiet=quiet)
        except OSError as exc:
            reason = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
            raise ApiError(f"listen tcp {self.listen}: socket: {reason}", 500) from exc

    async def stop(self) -> None:
        """Close the listener and every live connection (both sides); keep the toxics.

        The port stays reserved (new connects are refused): see :meth:`release`.
        """
        if not self.enabled:
            return
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        conns = list(self.connections.values())
        for conn in conns:
            conn.abort("proxy_disabled")
        if conns:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STOP_WAIT):
                    for conn in conns:
                        await conn.done.wait()
        if server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await server.wait_closed()
        self._event("proxy_disabled")

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        """Apply a proxy update like Toxiproxy's ``Proxy.Update``.

        A listen address that resolves to the stored one (``localhost:P`` vs
        ``127.0.0.1:P``) is no change and keeps live connections; a changed listen or
        upstream restarts the proxy. A changed listen releases the old port.

        Unlike Toxiproxy, which leaves the proxy stopped with the new listen address, a
        failed update restores the previous listen, upstream and enabled state (the live
        connections that the restart closed stay closed).

        Raises:
            ApiError: 500 if the new listen does not resolve or cannot be bound.
        """
        resolved = await resolve_string(listen)
        before = (self.listen, self.upstream, self.enabled)
        old: socket.socket | None = None  # the old port, kept until the update succeeded
        try:
            if resolved != self.listen or upstream != self.upstream:
                await self.stop()
                if resolved != self.listen:
                    old, self._placeholder = self._placeholder, None
                self.listen = listen
                self.upstream = upstream
            if enabled != self.enabled:
                if enabled:
                    await self.start_checked()
                else:
                    await self.stop()
        except ApiError:
            if old is not None:  # back on the old port, which nobody could take meanwhile
                self.release()
                self._placeholder, old = old, None
            await self._restore(*before)
            raise
        finally:
            if old is not None:
                old.close()

    async def _restore(self, listen: str, upstream: str, enabled: bool) -> None:
        """Undo a failed update (best effort: the old port may have been taken meanwhile)."""
        await self.stop()
        self.listen, self.upstream = listen, upstream
        if enabled:
            with contextlib.suppress(ApiError):
                await self.start_checked()

    def _protocol(self) -> Side:
        self._next_id += 1
        return Connection(self, self._next_id).client_side

    def connection_accepted(self, conn: Connection) -> None:
        """Track a new connection (closed at once if the proxy stopped meanwhile)."""
        self.connections[conn.id] = conn
        if not self.enabled:
            conn.abort("proxy_disabled")

    def connection_closed(self, conn: Connection) -> None:
        """Forget a connection whose sockets are both closed."""
        self.connections.pop(conn.id, None)

    def _wired(self) -> list[Connection]:
        return [conn for conn in self.connections.values() if conn.wired]

    # ------------------------------------------------------------------ toxics
    async def add_toxic(self, spec: ToxicSpec) -> None:
        """Add a toxic; every live connection gets it before this returns."""
        self.add_toxic_now(spec)

    def add_toxic_now(self, spec: ToxicSpec, **event: Any) -> None:
        """Add a toxic in one synchronous step: the toxic list and every live connection.

        A connection wired after this call copies the new list; one wired before got the
        stage here, so no connection can miss the toxic. ``event`` adds fields to the
        ``toxic_added`` event (a batch's id).
        """
        self._toxics.append(spec)
        for conn in self._wired():
            conn.add_toxic(spec)
        self.runtime.events.emit("toxic_added", proxy=self.name, toxic=spec.to_json(), **event)

    def detach_toxic(self, spec: ToxicSpec) -> list[Removal]:
        """Remove a toxic from the toxic list in one synchronous step.

        Connections wired after this call no longer get it. Returns the removals still to
        finish on live connections where it was active (see :func:`finish_removals`).
        """
        self._toxics = [t for t in self._toxics if t.name != spec.name]
        removals = []
        for conn in self._wired():
            removal = conn.detach_toxic(spec)
            if removal is not None:
                removals.append(removal)
        return removals

    async def update_toxic(self, spec: ToxicSpec) -> None:
        """Replace a toxic's attributes/toxicity and restart it on live connections."""
        index = next(i for i, t in enumerate(self._toxics) if t.name == spec.name)
        self._toxics[index] = spec
        async with asyncio.TaskGroup() as group:
            for conn in self._wired():
                group.create_task(conn.update_toxic(spec))
        self.runtime.events.emit("toxic_updated", proxy=self.name, toxic=spec.to_json())

    async def remove_toxic(self, spec: ToxicSpec) -> None:
        """Remove a toxic from the proxy and from every live connection."""
        await finish_removals(self.detach_toxic(spec))
        self.runtime.events.emit("toxic_removed", proxy=self.name, toxic=spec.to_json())

    async def reset_toxics(self) -> None:
        """Remove every toxic, upstream ones first."""
        for spec in self.toxic_specs():
            await self.remove_toxic(spec)
