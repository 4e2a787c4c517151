"""Event-loop lag sampling: how long the loop the service runs on was kept from running.

A task sleeps ``interval`` seconds in a loop and records how much later than asked it
woke up. Work the harness itself does synchronously on the loop (applying an
event-triggered fault inside a service callback) is bracketed by :meth:`LoopLag.harness`
and subtracted, so the verdict is about the service, not about the harness.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["LoopLag"]

WORST = 10


class LoopLag:
    """Samples the running loop's lag; :meth:`detail` is the ``loop_lag`` event detail."""

    def __init__(self, interval_s: float = 0.01, *, at: Any = float) -> None:
        self.interval_s = interval_s
        self._at = at
        self._busy = 0.0
        self._samples: list[tuple[float, float]] = []  # (history time, lag ms)

    @contextmanager
    def harness(self) -> Iterator[None]:
        """Mark synchronous harness work on the loop; its time is not the service's lag."""
        start = time.monotonic()
        try:
            yield
        finally:
            self._busy += time.monotonic() - start

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until ``stop`` is set."""
        while not stop.is_set():
            busy, start = self._busy, time.monotonic()
            await asyncio.sleep(self.interval_s)
            end = time.monotonic()
            lag = (end - start - self.interval_s) - (self._busy - busy)
            self._samples.append((self._at(end), max(lag, 0.0) * 1000.0))

    def detail(self) -> dict[str, Any]:
        """``max_ms``, ``p99_ms``, ``count``, ``interval_ms`` and the ``worst`` samples."""
        lags = sorted(lag for _, lag in self._samples)
        worst = sorted(self._samples, key=lambda s: s[1], reverse=True)[:WORST]
        return {
            "max_ms": round(lags[-1], 3) if lags else 0.0,
            "p99_ms": round(lags[int(0.99 * (len(lags) - 1))], 3) if lags else 0.0,
            "count": len(lags),
            "interval_ms": self.interval_s * 1000.0,
            "worst": [{"t": round(t, 4), "lag_ms": round(lag, 3)} for t, lag in worst],
        }
