"""Deadline-bounded waiting: every wait in the harness goes through here.

A wait always names what it waited for, so a timeout message says what did not happen
instead of only that something took too long.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats_fault_harness.errors import WaitTimeout

__all__ = ["wait_until", "wait_until_async"]

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.005,
    max_interval: float = 0.1,
) -> T:
    """Call ``probe`` until it returns a truthy value, and return that value.

    The poll interval starts at ``interval`` and doubles up to ``max_interval``, so a
    condition that is met quickly is seen quickly without spinning on a slow one.
    Exceptions raised by ``probe`` propagate at once.

    Args:
        probe: a function returning a falsy value until the condition holds.
        timeout: seconds before giving up.
        what: a description of the condition, used in the error.
        interval: the first poll interval in seconds.
        max_interval: the longest poll interval in seconds.

    Raises:
        WaitTimeout: the condition did not hold within ``timeout``; carries the last value.
    """
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, last)
        time.sleep(min(interval, remaining))
        interval = min(interval * 2, max_interval)
        last = probe()
    return last


async def wait_until_async(
    probe: Callable[[], Awaitable[T] | T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.005,
    max_interval: float = 0.1,
) -> T:
    """Async twin of :func:`wait_until`; ``probe`` may be a plain or an async function.

    The event loop keeps running between polls, so client callbacks fire while waiting.
    """
    deadline = time.monotonic() + timeout

    async def call() -> T:
        value = probe()
        return await value if inspect.isawaitable(value) else value

    last = await call()
    while not last:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, last)
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 2, max_interval)
        last = await call()
    return last
