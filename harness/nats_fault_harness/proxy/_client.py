"""A small async client for the Toxiproxy API (ours or a real ``toxiproxy-server``).

Requests and the reading of answers, error mapping included, are described once in
:mod:`nats_fault_harness.proxy._calls` and shared with
:class:`~nats_fault_harness.proxy.SyncToxiproxyClient`:
404 ``proxy not found`` -> :class:`ProxyNotFound`, 404 ``toxic not found`` ->
:class:`ToxicNotFound`, 409 -> :class:`ProxyAlreadyExists` / :class:`ToxicAlreadyExists`,
anything else -> :class:`ProxyError` with the status. Extension calls against a real
Toxiproxy (which answers ``404 page not found``) give ``None`` for
:meth:`ToxiproxyClient.extensions` and raise :class:`UnsupportedFeature` for the others,
so a harness can feature-detect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from nats_fault_harness._version import __version__
from nats_fault_harness.errors import ProxyError
from nats_fault_harness.proxy import _calls as calls
from nats_fault_harness.proxy._client_types import EventsPage, ProxyInfo, ToxicInfo

__all__ = ["EventsPage", "ProxyInfo", "ToxicInfo", "ToxiproxyClient"]

T = TypeVar("T")


class ToxiproxyClient:
    """Async client for a Toxiproxy-compatible API at ``url`` (``http://127.0.0.1:8474``).

    Use as ``async with ToxiproxyClient(url) as client:`` or call :meth:`aclose`.

    Args:
        url: the API base URL.
        timeout: seconds allowed per request.
    """

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ToxiproxyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (idempotent)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ------------------------------------------------------------------ transport
    async def _send(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={"User-Agent": f"nats-fault-harness/{__version__}"},
            )
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            async with self._session.request(
                method, self.url + path, data=data, headers=headers
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProxyError(f"{method} {self.url}{path} failed: {exc!r}") from exc

    async def _call(self, call: calls.Call[T]) -> T:
        status, raw = await self._send(call.method, call.path, call.body)
        return calls.answer(call, status, raw)

    # ------------------------------------------------------------------ proxies
    async def proxies(self) -> dict[str, ProxyInfo]:
        """All proxies by name."""
        return await self._call(calls.proxies())

    async def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        """Create a proxy; the answer has the bound ``listen`` address."""
        return await self._call(calls.create_proxy(name, upstream, listen, enabled))

    async def get_proxy(self, name: str) -> ProxyInfo:
        """One proxy with its toxics."""
        return await self._call(calls.get_proxy(name))

    async def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> ProxyInfo:
        """Change ``listen``, ``upstream`` or ``enabled`` (PATCH); omitted fields stay."""
        return await self._call(calls.update_proxy(name, listen, upstream, enabled))

    async def delete_proxy(self, name: str) -> None:
        """Delete a proxy (its connections are closed)."""
        await self._call(calls.delete_proxy(name))

    async def populate(self, proxies: Sequence[Mapping[str, Any]]) -> list[ProxyInfo]:
        """Create or replace proxies in one call (``POST /populate``)."""
        return await self._call(calls.populate(proxies))

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        await self._call(calls.reset())

    async def version(self) -> str:
        """The server's ``/version`` body, stripped (``{"version": "2.12.0"}``)."""
        return await self._call(calls.version())

    # ------------------------------------------------------------------ toxics
    async def toxics(self, proxy: str) -> list[ToxicInfo]:
        """A proxy's toxics: upstream ones first."""
        return await self._call(calls.toxics(proxy))

    async def get_toxic(self, proxy: str, name: str) -> ToxicInfo:
        """One toxic."""
        return await self._call(calls.get_toxic(proxy, name))

    async def add_toxic(
        self,
        proxy: str,
        type: str,
        stream: str = "downstream",
        name: str | None = None,
        toxicity: float = 1.0,
        attributes: Mapping[str, Any] | None = None,
        *,
        connect_name: str | None = None,
    ) -> ToxicInfo:
        """Add a toxic (default name ``<type>_<stream>``).

        Args:
            connect_name: target only connections whose NATS ``CONNECT`` name matches
                this glob (extension; sent as ``attributes.connect_name``).
        """
        return await self._call(
            calls.add_toxic(proxy, type, stream, name, toxicity, attributes, connect_name)
        )

    async def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        toxicity: float | None = None,
        connect_name: str | None = None,
    ) -> ToxicInfo:
        """Change a toxic (PATCH): attributes merge, omitted ones and toxicity stay."""
        return await self._call(calls.update_toxic(proxy, name, attributes, toxicity, connect_name))

    async def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic."""
        await self._call(calls.remove_toxic(proxy, name))

    # ------------------------------------------------------------------ extensions
    async def extensions(self) -> dict[str, Any] | None:
        """The extension report, or ``None`` from a server without extensions."""
        return await self._call(calls.extensions())

    async def events(
        self, since: int = 0, *, limit: int | None = None, wait_ms: int | None = None
    ) -> EventsPage:
        """Events after ``since``; ``wait_ms`` long-polls for the first new one.

        Raises:
            UnsupportedFeature: the server has no event feed.
        """
        return await self._call(calls.events(since, limit, wait_ms))

    async def connections(self, proxy: str) -> list[dict[str, Any]]:
        """Live connections of a proxy.

        Raises:
            ProxyNotFound: no such proxy.
            UnsupportedFeature: the server cannot list connections.
        """
        return await self._call(calls.connections(proxy))

    async def reset_connections(
        self,
        proxy: str,
        *,
        connect_name: str | None = None,
        ids: Sequence[int] | None = None,
        mode: str = "rst",
    ) -> list[int]:
        """Close live connections of a proxy now, both sides; return their ids.

        Args:
            proxy: the proxy.
            connect_name: only connections whose ``CONNECT`` name matches this glob.
            ids: only these connection ids.
            mode: ``"rst"`` (TCP reset) or ``"fin"`` (orderly close).

        Raises:
            UnsupportedFeature: the server lacks the ``connection_reset`` extension.
        """
        return await self._call(calls.reset_connections(proxy, connect_name, ids, mode))

    # ------------------------------------------------------------------ batches
    add_op = staticmethod(calls.batch_add)
    remove_op = staticmethod(calls.batch_remove)

    async def batch(self, operations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add and remove toxics on several proxies at once, all or nothing (extension).

        Build operations with :meth:`add_op` (same arguments as :meth:`add_toxic`) and
        :meth:`remove_op`. A connection accepted while the batch is applied gets all of
        it or none of it, even across proxies. Returns one result per operation.

        Raises:
            ProxyError: an invalid operation (its message starts ``operations[i].field:``);
                nothing was changed.
            UnsupportedFeature: the server lacks the ``batch`` extension.
        """
        return await self._call(calls.batch(operations))
