"""A blocking client for the Toxiproxy API, for code that cannot await (the fault layer).

Same methods, arguments, results and exceptions as the async
:class:`~nats_fault_harness.proxy.ToxiproxyClient`: both read the same call descriptions
(:mod:`nats_fault_harness.proxy._calls`). It keeps one HTTP/1.1 keep-alive connection
(``http.client``)
so a fault that flips a toxic costs one round trip, not a TCP handshake. A request on a
*reused* connection that fails before any answer arrives (the server closed the idle
connection) is sent once more on a fresh one; a failure on a fresh connection is reported
as :class:`~nats_fault_harness.errors.ProxyError`. Calls are serialised by a lock, so one client may
be shared by threads.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from nats_fault_harness._version import __version__
from nats_fault_harness.errors import ProxyError
from nats_fault_harness.proxy import _calls as calls
from nats_fault_harness.proxy._client_types import EventsPage, ProxyInfo, ToxicInfo

__all__ = ["SyncToxiproxyClient"]

T = TypeVar("T")
_RETRYABLE = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


class SyncToxiproxyClient:
    """Blocking client for a Toxiproxy-compatible API at ``url`` (``http://127.0.0.1:8474``).

    Use as ``with SyncToxiproxyClient(url) as client:`` or call :meth:`close`.

    Args:
        url: the API base URL (``http://`` only).
        timeout: seconds allowed per request (a long-polling :meth:`events` needs more
            than its ``wait_ms``).
    """

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        parsed = urllib.parse.urlsplit(self.url if "://" in self.url else "http://" + self.url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ProxyError(f"not an http:// API URL: {url!r}")
        self._host = parsed.hostname
        self._port = parsed.port or 80
        self._prefix = parsed.path.rstrip("/")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> SyncToxiproxyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the kept connection (idempotent; the next call opens a new one)."""
        with self._lock:
            self._drop()

    # ------------------------------------------------------------------ transport
    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _exchange(
        self, conn: http.client.HTTPConnection, call: calls.Call[Any]
    ) -> tuple[int, bytes, bool]:
        body = None if call.body is None else json.dumps(call.body).encode()
        headers = {"User-Agent": f"nats-fault-harness/{__version__}", "Connection": "keep-alive"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(call.method, self._prefix + call.path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, raw, response.will_close

    def _send(self, call: calls.Call[Any]) -> tuple[int, bytes]:
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(
                        self._host, self._port, timeout=self._timeout
                    )
                try:
                    status, raw, will_close = self._exchange(self._conn, call)
                except _RETRYABLE as exc:
                    self._drop()
                    if reused and attempt == 1:
                        continue
                    raise ProxyError(f"{call.what} at {self.url} failed: {exc!r}") from exc
                except (OSError, http.client.HTTPException) as exc:
                    self._drop()
                    raise ProxyError(f"{call.what} at {self.url} failed: {exc!r}") from exc
                if will_close:
                    self._drop()
                return status, raw
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(self, call: calls.Call[T]) -> T:
        status, raw = self._send(call)
        return calls.answer(call, status, raw)

    # ------------------------------------------------------------------ proxies
    def proxies(self) -> dict[str, ProxyInfo]:
        """All proxies by name."""
        return self._call(calls.proxies())

    def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        """Create a proxy; the answer has the bound ``listen`` address."""
        return self._call(calls.create_proxy(name, upstream, listen, enabled))

    def get_proxy(self, name: str) -> ProxyInfo:
        """One proxy with its toxics."""
        return self._call(calls.get_proxy(name))

    def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> ProxyInfo:
        """Change ``listen``, ``upstream`` or ``enabled`` (PATCH); omitted fields stay."""
        return self._call(calls.update_proxy(name, listen, upstream, enabled))

    def delete_proxy(self, name: str) -> None:
        """Delete a proxy (its connections are closed)."""
        self._call(calls.delete_proxy(name))

    def populate(self, proxies: Sequence[Mapping[str, Any]]) -> list[ProxyInfo]:
        """Create or replace proxies in one call (``POST /populate``)."""
        return self._call(calls.populate(proxies))

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call(calls.reset())

    def version(self) -> str:
        """The server's ``/version`` body, stripped."""
        return self._call(calls.version())

    # ------------------------------------------------------------------ toxics
    def toxics(self, proxy: str) -> list[ToxicInfo]:
        """A proxy's toxics: upstream ones first."""
        return self._call(calls.toxics(proxy))

    def get_toxic(self, proxy: str, name: str) -> ToxicInfo:
        """One toxic."""
        return self._call(calls.get_toxic(proxy, name))

    def add_toxic(
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
        """Add a toxic (default name ``<type>_<stream>``); see the async client."""
        return self._call(
            calls.add_toxic(proxy, type, stream, name, toxicity, attributes, connect_name)
        )

    def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        toxicity: float | None = None,
        connect_name: str | None = None,
    ) -> ToxicInfo:
        """Change a toxic (PATCH): attributes merge, omitted ones and toxicity stay."""
        return self._call(calls.update_toxic(proxy, name, attributes, toxicity, connect_name))

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic."""
        self._call(calls.remove_toxic(proxy, name))

    # ------------------------------------------------------------------ extensions
    def extensions(self) -> dict[str, Any] | None:
        """The extension report, or ``None`` from a server without extensions."""
        return self._call(calls.extensions())

    def events(
        self, since: int = 0, *, limit: int | None = None, wait_ms: int | None = None
    ) -> EventsPage:
        """Events after ``since``; ``wait_ms`` long-polls for the first new one."""
        return self._call(calls.events(since, limit, wait_ms))

    def connections(self, proxy: str) -> list[dict[str, Any]]:
        """Live connections of a proxy."""
        return self._call(calls.connections(proxy))

    def reset_connections(
        self,
        proxy: str,
        *,
        connect_name: str | None = None,
        ids: Sequence[int] | None = None,
        mode: str = "rst",
    ) -> list[int]:
        """Close live connections of a proxy now, both sides; return their ids."""
        return self._call(calls.reset_connections(proxy, connect_name, ids, mode))

    # ------------------------------------------------------------------ batches
    add_op = staticmethod(calls.batch_add)
    remove_op = staticmethod(calls.batch_remove)

    def batch(self, operations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add and remove toxics on several proxies at once, all or nothing (extension).

        Build operations with :meth:`add_op` (same arguments as :meth:`add_toxic`) and
        :meth:`remove_op`. A connection accepted while the batch is applied gets all of
        it or none of it, even across proxies. Returns one result per operation.

        Raises:
            ProxyError: an invalid operation (its message starts ``operations[i].field:``);
                nothing was changed.
            UnsupportedFeature: the server lacks the ``batch`` extension.
        """
        return self._call(calls.batch(operations))
