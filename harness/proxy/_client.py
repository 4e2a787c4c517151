"""A small async client for the Toxiproxy API (ours or a real ``toxiproxy-server``).

Errors map onto :mod:`harness.errors` at this one boundary: 404 ``proxy not found`` ->
:class:`ProxyNotFound`, 404 ``toxic not found`` -> :class:`ToxicNotFound`, 409 ->
:class:`ProxyAlreadyExists` / :class:`ToxicAlreadyExists`, anything else ->
:class:`ProxyError` with the status. Extension calls against a real Toxiproxy (which answers
``404 page not found``) give ``None`` for :meth:`ToxiproxyClient.extensions` and raise
:class:`UnsupportedFeature` for the others, so a harness can feature-detect.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import aiohttp

from harness._version import __version__
from harness.errors import (
    ProxyAlreadyExists,
    ProxyError,
    ProxyNotFound,
    ToxicAlreadyExists,
    ToxicNotFound,
    UnsupportedFeature,
)

__all__ = ["EventsPage", "ProxyInfo", "ToxicInfo", "ToxiproxyClient"]

def _q(name: str) -> str:
    """A path segment: proxy and toxic names may hold any character."""
    return urllib.parse.quote(name, safe="")


_BY_MESSAGE: dict[str, type[ProxyError]] = {
    "proxy not found": ProxyNotFound,
    "toxic not found": ToxicNotFound,
    "proxy already exists": ProxyAlreadyExists,
    "toxic already exists": ToxicAlreadyExists,
}


@dataclasses.dataclass(frozen=True)
class ToxicInfo:
    """A toxic as the API reports it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToxicInfo:
        """Build from the API's toxic object."""
        return cls(data["name"], data["type"], data["stream"], float(data["toxicity"]),
                   dict(data.get("attributes") or {}))


@dataclasses.dataclass(frozen=True)
class ProxyInfo:
    """A proxy as the API reports it."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[ToxicInfo, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProxyInfo:
        """Build from the API's proxy object."""
        toxics = tuple(ToxicInfo.from_json(t) for t in data.get("toxics") or ())
        return cls(data["name"], data["listen"], data["upstream"], bool(data["enabled"]), toxics)

    @property
    def host(self) -> str:
        """Host part of :attr:`listen` (brackets removed)."""
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        """Port part of :attr:`listen`."""
        return int(self.listen.rsplit(":", 1)[1])


