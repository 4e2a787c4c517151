"""Helpers of the packaging tests: the built distributions and the fresh venv."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Dist:
    """The built distributions."""

    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class Venv:
    """A fresh virtual environment with only the wheel (and its dependencies) installed."""

    path: Path

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: this venv first on PATH, nothing of the outer test run."""
        keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "SSL_CERT_FILE")
        env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("PIP_")}
        env["PATH"] = f"{self.bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin"
        env["VIRTUAL_ENV"] = str(self.path)
        env.update(extra)
        return env

    def run(
        self, *args: str | Path, cwd: Path, timeout: float = 240, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of this venv (``args[0]`` is looked up in its ``bin``)."""
        command = [str(self.bin / str(args[0])), *map(str, args[1:])]
        return subprocess.run(
            command,
            cwd=cwd,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
