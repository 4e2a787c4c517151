"""``nats-harness run``'s live status line: on a terminal only, with phases and times."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nats_fault_harness._live import LiveLine
from nats_fault_harness.scenario._progress import PHASES, phase_file

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCENARIO = "scenarios/respond-during-reset.yaml"  # ~4 s: several redraws


def _through_a_terminal(args: list[str]) -> str:
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_a_terminal_shows_each_running_scenario_with_its_phase() -> None:
    out = _through_a_terminal(
        [str(BIN / "nats-harness"), "run", SCENARIO, "--jobs", "1", "--keep-runs", "0"]
    )
    statuses = re.findall(r"running 1: respond-during-reset \[(\w+) (\d+\.\d)s\]", out)
    phases = [p for p, _ in statuses]
    assert "workload" in phases, out
    assert set(phases) <= {*PHASES, "starting"}, phases
    assert float(statuses[-1][1]) >= float(statuses[0][1])  # the elapsed time grows
    assert "\r\x1b[K" in out  # the status line is erased before each result line
    (line,) = [ln for ln in out.splitlines() if re.search(r"respond-during-reset +valid", ln)]
    # on the terminal the erase (\r, clear to end of line) wipes the status before it
    shown = line.rsplit("\x1b[K", 1)[-1]
    assert shown.startswith("[1/1] scenarios/respond-during-reset.yaml::"), repr(line)


@pytest.mark.slow
def test_a_pipe_gets_plain_lines_only() -> None:
    out = subprocess.run(
        [str(BIN / "nats-harness"), "run", SCENARIO, "--jobs", "1", "--keep-runs", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "running 1:" not in out
    assert "\x1b[" not in out
    assert re.search(
        r"^\[1/1\] scenarios/respond-during-reset\.yaml::respond-during-reset +valid", out, re.M
    )


def test_the_status_names_phases_cuts_nothing_when_not_a_terminal(tmp_path: Path) -> None:
    stream = io.StringIO()
    live = LiveLine(tmp_path, stream)
    assert live.enabled is False
    live.started("scenarios/a.yaml::a")
    live.started("scenarios/b.yaml::b")
    phase_file(tmp_path, "scenarios/a.yaml::a").write_text("workload")
    status = live.status()
    assert re.fullmatch(r"running 2: a \[workload \d+\.\ds\] \| b \[starting \d+\.\ds\]", status)
    live.print("a result")
    assert stream.getvalue() == "a result\n"
    live.finished("scenarios/a.yaml::a")
    assert live.status().startswith("running 1: b [")
