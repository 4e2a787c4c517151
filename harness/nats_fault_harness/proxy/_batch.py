"""Adding and removing toxics on several proxies in one step (extension ``batch``).

``POST /toxics/batch`` with ``{"operations": [op, ...]}``, each op one of

* ``{"op": "add", "proxy": P, "toxic": {name?, type, stream?, toxicity?, attributes?}}``
  (the toxic as ``POST /proxies/{P}/toxics`` takes it, same defaults and checks);
* ``{"op": "remove", "proxy": P, "name": T, "if_exists": false}`` (``if_exists``: a toxic
  that is not there is skipped instead of refused).

All or nothing: every operation is checked first, in order, against the state the earlier
ones leave (so a batch may remove a toxic and add one of the same name); the first invalid
one is answered with the status its single call would get (400, 404 ``proxy not found`` /
``toxic not found``, 409 ``toxic already exists``), a message starting
``operations[i].field:`` and the value, and the extra body fields ``operation``, ``field``
and ``value``; nothing is changed.

Atomic for connections: the involved proxies' locks are taken in name order, then every
toxic list is updated and every added toxic is put on the live connections in one
synchronous step of the proxy's event loop, with no ``await`` in between. Accepting and
wiring a connection runs on the same loop, so a connection wired during a batch copies
the toxic lists from before it or after it, never between two of its operations, even
across proxies. Removed toxics then leave live connections the same way: their stages are
stopped first (data queues at them meanwhile) and all unlinked in one step, so both
directions of a connection are released together.

Answer: ``200 {"batch": id, "results": [...]}``, one result per operation in order:
``{"op": "add", "proxy": P, "toxic": {...}}`` or ``{"op": "remove", "proxy": P, "name": T,
"removed": bool, "toxic": {...} | null}``. Events: ``toxics_batch`` (``batch``,
``operations``: ``[{"op", "proxy", "toxic"}]`` with toxic names) at the step, then the
usual ``toxic_added`` / ``toxic_removed`` events, each with a ``batch`` field.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import re
from collections.abc import Mapping
from typing import Any

from nats_fault_harness.proxy._apierror import (
    ApiError,
    bad_request_body,
    invalid_stream,
    invalid_toxic_type,
    proxy_not_found,
    toxic_already_exists,
    toxic_not_found,
)
from nats_fault_harness.proxy._collection import ProxyCollection
from nats_fault_harness.proxy._connection import Removal
from nats_fault_harness.proxy._json import dumps
from nats_fault_harness.proxy._proxy import Proxy, finish_removals
from nats_fault_harness.proxy._toxic_spec import ToxicSpec, parse_new_toxic
from nats_fault_harness.toxics import InvalidAttribute
from nats_fault_harness.toxics._attrs import brief, describe_json_value

__all__ = ["MAX_OPERATIONS", "BatchError", "run_batch"]

MAX_OPERATIONS = 1000
"""Most operations in one batch."""
_ids = itertools.count(1)
_GO_FIELD = re.compile(r"ToxicWrapper\.(\w+)")
_VALUE_LIMIT = 200


class BatchError(ApiError):
    """An invalid batch operation: the status its single call would get, and where.

    Attributes:
        details: ``{"operation": i, "field": f, "value": v}`` (added to the error body).
    """

    def __init__(self, index: int | None, field: str, value: object, error: ApiError) -> None:
        where = "operations" if index is None else f"operations[{index}]"
        if field:
            where += f".{field}"
        super().__init__(f"{where}: {error.message} (got {brief(value)})", error.status)
        shown = value if len(dumps(value)) <= _VALUE_LIMIT else brief(value, _VALUE_LIMIT)
        self.details: dict[str, Any] = {"operation": index, "field": field, "value": shown}


@dataclasses.dataclass
class _Op:
    index: int
    kind: str
    proxy_name: str
    raw: Mapping[str, Any]
    proxy: Proxy | None = None
    spec: ToxicSpec | None = None  # the toxic added, or the one removed (None: skipped)


def _get(raw: Mapping[str, Any], key: str) -> Any:
    """A key matched case-insensitively (as Go decodes struct fields); None if absent."""
    for name, value in raw.items():
        if str(name).lower() == key:
            return value
    return None


def _parse(body: object) -> list[_Op]:
    """The structure of a batch: operations with their kind and proxy name."""
    if not isinstance(body, dict):
        kind = describe_json_value(body).split(" ")[0]
        raise BatchError(None, "", body, bad_request_body(f"a batch is an object, got {kind}"))
    raw_ops = _get(body, "operations")
    if not isinstance(raw_ops, list):
        raise BatchError(None, "", raw_ops, bad_request_body("operations must be an array"))
    if len(raw_ops) > MAX_OPERATIONS:
        raise BatchError(
            None,
            "",
            len(raw_ops),
            bad_request_body(f"at most {MAX_OPERATIONS} operations per batch"),
        )
    ops: list[_Op] = []
    for index, raw in enumerate(raw_ops):
        if not isinstance(raw, dict):
            raise BatchError(index, "", raw, bad_request_body("an operation is an object"))
        kind = _get(raw, "op")
        if kind not in ("add", "remove"):
            raise BatchError(index, "op", kind, bad_request_body("op must be add or remove"))
        proxy = _get(raw, "proxy")
        if not isinstance(proxy, str) or not proxy:
            raise BatchError(
                index, "proxy", proxy, bad_request_body("proxy must be a non-empty string")
            )
        if kind == "add" and not isinstance(_get(raw, "toxic"), dict):
            raise BatchError(
                index, "toxic", _get(raw, "toxic"), bad_request_body("toxic must be an object")
            )
        if kind == "remove":
            name = _get(raw, "name")
            if not isinstance(name, str) or not name:
                raise BatchError(
                    index, "name", name, bad_request_body("name must be a non-empty string")
                )
            if_exists = _get(raw, "if_exists")
            if if_exists is not None and not isinstance(if_exists, bool):
                raise BatchError(
                    index, "if_exists", if_exists, bad_request_body("if_exists must be a boolean")
                )
        ops.append(_Op(index, kind, proxy, raw))
    return ops


def _add_error(index: int, toxic: Mapping[str, Any], asked: list[str], exc: ApiError) -> BatchError:
    """Say which field of an add operation's toxic was refused."""
    cause = exc.__cause__
    if isinstance(cause, InvalidAttribute):
        return BatchError(index, f"toxic.{cause.where}", cause.value, exc)
    if exc.message == invalid_stream().message:
        return BatchError(index, "toxic.stream", _get(toxic, "stream"), exc)
    if exc.message == invalid_toxic_type().message:
        return BatchError(index, "toxic.type", _get(toxic, "type"), exc)
    if exc.message == toxic_already_exists().message:
        return BatchError(index, "toxic.name", asked[-1] if asked else None, exc)
    if "connect_name" in exc.message:
        attributes = _get(toxic, "attributes")
        value = _get(attributes, "connect_name") if isinstance(attributes, dict) else None
        return BatchError(index, "toxic.attributes.connect_name", value, exc)
    match = _GO_FIELD.search(exc.message)
    field = match.group(1) if match else ("toxicity" if "toxicity" in exc.message else "")
    if field:
        return BatchError(index, f"toxic.{field}", _get(toxic, field), exc)
    return BatchError(index, "toxic", toxic, exc)


