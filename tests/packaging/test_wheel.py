"""The package as a user meets it: built, checked, installed from the wheel into a fresh
virtual environment, and used by an outside project that has its own tiny NATS service,
scenario files and a test file, and no ``conftest.py``.

Slow (a build and a ``pip install`` that may fetch dependencies from PyPI): one build and
one venv per session, shared by every test here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging_support import ROOT, Dist, Venv

from nats_fault_harness._version import __version__

pytestmark = pytest.mark.slow

TEMPLATE = "nats_fault_harness/report/report.html.j2"


def _metadata(wheel: Path) -> Parser:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(zf.read(name).decode())  # type: ignore[return-value]


def test_twine_check_passes(dist: Dist) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.sdist), str(dist.wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("PASSED") == 2, out.stdout


def test_wheel_carries_what_it_needs_at_run_time(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as zf:
        names = set(zf.namelist())
        entry_points = zf.read(
            next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        ).decode()
    assert TEMPLATE in names
    assert "nats_fault_harness/py.typed" in names
    assert any(re.search(r"\.dist-info/licenses/LICENSE$", n) for n in names), names
    assert "nats_fault_harness = nats_fault_harness.pytest_plugin" in entry_points
    assert "nats-harness = nats_fault_harness.cli:main" in entry_points
    # every file a module reads at run time is package data, not a repo file
    repo_data = {p.relative_to(ROOT / "harness").as_posix() for p in _package_data()}
    assert repo_data <= names, repo_data - names
    assert not any(n.startswith(("tests/", "scenarios/")) for n in names)


def _package_data() -> list[Path]:
    root = ROOT / "harness" / "nats_fault_harness"
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]


def test_metadata_version_license_and_classifiers(dist: Dist) -> None:
    meta = _metadata(dist.wheel)
    assert meta["Name"] == "nats-fault-harness"
    assert meta["Version"] == __version__  # single-sourced from nats_fault_harness/_version.py
    assert dist.wheel.name == f"nats_fault_harness-{__version__}-py3-none-any.whl"
    assert meta["License-Expression"] == "Apache-2.0"
    classifiers = meta.get_all("Classifier") or []
    assert "Framework :: Pytest" in classifiers
    assert "Typing :: Typed" in classifiers
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Description-Content-Type"] == "text/markdown"


def test_sdist_has_license_changelog_and_template(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for needed in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", f"harness/{TEMPLATE}"):
        assert needed in names, needed
    assert "Apache License" in (ROOT / "LICENSE").read_text()


def test_the_venv_uses_the_installed_wheel_not_the_checkout(wheel_venv: Venv, tmp_path: Path):
    out = wheel_venv.run(
        "python",
        "-c",
        "import nats_fault_harness, importlib.metadata as m; "
        "print(nats_fault_harness.__file__); print(m.version('nats-fault-harness')); "
        "print(m.distribution('nats-fault-harness').read_text('direct_url.json') or '')",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    location, version, direct_url = (out.stdout.splitlines() + [""] * 3)[:3]
    assert Path(location).is_relative_to(wheel_venv.path), location
    assert "site-packages" in location
    assert version == __version__
    assert '"editable": true' not in direct_url
    out = wheel_venv.run("nats-harness", "--version", cwd=tmp_path)
    assert out.stdout.strip() == f"nats-harness {__version__}"


def test_outside_project_fixtures_scenarios_sut_and_report(
    wheel_venv: Venv, outside_project: Path
) -> None:
    assert not (outside_project / "conftest.py").exists()
    out = wheel_venv.run(
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        "--sut",
        "mysvc:make",
        "--fault-report",
        "report.html",
        cwd=outside_project,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "plugins:" in text
    assert "nats-fault-harness-" in text
    for nodeid in (
        "scenarios/publish-under-latency.yaml::publish-under-latency",
        "scenarios/request-no-responder.yaml::request-no-responder",
        "test_faults.py::test_a_real_server_is_running",
        "test_faults.py::test_latency_slows_a_round_trip",
        "test_faults.py::test_requests_time_out_in_a_blackhole",
    ):
        assert re.search(rf"^{re.escape(nodeid)} PASSED", text, re.M), (nodeid, text)
    assert re.search(r"=+ 5 passed", text), text
    html = (outside_project / "report.html").read_text()
    assert "publish-under-latency" in html
    assert "test_latency_slows_a_round_trip" in html
    data = (outside_project / "report.json").read_text()
    assert len(json.loads(data)["tests"]) == 5
    # --sut was used: the history's client is the outside service ("mysvc"), not the
    # reference service ("sut")
    assert '"mysvc"' in data


def test_outside_project_nats_harness_run(wheel_venv: Venv, outside_project: Path) -> None:
    # `nats-harness run` imports the --sut module through the project's pytest settings;
    # `pythonpath = ["."]` is what docs/getting-started.md tells a project to set
    (outside_project / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n'
    )
    out = wheel_venv.run(
        "nats-harness",
        "run",
        "scenarios",
        "--sut",
        "mysvc:make",
        "--fault-report",
        "reports/faults.html",
        cwd=outside_project,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    # two scenarios on a machine with at least one CPU run two at a time by default
    assert out.stdout.splitlines()[0] == "nats-harness run: 2 scenario(s), 2 at a time"
    assert "2 valid in" in out.stdout
    assert (outside_project / "reports" / "faults.html").is_file()
    summaries = list((outside_project / "reports").glob("run-*.json"))
    assert len(summaries) == 1
    rows = json.loads(summaries[0].read_text())["scenarios"]
    assert {r["verdict"] for r in rows} == {"valid"}
    assert json.loads(summaries[0].read_text())["sut"] == "mysvc:make"


def test_a_project_with_its_own_harness_package_uses_the_plugin(
    wheel_venv: Venv, outside_project: Path
) -> None:
    # `harness` is a common name for a project's own test helpers; the plugin's import name is
    # `nats_fault_harness`, so both load, both with `pythonpath = ["."]` and `python -m pytest`
    (outside_project / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n'
    )
    own = outside_project / "harness"
    own.mkdir()
    (own / "__init__.py").write_text('WHO = "the project\'s own harness"\n')
    (own / "pytest_plugin.py").write_text("raise ImportError('not the fault harness')\n")
    (outside_project / "test_own_harness.py").write_text(
        "import harness\n\n\n"
        "def test_own_package_is_the_projects(nats_server):\n"
        "    assert harness.WHO == \"the project's own harness\"\n"
        "    assert nats_server.url.startswith('nats://127.0.0.1:')\n"
    )
    out = wheel_venv.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "test_own_harness.py",
        "test_faults.py",
        cwd=outside_project,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert re.search(r"=+ 4 passed", text), text


def test_the_metadata_carries_the_project_urls(dist: Dist) -> None:
    from nats_fault_harness._docs import DOCS_URL, REPO_URL, doc_url

    urls = dict(
        entry.split(", ", 1) for entry in _metadata(dist.wheel).get_all("Project-URL") or []
    )
    assert urls == {
        "Homepage": REPO_URL,
        "Documentation": DOCS_URL,
        "Source": REPO_URL,
        "Issues": f"{REPO_URL}/issues",
        "Changelog": f"{REPO_URL}/blob/main/CHANGELOG.md",
    }
    assert REPO_URL == "https://github.com/nats-fault-harness/nats-fault-harness"
    # the pages the harness's messages link exist under the same address
    assert doc_url("real-toxiproxy.md").startswith(REPO_URL + "/blob/main/docs/")
    assert (ROOT / "docs" / "real-toxiproxy.md").is_file()
