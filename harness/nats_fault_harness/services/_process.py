"""A service under test that is a child process in any language (the process protocol).

:class:`ProcessService` runs a command (``node clients/node/adapter.mjs``, ``python
clients/python/natspy_adapter.py``) and drives it with JSON lines over its standard input
and output, as ``docs/process-protocol.md`` describes; the wire format is in
:mod:`~nats_fault_harness.services._procwire`.

The child declares its capabilities in its hello. The runner fits a scenario to a
service before it starts it, so the hello is read once per command line by a short
*probe* (spawn, read the hello, close stdin, reap) and cached; the child that runs the
scenario is spawned by :meth:`ProcessService.start`, and must say the same hello.

Nothing hangs and nothing is left running:

- every wait is bounded: the hello by ``hello_timeout_s``, each command by
  ``command_timeout_s`` (a request by its own timeout plus that); a child that misses a
  bound is killed and the command raises :class:`ProcessTimeout`;
- a line that is not the protocol (garbage, an unknown message type, a reply to no
  command) kills the child; the pending and later commands raise
  :class:`ProcessProtocolError`;
- a child that exits (early, or mid-run) fails the pending and later commands with
  :class:`ProcessExited`, with its exit code and the tail of its stderr;
- each of these is also recorded as a client event of the service
  (``process_timeout``, ``protocol_violation``, ``process_exited``), so the verdict
  shows it;
- the child is spawned through :func:`nats_fault_harness._proc.spawn` (its own process
  group, a parent-death signal, the registry the session sweeps), and :meth:`stop`, or a
  failed :meth:`start`, ends with its whole process group killed and the child reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import selectors
import subprocess
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from nats_fault_harness import _proc
from nats_fault_harness.services._procwire import (
    ChildClock,
    Hello,
    ProcessCommandError,
    ProcessError,
    ProcessExited,
    ProcessProtocolError,
    ProcessTimeout,
    b64,
    client_error,
    parse_line,
    shorten,
    unb64,
)
from nats_fault_harness.services._protocol import EventSink, FlushOutcome, PoolInit, SutEnv
from nats_fault_harness.services._service import Endpoint, Service

__all__ = ["COMMAND_TIMEOUT_S", "HELLO_TIMEOUT_S", "ProcessService", "probe_hello"]

HELLO_TIMEOUT_S = 15.0
"""How long a child may take to say hello (a cold ``node`` start is well under 1 s)."""
COMMAND_TIMEOUT_S = 30.0
"""How long a command may go unanswered before the child is declared hung and killed."""
CLOSE_TIMEOUT_S = 3.0
"""How long :meth:`ProcessService.stop` waits for ``close`` and then for the exit."""
LINE_LIMIT = 1 << 20
"""The longest line a child may write (1 MiB); a longer one is a protocol violation."""
_STDERR_KEPT = 4096
_LAST_WORDS_S = 0.1

_HELLOS: dict[tuple[Any, ...], Hello] = {}


def _key(argv: Sequence[str], cwd: str | None, env: Mapping[str, str] | None) -> tuple[Any, ...]:
    return (tuple(argv), cwd, tuple(sorted((env or {}).items())))


def probe_hello(
    argv: Sequence[str],
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = HELLO_TIMEOUT_S,
) -> Hello:
    """Run ``argv`` just long enough to read its hello (cached per command line).

    Blocking, bounded by ``timeout``; the child is always reaped.

    Raises:
        ProcessError: it exited, stayed silent or wrote something other than a hello.
    """
    key = _key(argv, cwd, env)
    if key in _HELLOS:
        return _HELLOS[key]
    label = " ".join(argv)
    try:
        proc = _proc.spawn(argv, role="sut-probe", cwd=cwd, env=dict(env or {}), stdin=True)
    except OSError as exc:
        raise ProcessExited(f"cannot start {label!r}: {exc}", service=label) from exc
    try:
        line, eof = _read_line(proc, timeout)
        if line is None:
            code = _exit_code(proc, CLOSE_TIMEOUT_S if eof else 0)
            err = _stderr_of(proc)
            if code is not None:
                raise ProcessExited(
                    f"exited with code {code} before its hello",
                    service=label,
                    exit_code=code,
                    stderr_tail=err,
                )
            raise ProcessTimeout(
                f"said no hello within {timeout:g} s; killed",
                command="hello",
                timeout=timeout,
                service=label,
            )
        try:
            msg = parse_line(line)
            if msg["type"] != "hello":
                raise ValueError(f"its first message is {msg['type']!r}, not 'hello'")
            hello = Hello.parse(msg)
        except ValueError as exc:
            raise ProcessProtocolError(
                f"not the protocol: {exc}: {shorten(line)!r}", service=label, line=shorten(line)
            ) from None
    finally:
        _reap(proc)
    _HELLOS[key] = hello
    return hello


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes | None, bool]:
    """The child's first stdout line within ``timeout``, and whether its stdout closed."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf and len(buf) < LINE_LIMIT:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                return None, False
            chunk = os.read(fd, 65536)
            if not chunk:
                return buf or None, True
            buf += chunk
    return buf.split(b"\n", 1)[0], False


