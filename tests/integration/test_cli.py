"""The nats-harness console script, run as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nats_fault_harness

SCRIPT = Path(sys.executable).parent / "nats-harness"


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"nats-harness {nats_fault_harness.__version__}"


def test_help_lists_subcommands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("run", "smoke", "toxiproxy"):
        assert command in out.stdout
    assert "usage: nats-harness" in out.stdout


def test_unknown_subcommand_names_the_choices() -> None:
    out = run("explode")
    assert out.returncode == 2
    assert "invalid choice: 'explode'" in out.stderr
    assert "'run'" in out.stderr


def test_smoke_starts_real_servers_and_reports_them() -> None:
    out = run("smoke")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(
        r"nats-server \d+\.\d+\.\d+ ready .* nats://127\.0\.0\.1:\d+ pid \d+", out.stdout
    ), out.stdout
    assert "SIGKILL + restart on same port, client back" in out.stdout
    assert "3-node cluster, full route mesh" in out.stdout
    assert "3-node JetStream cluster healthy" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("ok: all steps passed")


def test_smoke_with_a_bad_binary_fails_cleanly(tmp_path: Path) -> None:
    out = run("smoke", "--nats-server-bin", str(tmp_path / "missing"))
    assert out.returncode == 1
    assert "FAILED: ConfigError" in out.stdout
    assert "no such file" in out.stdout


ROOT = Path(__file__).resolve().parents[2]


def test_run_prints_a_line_per_scenario_and_writes_a_summary(tmp_path: Path) -> None:
    report = tmp_path / "summary.json"
    files = [str(ROOT / "scenarios" / n) for n in ("pool-full.yaml", "pool-member-1-down.yaml")]
    out = run("run", *files, "--report", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("nats-harness run: 2 scenario(s)")
    assert re.search(r"^\[1/2\] .*pool-full\.yaml::pool-full +valid", out.stdout, re.M)
    assert re.search(r"^\[2/2\] .*pool-member-1-down +valid", out.stdout, re.M)
    import json

    summary = json.loads(report.read_text())
    assert [row["verdict"] for row in summary["scenarios"]] == ["valid", "valid"]
    assert "pool.full" in summary["scenarios"][0]["claims"]


def test_run_exits_1_and_says_why_when_a_promise_breaks(tmp_path: Path) -> None:
    # A scenario that claims member 1 is broken when nothing is: the pool checker objects.
    text = (ROOT / "scenarios" / "pool-full.yaml").read_text()
    text = text.replace("name: pool-full", "name: pool-wrong-expectation").replace(
        "  - name: pool\n", "  - name: pool\n    params: {broken: [1]}\n"
    )
    bad = tmp_path / "scenarios" / "wrong.yaml"
    bad.parent.mkdir()
    bad.write_text(text)
    out = run("run", str(bad), "--report", str(tmp_path / "r.json"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert re.search(r"pool-wrong-expectation +INVALID", out.stdout), out.stdout
    assert "expected 'partial'" in out.stdout


def test_run_exits_2_on_an_invalid_file_with_path_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "scenarios" / "broken.yaml"
    bad.parent.mkdir()
    bad.write_text("name: broken\nclaims: [pool.full]\ncheckers:\n  - name: nope\n")
    out = run("run", str(bad), "--report", str(tmp_path / "r.json"))
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"{bad}:4" in out.stdout or "broken.yaml:4" in out.stdout, out.stdout
    assert run("run", str(tmp_path / "nope")).returncode == 2
