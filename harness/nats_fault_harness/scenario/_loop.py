"""Run a scenario's event loop to the end, even when the service leaves tasks that never end.

``asyncio.run`` cancels the tasks left when its coroutine returns and then waits for them
without a bound: one task of the service that swallows its cancellation (a ``stop()`` or a
background loop with ``except CancelledError: pass`` around an await) hangs the run forever.
:func:`run_bounded` is ``asyncio.run`` with that wait bounded: the tasks still running after
``grace_s`` are abandoned (named on stderr), the loop is closed and the result returned.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["GRACE_S", "abandoned_tasks", "run_bounded"]

T = TypeVar("T")

GRACE_S = 5.0
"""How long the tasks left at the end get to finish once cancelled."""

_ABANDONED: list[asyncio.Task[Any]] = []
"""Tasks that ignored their cancellation; kept referenced so that closing their loop does
not log "Task was destroyed but it is pending" for each."""


def abandoned_tasks() -> list[str]:
    """The names of the tasks abandoned so far in this process."""
    return [task.get_name() for task in _ABANDONED]


def run_bounded(main: Coroutine[Any, Any, T], *, grace_s: float = GRACE_S) -> T:
    """Run ``main`` in a new event loop, like ``asyncio.run``, but never hang at the end.

    Raises:
        whatever ``main`` raises.
    """
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            _finish(loop, grace_s)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _finish(loop: asyncio.AbstractEventLoop, grace_s: float) -> None:
    left = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in left:
        task.cancel()
    if left:
        _, pending = loop.run_until_complete(asyncio.wait(left, timeout=grace_s))
        for task in left:
            if task.done() and not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception in a task left at the end of a run",
                        "exception": task.exception(),
                        "task": task,
                    }
                )
        if pending:
            _ABANDONED.extend(pending)
            names = ", ".join(sorted(task.get_name() for task in pending))
            _say(
                f"abandoned {len(pending)} task(s) that ignored their cancellation for "
                f"{grace_s:g} s: {names}"
            )
    try:  # an async generator stuck in its finally must not hang the run either
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), grace_s))
    except TimeoutError:
        _say(f"async generators did not close in {grace_s:g} s")
    _shutdown_executor(loop, grace_s)


def _shutdown_executor(loop: asyncio.AbstractEventLoop, grace_s: float) -> None:
    """Wait up to ``grace_s`` for the loop's default executor (``asyncio.to_thread``).

    ``loop.shutdown_default_executor()`` joins its worker threads without a bound (in a
    ``finally``, so not even ``wait_for`` can stop it); a blocking call that never returns
    would hang the run. The join is done in a thread of its own here, and given up on.
    """
    executor = getattr(loop, "_default_executor", None)  # no public accessor
    if executor is None:
        return
    joiner = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    joiner.start()
    joiner.join(grace_s)
    if joiner.is_alive():
        _say(f"a worker thread (asyncio.to_thread) did not finish in {grace_s:g} s; left running")


def _say(text: str) -> None:
    print(f"nats-fault-harness: {text}", file=sys.stderr, flush=True)