def _exit_code(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    try:
        return proc.wait(timeout=timeout) if timeout > 0 else proc.poll()
    except subprocess.TimeoutExpired:
        return None


def _stderr_of(proc: subprocess.Popen[bytes]) -> str:
    """What an exited child wrote to stderr (its tail)."""
    if proc.stderr is None or proc.poll() is None:
        return ""
    with contextlib.suppress(OSError, ValueError):
        return proc.stderr.read()[-_STDERR_KEPT:].decode("utf-8", "replace")
    return ""


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Close stdin (the child's cue to exit), wait a little, then kill its group; reap."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        proc.wait(timeout=CLOSE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    _proc.kill_group(proc.pid)  # also whatever the child started
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    _proc.unregister(proc.pid)


class _Handle:
    """What :meth:`ProcessService.subscribe` returns: the child's subscription id."""

    def __init__(self, sid: str, subject: str) -> None:
        self.sid, self.subject = sid, subject

    def __repr__(self) -> str:
        return f"<subscription {self.sid} on {self.subject}>"


class ProcessService(Service):
    """A service under test that is a child process speaking the process protocol.

    Args:
        argv: the command line (never passed through a shell).
        cwd: its working folder.
        env: extra environment variables for it.
        name: the service's name in the history (default: the hello's ``name``).
        hello_timeout_s: bound on the hello.
        command_timeout_s: bound on each command's answer (a request: its own timeout
            plus this).

    Raises (when constructed):
        ProcessError: the probe for the hello failed (see :func:`probe_hello`).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
        hello_timeout_s: float = HELLO_TIMEOUT_S,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
    ) -> None:
        if not argv:
            raise ValueError("ProcessService needs a command line")
        self.argv = tuple(argv)
        self.cwd, self.env = cwd, dict(env or {})
        self.hello_timeout_s, self.command_timeout_s = hello_timeout_s, command_timeout_s
        self.hello = probe_hello(self.argv, cwd=cwd, env=self.env, timeout=hello_timeout_s)
        self.name = name or self.hello.name
        self.capabilities = self.hello.capabilities  # type: ignore[misc]
        self.proc: subprocess.Popen[bytes] | None = None
        self._endpoints: tuple[Endpoint, ...] = ()
        self._report: EventSink | None = None
        self._at: Any = float
        self._clock = ChildClock()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._forgotten: set[int] = set()
        self._hello: asyncio.Future[dict[str, Any]] | None = None
        self._writer: asyncio.WriteTransport | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stderr: deque[bytes] = deque()
        self._stderr_size = 0
        self._gone: tuple[type[ProcessError], str, dict[str, Any]] | None = None
        self._stopping = False
        self._start_failed = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        """Spawn the child, await its hello, send ``start``; return its pool's state."""
        self._report, self._at = report, env.at
        loop = asyncio.get_running_loop()
        self._hello = loop.create_future()
        try:
            self.proc = proc = _proc.spawn(
                self.argv, role="sut", cwd=self.cwd, env=self.env, stdin=True
            )
        except OSError as exc:
            label = " ".join(self.argv)
            raise ProcessExited(f"cannot start {label!r}: {exc}", service=self.name) from exc
        try:
            assert proc.stdout is not None
            assert proc.stderr is not None
            assert proc.stdin is not None
            out = asyncio.StreamReader(limit=LINE_LIMIT)
            err = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(out), proc.stdout)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(err), proc.stderr)
            self._writer, _ = await loop.connect_write_pipe(asyncio.Protocol, proc.stdin)
            self._tasks = [
                asyncio.create_task(self._read(out), name=f"{self.name}-stdout"),
                asyncio.create_task(self._keep_stderr(err), name=f"{self.name}-stderr"),
                asyncio.create_task(self._watch_exit(proc), name=f"{self.name}-exit"),
            ]
            hello = await self._wait(self._hello, "hello", self.hello_timeout_s)
            said = Hello.parse(hello)
            if said.capabilities != self.hello.capabilities:
                self._violation(
                    "its hello declares other capabilities than when probed "
                    f"({sorted(said.capabilities)} vs {sorted(self.hello.capabilities)})",
                    json.dumps(hello),
                )
                self._raise_gone()
            result = await self.call(
                "start",
                servers=list(env.servers),
                member_urls=list(env.member_urls),
                service=dict(env.service),
                inputs=env.inputs,
                name=self.name,
            )
            self._endpoints = tuple(_endpoint(e) for e in result.get("endpoints") or ())
            return _pool(result.get("pool"))
        except BaseException:
            self._start_failed = True  # the start operation carries the error
            await self._terminate()
            raise

    async def stop(self) -> None:
        """``close`` the child's connections, close its stdin, reap it (bounded).

        Raises:
            ProcessError: the child broke down during the run (it exited, hung or broke
                the protocol; recorded as a client event when it happened): the run
                ends with this error rather than a verdict on a service that was not
                there. Not raised again after a failed :meth:`start`.
        """
        if self.proc is None:
            return
        broken = self._gone
        if broken is None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                await self.call("close", bound=CLOSE_TIMEOUT_S)
        self._stopping = True
        await self._terminate()
        if broken is not None and not self._start_failed:
            cls, message, extra = broken
            raise self._make(cls, f"during the run, {message}", extra)

    async def _terminate(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self._stopping = True
        if self._writer is not None:
            self._writer.close()
        await _wait_exit(proc, CLOSE_TIMEOUT_S)
        _proc.kill_group(proc.pid)
        await asyncio.to_thread(proc.wait)
        _proc.unregister(proc.pid)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._fail_pending(ProcessExited, "the service was stopped", {})

    # ------------------------------------------------------------------ the wire
    async def call(
        self, command: str, *, bound: float | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Send one command and return its ``result``; raise its typed error.

        ``bound``: how long to wait for the answer (default ``command_timeout_s``).

        Raises:
            ClientError: the child's NATS client raised (a ``kind: client`` error).
            ProcessCommandError: the child refused the command.
            ProcessTimeout, ProcessExited, ProcessProtocolError: see the module docstring.
        """
        self._raise_gone()
        assert self._writer is not None
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        line = json.dumps({"id": ident, "type": command, **fields}, separators=(",", ":"))
        try:
            if self._writer.is_closing():
                self._raise_gone()
            self._writer.write(line.encode() + b"\n")
            reply = await self._wait(future, command, bound or self.command_timeout_s)
        finally:
            if self._pending.pop(ident, None) is not None and not future.done():
                self._forgotten.add(ident)  # cancelled: its late answer is not a violation
        if reply["type"] == "ok":
            result = reply.get("result")
            return dict(result) if isinstance(result, Mapping) else {}
        raise self._error(command, reply["error"])

    async def _wait(
        self, future: asyncio.Future[dict[str, Any]], command: str, timeout: float
    ) -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            if future.done():
                return future.result()
            message = f"the child did not answer {command!r} within {timeout:g} s; killed"
            self._record("process_timeout", {"command": command, "timeout": timeout})
            extra = {"command": command, "timeout": timeout}
            self._go(ProcessTimeout, message, extra)
            raise self._make(ProcessTimeout, message, extra) from None

    def _error(self, command: str, error: Mapping[str, Any]) -> Exception:
        kind = str(error.get("kind") or "client")
        if kind == "client":
            return client_error(error, self.hello.client.split(" ")[0] or self.name)
        return ProcessCommandError(
            f"{command!r} refused ({kind}): {error.get('message', '')}",
            kind=kind,
            command=command,
            service=self.name,
        )

    async def _read(self, out: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await out.readline()
            except ValueError:  # LimitOverrunError: a line over LINE_LIMIT
                self._violation(f"a line longer than {LINE_LIMIT} bytes", "")
                return
            if not line:  # its exit is seen by _watch_exit
                assert self.proc is not None
                code = await _wait_exit(self.proc, CLOSE_TIMEOUT_S)
                if code is None and not self._stopping:
                    self._violation("it closed its stdout and kept running", "")
                return
            received = time.monotonic()
            try:
                msg = parse_line(line)
            except ValueError as exc:
                self._violation(str(exc), shorten(line))
                return
            self._clock.sample(msg.get("t"), received)
            if not self._dispatch(msg, received):
                return

    def _dispatch(self, msg: dict[str, Any], received: float) -> bool:
        kind = msg["type"]
        if kind == "hello":
            if self._hello is None or self._hello.done():
                self._violation("a second hello", json.dumps(msg))
                return False
            self._hello.set_result(msg)
        elif kind == "event":
            detail = msg.get("detail")
            event = dict(detail) if isinstance(detail, Mapping) else {}
            event["at"] = self._at(self._clock.monotonic(msg.get("t"), received))
            self._record(msg["kind"], event)
        else:
            future = self._pending.get(msg["id"])
            if future is None:
                if msg["id"] in self._forgotten:
                    return True
                self._violation(f"a reply to no command (id {msg['id']})", json.dumps(msg))
                return False
            if not future.done():
                future.set_result(msg)
        return True

    async def _keep_stderr(self, err: asyncio.StreamReader) -> None:
        while chunk := await err.read(4096):
            self._stderr.append(chunk)
            self._stderr_size += len(chunk)
            while self._stderr_size > _STDERR_KEPT and len(self._stderr) > 1:
                self._stderr_size -= len(self._stderr.popleft())

    def _stderr_tail(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")[-_STDERR_KEPT:]

    async def _watch_exit(self, proc: subprocess.Popen[bytes]) -> None:
        """Notice the child's exit (its stdout may stay open: a grandchild inherited it)."""
        code = await asyncio.to_thread(proc.wait)
        await asyncio.sleep(_LAST_WORDS_S)  # what it wrote before it exited is read first
        if not self._stopping and self._gone is None:
            self._record("process_exited", {"exit_code": code, "stderr": self._stderr_tail()})
        self._go(ProcessExited, f"the child exited (code {code})", {"exit_code": code})

    def _violation(self, reason: str, line: str) -> None:
        self._record("protocol_violation", {"reason": reason, "line": line})
        self._go(ProcessProtocolError, f"not the protocol: {reason}; killed", {"line": line})

    def _go(self, cls: type[ProcessError], message: str, extra: dict[str, Any]) -> None:
        """The child is gone for good: kill its group, fail what waits and what comes."""
        if self._gone is None:
            self._gone = (cls, message, extra)
        if self.proc is not None:
            _proc.kill_group(self.proc.pid)  # the child and whatever it started
        self._fail_pending(cls, message, extra)

    def _fail_pending(self, cls: type[ProcessError], message: str, extra: dict[str, Any]) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self._make(cls, message, extra))
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(self._make(cls, message, extra))

    def _make(self, cls: type[ProcessError], message: str, extra: dict[str, Any]) -> ProcessError:
        kw: dict[str, Any] = dict(extra)
        code = kw.pop("exit_code", None)
        if code is None and self.proc is not None:
            code = self.proc.poll()
        return cls(
            message, service=self.name, exit_code=code, stderr_tail=self._stderr_tail(), **kw
        )

    def _raise_gone(self) -> None:
        if self._gone is not None:
            cls, message, extra = self._gone
            exc = self._make(cls, message, extra)
            exc.ambiguous = False  # never sent: nothing of it can have reached a server
            raise exc
        if self.proc is None:
            raise ProcessExited("not started", service=self.name)

    def _record(self, kind: str, detail: dict[str, Any]) -> None:
        if self._report is not None:
            self._report(kind, detail)

    # ------------------------------------------------------------------ capabilities
    def endpoints(self) -> Sequence[Endpoint]:
        """The endpoints the child's ``start`` answer declared."""
        return self._endpoints

    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        """``publish``: the child publishes and answers once the server confirmed it."""
        await self.call("publish", subject=subject, data=b64(data), msg_id=msg_id)

    async def publish_jetstream(
        self, subject: str, data: bytes, msg_id: str, *, dedupe: bool
    ) -> Mapping[str, Any]:
        """``publish_jetstream``: answered with the PubAck."""
        return await self.call(
            "publish_jetstream", subject=subject, data=b64(data), msg_id=msg_id, dedupe=dedupe
        )

    async def publish_batched(self, subject: str, data: bytes, msg_id: str) -> None:
        """``publish_batched``: hand one message to the child's batch."""
        await self.call("publish_batched", subject=subject, data=b64(data), msg_id=msg_id)

    async def flush(self) -> FlushOutcome:
        """``flush``: settle the batch (``confirmed``, ``queued``, ``ambiguous`` ids)."""
        result = await self.call("flush")
        return FlushOutcome(
            tuple(_ids(result.get("confirmed"))),
            tuple(_ids(result.get("queued"))),
            frozenset(_ids(result.get("ambiguous"))),
        )

    async def recover(self) -> tuple[str, ...]:
        """``recover``: re-publish the failed-batch queue once (the ids confirmed)."""
        return tuple(_ids((await self.call("recover")).get("ids")))

    async def request(self, subject: str, data: bytes, timeout: float) -> bytes:
        """``request``: the reply's payload."""
        result = await self.call(
            "request",
            bound=timeout + self.command_timeout_s,
            subject=subject,
            data=b64(data),
            timeout=timeout,
        )
        try:
            return unb64(result.get("data"))
        except ValueError as exc:
            raise ProcessCommandError(
                f"'request' answered with a bad payload: {exc}",
                kind="bad_reply",
                command="request",
                service=self.name,
            ) from None

    async def subscribe(self, subject: str, queue: str | None) -> object:
        """``subscribe``: a handle naming the child's subscription id."""
        result = await self.call("subscribe", subject=subject, queue=queue)
        return _Handle(str(result.get("sid")), subject)

    async def unsubscribe(self, handle: object) -> None:
        """``unsubscribe`` the subscription ``handle`` names."""
        sid = handle.sid if isinstance(handle, _Handle) else str(handle)
        await self.call("unsubscribe", sid=sid)


async def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The child's exit code once it exits, within ``timeout`` (``None``: still running)."""
    try:
        return await asyncio.to_thread(proc.wait, timeout)
    except subprocess.TimeoutExpired:
        return None


def _ids(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _endpoint(data: object) -> Endpoint:
    if not isinstance(data, Mapping) or not isinstance(data.get("subject"), str):
        raise ProcessCommandError(
            f"'start' answered with a bad endpoint {data!r}",
            kind="bad_reply",
            command="start",
            service="process",
        )
    keys = ("output", "queue", "name", "consumer", "stream")
    return Endpoint(data["subject"], **{k: data[k] for k in keys if data.get(k) is not None})


def _pool(data: object) -> PoolInit:
    if not isinstance(data, Mapping):
        return Service.single_connection()
    return PoolInit(
        int(data.get("size", 1)),
        tuple(str(m) for m in data.get("connected") or ()),
        {str(k): str(v) for k, v in dict(data.get("failed") or {}).items()},
        enabled=bool(data.get("enabled", False)),
        fallback=bool(data.get("fallback", False)),
    )
