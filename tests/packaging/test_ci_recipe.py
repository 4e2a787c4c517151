"""docs/ci/github-actions.yml is a valid workflow, and its commands work as written.

The ``run:`` steps are executed with GitHub's default shell (``bash --noprofile --norc -eo
pipefail``) and the job's ``env``, in a folder holding a few scenarios of this repository,
with the wheel built from this checkout installed in a fresh venv. Skipped, and why:

- ``actions/checkout`` and ``actions/setup-python``: actions, not commands; the folder and
  the venv's Python stand in for them;
- the ``install`` step: ``pip install nats-fault-harness`` would fetch the published
  release; the venv has the wheel of this checkout installed instead (the same command on
  a local file, see ``conftest.wheel_venv``);
- ``actions/upload-artifact``: instead, the test checks that the folder it uploads holds
  the files the commands wrote.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging_support import ROOT, Venv

WORKFLOW = ROOT / "docs" / "ci" / "github-actions.yml"
SCENARIOS = ("claims.yaml", "pool-full.yaml", "request-no-responder.yaml")


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def _steps() -> list[dict[str, Any]]:
    (job,) = _workflow()["jobs"].values()
    steps = job["steps"]
    assert isinstance(steps, list)
    return steps


def test_the_workflow_is_valid_and_complete() -> None:
    data = _workflow()
    assert data["name"]
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = data["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert job["timeout-minutes"] > 0
    uses = [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/upload-artifact"]
    for step in job["steps"]:
        assert ("uses" in step) != ("run" in step), step
        assert step.get("name") or "uses" in step, step
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-py"))
    assert setup["with"]["python-version"] == "3.11"
    install = next(s for s in job["steps"] if s.get("id") == "install")
    assert "pip install nats-fault-harness" in install["run"]
    upload = job["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/"
    runs = " ".join(s["run"] for s in job["steps"] if "run" in s)
    assert "nats-harness run scenarios" in runs
    assert "--fault-report reports/" in runs


@pytest.mark.slow
def test_the_workflow_commands_work_as_written(wheel_venv: Venv, tmp_path: Path) -> None:
    workspace = tmp_path / "checkout"
    (workspace / "scenarios").mkdir(parents=True)
    for name in SCENARIOS:
        shutil.copy(ROOT / "scenarios" / name, workspace / "scenarios" / name)
    (job,) = _workflow()["jobs"].values()
    env = {k: str(v) for k, v in job.get("env", {}).items()}
    ran = []
    for step in _steps():
        if "run" not in step or step.get("id") == "install":
            continue
        out = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workspace,
            env=wheel_venv.env(**env),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert out.returncode == 0, f"step {step['name']!r} failed:\n{out.stdout}\n{out.stderr}"
        ran.append((step["name"], out.stdout))
    assert len(ran) >= 2
    outputs = "\n".join(stdout for _, stdout in ran)
    assert "ok: all steps passed" in outputs
    assert f"{len(SCENARIOS) - 1} valid in" in outputs
    uploaded = workspace / _steps()[-1]["with"]["path"]
    assert (uploaded / "faults.html").is_file()
    assert (uploaded / "faults.json").is_file()
    assert (uploaded / "summary.json").is_file()
