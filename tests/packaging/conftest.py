"""Packaging tests: build the sdist and wheel once, install the wheel into a fresh venv once.

``outside_project/`` is a template of a user's project (copied into a temporary folder by
the tests), not a part of this suite: it is not collected here.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest
from packaging_support import ROOT, Dist, Venv

collect_ignore = ["outside_project"]

TEMPLATE = Path(__file__).resolve().parent / "outside_project"


def _run(*args: str | Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert out.returncode == 0, f"{' '.join(map(str, args))} failed:\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """``python -m build``: the sdist, then the wheel built from that sdist (as PyPI would)."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=ROOT, timeout=300)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dist(sdist, wheel)


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory, dist: Dist) -> Venv:
    """``python -m venv`` + ``pip install <wheel>``: no editable install, no repo on the path."""
    path = tmp_path_factory.mktemp("wheel-venv") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    env = Venv(path)
    out = env.run("pip", "install", "--quiet", dist.wheel, cwd=path.parent, timeout=600)
    assert out.returncode == 0, f"pip install of the wheel failed:\n{out.stdout}\n{out.stderr}"
    return env


@pytest.fixture
def outside_project(tmp_path: Path) -> Path:
    """A copy of the outside project template: a service module, scenarios, a test file."""
    project = tmp_path / "myproject"
    project.mkdir()
    for source in TEMPLATE.rglob("*"):
        if source.is_file() and "__pycache__" not in source.parts:
            target = project / source.relative_to(TEMPLATE)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return project
