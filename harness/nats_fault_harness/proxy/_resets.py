"""Closing chosen live connections on demand (extension ``connection_reset``).

``POST /proxies/{proxy}/connections/reset`` with ``{"connect_name": glob, "ids": [...],
"mode": "rst" | "fin"}``: every field is optional; the filters combine (a connection must
match both), no filter selects every live connection. ``rst`` (the default) sets
``SO_LINGER(0)`` on both sockets and closes them, so both peers see ``ECONNRESET``;
``fin`` closes both sockets after flushing what is already queued to them. A
``connect_name`` filter only matches connections whose ``CONNECT`` was seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fnmatch

from nats_fault_harness.proxy._apierror import bad_request_body
from nats_fault_harness.proxy._json import decode_struct
from nats_fault_harness.proxy._proxy import Proxy
from nats_fault_harness.proxy._toxic_spec import MAX_CONNECT_NAME
from nats_fault_harness.toxics._attrs import brief, describe_json_value

__all__ = ["ResetSelection", "parse_reset", "reset_connections"]

_FIELDS = {"connect_name": "string", "ids": "any", "mode": "string"}
_WAIT = 2.0


@dataclasses.dataclass(frozen=True)
class ResetSelection:
    """Which connections to close, and how.

    Attributes:
        connect_name: glob of ``CONNECT`` names, or ``None`` for any connection.
        ids: connection ids, or ``None`` for any.
        mode: ``rst`` or ``fin``.
    """

    connect_name: str | None = None
    ids: frozenset[int] | None = None
    mode: str = "rst"


def parse_reset(body: object) -> ResetSelection:
    """Validate a reset request body (``null`` or absent: every connection, RST).

    Raises:
        ApiError: 400 naming the bad field and value.
    """
    fields = decode_struct(body, "ConnectionReset", _FIELDS)
    mode = fields.get("mode", "rst")
    if mode not in ("rst", "fin"):
        raise bad_request_body(f"mode must be rst or fin, got {brief(mode)}")
    ids = fields.get("ids")
    if ids is not None:
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            kind = describe_json_value(ids).split(" ")[0]
            raise bad_request_body(f"ids must be an array of integers, got {kind} {brief(ids)}")
        ids = frozenset(ids)
    connect_name = fields.get("connect_name")
    if connect_name is not None and len(connect_name) > MAX_CONNECT_NAME:
        raise bad_request_body(
            f"connect_name must be at most {MAX_CONNECT_NAME} characters, got {len(connect_name)}"
        )
    return ResetSelection(connect_name, ids, mode)


async def reset_connections(proxy: Proxy, selection: ResetSelection) -> list[int]:
    """Close the selected live connections of ``proxy``; return their ids (sorted).

    Waits up to 2 s for them to be gone, so a listing right after shows the result.
    """
    chosen = []
    for conn in list(proxy.connections.values()):
        if selection.ids is not None and conn.id not in selection.ids:
            continue
        if selection.connect_name is not None and (
            conn.connect_name is None
            or not fnmatch.fnmatchcase(conn.connect_name, selection.connect_name)
        ):
            continue
        chosen.append(conn)
    for conn in chosen:
        if selection.mode == "rst":
            conn.note_reason("reset_by_api")
            conn.reset()
        else:
            conn.note_reason("closed_by_api")
            conn.close()
    ids = sorted(conn.id for conn in chosen)
    proxy.runtime.events.emit(
        "connections_reset",
        proxy=proxy.name,
        mode=selection.mode,
        connections=ids,
        connect_name=selection.connect_name,
    )
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_WAIT):
            for conn in chosen:
                await conn.done.wait()
    return ids
