"""A real run: scenarios from scenarios/ against real servers, its report, and a real browser.

One scenario of the run is made to fail on purpose (the batch-reset scenario checked against
a 50 ms backoff base while the service waits 100 ms), so the report has a failure to show
and the failure filter something to hide.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rpt_support import parse_html

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCENARIOS = ("pool-full.yaml", "batch-reset-mid-batch.yaml")
WRONG = "batch-reset-wrong-schedule.yaml"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run three real scenarios with ``--fault-report``; returns the folder."""
    work = tmp_path_factory.mktemp("real-run")
    folder = work / "scenarios"
    folder.mkdir()
    shutil.copy(ROOT / "scenarios" / "claims.yaml", folder)
    for name in SCENARIOS:
        shutil.copy(ROOT / "scenarios" / name, folder)
    text = (ROOT / "scenarios" / "batch-reset-mid-batch.yaml").read_text()
    wrong = text.replace("name: batch-reset-mid-batch", "name: batch-reset-wrong-schedule")
    (folder / WRONG).write_text(wrong.replace("base: 0.1,", "base: 0.05,"))
    (work / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "scenarios",
            "--fault-report=out/report.html",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert out.returncode == 1, out.stdout + out.stderr  # the one failing on purpose
    return work


def _report(work: Path) -> dict[str, Any]:
    data = json.loads((work / "out" / "report.json").read_text())
    assert isinstance(data, dict)
    return data


def test_real_scenarios_fill_the_report(real_run: Path) -> None:
    data = _report(real_run)
    tests = {t["nodeid"].split("::")[1]: t for t in data["tests"]}
    assert set(tests) == {"pool-full", "batch-reset-mid-batch", "batch-reset-wrong-schedule"}
    assert data["summary"]["scenarios"] == 3
    assert data["summary"]["failing"] == 1
    assert data["summary"]["faults"] == {"reset": 2}
    assert data["summary"]["messages"]["published"] == 60 + 160 + 160
    assert data["environment"]["nats_server"][0].isdigit()
    wrong = tests["batch-reset-wrong-schedule"]
    assert (wrong["outcome"], wrong["verdict"]) == ("failed", "invalid")
    assert {c["name"]: c["verdict"] for c in wrong["checks"]}["backoff"] == "invalid"
    assert wrong["attempts"]
    assert all(a["ok"] is False for a in wrong["attempts"])
    assert wrong["schedule"]["base"] == 0.05
    assert wrong["replay"][0] == f"nats-harness run scenarios/{WRONG}"
    assert wrong["replay"][1].startswith(f"pytest scenarios/{WRONG}::batch-reset-wrong-schedule")
    good = tests["batch-reset-mid-batch"]
    assert good["verdict"] == "valid"
    assert all(a["ok"] for a in good["attempts"])
    lanes = {lane["name"]: lane for lane in good["lanes"]}
    assert [w["kind"] for w in lanes["link:shared"]["windows"]] == ["reset"]
    assert any(m["kind"] == "disconnected" for m in lanes["sut"]["marks"])
    assert good["messages"]["counts"]["confirmed"] == 160
    root = parse_html((real_run / "out" / "report.html").read_text())
    details = [d for d in root.find_all("details") if "test" in d.classes()]
    assert details[0].attrs["data-outcome"] == "failed"
    assert len(root.find_all("svg")) == 3


def test_nats_harness_run_writes_a_report_by_default(real_run: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nats_fault_harness.cli", "run", "scenarios/pool-full.yaml"],
        cwd=real_run,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    [html] = sorted((real_run / "reports").glob("run-*-report.html"))
    assert f"fault report: reports/{html.name}" in out.stdout
    data = json.loads(html.with_suffix(".json").read_text())
    assert data["environment"]["command"] == "nats-harness run scenarios/pool-full.yaml"
    assert [t["nodeid"] for t in data["tests"]] == ["scenarios/pool-full.yaml::pool-full"]


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing; .ci/run installs it")
    pytest.skip(f"{what} is missing (apt-get install chromium; pip install playwright)")


def test_real_browser_opens_the_report(real_run: Path) -> None:
    _need(str(CHROMIUM), CHROMIUM.exists())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright (Python)", False)
        raise
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((real_run / "out" / "report.html").as_uri())
            failing = page.locator("details.test.failing")
            passing = page.locator("details.test.passing")
            assert failing.count() == 1
            assert passing.count() == 2
            svg = failing.locator("svg.tl")
            box = svg.bounding_box()
            assert box is not None
            assert box["width"] > 600
            assert box["height"] > 60
            drawn = svg.locator("rect.win, circle, path[class^='f-'], rect.bad")
            assert drawn.count() >= 5
            shots = ROOT / "reports"
            shots.mkdir(exist_ok=True)
            page.screenshot(path=str(shots / "report-screenshot.png"), full_page=True)
            assert passing.first.is_visible()
            page.click("#only-failures")
            assert not passing.first.is_visible()
            assert not passing.last.is_visible()
            assert failing.first.is_visible()
            assert page.locator("#shown").inner_text() == "showing 1 of 3"
            page.click("#only-failures")
            assert passing.first.is_visible()
        finally:
            browser.close()
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests
