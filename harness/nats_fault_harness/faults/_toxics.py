"""The toxics of one fault, on one or several proxies, put in place and taken away together.

A fault of several toxics (``drop()`` both ways is two; a pool or a partition spans several
proxies) must never be seen half applied by a connection that arrives meanwhile: with a
pool of 2, ``drop`` on member 1 and a client reconnecting every 0.1 s, one heal in a dozen
let the client in while one direction still dropped (nats-py: ``empty response from server
when expecting INFO message``, and one more reconnect interval lost).

With the harness's proxy (extension ``batch``) every apply and every heal is one
``POST /toxics/batch``: the proxy changes every toxic list in one step of its event loop,
so each connection gets the whole fault or none of it, on every link at once, and the
heal is all or nothing too.

Without it (a real Toxiproxy) the toxics go one call at a time, in the least harmful
order: **downstream toxics first on, last off** (links in the order given, the pool's
member order). NATS servers speak first: a client connects, waits for ``INFO``, then
sends ``CONNECT`` and ``PING``. A connection that arrives while only the downstream half
is in place never gets ``INFO``, so it sends nothing and sees what the whole fault shows
it; an upstream-only half would show the client a live server (``INFO`` arrives) that
then swallows its ``CONNECT`` and ``PING``. The one window left is the heal of a
``drop``: removing its downstream toxic closes the connections it was on, including one
that arrived after the upstream toxic was gone.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from nats_fault_harness.errors import ToxicNotFound

__all__ = ["ToxicCalls", "ToxicOp", "ToxicSet", "add_toxics", "remove_toxics"]


class ToxicCalls(Protocol):
    """The toxic calls of a synchronous Toxiproxy client (what a fault's toxics need)."""

    def add_toxic(
        self,
        proxy: str,
        type: str,
        stream: str = ...,
        name: str | None = ...,
        toxicity: float = ...,
        attributes: Mapping[str, Any] | None = ...,
        *,
        connect_name: str | None = ...,
    ) -> Any: ...

    def remove_toxic(self, proxy: str, name: str) -> None: ...

    def batch(self, operations: Sequence[Mapping[str, Any]]) -> Any: ...


@dataclasses.dataclass(frozen=True)
class ToxicOp:
    """One toxic of a fault: where it goes and what it is."""

    proxy: str
    name: str
    type: str
    stream: str
    attributes: Mapping[str, Any]
    toxicity: float = 1.0
    connect_name: str | None = None

    def add_op(self) -> dict[str, Any]:
        """The batch operation adding it."""
        attributes = dict(self.attributes)
        if self.connect_name is not None:
            attributes["connect_name"] = self.connect_name
        toxic = {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": attributes,
        }
        return {"op": "add", "proxy": self.proxy, "toxic": toxic}

    def remove_op(self, *, if_exists: bool = False) -> dict[str, Any]:
        """The batch operation removing it."""
        op: dict[str, Any] = {"op": "remove", "proxy": self.proxy, "name": self.name}
        if if_exists:
            op["if_exists"] = True
        return op


def _on_order(toxics: Sequence[ToxicOp]) -> list[ToxicOp]:
    """Downstream toxics first (stable: links keep their order)."""
    return sorted(toxics, key=lambda t: t.stream != "downstream")


def _off_order(toxics: Sequence[ToxicOp]) -> list[ToxicOp]:
    """Upstream toxics first: the downstream ones are the last off."""
    return sorted(toxics, key=lambda t: t.stream == "downstream")


def add_toxics(api: ToxicCalls, toxics: Sequence[ToxicOp], *, batch: bool) -> None:
    """Add every toxic: one batch, or one at a time (downstream first) undone on failure."""
    if not toxics:
        return
    if batch:
        api.batch([t.add_op() for t in toxics])
        return
    added: list[ToxicOp] = []
    try:
        for toxic in _on_order(toxics):
            api.add_toxic(
                toxic.proxy,
                toxic.type,
                stream=toxic.stream,
                name=toxic.name,
                toxicity=toxic.toxicity,
                attributes=toxic.attributes,
                connect_name=toxic.connect_name,
            )
            added.append(toxic)
    except BaseException:
        with contextlib.suppress(Exception):
            remove_toxics(api, added, batch=False, missing_ok=True)
        raise


def remove_toxics(
    api: ToxicCalls, toxics: Sequence[ToxicOp], *, batch: bool, missing_ok: bool = False
) -> None:
    """Remove every toxic: one batch (all or nothing), or one at a time (upstream first).

    One at a time, every toxic is tried even after a failure; the first error is raised
    once all were tried.

    Args:
        missing_ok: a toxic that is already gone counts as removed.
    """
    if batch:
        if toxics:
            api.batch([t.remove_op(if_exists=missing_ok) for t in _off_order(toxics)])
        return
    _, error = _remove_each(api, toxics, missing_ok=missing_ok)
    if error is not None:
        raise error


def _remove_each(
    api: ToxicCalls, toxics: Sequence[ToxicOp], *, missing_ok: bool
) -> tuple[list[ToxicOp], Exception | None]:
    """Remove one at a time, upstream first; the ones removed and the first error."""
    removed: list[ToxicOp] = []
    errors: list[Exception] = []
    for toxic in _off_order(toxics):
        try:
            api.remove_toxic(toxic.proxy, toxic.name)
        except ToxicNotFound as exc:
            if not missing_ok:
                errors.append(exc)
                continue
        except Exception as exc:
            errors.append(exc)
            continue
        removed.append(toxic)
    return removed, (errors[0] if errors else None)


class ToxicSet:
    """Toxics applied and removed together, remembering which are in place.

    A heal that failed part way (one call at a time) keeps the toxics not yet removed,
    so a retry removes only those.

    Args:
        api: a synchronous Toxiproxy client.
        toxics: the toxics, links in order.
        batch: the proxy offers the ``batch`` extension.
    """

    def __init__(self, api: ToxicCalls, toxics: Sequence[ToxicOp], *, batch: bool) -> None:
        self.api = api
        self.toxics = tuple(toxics)
        self.batch = batch
        self._placed: list[ToxicOp] = []

    def apply(self) -> None:
        """Add every toxic (all or none)."""
        add_toxics(self.api, self.toxics, batch=self.batch)
        self._placed = list(self.toxics)

    def remove(self) -> None:
        """Remove the toxics in place.

        Raises:
            ProxyError: the first failure (its toxics stay recorded as in place).
        """
        if self.batch:
            remove_toxics(self.api, self._placed, batch=True)
            self._placed = []
            return
        removed, error = _remove_each(self.api, self._placed, missing_ok=False)
        self._placed = [t for t in self._placed if t not in removed]
        if error is not None:
            raise error
