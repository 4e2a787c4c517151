"""SIGKILL in the middle of a run leaves no nats-server and no proxy behind.

Every child the harness starts carries ``NATS_FAULT_HARNESS_OWNER=<pid of its owner>`` in
its environment; after the owner is killed, a scan of ``/proc`` must find none left, and
the next run must start clean.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nats_fault_harness import wait_until
from nats_fault_harness._proc import OWNER_ENV

pytestmark = pytest.mark.orphans

SCENARIO = """\
name: long-run
claims: [x.y]
topology: {kind: pool, size: 2}
service: {pool_size: 2, connection: {max_reconnect_attempts: -1}}
workload:
  publishes: {count: 400, rate_per_s: 20, subjects: [lr.a]}
faults:
  - fault: latency
    ms: 50
    trigger: {at_s: 0.5}
checkers: [{name: accounting}]
timeout_s: 60
"""
QUICK = """\
name: quick
claims: [x.y]
workload:
  publishes: {count: 5, subjects: [q.a]}
checkers: [{name: accounting}]
"""


def owned_by(owner: int) -> list[tuple[int, str]]:
    """Live processes carrying ``owner``'s marker: (pid, command name)."""
    marker = f"{OWNER_ENV}={owner}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if state != "Z":
            found.append((int(entry.name), name))
    return found


def _kinds(procs: list[tuple[int, str]]) -> set[str]:
    return {"nats-server" if "nats-server" in name else "proxy" for _, name in procs}


def _kill_and_check(victim: int) -> None:
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: not owned_by(victim),
        timeout=10,
        what=f"the children of killed pid {victim} to die",
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def _scenarios(root: Path, text: str) -> Path:
    folder = root / "scenarios"
    folder.mkdir(exist_ok=True)
    (folder / "claims.yaml").write_text("x.y: a claim\n")
    (folder / "s.yaml").write_text(text)
    return folder


def test_sigkill_of_an_xdist_worker_leaves_nothing(tmp_path: Path) -> None:
    info = tmp_path / "worker.json"
    (tmp_path / "test_hold.py").write_text(
        textwrap.dedent(
            f"""
            import json, os, time

            def test_hold(nats_link, nats_cluster_factory):
                nats_cluster_factory(size=2)
                with open({str(info)!r}, "w") as f:
                    json.dump({{"pid": os.getpid()}}, f)
                time.sleep(120)

            def test_other():
                pass
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: info.exists() and info.read_text(), timeout=60, what="the worker")
        worker = int(json.loads(info.read_text())["pid"])
        held = owned_by(worker)
        assert _kinds(held) == {"nats-server", "proxy"}, held
        assert len(held) == 4, held  # the session server, 2 cluster nodes, the proxy
        _kill_and_check(worker)
    finally:
        _stop(proc)


def test_sigkill_of_nats_harness_run_mid_scenario_leaves_nothing(tmp_path: Path) -> None:
    folder = _scenarios(tmp_path, SCENARIO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nats_fault_harness.cli", "run", str(folder), "--report", "r.json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: {"nats-server", "proxy"} <= _kinds(owned_by(proc.pid)),
            timeout=60,
            what="nats-harness run to start its server and proxy",
        )
        assert proc.stdout is not None
        lines = iter(proc.stdout.readline, b"")
        assert any(b"1 scenario(s)" in line for line in lines)
        time.sleep(2.0)  # the workload runs 20 s: 2 s in, the scenario is mid-run
        assert proc.poll() is None
        _kill_and_check(proc.pid)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        _stop(proc)
    # the next run starts clean
    (folder / "s.yaml").write_text(QUICK)
    again = subprocess.run(
        [sys.executable, "-m", "nats_fault_harness.cli", "run", str(folder), "--report", "r2.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 valid" in again.stdout


def _temp_folders_of(owner: int) -> list[Path]:
    """The temp folders recorded for ``owner`` (nats_fault_harness._proc.own_temp_dir) that
    exist."""
    from nats_fault_harness._proc import registry_dir

    found = []
    for entry in (registry_dir().parent / "dirs").glob("*.json"):
        try:
            record = json.loads(entry.read_text())
        except (OSError, ValueError):
            continue
        if record.get("owner") == owner and Path(record["dir"]).is_dir():
            found.append(Path(record["dir"]))
    return found


def test_sigkill_of_smoke_leaves_folders_the_next_run_sweeps(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nats_fault_harness.cli", "smoke"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: bool(_temp_folders_of(proc.pid)) and bool(owned_by(proc.pid)),
            timeout=60,
            what="nats-harness smoke to start a server in a temp folder",
        )
        left = _temp_folders_of(proc.pid)
        _kill_and_check(proc.pid)
    finally:
        _stop(proc)
    assert all(folder.is_dir() for folder in left)  # SIGKILL: nobody cleaned up
    assert all(folder.name.startswith("nfh-") for folder in left), left
    again = subprocess.run(
        [sys.executable, "-m", "nats_fault_harness.cli", "smoke"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert not any(folder.exists() for folder in left), left
