"""The exit codes of ``nats-harness run`` and ``replay``, one test per documented code.

0 every verdict valid and 1 a verdict invalid are covered in ``test_cli.py``. Here: 2 for a
bad argument, found before anything runs (nothing is written then), 1 for a scenario that
errored (its cause printed once, in a line or two), and 130 for Ctrl-C.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "nats-harness"
ROOT = Path(__file__).resolve().parents[2]
FAST = ROOT / "scenarios" / "request-no-responder.yaml"


def run(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


def _no_scenario_paths(tmp: Path) -> dict[str, Path]:
    (tmp / "notes.txt").write_text("not a scenario\n")
    (tmp / "empty").mkdir()
    (tmp / "docs").mkdir()
    (tmp / "docs" / "readme.md").write_text("# nothing here\n")
    return {
        "a text file": tmp / "notes.txt",
        "an empty folder": tmp / "empty",
        "a folder without scenarios": tmp / "docs",
        "the claims file": ROOT / "scenarios" / "claims.yaml",
    }


@pytest.mark.parametrize(
    "what",
    ["a text file", "an empty folder", "a folder without scenarios", "the claims file"],
)
def test_a_path_that_names_no_scenario_exits_2_and_runs_nothing(tmp_path: Path, what: str) -> None:
    path = _no_scenario_paths(tmp_path)[what]
    out = run("run", str(FAST), str(path), cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"no scenario in {path}" in out.stderr
    assert "[1/" not in out.stdout  # the good file beside it did not run either
    assert not (tmp_path / "reports").exists()  # nothing written


def _unwritable(tmp: Path) -> dict[str, Path]:
    blocker = tmp / "a-file"
    blocker.write_text("x")
    (tmp / "a-folder").mkdir()
    return {
        "under a file": blocker / "out.json",
        "a folder": tmp / "a-folder",
    }


@pytest.mark.parametrize("option", ["--report", "--fault-report"])
@pytest.mark.parametrize("where", ["under a file", "a folder"])
def test_an_unwritable_report_path_exits_2_before_anything_runs(
    tmp_path: Path, option: str, where: str
) -> None:
    target = _unwritable(tmp_path)[where]
    if option == "--fault-report" and where == "under a file":
        target = target.with_suffix(".html")
    started = time.monotonic()
    out = run("run", str(FAST), option, str(target), cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert option in out.stderr, out.stderr
    assert str(tmp_path) in out.stderr, out.stderr
    assert "[1/" not in out.stdout
    assert time.monotonic() - started < 60  # refused up front, not after a run
    assert not (tmp_path / "reports").exists()


def test_a_scenario_error_prints_its_cause_once_in_a_line_or_two(tmp_path: Path) -> None:
    files = [str(FAST), str(ROOT / "scenarios" / "pool-full.yaml")]
    out = run("run", *files, "--sut", "nosuchmod:factory", cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("[1/2]"))
    second = next(i for i, line in enumerate(lines) if line.startswith("[2/2]"))
    assert "ERROR" in lines[first]
    assert "ERROR" in lines[second]
    cause = [line for line in lines[first + 1 : second] if line.startswith("    ")]
    assert 1 <= len(cause) <= 2, cause
    assert "nosuchmod" in " ".join(cause)
    assert "more lines" not in out.stdout
    assert lines[second + 1].strip() == "the same error as [1/2]"


def _signal_state(pid: int | str) -> str:
    """The ``Sig*`` lines of ``/proc/<pid>/status``: blocked, ignored, caught signals."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        return f"({exc})"
    return " ".join(line.replace("\t", "") for line in text.splitlines() if line.startswith("Sig"))


def _as_at_a_terminal() -> None:
    """In the child, before exec: SIGINT as a shell's foreground job gets it.

    An ignored or blocked SIGINT survives exec; a test worker's state (whatever an
    earlier test in the same process left) must not decide what the CLI does with Ctrl-C.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _interrupt_after_first_line(args: list[str], cwd: Path) -> tuple[int, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    worker = _signal_state("self")
    proc = subprocess.Popen(
        [str(SCRIPT), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=_as_at_a_terminal,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if re.match(r"^(nats-harness replay: \d+ run|\[1/)", line):
                break
        time.sleep(0.3)
        child = _signal_state(proc.pid)
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
            pytest.fail(
                f"no exit within 60 s of SIGINT; signals of the child when it was sent: "
                f"{child}; of this worker: {worker}\n{''.join(seen)}{rest[-3000:]}"
            )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(seen) + rest


def test_ctrl_c_exits_130_and_says_so(tmp_path: Path) -> None:
    files = [str(FAST)] + [str(ROOT / "scenarios" / "batch-queue-and-recover.yaml")] * 1
    files.append(str(ROOT / "scenarios"))
    code, text = _interrupt_after_first_line(["run", *files], tmp_path)
    assert code == 130, text
    assert re.search(r"interrupted after \d+ of \d+ scenario\(s\)", text), text
    assert "nothing ran" not in text


def test_replay_ctrl_c_exits_130(tmp_path: Path) -> None:
    code, text = _interrupt_after_first_line(
        ["replay", str(ROOT / "scenarios" / "batch-queue-and-recover.yaml"), "--repeat", "50"],
        tmp_path,
    )
    assert code == 130, text
    assert "interrupted in run" in text


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_replay_repeat_must_be_at_least_1(tmp_path: Path, value: str) -> None:
    out = run("replay", str(FAST), "--repeat", value, cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"expected an integer >= 1, got '{value}'" in out.stderr
    assert "run(s)" not in out.stdout


def test_the_summary_json_holds_only_clean_text(tmp_path: Path) -> None:
    (tmp_path / "oddsut.py").write_text(
        "def make():\n"
        "    raise RuntimeError('bad \\udcff text \\x00 with \\x1b[31m escapes')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = subprocess.run(
        [str(SCRIPT), "run", str(FAST), "--sut", "oddsut:make", "--report", "s.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    raw = (tmp_path / "s.json").read_bytes().decode("utf-8")  # strict
    data = json.loads(raw)
    message = data["scenarios"][0]["message"]
    assert "bad" in message
    message.encode("utf-8")  # no lone surrogate survived the round trip
    assert "\x00" not in message
    assert "\x1b" not in message
