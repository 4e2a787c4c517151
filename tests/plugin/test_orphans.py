"""SIGKILL of a process that holds servers leaves none of them alive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nats_fault_harness import wait_until

pytestmark = pytest.mark.orphans


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sigkill_of_pytest_leaves_no_server(tmp_path: Path) -> None:
    test_file = tmp_path / "test_hold.py"
    pids_file = tmp_path / "pids.json"
    test_file.write_text(
        textwrap.dedent(
            f"""
            import json, time

            def test_hold(nats_server, nats_cluster_factory):
                cluster = nats_cluster_factory(size=2)
                pids = [nats_server.pid] + [n.pid for n in cluster]
                with open({str(pids_file)!r}, "w") as f:
                    json.dump(pids, f)
                time.sleep(60)
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: pids_file.exists() and pids_file.read_text(),
            timeout=30,
            what="the inner pytest to start its servers",
        )
        pids = json.loads(pids_file.read_text())
        assert len(pids) == 3
        assert all(_alive(pid) for pid in pids)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        wait_until(
            lambda: not any(_alive(pid) for pid in pids),
            timeout=10,
            what="servers to die with their pytest process",
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_next_run_sweeps_leftovers_of_a_dead_owner(tmp_path: Path) -> None:
    """A server whose owner died without PDEATHSIG firing is swept by the next run."""
    from nats_fault_harness import _proc
    from nats_fault_harness.servers import find_binary

    # A stand-in owner: a short-lived process that records a real server as its child.
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    server = subprocess.Popen(
        [str(find_binary()), "-a", "127.0.0.1", "-p", "-1"],
        env={**os.environ, _proc.OWNER_ENV: str(owner.pid)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    record = _proc.registry_dir() / f"{server.pid}.json"
    record.write_text(json.dumps({"pid": server.pid, "owner": owner.pid, "role": "test"}))
    owner.wait(5)
    try:
        killed = _proc.sweep_orphans()
        assert server.pid in killed
        server.wait(5)
        assert not record.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_sweep_spares_processes_that_are_not_ours(tmp_path: Path) -> None:
    from nats_fault_harness import _proc

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    record = _proc.registry_dir() / f"{bystander.pid}.json"
    # A record claiming a dead owner, but the process carries no matching marker (pid reuse).
    record.write_text(json.dumps({"pid": bystander.pid, "owner": 2**22 + 7, "role": "test"}))
    try:
        assert bystander.pid not in _proc.sweep_orphans()
        assert bystander.poll() is None
        assert not record.exists()
    finally:
        bystander.kill()
        bystander.wait()
