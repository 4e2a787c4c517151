"""The ``Harness`` entry point: docs/building-blocks.md's script runs as a user runs it, and
everything it started is gone at the end."""

import os
import re
from pathlib import Path

import pytest
from doc_scripts import run_script

from nats_fault_harness import Harness

SCRIPT = Path(__file__).with_name("harness_script.py")


def test_the_script_runs_and_reports_its_faults(tmp_path):
    lines = run_script(SCRIPT, tmp_path, timeout=90)
    assert lines[0] == "PubAck lost"
    assert lines[1] == "retried: seq 1, duplicate True"  # stored once, across the kill
    rtt = float(re.fullmatch(r"rtt under latency: (\d+\.\d+) s", lines[2])[1])
    assert 0.1 <= rtt < 0.6
    assert "disconnected" in lines[3]
    assert "reconnected" in lines[3]
    kinds = [line.split(" on ")[0] for line in lines[4:]]
    assert kinds == ["latency", "frames_drop", "kill"]


def test_everything_started_is_stopped_and_faults_healed():
    with Harness() as h:
        server = h.server()
        link = h.link(server)
        proxy_pid = h._proxy.pid
        fault = h.server_faults(server).pause()()  # left applied: the harness heals it
        assert server.is_paused
        assert "nats" in h.extensions
        assert link.proxy in h.api.proxies()
    assert not server.is_running
    assert [f.end is not None for f in h.history.faults()] == [True]
    assert fault is not None
    with pytest.raises(ProcessLookupError):
        os.kill(proxy_pid, 0)


def test_a_harness_not_started_says_so():
    with pytest.raises(RuntimeError, match=r"Harness.start\(\) was not called"):
        Harness().server()


def test_a_harness_on_another_proxy_discovers_its_extensions():
    with Harness() as outer:
        with Harness(toxiproxy_url=outer.proxy_url) as inner:
            assert inner.proxy_url == outer.proxy_url
            assert inner.extensions == outer.extensions
            link = inner.link(inner.server())
            assert link.proxy in outer.api.proxies()
        assert link.proxy not in outer.api.proxies()  # the inner harness deleted its own
