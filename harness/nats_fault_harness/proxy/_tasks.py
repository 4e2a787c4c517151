"""A supervisor for the server's background tasks: kept, watched, cancelled on close.

The proxy starts tasks whose number changes at run time (upstream dials, one per running
toxic per link), which a ``TaskGroup`` cannot hold without one failure cancelling every
connection. Every task goes through :meth:`TaskSet.spawn`: a reference is kept until it
ends, unexpected exceptions are logged and collected in :attr:`TaskSet.errors`, and
:meth:`TaskSet.aclose` cancels and awaits whatever is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["TaskSet"]

T = TypeVar("T")
_log = logging.getLogger("nats_fault_harness.proxy")


class TaskSet:
    """Owns background tasks and collects their failures."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.errors: list[BaseException] = []

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        """Start ``coro`` as a supervised task."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.errors.append(exc)
            _log.error("task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until no supervised task is running (bound it with ``asyncio.timeout``)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def aclose(self) -> None:
        """Cancel every task still running and wait for all of them."""
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
