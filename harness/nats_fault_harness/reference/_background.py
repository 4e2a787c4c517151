"""Owned background tasks: started by ``connect()``, cancelled and awaited by ``close()``.

No task is fire-and-forget: each is kept, cancelled on stop and awaited, and an
unexpected exception (a bug; the loops catch every expected error) is collected so
``close()`` can re-raise it where a caller sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

__all__ = ["BackgroundTasks"]


class BackgroundTasks:
    """A set of long-running tasks plus the errors they died with."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._tasks: list[asyncio.Task[None]] = []
        self.errors: list[BaseException] = []

    def start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` as a task named ``<prefix>-<name>``."""
        task = asyncio.create_task(coro, name=f"{self._prefix}-{name}")
        task.add_done_callback(self._done)
        self._tasks.append(task)

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            error = task.exception()
            if error is not None:
                self.errors.append(error)

    async def stop(self) -> None:
        """Cancel every task and wait until all have finished."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
