"""The live status line of ``nats-harness run`` on a terminal.

While scenarios run, the last line of the terminal shows each running scenario with its
current phase (read from the files :mod:`nats_fault_harness.scenario._progress` writes)
and how long it has run, redrawn every :data:`REDRAW_S` seconds and cut to the
terminal's width. Result lines are printed above it: the status line is erased, the
result printed, the status line drawn again. When the output is not a terminal (a CI
log, a pipe) there is no status line at all: only the plain result lines.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from nats_fault_harness.scenario._progress import read_phase

__all__ = ["REDRAW_S", "LiveLine"]

REDRAW_S = 0.5
_ERASE = "\r\x1b[K"


class LiveLine:
    """Result lines above, a redrawn status line below (on a terminal only)."""

    def __init__(self, folder: Path, stream: TextIO | None = None) -> None:
        self.folder = folder
        self._own: TextIO | None = None
        if stream is None and sys.stdout.isatty():
            # a copy of the terminal's descriptor: pytest captures fd 1 while a scenario
            # runs, and the status line must reach the terminal meanwhile
            sys.stdout.flush()
            self._own = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
        self.stream = stream or self._own or sys.stdout
        self.enabled = self.stream.isatty()
        self.running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._shown = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LiveLine:
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="live-line", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._erase()
        if self._own is not None:
            self._own.close()

    def started(self, nodeid: str) -> None:
        """A scenario began."""
        with self._lock:
            self.running[nodeid] = time.monotonic()

    def finished(self, nodeid: str) -> None:
        """A scenario ended."""
        with self._lock:
            self.running.pop(nodeid, None)

    def print(self, text: str) -> None:
        """Print ``text`` (a result line) above the status line."""
        with self._lock:
            self._erase()
            print(text, file=self.stream, flush=True)
            self._draw()

    def status(self) -> str:
        """The status line's text: ``running 2: a [workload 3.1s] | b [topology 0.2s]``."""
        now = time.monotonic()
        parts = []
        for nodeid, since in sorted(self.running.items(), key=lambda kv: kv[1]):
            name = nodeid.rsplit("::", 1)[-1]
            phase = read_phase(self.folder, nodeid) or "starting"
            parts.append(f"{name} [{phase} {now - since:.1f}s]")
        return f"running {len(parts)}: " + " | ".join(parts) if parts else ""

    def _loop(self) -> None:
        while not self._stop.wait(REDRAW_S):
            with self._lock:
                self._erase()
                self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        text = self.status()
        if text:
            width = shutil.get_terminal_size((100, 24)).columns - 1
            cut = text if len(text) <= width else text[: max(width - 1, 0)] + "…"
            self.stream.write(cut)
            self.stream.flush()
            self._shown = True

    def _erase(self) -> None:
        if self.enabled and self._shown:
            self.stream.write(_ERASE)
            self.stream.flush()
            self._shown = False
