"""Child processes that can never be orphaned.

Every long-lived child the harness starts (nats-server, the proxy) goes through
:func:`spawn`, which gives it three independent guards:

1. its own process group (``start_new_session``), so a whole tree is killed with one signal;
2. a Linux parent-death signal (``PR_SET_PDEATHSIG`` = SIGKILL), so the kernel kills it when
   the spawning thread dies, even on SIGKILL of pytest or of an xdist worker (set by
   ``setpriv --pdeathsig`` when available, else by a ``preexec_fn``);
3. a record in a per-user registry directory plus an environment marker in the child, so a
   later run (or the end of this session) can sweep leftovers and be sure a pid it finds is
   really ours and not a recycled pid.

PDEATHSIG fires when the *thread* that forked exits, not the process. Spawns from a thread
other than the main thread are therefore handed to one long-lived spawner thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = [
    "OWNER_ENV",
    "forget_dir",
    "kill_group",
    "own_temp_dir",
    "registry_dir",
    "spawn",
    "sweep_orphans",
    "sweep_own",
    "unregister",
]

OWNER_ENV = "NATS_FAULT_HARNESS_OWNER"
_PR_SET_PDEATHSIG = 1
_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def registry_dir() -> Path:
    """Directory holding one JSON record per live child (created on demand)."""
    base = os.environ.get("NATS_FAULT_HARNESS_STATE") or os.path.join(
        tempfile.gettempdir(), f"nats-fault-harness-{os.getuid()}"
    )
    path = Path(base) / "children"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@functools.cache
def _setpriv() -> str | None:
    """util-linux ``setpriv`` if it supports ``--pdeathsig`` (it is Essential on Debian).

    Setting the parent-death signal through ``setpriv`` keeps ``subprocess`` on its fast
    vfork path; a ``preexec_fn`` forces a full fork, which costs milliseconds per spawn in
    a large test process.
    """
    path = shutil.which("setpriv")
    if path is None or not sys.platform.startswith("linux"):
        return None
    probe = subprocess.run([path, "--help"], capture_output=True, text=True, check=False)
    return path if "--pdeathsig" in probe.stdout else None


def _popen(
    args: Sequence[str], env: dict[str, str], cwd: str | None, stdin: int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    setpriv = _setpriv()
    if setpriv is not None:
        return subprocess.Popen(
            [setpriv, "--pdeathsig", "KILL", "--", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return subprocess.Popen(
        list(args),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_set_pdeathsig,
    )


def spawn(
    args: Sequence[str],
    *,
    role: str,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    stdin: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``args`` as a guarded child with piped stdout and stderr.

    Args:
        args: the command line; never passed through a shell.
        role: a short label recorded in the registry ("nats-server", "proxy").
        cwd: working directory for the child.
        env: extra environment variables for the child.
        stdin: pipe the child's standard input (a process-protocol service); else
            ``/dev/null``.
    """
    program = args[0]
    if os.sep in program and not os.access(program, os.X_OK):
        # Through setpriv a missing program would only show as an exit code; say it here.
        raise FileNotFoundError(errno.ENOENT, "no such executable", program)
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env[OWNER_ENV] = str(os.getpid())
    fd_in = subprocess.PIPE if stdin else subprocess.DEVNULL
    if threading.current_thread() is threading.main_thread():
        proc = _popen(args, child_env, cwd, fd_in)
    else:
        global _spawner
        with _spawner_lock:
            if _spawner is None:
                _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harness-spawner")
        proc = _spawner.submit(_popen, args, child_env, cwd, fd_in).result()
    record = {
        "pid": proc.pid,
        "owner": os.getpid(),
        "role": role,
        "args": list(args),
        "started": time.time(),
    }
    (registry_dir() / f"{proc.pid}.json").write_text(json.dumps(record))
    return proc


def unregister(pid: int) -> None:
    """Forget a child that has been reaped."""
    with contextlib.suppress(FileNotFoundError):
        (registry_dir() / f"{pid}.json").unlink()


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process group led by ``pid`` (ignoring a group already gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_ours(pid: int, owner: int) -> bool:
    """True if ``pid`` is still the child that ``owner`` started (guards against pid reuse)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{OWNER_ENV}={owner}".encode() in environ.split(b"\0")


def sweep_orphans() -> list[int]:
    """Kill children whose owner process is dead, and delete its recorded temp folders
    (:func:`own_temp_dir`); return the pids killed."""
    _sweep_dirs()
    killed: list[int] = []
    for entry in registry_dir().glob("*.json"):
        try:
            record = json.loads(entry.read_text())
            pid, owner = int(record["pid"]), int(record["owner"])
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                entry.unlink()
            continue
        if _alive(owner):
            continue
        if _alive(pid) and _is_ours(pid, owner):
            kill_group(pid)
            killed.append(pid)
        with contextlib.suppress(OSError):
            entry.unlink()
    return killed


_DIR_PREFIX = "nfh-"


def _dirs_registry() -> Path:
    path = registry_dir().parent / "dirs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def own_temp_dir(prefix: str = _DIR_PREFIX) -> Path:
    """A new temporary folder, recorded with this process as its owner.

    If this process dies without :func:`forget_dir` (SIGKILL), a later
    :func:`sweep_orphans` deletes the folder. ``prefix`` must start with ``nfh-``: only
    such folders directly in the temp directory are ever swept.
    """
    if not prefix.startswith(_DIR_PREFIX):
        raise ValueError(f"prefix must start with {_DIR_PREFIX!r}, got {prefix!r}")
    path = Path(tempfile.mkdtemp(prefix=prefix))
    record = {"dir": str(path), "owner": os.getpid()}
    (_dirs_registry() / f"{path.name}.json").write_text(json.dumps(record))
    return path


def forget_dir(path: Path) -> None:
    """Delete ``path`` and its record (the owner is done with it)."""
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        (_dirs_registry() / f"{path.name}.json").unlink()


def _sweep_dirs() -> list[Path]:
    """Delete the recorded temp folders whose owner process is dead."""
    removed: list[Path] = []
    temp = Path(tempfile.gettempdir()).resolve()
    for entry in _dirs_registry().glob("*.json"):
        try:
            record = json.loads(entry.read_text())
            path, owner = Path(record["dir"]), int(record["owner"])
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                entry.unlink()
            continue
        if _alive(owner):
            continue
        safe = path.parent.resolve() == temp and path.name.startswith(_DIR_PREFIX)
        if safe and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        with contextlib.suppress(OSError):
            entry.unlink()
    return removed


def sweep_own() -> list[int]:
    """Kill every child this process started that is still registered."""
    me = os.getpid()
    killed: list[int] = []
    for entry in registry_dir().glob("*.json"):
        try:
            record = json.loads(entry.read_text())
            pid, owner = int(record["pid"]), int(record["owner"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner != me:
            continue
        if _alive(pid) and _is_ours(pid, owner):
            kill_group(pid)
            killed.append(pid)
        with contextlib.suppress(OSError):
            entry.unlink()
    return killed
