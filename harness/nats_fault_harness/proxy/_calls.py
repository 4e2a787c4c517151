"""The Toxiproxy API as data: one :class:`Call` per operation, shared by both clients.

A call says what to send (method, path, JSON body) and how to read the answer; the async
:class:`~nats_fault_harness.proxy.ToxiproxyClient` and the blocking
:class:`~nats_fault_harness.proxy.SyncToxiproxyClient` differ only in how they move bytes. Errors
map
onto :mod:`nats_fault_harness.errors` here, once (:func:`error_for`): 404 ``proxy not found`` ->
:class:`ProxyNotFound`, 404 ``toxic not found`` -> :class:`ToxicNotFound`, 409 ->
:class:`ProxyAlreadyExists` / :class:`ToxicAlreadyExists`, anything else -> :class:`ProxyError`
with the status; a batch error maps by the message after its ``operations[i].field:``
prefix. An extension call answered with a plain-text 404 (a real Toxiproxy) raises
:class:`UnsupportedFeature`, except :func:`extensions`, which reads as ``None``.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from nats_fault_harness.errors import (
    ProxyAlreadyExists,
    ProxyError,
    ProxyNotFound,
    ToxicAlreadyExists,
    ToxicNotFound,
    UnsupportedFeature,
)
from nats_fault_harness.proxy._client_types import EventsPage, ProxyInfo, ToxicInfo

__all__ = [
    "Call",
    "add_toxic",
    "answer",
    "batch",
    "batch_add",
    "batch_remove",
    "connections",
    "create_proxy",
    "delete_proxy",
    "error_for",
    "events",
    "extensions",
    "get_proxy",
    "get_toxic",
    "populate",
    "proxies",
    "remove_toxic",
    "reset",
    "reset_connections",
    "toxics",
    "update_proxy",
    "update_toxic",
    "version",
]

T = TypeVar("T")

_BY_MESSAGE: dict[str, type[ProxyError]] = {
    "proxy not found": ProxyNotFound,
    "toxic not found": ToxicNotFound,
    "proxy already exists": ProxyAlreadyExists,
    "toxic already exists": ToxicAlreadyExists,
}


def _q(name: str) -> str:
    """A path segment: proxy and toxic names may hold any character."""
    return urllib.parse.quote(name, safe="")


@dataclasses.dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and the reading of its answer.

    Attributes:
        method: HTTP method.
        path: path and query.
        read: decoded JSON body (``None`` if empty) -> result; for ``text`` calls, the
            stripped body text.
        body: the JSON body, or ``None`` for none.
        extension: a harness extension (a plain-text 404 means "not offered").
        optional: an extension whose absence reads as ``None`` instead of raising.
        text: the answer is text, not JSON.
    """

    method: str
    path: str
    read: Callable[[Any], T]
    body: object = None
    extension: bool = False
    optional: bool = False
    text: bool = False

    @property
    def what(self) -> str:
        """``METHOD /path``, for messages."""
        return f"{self.method} {self.path}"


