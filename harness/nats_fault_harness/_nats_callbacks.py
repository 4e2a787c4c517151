"""nats-py callbacks that record client events, wrapping the application's own callbacks.

The implementation of :meth:`nats_fault_harness.history.History.nats_callbacks` (documented
there): a concept of its own, kept out of the journal's module. It depends on nothing in
the harness; the history passes in the function that records an event.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

__all__ = ["NATS_CALLBACKS", "recording_callbacks"]

NATS_CALLBACKS: dict[str, str] = {
    "error_cb": "error",
    "disconnected_cb": "disconnected",
    "reconnected_cb": "reconnected",
    "closed_cb": "closed",
    "lame_duck_mode_cb": "lame_duck",
    "discovered_server_cb": "discovered_server",
}
"""The nats-py callbacks :meth:`History.nats_callbacks` records: keyword -> client event kind
(``error_cb`` records ``slow_consumer`` for a ``SlowConsumerError``)."""

Record = Callable[[str, str, dict[str, Any] | None], None]


def recording_callbacks(
    record: Record,
    client: str,
    *,
    accepts: Callable[..., Any] | None,
    only: Iterable[str] | None,
    app_callbacks: Mapping[str, Callable[..., Any] | None],
) -> dict[str, Callable[..., Awaitable[None]]]:
    """The callbacks ``nats_callbacks`` returns; ``record(client, kind, detail)`` journals."""
    for name in [*app_callbacks, *(only or ())]:
        if name not in NATS_CALLBACKS:
            raise TypeError(
                f"nats_callbacks() got an unknown callback {name!r}; "
                f"the callbacks are {', '.join(NATS_CALLBACKS)}"
            )
    kept = set(NATS_CALLBACKS) if only is None else set(only)
    if accepts is not None:
        kept &= _keywords_accepted(accepts)
    dropped = sorted(n for n, cb in app_callbacks.items() if cb is not None and n not in kept)
    if dropped:
        by = f"{_name_of(accepts)} does not accept" if accepts is not None else "not in only="
        raise TypeError(
            f"nats_callbacks(): application callback(s) {', '.join(dropped)} would never "
            f"run ({by} them); wire them another way or drop them"
        )
    return {
        name: _wrap(record, client, name, app_callbacks.get(name))
        for name in NATS_CALLBACKS
        if name in kept
    }


def _wrap(
    record: Record, client: str, name: str, app: Callable[..., Any] | None
) -> Callable[..., Awaitable[None]]:
    kind = NATS_CALLBACKS[name]

    async def callback(*args: Any) -> None:
        if name == "error_cb" and args:
            exc = args[0]
            slow = type(exc).__name__ == "SlowConsumerError"
            record(client, "slow_consumer" if slow else "error", {"error": exc})
        else:
            record(client, kind, None)
        if app is not None:  # after recording: an exception here still leaves the event
            result = app(*args)
            if inspect.isawaitable(result):
                await result

    callback.__name__ = callback.__qualname__ = name
    return callback


def _name_of(obj: object) -> str:
    return str(getattr(obj, "__qualname__", None) or repr(obj))


def _keywords_accepted(accepts: Callable[..., Any]) -> set[str]:
    """The callback keywords ``accepts`` can be called with (all of them with ``**kwargs``)."""
    try:
        params = inspect.signature(accepts).parameters.values()
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"nats_callbacks(accepts=...): cannot read the signature of {_name_of(accepts)}; "
            f"name the keywords it takes with only=(...) instead"
        ) from exc
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return set(NATS_CALLBACKS)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in params if p.kind in named and p.name in NATS_CALLBACKS}
