"""docs/building-blocks.md's script that uses links outside pytest runs as a user runs it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import nats_fault_harness

SCRIPT = Path(__file__).with_name("links_outside_pytest.py")
# the script imports the same nats_fault_harness as this test, whatever the cwd
PACKAGE_ROOT = str(Path(nats_fault_harness.__file__).parents[1])


def test_the_script_runs_and_reports_its_faults(tmp_path):
    out = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    rtt = float(re.fullmatch(r"rtt under latency: (\d+\.\d+) s", lines[0])[1])
    assert 0.1 <= rtt < 0.6
    assert re.fullmatch(r"latency on link:nfh-\d+-\d+: \d+\.\d\d s", lines[1]), lines
    assert re.fullmatch(r"frames_drop on link:nfh-\d+-\d+: \d+\.\d\d s", lines[2]), lines
    assert len(lines) == 3
