"""The HTTP API: Toxiproxy 2.12's routes and answers, plus extensions, on aiohttp.

Toxiproxy routes (gorilla/mux semantics): exact paths only (``/proxies/`` is a 404), an
unknown path answers ``404 page not found\\n`` as text/plain, a known path with the wrong
method answers 405 with an empty body. Matched routes carry ``X-Toxiproxy-Request-Id``,
refuse browsers (User-Agent starting ``Mozilla/`` -> 403 ``User agent not allowed``) and are
bounded by a timeout (25 s -> 503, Go's ``http.TimeoutHandler``). Errors are
``{"error": msg, "status": code}`` plus a newline, sent as text/plain like Go's
``http.Error`` (``/populate`` errors are JSON, as in Toxiproxy).

Hostile input never gets a 500 or a traceback: a body over :data:`MAX_BODY` (16 MiB) is
answered 413 ``request body too large: more than 16777216 bytes (16 MiB)`` (Toxiproxy reads
any size); bad JSON, deep nesting and huge numbers are 400s (:mod:`nats_fault_harness.proxy._json`);
a 5xx is left for what Toxiproxy answers 5xx (a listen address that cannot be bound or
resolved) and for bugs.

Extensions, on paths a real Toxiproxy answers 404 (so a client can feature-detect):

* ``GET /extensions`` -> ``{"extensions": [...], "seed": N, "seeded": bool, "version": V}``
  listing :data:`EXTENSIONS`.
* ``GET /events?since=N[&limit=L][&wait=MS]`` -> ``{"events": [...], "next": M,
  "dropped": K}``; ``wait`` long-polls up to 10 000 ms for a new event.
* ``GET /proxies/{proxy}/connections`` -> the live connections of a proxy (with their NATS
  ``connect_name`` and ``kind`` once known).
* ``POST /proxies/{proxy}/connections/reset`` with ``{"connect_name": glob, "ids": [..],
  "mode": "rst" | "fin"}`` (all optional; default every connection, ``rst``) -> ``{"closed":
  [ids]}``: closes the matching live connections now, both sides, with a TCP RST
  (``SO_LINGER`` 0) or a FIN; answers once they are gone (or after 2 s).
* ``POST /toxics/batch`` with ``{"operations": [{"op": "add", "proxy": P, "toxic": {...}},
  {"op": "remove", "proxy": P, "name": T, "if_exists": bool}, ...]}``: toxics added and
  removed on several proxies at once, all or nothing, in one step for connections
  (:mod:`nats_fault_harness.proxy._batch`).
* the ``nats``, ``reset_after`` and ``blackhole`` toxic types and the ``connect_name``
  attribute of every toxic (no route).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from nats_fault_harness.proxy._apierror import (
    ApiError,
    bad_request_body,
    missing_field,
    toxic_not_found,
)
from nats_fault_harness.proxy._batch import BatchError, run_batch
from nats_fault_harness.proxy._collection import (
    ProxyCollection,
    ProxyInput,
    listen_or_default,
    parse_populate,
    parse_proxy_fields,
)
from nats_fault_harness.proxy._json import dumps, loads_first
from nats_fault_harness.proxy._proxy import Proxy
from nats_fault_harness.proxy._resets import parse_reset, reset_connections
from nats_fault_harness.proxy._runtime import Runtime
from nats_fault_harness.proxy._toxic_spec import ToxicSpec, parse_new_toxic, parse_toxic_update
from nats_fault_harness.toxics._attrs import brief

__all__ = ["EXTENSIONS", "MAX_BODY", "build_app"]

EXTENSIONS = (
    "seed",
    "events",
    "connections",
    "validation",
    "nats",
    "connect_name",
    "connection_reset",
    "reset_after",
    "blackhole",
    "batch",
)
_log = logging.getLogger("nats_fault_harness.proxy")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_TIMEOUT_BODY = b"<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"
_MAX_WAIT_MS = 10_000
MAX_BODY = 16 << 20
"""Largest request body read (Toxiproxy has no limit); a larger one is answered 413."""
_ids = itertools.count(int.from_bytes(os.urandom(3), "big"))
_B32 = "0123456789abcdefghijklmnopqrstuv"


def _request_id() -> str:
    """A 20-character id shaped like the xid that Toxiproxy's middleware uses."""
    raw = (
        int(time.time()).to_bytes(4, "big")
        + os.urandom(5)
        + (next(_ids) & 0xFFFFFF).to_bytes(3, "big")
    )
    value = int.from_bytes(raw, "big")
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(20)))


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(body=dumps(data), status=status, content_type="application/json")


