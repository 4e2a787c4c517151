"""The nats-harness console script, run as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import harness

SCRIPT = Path(sys.executable).parent / "nats-harness"


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"nats-harness {harness.__version__}"


def test_help_lists_subcommands() -> None:
    out = run("--help")
    assert out.returncode == 0
    assert "run" in out.stdout
    assert "usage: nats-harness" in out.stdout


def test_unknown_subcommand_names_the_choices() -> None:
    out = run("explode")
    assert out.returncode == 2
    assert "invalid choice: 'explode'" in out.stderr
    assert "'run'" in out.stderr


def test_run_starts_real_servers_and_reports_them() -> None:
    out = run("run")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(
        r"nats-server \d+\.\d+\.\d+ ready .* nats://127\.0\.0\.1:\d+ pid \d+", out.stdout
    ), out.stdout
    assert "SIGKILL + restart on same port, client back" in out.stdout
    assert "3-node cluster, full route mesh" in out.stdout
    assert "3-node JetStream cluster healthy" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("ok: all steps passed")


def test_run_with_a_bad_binary_fails_cleanly(tmp_path: Path) -> None:
    out = run("run", "--nats-server-bin", str(tmp_path / "missing"))
    assert out.returncode == 1
    assert "FAILED: ConfigError" in out.stdout
    assert "no such file" in out.stdout
