"""docs/building-blocks.md's script that uses links outside pytest runs as a user runs it."""

import re
from pathlib import Path

from doc_scripts import run_script

SCRIPT = Path(__file__).with_name("links_outside_pytest.py")


def test_the_script_runs_and_reports_its_faults(tmp_path):
    lines = run_script(SCRIPT, tmp_path, timeout=60)
    rtt = float(re.fullmatch(r"rtt under latency: (\d+\.\d+) s", lines[0])[1])
    assert 0.1 <= rtt < 0.6
    assert re.fullmatch(r"latency on link:nfh-\d+-\d+: \d+\.\d\d s", lines[1]), lines
    assert re.fullmatch(r"frames_drop on link:nfh-\d+-\d+: \d+\.\d\d s", lines[2]), lines
    assert len(lines) == 3
