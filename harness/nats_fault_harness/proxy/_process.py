"""The proxy server as a child process, for session fixtures: start, learn the URL, stop.

The child is ``python -m nats_fault_harness.proxy --host 127.0.0.1 --port 0`` started through
:func:`nats_fault_harness._proc.spawn`: its own process group, a parent-death signal (SIGKILL when
the
spawning thread dies; spawns from non-main threads are handed to one long-lived spawner
thread, so the signal is tied to that thread rather than the caller) and a registry entry
for orphan sweeps. Its port comes from the ready line it prints
(``toxiproxy listening on http://HOST:PORT``), read with a deadline: a child that exits or
stays silent raises :class:`ProxyStartError` with its stderr tail, never hangs.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from nats_fault_harness import _proc
from nats_fault_harness.errors import ProxyStartError

__all__ = ["ProxyProcess"]

_READY = re.compile(r"^toxiproxy listening on (http://(\S+):(\d+))\s*$")


class _Drain:
    """Reads a pipe to EOF on a daemon thread, keeping the last lines."""

    def __init__(self, stream: IO[bytes], name: str, keep: int = 200) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self._stream = stream
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for raw in iter(self._stream.readline, b""):
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        with contextlib.suppress(OSError):
            self._stream.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class ProxyProcess:
    """A ``python -m nats_fault_harness.proxy`` child with a known URL.

    Args:
        host: API host for the child.
        seed: ``--seed`` for the child (``None``: the child picks one).
        config_path: ``--config`` file of proxies to create at start.
        start_timeout: seconds allowed until the ready line.
        python: interpreter to run (default: this one).
        extra_args: more command-line arguments.

    Attributes:
        url: ``http://host:port`` once started; ``host`` and ``port`` likewise.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        seed: int | None = None,
        config_path: str | os.PathLike[str] | None = None,
        start_timeout: float = 15.0,
        python: str = sys.executable,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.args = [python, "-m", "nats_fault_harness.proxy", "--host", host, "--port", "0"]
        if seed is not None:
            self.args += ["--seed", str(seed)]
        if config_path is not None:
            self.args += ["--config", str(Path(config_path))]
        self.args += list(extra_args)
        self.start_timeout = start_timeout
        self.url = ""
        self.host = host
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: _Drain | None = None
        self._stdout: _Drain | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it exists."""
        return self._proc.pid if self._proc is not None else None

    @property
    def is_running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def stderr_tail(self, n: int = 40) -> list[str]:
        """The child's last ``n`` stderr lines."""
        return list(self._stderr.lines)[-n:] if self._stderr is not None else []

    def start(self) -> ProxyProcess:
        """Spawn the child and wait for its ready line.

        Raises:
            ProxyStartError: it exited, could not be spawned, or was not ready in time.
        """
        if self.is_running:
            return self
        try:
            proc = _proc.spawn(self.args, role="toxiproxy")
        except OSError as exc:
            raise ProxyStartError(
                f"cannot run {self.args[0]}: {exc}", exit_code=None, log_tail=()
            ) from exc
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._proc = proc
        self._stderr = _Drain(proc.stderr, f"toxiproxy-stderr-{proc.pid}")
        try:
            self._await_ready(proc)
        except BaseException:
            self.stop(timeout=0.5)
            raise
        self._stdout = _Drain(proc.stdout, f"toxiproxy-stdout-{proc.pid}")
        return self

    def _await_ready(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self.start_timeout
        buffer = b""
        while True:
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                match = _READY.match(line.decode("utf-8", "replace"))
                if match:
                    self.url, self.host, self.port = match[1], match[2], int(match[3])
                    return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProxyStartError(
                    f"proxy process {proc.pid} printed no ready line within "
                    f"{self.start_timeout:.1f}s",
                    exit_code=None,
                    log_tail=self._tail_after(),
                )
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                code = self._wait(2.0)
                raise ProxyStartError(
                    f"proxy process exited with code {code} before it was ready "
                    f"({' '.join(self.args)})",
                    exit_code=code,
                    log_tail=self._tail_after(),
                )
            buffer += chunk

    def _tail_after(self) -> list[str]:
        if self._stderr is not None:
            self._stderr.join(0.5)
        return self.stderr_tail()

    def _wait(self, timeout: float) -> int | None:
        assert self._proc is not None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 2.0) -> int | None:
        """SIGTERM, then SIGKILL to the process group after ``timeout`` seconds.

        Returns:
            The exit code (``None`` if it was never started).
        """
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            if self._wait(timeout) is None:
                _proc.kill_group(proc.pid)
                self._wait(5.0)
        _proc.unregister(proc.pid)
        for drain in (self._stdout, self._stderr):
            if drain is not None:
                drain.join(1.0)
        if self._stdout is None and proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()
        return proc.returncode

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
