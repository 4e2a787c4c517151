"""Reading a server's log from its stderr pipe for the server's whole life.

The pipe must be drained for as long as the server runs: a full pipe blocks the server's
logger and with it the server. Lines are kept in a bounded buffer for error messages and
for waiting on log events ("Server is ready", "Reloaded server configuration").

While a server starts, the caller reads the pipe itself (``select`` with a deadline), which
saves the thread hand-off on every line; :meth:`LogReader.detach` then hands the pipe to a
background thread that keeps draining it.
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
from collections import deque
from typing import IO

from nats_fault_harness.errors import WaitTimeout

__all__ = ["LogReader"]

_KEEP = 2000


class LogReader:
    """Drains a pipe line by line into a bounded buffer and lets callers wait on lines."""

    def __init__(self, stream: IO[bytes], *, name: str) -> None:
        self._stream = stream
        self._fd = stream.fileno()
        self._name = name
        self._partial = b""
        self._lines: deque[str] = deque(maxlen=_KEEP)
        self._count = 0  # total lines ever read, so waiters can start "from now"
        self._eof = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ reading
    def _read_once(self, timeout: float | None) -> bool:
        """Read what the pipe has (waiting up to ``timeout``); False on timeout."""
        if timeout is not None:
            ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
            if not ready:
                return False
        try:
            data = os.read(self._fd, 65536)
        except OSError:
            data = b""
        with self._cond:
            if not data:
                if self._partial:
                    self._append(self._partial)
                    self._partial = b""
                self._eof = True
            else:
                *complete, self._partial = (self._partial + data).split(b"\n")
                for raw in complete:
                    self._append(raw)
            self._cond.notify_all()
        return True

    def _append(self, raw: bytes) -> None:
        self._lines.append(raw.decode("utf-8", "replace").rstrip("\r"))
        self._count += 1

    def _run(self) -> None:
        while not self._eof:
            self._read_once(None)
        self._stream.close()

    def detach(self) -> None:
        """Hand the pipe to a background thread that drains it until EOF."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"log-{self._name}", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ queries
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

    def wait_for(
        self, pattern: re.Pattern[str], *, since: int, timeout: float, what: str
    ) -> re.Match[str] | None:
        """Wait until a line after ``since`` matches; ``None`` if the pipe hit EOF first.

        Raises:
            WaitTimeout: no match and no EOF within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        checked = since
        while True:
            with self._cond:
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
                    raise WaitTimeout(what, timeout, self._lines[-1] if self._lines else None)
                if self._thread is not None:
                    self._cond.wait(remaining)
                    continue
            self._read_once(remaining)  # no reader thread yet: read the pipe ourselves

    def join(self, timeout: float = 2.0) -> None:
        """Drain to EOF after the process exited (reading inline if never detached)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return
        deadline = time.monotonic() + timeout
        while not self._eof and time.monotonic() < deadline:
            self._read_once(deadline - time.monotonic())
        self._stream.close()