def _error(exc: ApiError) -> web.Response:
    fields: dict[str, Any] = {"error": exc.message, "status": exc.status}
    if isinstance(exc, BatchError):
        fields.update(exc.details)
    body = dumps(fields) + b"\n"
    return web.Response(
        body=body,
        status=exc.status,
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


def _text(text: str, status: int) -> web.Response:
    return web.Response(
        body=text.encode(),
        status=status,
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


async def _body(request: web.Request) -> object:
    return loads_first(await request.read())


def _int_param(request: web.Request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request_body(
            f"query parameter {name} must be an integer, got {brief(raw)}"
        ) from None
    if value < 0:
        raise bad_request_body(f"query parameter {name} must be >= 0, got {value}")
    return min(value, maximum) if maximum is not None else value


class _Api:
    """The request handlers, bound to one collection."""

    def __init__(self, collection: ProxyCollection, runtime: Runtime, version: str) -> None:
        self.proxies = collection
        self.runtime = runtime
        self.version = version

    # ------------------------------------------------------------------ proxies
    async def proxy_index(self, request: web.Request) -> web.Response:
        return _json({name: self.proxies.get(name).to_json() for name in self.proxies.names()})

    async def proxy_create(self, request: web.Request) -> web.Response:
        fields = parse_proxy_fields(await _body(request))
        if not fields.get("name"):
            raise missing_field("name")
        if not fields.get("upstream"):
            raise missing_field("upstream")
        spec = ProxyInput(
            fields["name"],
            listen_or_default(fields.get("listen", "")),
            fields["upstream"],
            fields.get("enabled", True),
        )
        async with self.proxies.lock:
            proxy = await self.proxies.add(spec)
        return _json(proxy.to_json(), 201)

    async def populate(self, request: web.Request) -> web.Response:
        done: list[Proxy] = []
        error: ApiError | None
        try:
            specs = parse_populate(await _body(request))
        except ApiError as exc:
            error = exc
        else:
            async with self.proxies.lock:
                done, error = await self.proxies.populate(specs)
        proxies = [proxy.to_json() for proxy in done]
        if error is None:
            return _json({"proxies": proxies}, 201)  # [] where Toxiproxy says null
        return _json(
            {"error": error.message, "status": error.status, "proxies": proxies or None},
            error.status,
        )

    async def proxy_show(self, request: web.Request) -> web.Response:
        return _json(self.proxies.get(request.match_info["proxy"]).to_json())

    async def proxy_update(self, request: web.Request) -> web.Response:
        proxy = self.proxies.get(request.match_info["proxy"])
        fields = parse_proxy_fields(await _body(request))
        async with proxy.lock:
            await proxy.update(
                listen_or_default(fields.get("listen", proxy.listen)),
                fields.get("upstream", proxy.upstream),
                fields.get("enabled", proxy.enabled),
            )
        return _json(proxy.to_json())

    async def proxy_delete(self, request: web.Request) -> web.Response:
        async with self.proxies.lock:
            await self.proxies.remove(request.match_info["proxy"])
        return web.Response(status=204)

    async def reset(self, request: web.Request) -> web.Response:
        async with self.proxies.lock:
            await self.proxies.reset()
        return web.Response(status=204)

    async def version_show(self, request: web.Request) -> web.Response:
        body = b'{"version": "' + self.version.encode() + b'"}\n'
        return web.Response(body=body, headers={"Content-Type": "application/json;charset=utf-8"})

    # ------------------------------------------------------------------ toxics
    def _toxic(self, proxy: Proxy, name: str) -> ToxicSpec:
        spec = proxy.find_toxic(name)
        if spec is None:
            raise toxic_not_found()
        return spec

    async def toxic_index(self, request: web.Request) -> web.Response:
        proxy = self.proxies.get(request.match_info["proxy"])
        return _json([spec.to_json() for spec in proxy.toxic_specs()])

    async def toxic_create(self, request: web.Request) -> web.Response:
        proxy = self.proxies.get(request.match_info["proxy"])
        body = await _body(request)
        async with proxy.lock:
            spec = parse_new_toxic(body, lambda name: proxy.find_toxic(name) is not None)
            await proxy.add_toxic(spec)
        return _json(spec.to_json())

    async def toxic_show(self, request: web.Request) -> web.Response:
        proxy = self.proxies.get(request.match_info["proxy"])
        return _json(self._toxic(proxy, request.match_info["toxic"]).to_json())

    async def toxic_update(self, request: web.Request) -> web.Response:
        proxy = self.proxies.get(request.match_info["proxy"])
        async with proxy.lock:
            spec = self._toxic(proxy, request.match_info["toxic"])
            updated = parse_toxic_update(spec, await _body(request))
            await proxy.update_toxic(updated)
        return _json(updated.to_json())

    async def toxic_delete(self, request: web.Request) -> web.Response:
        proxy = self.proxies.get(request.match_info["proxy"])
        async with proxy.lock:
            await proxy.remove_toxic(self._toxic(proxy, request.match_info["toxic"]))
        return web.Response(status=204)

    # ------------------------------------------------------------------ extensions
    async def extensions(self, request: web.Request) -> web.Response:
        seeds = self.runtime.seeds
        return _json(
            {
                "extensions": list(EXTENSIONS),
                "seed": seeds.seed,
                "seeded": seeds.explicit,
                "version": self.version,
            }
        )

    async def events(self, request: web.Request) -> web.Response:
        since = _int_param(request, "since", 0)
        limit = _int_param(request, "limit", 10_000, 10_000)
        wait_ms = _int_param(request, "wait", 0, _MAX_WAIT_MS)
        await self.runtime.events.wait(since, wait_ms / 1000.0)
        events, nxt, dropped = self.runtime.events.since(since, limit)
        return _json({"events": events, "next": nxt, "dropped": dropped})

    async def toxics_batch(self, request: web.Request) -> web.Response:
        return _json(await run_batch(self.proxies, await _body(request)))

    async def connections(self, request: web.Request) -> web.Response:
        proxy = self.proxies.get(request.match_info["proxy"])
        return _json([proxy.connections[i].to_json() for i in sorted(proxy.connections)])

    async def connections_reset(self, request: web.Request) -> web.Response:
        proxy = self.proxies.get(request.match_info["proxy"])
        raw = await request.read()
        selection = parse_reset(loads_first(raw) if raw.strip() else None)
        async with proxy.lock:
            closed = await reset_connections(proxy, selection)
        return _json({"closed": closed})


def _middleware(handler_timeout: float) -> Any:
    @web.middleware
    async def toxiproxy_semantics(request: web.Request, handler: _Handler) -> web.StreamResponse:
        failed = request.match_info.http_exception
        if isinstance(failed, web.HTTPMethodNotAllowed):
            return web.Response(status=405)
        if failed is not None:
            return _text("404 page not found\n", 404)
        request_id = _request_id()
        response: web.StreamResponse
        if request.headers.get("User-Agent", "").startswith("Mozilla/"):
            response = _text("User agent not allowed\n", 403)
        else:
            try:
                async with asyncio.timeout(handler_timeout):
                    response = await handler(request)
            except ApiError as exc:
                response = _error(exc)
            except web.HTTPRequestEntityTooLarge:
                response = _error(
                    ApiError(f"request body too large: more than {MAX_BODY} bytes (16 MiB)", 413)
                )
            except TimeoutError:
                response = web.Response(
                    body=_TIMEOUT_BODY,
                    status=503,
                    headers={"Content-Type": "text/html; charset=utf-8"},
                )
            except Exception as exc:
                _log.exception("API handler failed: %s %s", request.method, request.path)
                response = _error(ApiError(str(exc) or type(exc).__name__, 500))
        response.headers["X-Toxiproxy-Request-Id"] = request_id
        return response

    return toxiproxy_semantics


def build_app(
    collection: ProxyCollection, runtime: Runtime, *, version: str, handler_timeout: float = 25.0
) -> web.Application:
    """The aiohttp application serving the API for ``collection``.

    Args:
        collection: the proxies.
        runtime: shared services (events, seed).
        version: the string ``GET /version`` reports.
        handler_timeout: seconds before a handler is answered with 503.
    """
    api = _Api(collection, runtime, version)
    app = web.Application(middlewares=[_middleware(handler_timeout)], client_max_size=MAX_BODY)
    routes: list[tuple[str, str, _Handler]] = [
        ("POST", "/reset", api.reset),
        ("GET", "/proxies", api.proxy_index),
        ("POST", "/proxies", api.proxy_create),
        ("POST", "/populate", api.populate),
        ("GET", "/proxies/{proxy}", api.proxy_show),
        ("POST", "/proxies/{proxy}", api.proxy_update),
        ("PATCH", "/proxies/{proxy}", api.proxy_update),
        ("DELETE", "/proxies/{proxy}", api.proxy_delete),
        ("GET", "/proxies/{proxy}/toxics", api.toxic_index),
        ("POST", "/proxies/{proxy}/toxics", api.toxic_create),
        ("GET", "/proxies/{proxy}/toxics/{toxic}", api.toxic_show),
        ("POST", "/proxies/{proxy}/toxics/{toxic}", api.toxic_update),
        ("PATCH", "/proxies/{proxy}/toxics/{toxic}", api.toxic_update),
        ("DELETE", "/proxies/{proxy}/toxics/{toxic}", api.toxic_delete),
        ("GET", "/version", api.version_show),
        ("GET", "/extensions", api.extensions),
        ("GET", "/events", api.events),
        ("GET", "/proxies/{proxy}/connections", api.connections),
        ("POST", "/proxies/{proxy}/connections/reset", api.connections_reset),
        ("POST", "/toxics/batch", api.toxics_batch),
    ]
    for method, path, handler in routes:
        # aiohttp's default segment pattern is [^{}/]+, gorilla/mux's is [^/]+: without
        # this a proxy named "a{b" or "}" was created but 404 at its own path
        path = path.replace("{proxy}", "{proxy:[^/]+}").replace("{toxic}", "{toxic:[^/]+}")
        app.router.add_route(method, path, handler)
    return app
