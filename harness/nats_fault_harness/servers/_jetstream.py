"""Empty a server's JetStream between tests: delete every stream, cheaply.

Streams hold their consumers, and KV and object-store buckets are streams (``KV_<bucket>``,
``OBJ_<bucket>``), so deleting every stream leaves JetStream as a fresh server has it. The
common case, a test that created nothing, costs one ``/jsz`` request and no NATS
connection; only when ``/jsz`` counts a stream does a short-lived nats-py connection list
and delete them through the JetStream API (``$JS.API.STREAM.NAMES``, ``STREAM.DELETE``).
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from nats_fault_harness.errors import ServerError

if TYPE_CHECKING:
    from nats.aio.client import Client

    from nats_fault_harness.servers._server import NatsServer

__all__ = ["delete_all_streams", "stream_count"]

_ROUNDS = 5  # pages of names to delete before giving up (a page holds up to 1024 names)


def stream_count(server: NatsServer) -> int:
    """How many streams ``/jsz`` counts on ``server`` (every account); 0 without JetStream."""
    jsz = server.jsz()
    if jsz.get("disabled"):
        return 0
    return int(jsz.get("streams") or 0)


def delete_all_streams(server: NatsServer, *, timeout: float = 5.0) -> list[str]:
    """Delete every stream of ``server``'s global account; return the names deleted.

    Asks ``/jsz`` first and connects only when it counts a stream. Runs its own event loop
    in a worker thread, so it works from a synchronous fixture whether or not the calling
    thread runs a loop.

    Args:
        server: a running server with JetStream (no client authentication).
        timeout: seconds for the connection and for each JetStream API request.

    Raises:
        ServerError: the connection failed, a stream could not be deleted (the message
            names each stream and what failed), or ``/jsz`` still counts streams afterwards
            (streams of another account, which this connection cannot see).
        MonitoringError: ``/jsz`` could not be read.
    """
    if not stream_count(server):
        return []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nfh-js-reset") as pool:
        deleted = pool.submit(asyncio.run, _delete_all(server, timeout)).result()
    left = stream_count(server)
    if left:
        raise ServerError(
            f"JetStream reset of nats-server {server.name}: /jsz still counts {left} "
            f"stream(s) after deleting {sorted(deleted)} (streams of another account?)",
            name=server.name,
        )
    return deleted


async def _delete_all(server: NatsServer, timeout: float) -> list[str]:
    import nats
    import nats.errors
    from nats.js.errors import NotFoundError

    what = f"JetStream reset of nats-server {server.name}"
    reported: list[str] = []  # what the server told the connection (-ERR permissions...)

    async def on_error(exc: Exception) -> None:
        reported.append(f"{type(exc).__name__}: {exc}")

    try:
        nc = await nats.connect(
            server.url,
            name="nats-fault-harness-reset",
            error_cb=on_error,
            connect_timeout=timeout,
            allow_reconnect=False,
            max_reconnect_attempts=0,
        )
    except (OSError, nats.errors.Error) as exc:
        raise ServerError(
            f"{what}: cannot connect to {server.url}: {_describe(exc, timeout)}",
            name=server.name,
            log_tail=server.log_tail(10),
        ) from exc
    deleted: list[str] = []
    try:
        jsm = nc.jsm()
        for _ in range(_ROUNDS):
            names = await _stream_names(nc, server, what, timeout)
            if not names:
                return deleted
            failures: list[tuple[str, BaseException]] = []
            for name in names:
                try:
                    await asyncio.wait_for(jsm.delete_stream(name), timeout)
                except NotFoundError:
                    pass  # gone already: what the reset wants
                except (TimeoutError, nats.errors.Error) as exc:
                    failures.append((name, exc))
                else:
                    deleted.append(name)
            if failures:
                detail = "; ".join(f"{n!r}: {_describe(e, timeout)}" for n, e in failures)
                if reported:
                    detail += f" (the connection reported: {'; '.join(reported)})"
                raise ServerError(
                    f"{what}: could not delete {len(failures)} of {len(names)} stream(s): {detail}",
                    name=server.name,
                ) from failures[0][1]
        raise ServerError(
            f"{what}: streams still listed after {_ROUNDS} rounds of deletes "
            f"(deleted {len(deleted)})",
            name=server.name,
        )
    finally:
        await nc.close()


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"TimeoutError: no reply within {timeout:g}s"
    return f"{type(exc).__name__}: {exc}"


async def _stream_names(nc: Client, server: NatsServer, what: str, timeout: float) -> list[str]:
    import nats.errors

    try:
        reply = await nc.request("$JS.API.STREAM.NAMES", b"{}", timeout=timeout)
        body = json.loads(reply.data)
    except (nats.errors.Error, ValueError) as exc:
        raise ServerError(
            f"{what}: listing streams ($JS.API.STREAM.NAMES) failed: {_describe(exc, timeout)}",
            name=server.name,
        ) from exc
    if "error" in body:
        raise ServerError(
            f"{what}: listing streams ($JS.API.STREAM.NAMES) failed: {body['error']}",
            name=server.name,
        )
    return [str(name) for name in body.get("streams") or ()]