@dataclasses.dataclass(frozen=True)
class EventsPage:
    """One read of the event feed: pass :attr:`next` as ``since`` to continue."""

    events: list[dict[str, Any]]
    next: int
    dropped: int = 0


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

    async def _request(
        self, method: str, path: str, body: object = None, *, extension: bool = False
    ) -> Any:
        status, raw = await self._send(method, path, body)
        if status >= 400:
            raise self._error(status, raw, extension=extension, what=f"{method} {path}")
        if not raw.strip():
            return None
        return json.loads(raw)

    @staticmethod
    def _error(status: int, raw: bytes, *, extension: bool, what: str) -> ProxyError:
        text = raw.decode("utf-8", "replace").strip()
        try:
            body = json.loads(text)
            message = str(body.get("error", text)) if isinstance(body, dict) else text
        except ValueError:
            if extension and status == 404:
                return UnsupportedFeature(
                    f"{what}: this proxy lacks the extension (real Toxiproxy?)", status=status
                )
            message = text or f"{what} failed"
        return _BY_MESSAGE.get(message, ProxyError)(message, status=status)

    # ------------------------------------------------------------------ proxies
    async def proxies(self) -> dict[str, ProxyInfo]:
        """All proxies by name."""
        data = await self._request("GET", "/proxies")
        return {name: ProxyInfo.from_json(item) for name, item in (data or {}).items()}

    async def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        """Create a proxy; the answer has the bound ``listen`` address."""
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return ProxyInfo.from_json(await self._request("POST", "/proxies", body))

    async def get_proxy(self, name: str) -> ProxyInfo:
        """One proxy with its toxics."""
        return ProxyInfo.from_json(await self._request("GET", f"/proxies/{_q(name)}"))

    async def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> ProxyInfo:
        """Change ``listen``, ``upstream`` or ``enabled`` (PATCH); omitted fields stay."""
        fields = {"listen": listen, "upstream": upstream, "enabled": enabled}
        body = {key: value for key, value in fields.items() if value is not None}
        return ProxyInfo.from_json(await self._request("PATCH", f"/proxies/{_q(name)}", body))

    async def delete_proxy(self, name: str) -> None:
        """Delete a proxy (its connections are closed)."""
        await self._request("DELETE", f"/proxies/{_q(name)}")

    async def populate(self, proxies: Sequence[Mapping[str, Any]]) -> list[ProxyInfo]:
        """Create or replace proxies in one call (``POST /populate``)."""
        data = await self._request("POST", "/populate", list(proxies))
        return [ProxyInfo.from_json(item) for item in (data or {}).get("proxies") or ()]

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        await self._request("POST", "/reset")

    async def version(self) -> str:
        """The server's ``/version`` body, stripped (``{"version": "2.12.0"}``)."""
        status, raw = await self._send("GET", "/version")
        if status >= 400:
            raise self._error(status, raw, extension=False, what="GET /version")
        return raw.decode("utf-8", "replace").strip()

    # ------------------------------------------------------------------ toxics
    async def toxics(self, proxy: str) -> list[ToxicInfo]:
        """A proxy's toxics: upstream ones first."""
        data = await self._request("GET", f"/proxies/{_q(proxy)}/toxics")
        return [ToxicInfo.from_json(item) for item in data or ()]

    async def get_toxic(self, proxy: str, name: str) -> ToxicInfo:
        """One toxic."""
        path = f"/proxies/{_q(proxy)}/toxics/{_q(name)}"
        return ToxicInfo.from_json(await self._request("GET", path))

    async def add_toxic(
        self,
        proxy: str,
        type: str,
        stream: str = "downstream",
        name: str | None = None,
        toxicity: float = 1.0,
        attributes: Mapping[str, int] | None = None,
    ) -> ToxicInfo:
        """Add a toxic (default name ``<type>_<stream>``)."""
        body: dict[str, Any] = {"type": type, "stream": stream, "toxicity": toxicity,
                                "attributes": dict(attributes or {})}
        if name is not None:
            body["name"] = name
        path = f"/proxies/{_q(proxy)}/toxics"
        return ToxicInfo.from_json(await self._request("POST", path, body))

    async def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        attributes: Mapping[str, int] | None = None,
        toxicity: float | None = None,
    ) -> ToxicInfo:
        """Change a toxic (PATCH): attributes merge, omitted toxicity stays."""
        body: dict[str, Any] = {}
        if attributes is not None:
            body["attributes"] = dict(attributes)
        if toxicity is not None:
            body["toxicity"] = toxicity
        data = await self._request("PATCH", f"/proxies/{_q(proxy)}/toxics/{_q(name)}", body)
        return ToxicInfo.from_json(data)

    async def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic."""
        await self._request("DELETE", f"/proxies/{_q(proxy)}/toxics/{_q(name)}")

    # ------------------------------------------------------------------ extensions
    async def extensions(self) -> dict[str, Any] | None:
        """The extension report, or ``None`` from a server without extensions."""
        try:
            data = await self._request("GET", "/extensions", extension=True)
        except UnsupportedFeature:
            return None
        return dict(data or {})

    async def events(
        self, since: int = 0, *, limit: int | None = None, wait_ms: int | None = None
    ) -> EventsPage:
        """Events after ``since``; ``wait_ms`` long-polls for the first new one.

        Raises:
            UnsupportedFeature: the server has no event feed.
        """
        query = f"?since={since}"
        if limit is not None:
            query += f"&limit={limit}"
        if wait_ms is not None:
            query += f"&wait={wait_ms}"
        data = await self._request("GET", "/events" + query, extension=True)
        return EventsPage(list(data["events"]), int(data["next"]), int(data.get("dropped", 0)))

    async def connections(self, proxy: str) -> list[dict[str, Any]]:
        """Live connections of a proxy.

        Raises:
            ProxyNotFound: no such proxy.
            UnsupportedFeature: the server cannot list connections.
        """
        data = await self._request("GET", f"/proxies/{_q(proxy)}/connections", extension=True)
        return list(data or ())
