"""The proxy as a CLI subprocess, for flags the session server does not use (--seed, --config)."""

from __future__ import annotations

import contextlib
import queue
import threading
import time

from ._support import LISTENING_LINE, ProxyApi


def _die_with_parent() -> None:  # runs in the child between fork and exec
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


class CliProxy:
    """``python -m nats_fault_harness.proxy --host 127.0.0.1 --port 0 ...`` in its own process
    group.

    Ready when it printed ``toxiproxy listening on http://HOST:PORT``; stopped with SIGTERM.
    """

    def __init__(self, *args: str, ready_timeout: float = 20.0) -> None:
        import subprocess
        import sys

        self.args = [
            sys.executable,
            "-m",
            "nats_fault_harness.proxy",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *args,
        ]
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.stderr = bytearray()
        self._lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.ready_line = ""
        deadline = time.monotonic() + ready_timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0.001)).decode(errors="replace")
            except queue.Empty:
                self.stop()
                raise AssertionError(
                    f"{self.args} did not print its listening line in {ready_timeout}s; "
                    f"stderr: {bytes(self.stderr[-2000:])!r}"
                ) from None
            if not line:  # EOF on stdout: the process exited
                self.stop()
                raise AssertionError(
                    f"{self.args} exited with {self.proc.returncode} before it was ready; "
                    f"stderr: {bytes(self.stderr[-2000:])!r}"
                )
            match = LISTENING_LINE.search(line)
            if match:
                self.ready_line = line.rstrip("\n")
                self.url = match.group(1)
                self.host = match.group(2)
                self.port = int(match.group(3))
                break

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            self._lines.put(line)
        self._lines.put(b"")

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self.stderr += chunk

    def api(self) -> ProxyApi:
        return ProxyApi(self.url)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code (None if killed)."""
        import os
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
                return None
        return self.proc.returncode

    def __enter__(self) -> CliProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