def _plan(ops: list[_Op], proxies: Mapping[str, Proxy]) -> None:
    """Check every operation against the state the earlier ones leave; fill in specs."""
    names = {name: {t.name: t for t in proxy.toxic_specs()} for name, proxy in proxies.items()}
    for op in ops:
        op.proxy = proxies[op.proxy_name]
        toxics = names[op.proxy_name]
        if op.kind == "add":
            toxic = _get(op.raw, "toxic")
            asked: list[str] = []

            def exists(
                name: str, toxics: dict[str, ToxicSpec] = toxics, asked: list[str] = asked
            ) -> bool:
                asked.append(name)
                return name in toxics

            try:
                spec = parse_new_toxic(toxic, exists)
            except ApiError as exc:
                raise _add_error(op.index, toxic, asked, exc) from exc
            toxics[spec.name] = spec
            op.spec = spec
        else:
            name = _get(op.raw, "name")
            current = toxics.pop(name, None)
            if current is None and not _get(op.raw, "if_exists"):
                raise BatchError(op.index, "name", name, toxic_not_found())
            op.spec = current


def _execute(ops: list[_Op], batch: int) -> list[Removal]:
    """Apply a checked batch in one synchronous step; return the removals to finish."""
    removals: list[Removal] = []
    for op in ops:
        assert op.proxy is not None
        if op.spec is None:  # a remove of a missing toxic, with if_exists
            continue
        if op.kind == "add":
            op.proxy.add_toxic_now(op.spec, batch=batch)
        else:
            removals.extend(op.proxy.detach_toxic(op.spec))
    return removals


def _result(op: _Op) -> dict[str, Any]:
    toxic = op.spec.to_json() if op.spec is not None else None
    if op.kind == "add":
        return {"op": "add", "proxy": op.proxy_name, "toxic": toxic}
    name = _get(op.raw, "name")
    removed = toxic is not None
    return {
        "op": "remove",
        "proxy": op.proxy_name,
        "name": name,
        "removed": removed,
        "toxic": toxic,
    }


async def run_batch(collection: ProxyCollection, body: object) -> dict[str, Any]:
    """Check and apply a batch (see the module docstring); the answer's body.

    Raises:
        BatchError: the first invalid operation; nothing was changed.
    """
    ops = _parse(body)
    proxies: dict[str, Proxy] = {}
    for op in ops:
        if op.proxy_name not in proxies:
            try:
                proxies[op.proxy_name] = collection.get(op.proxy_name)
            except ApiError as exc:
                raise BatchError(op.index, "proxy", op.proxy_name, exc) from None
    async with contextlib.AsyncExitStack() as stack:
        for name in sorted(proxies):  # a fixed order: two batches cannot deadlock
            await stack.enter_async_context(proxies[name].lock)
        for op in ops:  # deleted or replaced while we waited for its lock
            try:
                current = collection.get(op.proxy_name)
            except ApiError:
                current = None
            if current is not proxies[op.proxy_name]:
                raise BatchError(op.index, "proxy", op.proxy_name, proxy_not_found())
        _plan(ops, proxies)
        # ---- one synchronous step: no await from here to the end of _execute ----
        batch = next(_ids)
        events = next(iter(proxies.values())).runtime.events if proxies else None
        if events is not None:
            events.emit(
                "toxics_batch",
                batch=batch,
                operations=[
                    {"op": op.kind, "proxy": op.proxy_name, "toxic": op.spec.name}
                    for op in ops
                    if op.spec is not None
                ],
            )
        removals = _execute(ops, batch)
        # ---- end of the step ----
        await finish_removals(removals)
        for op in ops:
            if op.kind == "remove" and op.spec is not None and op.proxy is not None:
                op.proxy.runtime.events.emit(
                    "toxic_removed", proxy=op.proxy_name, toxic=op.spec.to_json(), batch=batch
                )
    return {"batch": batch if ops else None, "results": [_result(op) for op in ops]}
