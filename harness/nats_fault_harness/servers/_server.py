"""One real nats-server process: start, observe, and inject process-level faults.

Its ports (client, monitoring, and route for a cluster node) are reserved by the harness
before the first start and kept until :meth:`NatsServer.close`, so a restart after a kill,
stop or lame duck gets them back even if other programs bound or dialled meanwhile (see
:mod:`nats_fault_harness.servers._ports`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from nats_fault_harness import _proc
from nats_fault_harness._wait import wait_until
from nats_fault_harness.errors import (
    ServerNotRunning,
    ServerStartError,
    ServerStartTimeout,
    WaitTimeout,
)
from nats_fault_harness.servers._binary import binary_version, find_binary
from nats_fault_harness.servers._config import ClusterSpec, ServerConfig, render_config
from nats_fault_harness.servers._logs import LogReader
from nats_fault_harness.servers._monitor import get_json, quick_status
from nats_fault_harness.servers._ports import PortHold

__all__ = ["NatsServer"]

_CLIENT_RE = re.compile(r"Listening for client connections on (\S+):(\d+)")
_HTTP_RE = re.compile(r"Starting http monitor on (\S+):(\d+)")
_ROUTE_RE = re.compile(r"Listening for route connections on (\S+):(\d+)")
_READY_RE = re.compile(r"Server is ready")
_RELOAD_RE = re.compile(r"Reloaded server configuration|\[ERR\].*reload", re.IGNORECASE)
_names = itertools.count(1)


class NatsServer:
    """A nats-server child process with known ports and a kept log.

    Ports are never guessed and never lost: the first start reserves a kernel-chosen port
    for each listener with a placeholder socket (bound, never listening) and passes it to
    the server explicitly; the placeholders are held until :meth:`close`, so
    :meth:`restart` (or :meth:`start` after :meth:`kill`, :meth:`stop` or a lame duck)
    binds the same ports again and clients holding the URL reconnect to the same address.
    While the server is down its ports refuse connections, and no port-0 bind or
    ``connect()`` of any program can be given them. A port set before the first start
    (``server.port = 4222``, or ``ClusterSpec.port``) is used as given and not held.

    Ready means: the client and monitoring listeners are up, a raw TCP connection received
    the server's ``INFO`` line, and ``/healthz`` answered 200 (for a node of a JetStream
    cluster, ``/healthz?js-server-only=true``: the cluster as a whole is awaited by
    :class:`~nats_fault_harness.servers.NatsCluster`).

    Args:
        config: server options.
        name: server name; a unique one is generated if omitted.
        binary: path to nats-server; found with :func:`find_binary` if omitted.
        base_dir: parent folder for this server's directory (config, JetStream store);
            a temporary folder if omitted.
        cluster: the cluster block when the server is a cluster node.
        start_timeout: seconds allowed for a start or restart to become ready.
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        name: str | None = None,
        binary: str | os.PathLike[str] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        cluster: ClusterSpec | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.config = config or ServerConfig()
        self.name = name or f"nfh-{os.getpid()}-{next(_names)}"
        self.binary = find_binary(binary)
        self.cluster = cluster
        self.start_timeout = start_timeout
        self._own_dir = base_dir is None
        parent = Path(base_dir) if base_dir else _proc.own_temp_dir()
        self.directory = parent / self.name if not self._own_dir else parent
        self.directory.mkdir(parents=True, exist_ok=True)
        self.store_dir = self.directory / "jetstream"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: LogReader | None = None
        self._paused = False
        self._lock = threading.RLock()
        self.host = "127.0.0.1"
        self.port = -1
        self.monitor_port = -1
        self.cluster_port = -1
        self.server_id = ""
        self.starts = 0
        self._listen: tuple[int, int, ClusterSpec | None] = (-1, -1, cluster)
        self._hold = PortHold(self.host)
        self._held: list[str] = []  # the port attributes whose ports self._hold keeps

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> NatsServer:
        """Start the process and wait until it is ready (on the held ports after the first).

        Raises:
            ServerStartError: the process exited or could not be spawned (exit code, log).
            ServerStartTimeout: not ready within ``start_timeout``.
        """
        with self._lock:
            if self.is_running:
                return self
            fresh = self._reserve_ports()
            try:
                self._spawn_and_wait()
            except BaseException:
                if fresh:  # a failed first start gives its ports back
                    self._release_ports()
                raise
            return self

    def _reserve_ports(self) -> bool:
        """Hold a port for each listener that has none yet; True if any was taken now."""
        wanted = ["port", "monitor_port"]
        if self.cluster is not None:
            if self.cluster.port > 0 and self.cluster_port <= 0:
                self.cluster_port = self.cluster.port
            wanted.append("cluster_port")
        fresh = False
        for attr in wanted:
            if getattr(self, attr) <= 0:
                setattr(self, attr, self._hold.take())
                self._held.append(attr)
                fresh = True
        return fresh

    def _release_ports(self) -> None:
        """Close the placeholders; the ports they held are unknown again (``-1``)."""
        self._hold.release()
        for attr in self._held:
            setattr(self, attr, -1)
        self._held.clear()

    def _spawn_and_wait(self) -> None:
        """Render the config with the held ports, spawn, and wait until ready."""
        config_path = self.directory / "server.conf"
        cluster = self.cluster
        if cluster is not None:
            cluster = replace(cluster, port=self.cluster_port)
        # A reload must render the same listen values as the start did (the server
        # refuses to change listeners on reload), so remember them.
        self._listen = (self.port, self.monitor_port, cluster)
        config_path.write_text(self._render())
        args = [str(self.binary), "-c", str(config_path)]
        try:
            proc = _proc.spawn(args, role="nats-server", cwd=str(self.directory))
        except OSError as exc:
            raise ServerStartError(f"cannot run {self.binary}: {exc}", name=self.name) from exc
        assert proc.stderr is not None
        self._proc = proc
        self._paused = False
        self._log = LogReader(proc.stderr, name=self.name)
        assert proc.stdout is not None
        proc.stdout.close()
        self.starts += 1
        try:
            self._await_ready()
            self._log.detach()
        except BaseException:
            self._terminate(graceful=False)
            raise

    def _render(self) -> str:
        port, http_port, cluster = self._listen
        return render_config(
            self.config,
            name=self.name,
            host=self.host,
            port=port,
            http_port=http_port,
            store_dir=self.store_dir,
            cluster=cluster,
        )

    def _await_ready(self) -> None:
        assert self._log is not None
        deadline = time.monotonic() + self.start_timeout
        patterns = [
            ("monitoring listener", _HTTP_RE, self.monitor_port),
            ("client listener", _CLIENT_RE, self.port),
            ("'Server is ready'", _READY_RE, 0),
        ]
        if self.cluster is not None:
            patterns.append(("route listener", _ROUTE_RE, self.cluster_port))
        for what, pattern, port in patterns:
            try:
                match = self._log.wait_for(
                    pattern, since=0, timeout=max(0.0, deadline - time.monotonic()), what=what
                )
            except WaitTimeout as exc:
                raise ServerStartTimeout(
                    f"nats-server {self.name} not ready after {self.start_timeout:.1f}s: "
                    f"no {what} in its log",
                    name=self.name,
                    timeout=self.start_timeout,
                    waited_for=what,
                    log_tail=self.log_tail(),
                ) from exc
            if match is None:
                code = self._reap(timeout=2.0)
                raise ServerStartError(
                    f"nats-server {self.name} exited with code {code} while starting "
                    f"(waiting for {what})",
                    name=self.name,
                    exit_code=code,
                    log_tail=self.log_tail(),
                )
            if port and int(match.group(2)) != port:
                raise ServerStartError(
                    f"nats-server {self.name}: {what} on port {match.group(2)}, not on the "
                    f"port it was given ({port})",
                    name=self.name,
                    log_tail=self.log_tail(),
                )
        remaining = max(0.05, deadline - time.monotonic())
        self._read_info(remaining)
        # A JetStream cluster node is healthy only once the cluster is: the cluster
        # awaits that; a node only needs its own server up.
        health = (
            "/healthz?js-server-only=true"
            if self.cluster and self.config.jetstream
            else ("/healthz")
        )
        try:
            wait_until(
                lambda: quick_status(self.host, self.monitor_port, health) == 200,
                timeout=max(0.05, deadline - time.monotonic()),
                what=f"/healthz of {self.name}",
            )
        except WaitTimeout as exc:
            raise ServerStartTimeout(
                f"nats-server {self.name}: /healthz not OK after {self.start_timeout:.1f}s",
                name=self.name,
                timeout=self.start_timeout,
                waited_for="/healthz",
                log_tail=self.log_tail(),
            ) from exc

    def _read_info(self, timeout: float) -> None:
        """Open a raw TCP connection and read the INFO line (learns the server id)."""
        import json

        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
                data = b""
                while b"\r\n" not in data:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        except OSError as exc:
            raise ServerStartError(
                f"nats-server {self.name}: cannot read INFO from {self.url}: {exc}",
                name=self.name,
                log_tail=self.log_tail(),
            ) from exc
        line = data.split(b"\r\n", 1)[0]
        if not line.startswith(b"INFO "):
            raise ServerStartError(
                f"nats-server {self.name}: expected INFO, got {line[:80]!r}",
                name=self.name,
                log_tail=self.log_tail(),
            )
        self.server_id = str(json.loads(line[5:]).get("server_id", ""))

    def stop(self, timeout: float = 2.0) -> None:
        """Stop gracefully (SIGCONT, SIGTERM) and SIGKILL the group after ``timeout``."""
        with self._lock:
            self._terminate(graceful=True, timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the server now (no goodbye to clients or routes)."""
        with self._lock:
            self._terminate(graceful=False)

    def _terminate(self, *, graceful: bool, timeout: float = 2.0) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            if graceful:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _proc.kill_group(proc.pid)
            else:
                _proc.kill_group(proc.pid)
        self._reap(timeout=5.0)
        self._paused = False

    def _reap(self, timeout: float) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _proc.kill_group(proc.pid)
            code = proc.wait(timeout)
        _proc.unregister(proc.pid)
        if self._log is not None:
            self._log.join()
        return code

    def restart(self, *, graceful: bool = False) -> NatsServer:
        """Stop (SIGKILL unless ``graceful``) and start again on the same ports and store.

        The ports are held while the server is down, so the start cannot find them taken.
        """
        with self._lock:
            self._terminate(graceful=graceful)
            return self.start()

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, but nothing is answered.

        Returns once every thread of the server is stopped: signal delivery is
        asynchronous, and a PING answered just after ``kill()`` returned would make a
        test see a server that is "paused" yet still talking.
        """
        with self._lock:
            self._signal(signal.SIGSTOP)
            self._paused = True
            self._await_thread_states(stopped=True)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`; returns once the server's threads run again."""
        with self._lock:
            self._signal(signal.SIGCONT)
            self._paused = False
            self._await_thread_states(stopped=False)

    def _await_thread_states(self, *, stopped: bool) -> None:
        pid = self.pid
        if pid is None or not Path(f"/proc/{pid}/task").is_dir():
            return  # not Linux: nothing to observe

        def states() -> set[str]:
            seen = set()
            for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
                try:
                    seen.add(stat.read_text().rsplit(")", 1)[1].split()[0])
                except (OSError, IndexError):
                    continue
            return seen

        def done() -> bool:
            current = states()
            all_stopped = bool(current) and current <= {"T", "t"}
            return all_stopped if stopped else not ({"T", "t"} & current)

        what = "SIGSTOP" if stopped else "SIGCONT"
        wait_until(
            done, timeout=2.0, what=f"{what} to reach every thread of {self.name}", interval=0.0005
        )

    def lame_duck(self) -> None:
        """Enter lame-duck mode (SIGUSR2): clients are told, then evicted; the server exits."""
        self._signal(signal.SIGUSR2)

    def reload(self, config: ServerConfig | None = None, timeout: float = 5.0) -> None:
        """Rewrite the config (if given) and send SIGHUP; wait for the reload to be logged.

        Raises:
            ServerError: the server logged a reload error.
        """
        from nats_fault_harness.errors import ServerError

        with self._lock:
            if config is not None:
                self.config = config
                (self.directory / "server.conf").write_text(self._render())
            assert self._log is not None
            mark = self._log.count
            self._signal(signal.SIGHUP)
            match = self._log.wait_for(
                _RELOAD_RE, since=mark, timeout=timeout, what=f"config reload of {self.name}"
            )
            if match is None or "ERR" in match.string:
                raise ServerError(
                    f"nats-server {self.name}: reload failed",
                    name=self.name,
                    log_tail=self.log_tail(),
                )

    def _signal(self, sig: int) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise ServerNotRunning(
                f"nats-server {self.name} is not running", name=self.name, log_tail=self.log_tail()
            )
        proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to exit by itself (for example after lame duck)."""
        proc = self._proc
        if proc is None:
            raise ServerNotRunning(f"nats-server {self.name} was never started", name=self.name)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise WaitTimeout(f"exit of nats-server {self.name}", timeout) from exc
        code = self._reap(timeout=1.0)
        assert code is not None
        return code

    def close(self) -> None:
        """Stop the server, release its ports and remove its directory (idempotent).

        The held ports read ``-1`` afterwards; a later :meth:`start` reserves new ones.
        """
        with self._lock:
            self.stop()
            self._release_ports()
        if self._own_dir:
            _proc.forget_dir(self.directory)

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- state
    @property
    def is_running(self) -> bool:
        """True while the process exists (paused counts as running)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def is_paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume`."""
        return self._paused and self.is_running

    @property
    def pid(self) -> int | None:
        """The process id, or ``None`` before the first start."""
        return self._proc.pid if self._proc else None

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:PORT`` for clients."""
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the monitoring endpoints."""
        return f"http://{self.host}:{self.monitor_port}"

    @property
    def route_url(self) -> str:
        """``nats://127.0.0.1:PORT`` of the route listener (cluster nodes only)."""
        return f"nats://{self.host}:{self.cluster_port}"

    @property
    def version(self) -> str:
        """The nats-server version, for example ``"2.15.1"``."""
        return binary_version(self.binary)

    def log_tail(self, n: int = 40) -> list[str]:
        """The last ``n`` lines the server logged."""
        return self._log.tail(n) if self._log else []

    # ----------------------------------------------------------------- monitoring
    def _monitor(self, path: str, params: dict[str, object], **kw: Any) -> dict[str, Any]:
        if not self.is_running:
            raise ServerNotRunning(f"nats-server {self.name} is not running", name=self.name)
        return get_json(self.monitor_url, path, params or None, name=self.name, **kw)[1]

    def varz(self) -> dict[str, Any]:
        """``/varz``: server-wide counters and settings."""
        return self._monitor("/varz", {})

    def connz(self, **params: object) -> dict[str, Any]:
        """``/connz`` (for example ``subs=True``, ``state="closed"``)."""
        return self._monitor("/connz", params)

    def routez(self, **params: object) -> dict[str, Any]:
        """``/routez``: route connections (pooled: count distinct ``remote_id``)."""
        return self._monitor("/routez", params)

    def subsz(self, **params: object) -> dict[str, Any]:
        """``/subsz`` (for example ``subs=True, test="orders.new"``)."""
        return self._monitor("/subsz", params)

    def interest(self, subject: str, *, queue: str | None = None) -> int:
        """How many subscriptions this server would deliver ``subject`` (a literal subject)
        to: its own clients' (``/subsz``; wildcards count) plus the interest its routes
        brought from other servers (``/routez``), one per remote server and distinct
        subscription subject and queue (a route carries interest, not each subscriber).

        Args:
            subject: a subject a message would be published to (no wildcards).
            queue: count only the members of this queue group.
        """
        listed = self.subsz(subs=True, test=subject, limit=100_000).get("subscriptions_list")
        local = sum(1 for sub in listed or () if queue is None or sub.get("qgroup") == queue)
        remote: set[tuple[str, str, str]] = set()
        for route in self.routez(subs=True).get("routes") or ():
            for entry in route.get("subscriptions_list") or ():
                pattern, _, group = str(entry).partition(" ")
                if subject_matches(pattern, subject) and (queue is None or group == queue):
                    remote.add((str(route.get("remote_id")), pattern, group))
        return local + len(remote)

    def wait_for_interest(
        self, subject: str, *, count: int = 1, queue: str | None = None, timeout: float = 5.0
    ) -> int:
        """Block until :meth:`interest` in ``subject`` is at least ``count``.

        The race it closes: a service subscribes through a proxy and a test publishes at once;
        the SUB may not have reached the server yet, and the message goes nowhere. Call it
        after starting the service, before sending it work.

        Returns:
            the number of matching subscriptions.

        Raises:
            WaitTimeout: fewer than ``count`` after ``timeout`` seconds, naming the subject.
        """

        def enough() -> int:
            seen = self.interest(subject, queue=queue)
            return seen if seen >= count else 0

        group = f" in queue group {queue!r}" if queue else ""
        return wait_until(
            enough,
            timeout=timeout,
            interval=0.02,
            what=f"{count} subscription(s) matching {subject!r}{group} on {self.name}",
        )

    def jsz(self, **params: object) -> dict[str, Any]:
        """``/jsz``: JetStream state."""
        return self._monitor("/jsz", params)

    def healthz(self, **params: object) -> dict[str, Any]:
        """``/healthz`` body; a 503 is returned as its body, not raised."""
        body = self._monitor("/healthz", params, accept_status=(200, 503))
        return body

    def remote_route_ids(self) -> set[str]:
        """Distinct server ids this node has routes to."""
        return {r["remote_id"] for r in self.routez().get("routes") or [] if r.get("remote_id")}

    def __repr__(self) -> str:
        state = "paused" if self.is_paused else ("running" if self.is_running else "stopped")
        return f"<NatsServer {self.name} {self.url} {state}>"


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether subscription subject ``pattern`` (``*`` one token, ``>`` the rest) matches
    the literal ``subject``."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)
