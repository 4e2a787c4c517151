"""Reading a server's log from its stderr pipe, forever, in one thread.

The pipe must be drained for the server's whole life: a full pipe blocks the server's
logger and with it the server. Lines are kept in a bounded buffer for error messages
and for waiting on log events ("Server is ready", "Reloaded server configuration").
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import IO

from harness.errors import WaitTimeout

__all__ = ["LogReader"]

_KEEP = 2000


class LogReader:
    """Drains a pipe line by line into a bounded buffer and lets callers wait on lines."""

    def __init__(self, stream: IO[bytes], *, name: str) -> None:
        self._stream = stream
        self._lines: deque[str] = deque(maxlen=_KEEP)
        self._count = 0  # total lines ever read, so waiters can start "from now"
        self._eof = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"log-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self._lines.append(line)
                self._count += 1
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()
        self._stream.close()

    @property
    def count(self) -> int:
        """How many lines were read so far (a mark for :meth:`wait_for`)."""
        with self._cond:
            return self._count

    @property
    def eof(self) -> bool:
        """True once the process closed its end of the pipe."""
        with self._cond:
            return self._eof

    def tail(self, n: int = 40) -> list[str]:
        """The last ``n`` lines."""
        with self._cond:
            return list(self._lines)[-n:]

    def lines_since(self, mark: int) -> list[str]:
        """Lines read after ``mark`` (as far as the buffer still holds them)."""
        with self._cond:
            have = min(self._count - mark, len(self._lines))
            return list(self._lines)[len(self._lines) - have :] if have > 0 else []

    def wait_for(
        self, pattern: re.Pattern[str], *, since: int, timeout: float, what: str
    ) -> re.Match[str] | None:
        """Wait until a line after ``since`` matches; ``None`` if the pipe hit EOF first.

        Raises:
            WaitTimeout: no match and no EOF within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        checked = since
        with self._cond:
            while True:
                if self._count > checked:
                    lines = list(self._lines)
                    new = min(self._count - checked, len(lines))
                    for line in lines[len(lines) - new :]:
                        match = pattern.search(line)
                        if match:
                            return match
                    checked = self._count
                if self._eof:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(what, timeout, lines[-1] if self._lines else None)
                self._cond.wait(remaining)

    def join(self, timeout: float = 2.0) -> None:
        """Wait for the reader thread to finish after the process exited."""
        self._thread.join(timeout)
