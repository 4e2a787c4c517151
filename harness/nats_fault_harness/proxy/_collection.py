"""The server's proxies by name: create, delete, populate, reset.

``populate`` follows Toxiproxy 2.12: every entry is checked for ``name`` and ``upstream``
first (nothing is created if one lacks them); then entries are applied in order, an
existing proxy with the same name and an equivalent listen/upstream is kept untouched
(toxics and enabled state included), a different one is stopped and replaced, and the first
failure stops the loop, reporting what was already done. *Any* failure counts, including
running out of file descriptors (``listen tcp 127.0.0.1:0: socket: too many open files``,
500): populate is not atomic in Toxiproxy, so the answer lists exactly the proxies created
or kept before the failure, and they stay; the caller deletes them if it wants. The
entry that failed changes nothing: an existing proxy it was replacing is started again
(Toxiproxy leaves it stopped).

A missing or empty ``listen`` means :data:`DEFAULT_LISTEN` (``127.0.0.1:0``), loopback only.
Toxiproxy binds all interfaces (``[::]:port``) there; a test harness should not expose the
servers behind it to the network by default. Ask for ``0.0.0.0:0``, ``[::]:0`` or ``:0`` to
listen on every interface.

A proxy keeps its port reserved while it exists, enabled or not (see
:mod:`nats_fault_harness.proxy._proxy`); deleting, replacing and shutting down release it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Any

from nats_fault_harness.proxy._apierror import (
    ApiError,
    bad_request_body,
    missing_field,
    proxy_already_exists,
    proxy_not_found,
)
from nats_fault_harness.proxy._json import decode_struct
from nats_fault_harness.proxy._listen import resolve_string
from nats_fault_harness.proxy._proxy import Proxy
from nats_fault_harness.proxy._runtime import Runtime
from nats_fault_harness.toxics._attrs import describe_json_value

__all__ = [
    "DEFAULT_LISTEN",
    "ProxyCollection",
    "ProxyInput",
    "listen_or_default",
    "parse_populate",
    "parse_proxy_fields",
]

DEFAULT_LISTEN = "127.0.0.1:0"
"""What a missing or empty ``listen`` means (Toxiproxy: every interface)."""
_log = logging.getLogger("nats_fault_harness.proxy")
_PROXY_FIELDS = {"name": "string", "listen": "string", "upstream": "string", "enabled": "bool"}


@dataclasses.dataclass(frozen=True)
class ProxyInput:
    """A requested proxy: what ``POST /proxies`` and ``/populate`` entries carry."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True


def listen_or_default(listen: str) -> str:
    """``listen``, or :data:`DEFAULT_LISTEN` when it is empty."""
    return listen or DEFAULT_LISTEN


def parse_proxy_fields(body: object) -> dict[str, Any]:
    """The proxy fields present in a body (Go decoding rules).

    Raises:
        ApiError: 400 ``bad request body: ...``.
    """
    return decode_struct(body, "Proxy", _PROXY_FIELDS)


def parse_populate(body: object) -> list[ProxyInput]:
    """Validate a populate body: a JSON array of proxies, each with name and upstream.

    Raises:
        ApiError: 400 for a bad body or ``missing required field: name at proxy N``
            (N counted from 1).
    """
    if body is None:
        return []
    if not isinstance(body, list):
        raise bad_request_body(
            f"json: cannot unmarshal {describe_json_value(body).split(' ')[0]} into Go value "
            "of type []toxiproxy.Proxy"
        )
    entries = [parse_proxy_fields(item) for item in body]
    result = []
    for number, fields in enumerate(entries, start=1):
        if not fields.get("name"):
            raise missing_field(f"name at proxy {number}")
        if not fields.get("upstream"):
            raise missing_field(f"upstream at proxy {number}")
        result.append(
            ProxyInput(
                fields["name"],
                listen_or_default(fields.get("listen", "")),
                fields["upstream"],
                fields.get("enabled", True),
            )
        )
    return result


class ProxyCollection:
    """All proxies of one server.

    Attributes:
        lock: serialises create, delete, populate and reset.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()

    def names(self) -> list[str]:
        """Proxy names in Go's map-marshalling order (sorted)."""
        return sorted(self._proxies)

    def get(self, name: str) -> Proxy:
        """The proxy called ``name``.

        Raises:
            ApiError: 404 ``proxy not found``.
        """
        proxy = self._proxies.get(name)
        if proxy is None:
            raise proxy_not_found()
        return proxy

    async def add(self, spec: ProxyInput) -> Proxy:
        """Create a proxy, started if ``spec.enabled``; nothing is added on failure.

        Raises:
            ApiError: 409 if the name exists, 500 if the listen address fails.
        """
        if spec.name in self._proxies:
            raise proxy_already_exists()
        return await self._create(spec)

    async def remove(self, name: str) -> None:
        """Stop a proxy (closing its connections), release its port and delete it.

        Raises:
            ApiError: 404 ``proxy not found``.
        """
        proxy = self.get(name)
        async with proxy.lock:
            await proxy.stop()
            proxy.release()
        if self._proxies.get(name) is proxy:
            del self._proxies[name]
            self.runtime.events.emit(
                "proxy_deleted", proxy=name, listen=proxy.listen, upstream=proxy.upstream
            )

    async def populate(self, specs: list[ProxyInput]) -> tuple[list[Proxy], ApiError | None]:
        """Apply populate entries in order; stop at the first failure.

        Returns:
            The proxies created or kept so far, and the error that stopped the loop.
        """
        done: list[Proxy] = []
        for spec in specs:
            try:
                done.append(await self._add_or_replace(spec))
            except ApiError as exc:
                return done, exc
            except Exception as exc:  # a bug, not the client's fault: still say what was done
                _log.exception("populate failed at proxy %r", spec.name)
                return done, ApiError(f"populate failed at proxy {spec.name!r}: {exc}", 500)
        return done, None

    async def _add_or_replace(self, spec: ProxyInput) -> Proxy:
        existing = self._proxies.get(spec.name)
        if existing is not None:
            async with existing.lock:
                same = (
                    await resolve_string(spec.listen) == existing.listen
                    and spec.upstream == existing.upstream
                )
                if same:
                    return existing
                was_enabled = existing.enabled
                await existing.stop()
                try:
                    created = await self._create(spec)
                except ApiError:  # the failed entry changes nothing (Go leaves it stopped)
                    if was_enabled:
                        with contextlib.suppress(ApiError):
                            await existing.start_checked()
                    raise
                existing.release()
                return created
        return await self._create(spec)

    async def _create(self, spec: ProxyInput) -> Proxy:
        proxy = Proxy(self.runtime, spec.name, spec.listen, spec.upstream)
        if spec.enabled:
            await proxy.start_checked(quiet=True)
        self._proxies[spec.name] = proxy
        self.runtime.events.emit(
            "proxy_created",
            proxy=proxy.name,
            listen=proxy.listen,
            upstream=proxy.upstream,
            enabled=proxy.enabled,
        )
        return proxy

    async def reset(self) -> None:
        """Enable every proxy and remove all toxics (proxies are kept).

        Raises:
            ApiError: 500 if a proxy cannot be bound again; later proxies are not reset.
        """
        for name in self.names():
            proxy = self._proxies[name]
            async with proxy.lock:
                await proxy.start_checked()
                await proxy.reset_toxics()

    async def close_all(self) -> None:
        """Stop every proxy and release its port (server shutdown)."""
        for proxy in list(self._proxies.values()):
            async with proxy.lock:
                await proxy.stop()
                proxy.release()