def error_for(status: int, raw: bytes, *, extension: bool, what: str) -> ProxyError:
    """The exception for an error answer (status >= 400)."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
        message = str(body.get("error", text)) if isinstance(body, dict) else text
        if isinstance(body, dict) and "operation" in body:  # a batch: "operations[i].f: ..."
            sentinel = message.split(": ", 1)[-1].rsplit(" (got ", 1)[0]
            return _BY_MESSAGE.get(sentinel, ProxyError)(message, status=status)
    except ValueError:
        if extension and status == 404:
            return UnsupportedFeature(
                f"{what}: this proxy lacks the extension (real Toxiproxy?)", status=status
            )
        message = text or f"{what} failed"
    return _BY_MESSAGE.get(message, ProxyError)(message, status=status)


def answer(call: Call[T], status: int, raw: bytes) -> T:
    """Read an answer to ``call``.

    Raises:
        ProxyError: the mapped error of an error answer.
    """
    if status >= 400:
        error = error_for(status, raw, extension=call.extension, what=call.what)
        if call.optional and isinstance(error, UnsupportedFeature):
            return cast(T, None)
        raise error
    if call.text:
        return call.read(raw.decode("utf-8", "replace").strip())
    return call.read(json.loads(raw) if raw.strip() else None)


def _none(_: object) -> None:
    return None


# ---------------------------------------------------------------------- proxies
def proxies() -> Call[dict[str, ProxyInfo]]:
    """``GET /proxies``."""
    return Call(
        "GET",
        "/proxies",
        lambda d: {name: ProxyInfo.from_json(item) for name, item in (d or {}).items()},
    )


def create_proxy(name: str, upstream: str, listen: str, enabled: bool) -> Call[ProxyInfo]:
    """``POST /proxies``."""
    body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
    return Call("POST", "/proxies", ProxyInfo.from_json, body)


def get_proxy(name: str) -> Call[ProxyInfo]:
    """``GET /proxies/{name}``."""
    return Call("GET", f"/proxies/{_q(name)}", ProxyInfo.from_json)


def update_proxy(
    name: str, listen: str | None, upstream: str | None, enabled: bool | None
) -> Call[ProxyInfo]:
    """``PATCH /proxies/{name}`` with the fields given."""
    fields = {"listen": listen, "upstream": upstream, "enabled": enabled}
    body = {key: value for key, value in fields.items() if value is not None}
    return Call("PATCH", f"/proxies/{_q(name)}", ProxyInfo.from_json, body)


def delete_proxy(name: str) -> Call[None]:
    """``DELETE /proxies/{name}``."""
    return Call("DELETE", f"/proxies/{_q(name)}", _none)


def populate(entries: Sequence[Mapping[str, Any]]) -> Call[list[ProxyInfo]]:
    """``POST /populate``."""
    return Call(
        "POST",
        "/populate",
        lambda d: [ProxyInfo.from_json(item) for item in (d or {}).get("proxies") or ()],
        list(entries),
    )


def reset() -> Call[None]:
    """``POST /reset``."""
    return Call("POST", "/reset", _none)


def version() -> Call[str]:
    """``GET /version`` (the body text, stripped)."""
    return Call("GET", "/version", str, text=True)


# ---------------------------------------------------------------------- toxics
def toxics(proxy: str) -> Call[list[ToxicInfo]]:
    """``GET /proxies/{proxy}/toxics``."""
    return Call(
        "GET",
        f"/proxies/{_q(proxy)}/toxics",
        lambda d: [ToxicInfo.from_json(item) for item in d or ()],
    )


def get_toxic(proxy: str, name: str) -> Call[ToxicInfo]:
    """``GET /proxies/{proxy}/toxics/{name}``."""
    return Call("GET", f"/proxies/{_q(proxy)}/toxics/{_q(name)}", ToxicInfo.from_json)


def _attributes(attributes: Mapping[str, Any] | None, connect_name: str | None) -> dict[str, Any]:
    merged = dict(attributes or {})
    if connect_name is not None:
        merged["connect_name"] = connect_name
    return merged


def add_toxic(
    proxy: str,
    type: str,
    stream: str,
    name: str | None,
    toxicity: float,
    attributes: Mapping[str, Any] | None,
    connect_name: str | None,
) -> Call[ToxicInfo]:
    """``POST /proxies/{proxy}/toxics``; ``connect_name`` goes into the attributes."""
    body: dict[str, Any] = {
        "type": type,
        "stream": stream,
        "toxicity": toxicity,
        "attributes": _attributes(attributes, connect_name),
    }
    if name is not None:
        body["name"] = name
    return Call("POST", f"/proxies/{_q(proxy)}/toxics", ToxicInfo.from_json, body)


def update_toxic(
    proxy: str,
    name: str,
    attributes: Mapping[str, Any] | None,
    toxicity: float | None,
    connect_name: str | None,
) -> Call[ToxicInfo]:
    """``PATCH /proxies/{proxy}/toxics/{name}``: attributes merge, omitted fields stay."""
    body: dict[str, Any] = {}
    if attributes is not None or connect_name is not None:
        body["attributes"] = _attributes(attributes, connect_name)
    if toxicity is not None:
        body["toxicity"] = toxicity
    return Call("PATCH", f"/proxies/{_q(proxy)}/toxics/{_q(name)}", ToxicInfo.from_json, body)


def remove_toxic(proxy: str, name: str) -> Call[None]:
    """``DELETE /proxies/{proxy}/toxics/{name}``."""
    return Call("DELETE", f"/proxies/{_q(proxy)}/toxics/{_q(name)}", _none)


# ---------------------------------------------------------------------- extensions
def extensions() -> Call[dict[str, Any] | None]:
    """``GET /extensions``; ``None`` from a server without extensions."""
    return Call("GET", "/extensions", lambda d: dict(d or {}), extension=True, optional=True)


def events(since: int, limit: int | None, wait_ms: int | None) -> Call[EventsPage]:
    """``GET /events?since=...``."""
    query = f"?since={since}"
    if limit is not None:
        query += f"&limit={limit}"
    if wait_ms is not None:
        query += f"&wait={wait_ms}"
    return Call(
        "GET",
        "/events" + query,
        lambda d: EventsPage(list(d["events"]), int(d["next"]), int(d.get("dropped", 0))),
        extension=True,
    )


def connections(proxy: str) -> Call[list[dict[str, Any]]]:
    """``GET /proxies/{proxy}/connections``."""
    return Call("GET", f"/proxies/{_q(proxy)}/connections", lambda d: list(d or ()), extension=True)


def reset_connections(
    proxy: str, connect_name: str | None, ids: Sequence[int] | None, mode: str
) -> Call[list[int]]:
    """``POST /proxies/{proxy}/connections/reset``; the ids of the closed connections."""
    body: dict[str, Any] = {"mode": mode}
    if connect_name is not None:
        body["connect_name"] = connect_name
    if ids is not None:
        body["ids"] = list(ids)
    return Call(
        "POST",
        f"/proxies/{_q(proxy)}/connections/reset",
        lambda d: [int(i) for i in (d or {}).get("closed", ())],
        body,
        extension=True,
    )


def batch_add(
    proxy: str,
    type: str,
    stream: str = "downstream",
    name: str | None = None,
    toxicity: float = 1.0,
    attributes: Mapping[str, Any] | None = None,
    *,
    connect_name: str | None = None,
) -> dict[str, Any]:
    """One ``add`` operation of a batch: the toxic as :func:`add_toxic` sends it."""
    toxic = add_toxic(proxy, type, stream, name, toxicity, attributes, connect_name).body
    return {"op": "add", "proxy": proxy, "toxic": toxic}


def batch_remove(proxy: str, name: str, *, if_exists: bool = False) -> dict[str, Any]:
    """One ``remove`` operation of a batch (``if_exists``: skip a toxic that is not there)."""
    op: dict[str, Any] = {"op": "remove", "proxy": proxy, "name": name}
    if if_exists:
        op["if_exists"] = True
    return op


def batch(operations: Sequence[Mapping[str, Any]]) -> Call[list[dict[str, Any]]]:
    """``POST /toxics/batch``: one result per operation, in order."""
    return Call(
        "POST",
        "/toxics/batch",
        lambda d: list((d or {}).get("results") or ()),
        {"operations": [dict(op) for op in operations]},
        extension=True,
    )
