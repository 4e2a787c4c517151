"""History.nats_callbacks: which keywords it returns, how it wraps the application's callbacks.

The behaviour against a real client and server is in
tests/integration/test_history_callbacks.py; these pin the contract on the callbacks alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nats_fault_harness.history import NATS_CALLBACKS, History


class SlowConsumerError(Exception):
    """Named like nats-py's: error_cb tags it by class name."""


def test_without_arguments_all_six_coroutine_callbacks_as_before() -> None:
    callbacks = History().nats_callbacks("svc")
    assert list(callbacks) == [
        "error_cb",
        "disconnected_cb",
        "reconnected_cb",
        "closed_cb",
        "lame_duck_mode_cb",
        "discovered_server_cb",
    ]
    assert all(asyncio.iscoroutinefunction(cb) for cb in callbacks.values())


@pytest.mark.asyncio
async def test_each_callback_records_its_event_kind() -> None:
    history = History()
    callbacks = history.nats_callbacks("svc")
    await callbacks["error_cb"](ValueError("boom"))
    await callbacks["error_cb"](SlowConsumerError("slow"))
    for name in NATS_CALLBACKS:
        if name != "error_cb":
            await callbacks[name]()
    events = history.client_events("svc")
    assert [e.kind for e in events] == [
        "error",
        "slow_consumer",
        "disconnected",
        "reconnected",
        "closed",
        "lame_duck",
        "discovered_server",
    ]
    assert events[0].detail["error"]["type"] == "ValueError"
    assert events[0].detail["error"]["message"] == "boom"


@pytest.mark.asyncio
async def test_app_callbacks_sync_and_async_are_called_after_the_event_is_recorded() -> None:
    history = History()
    seen: list[tuple[str, int, tuple[Any, ...]]] = []

    def on_error(exc: Exception) -> None:  # sync
        seen.append(("error", len(history.client_events("svc")), (exc,)))

    async def on_disconnect() -> None:  # async
        await asyncio.sleep(0)
        seen.append(("disconnected", len(history.client_events("svc")), ()))

    callbacks = history.nats_callbacks("svc", error_cb=on_error, disconnected_cb=on_disconnect)
    exc = RuntimeError("x")
    await callbacks["error_cb"](exc)
    await callbacks["disconnected_cb"]()
    await callbacks["closed_cb"]()  # no app callback: only recorded
    assert seen == [("error", 1, (exc,)), ("disconnected", 2, ())]
    assert [e.kind for e in history.client_events()] == ["error", "disconnected", "closed"]


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_an_exception_of_the_app_callback_propagates_after_recording(kind: str) -> None:
    history = History()

    def sync_cb() -> None:
        raise LookupError("app bug")

    async def async_cb() -> None:
        raise LookupError("app bug")

    callbacks = history.nats_callbacks(
        "svc", reconnected_cb=sync_cb if kind == "sync" else async_cb
    )
    with pytest.raises(LookupError, match="app bug"):
        await callbacks["reconnected_cb"]()
    assert [e.kind for e in history.client_events("svc")] == ["reconnected"]


def test_an_unknown_callback_name_is_a_type_error_naming_it_and_the_allowed_ones() -> None:
    with pytest.raises(TypeError) as info:
        History().nats_callbacks("svc", eror_cb=print)
    message = str(info.value)
    assert "'eror_cb'" in message
    for name in NATS_CALLBACKS:
        assert name in message


def test_none_counts_as_not_given() -> None:
    callbacks = History().nats_callbacks("svc", accepts=_no_lame_duck, lame_duck_mode_cb=None)
    assert "lame_duck_mode_cb" not in callbacks


def _no_lame_duck(
    servers: str = "nats://127.0.0.1:4222",
    *,
    error_cb: Any = None,
    disconnected_cb: Any = None,
    closed_cb: Any = None,
    discovered_server_cb: Any = None,
    reconnected_cb: Any = None,
    signature_cb: Any = None,
) -> None:
    """FastStream's NatsBroker keywords, as far as callbacks go: no lame_duck_mode_cb."""


class _Broker:
    def __init__(self, url: str, *, error_cb: Any = None, closed_cb: Any = None) -> None:
        self.url = url


def test_accepts_keeps_only_the_keywords_the_signature_names() -> None:
    callbacks = History().nats_callbacks("svc", accepts=_no_lame_duck)
    assert set(callbacks) == set(NATS_CALLBACKS) - {"lame_duck_mode_cb"}
    _no_lame_duck(**callbacks)  # a TypeError here is what the filter prevents
    with pytest.raises(TypeError):
        _no_lame_duck(**History().nats_callbacks("svc"))
    assert set(History().nats_callbacks("svc", accepts=_Broker)) == {"error_cb", "closed_cb"}


def test_accepts_with_var_keyword_keeps_all() -> None:
    def connect(servers: str, **options: Any) -> None: ...

    assert set(History().nats_callbacks("svc", accepts=connect)) == set(NATS_CALLBACKS)


def test_only_keeps_the_names_listed_and_combines_with_accepts() -> None:
    assert set(History().nats_callbacks("svc", only=("error_cb", "closed_cb"))) == {
        "error_cb",
        "closed_cb",
    }
    both = History().nats_callbacks(
        "svc", only=("error_cb", "lame_duck_mode_cb"), accepts=_no_lame_duck
    )
    assert set(both) == {"error_cb"}
    with pytest.raises(TypeError, match="'closed'"):
        History().nats_callbacks("svc", only=("closed",))


def test_an_app_callback_the_filter_would_drop_is_an_error_not_silence() -> None:
    with pytest.raises(TypeError, match=r"lame_duck_mode_cb would never run.*_no_lame_duck"):
        History().nats_callbacks("svc", accepts=_no_lame_duck, lame_duck_mode_cb=print)
    with pytest.raises(TypeError, match="closed_cb would never run"):
        History().nats_callbacks("svc", only=("error_cb",), closed_cb=print)


def test_an_unreadable_signature_says_to_use_only() -> None:
    with pytest.raises(TypeError, match="only="):
        History().nats_callbacks("svc", accepts=object())  # type: ignore[arg-type]
