"""``nats-harness matrix`` over a few scenarios for nats-py and nats.js: the table, and its
section of the HTML fault report in a real browser.

Real servers, the real clients in their adapters (clients/python, clients/node; the
node packages are installed by ``make clients``, part of ``make test``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_PACKAGES = ROOT / "clients" / "node" / "node_modules" / "@nats-io" / "transport-node"
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SCENARIOS = ("respond-control", "request-no-responder", "batch-queue-and-recover")

pytestmark = pytest.mark.slow


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing; .ci/run installs it")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    _need("the nats.js adapter's packages (make clients)", NODE_PACKAGES.is_dir())
    out = tmp_path_factory.mktemp("matrix")
    paths = [str(ROOT / "scenarios" / f"{name}.yaml") for name in SCENARIOS]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nats_fault_harness.cli",
            "matrix",
            *paths,
            "--client",
            "nats-py",
            "--client",
            "nats.js",
            "--out",
            str(out),
            "-n",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=out,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout


def test_the_matrix_has_a_row_per_scenario_and_a_cell_per_client(
    matrix_run: tuple[Path, str],
) -> None:
    out, stdout = matrix_run
    data = json.loads((out / "matrix.json").read_text())
    assert data["schema"] == "nats-fault-harness/matrix"
    assert [c["name"] for c in data["clients"]] == ["nats-py", "nats.js"]
    assert [r["scenario"] for r in data["rows"]] == list(SCENARIOS)
    cells = {r["scenario"]: r["cells"] for r in data["rows"]}
    for client in ("nats-py", "nats.js"):
        assert cells["respond-control"][client] == {"verdict": "valid", "reason": ""}
        skipped = cells["batch-queue-and-recover"][client]
        assert skipped["verdict"] == "skipped"
        why = f"service '{client}' lacks batch (workload.publishes needs batch)"
        assert skipped["reason"] == why
        assert cells["request-no-responder"][client]["verdict"] == "INVALID"
    # each client's own error type, as the client names it
    assert "NoRespondersError" in cells["request-no-responder"]["nats-py"]["reason"]
    assert "RequestError" in cells["request-no-responder"]["nats.js"]["reason"]
    table = (out / "matrix.md").read_text()
    assert table.startswith("| scenario | nats-py | nats.js |\n|---|---|---|\n")
    assert "| `respond-control` | valid | valid |" in table
    assert "- nats.js: 1 INVALID, 1 skipped, 1 valid" in table
    assert table in stdout


def test_the_matrix_report_has_the_table_and_every_run(matrix_run: tuple[Path, str]) -> None:
    out, _ = matrix_run
    data = json.loads((out / "matrix-report.json").read_text())
    assert data["matrix"]["clients"] == ["nats-py", "nats.js"]
    ids = [t["nodeid"] for t in data["tests"]]
    assert len(ids) == 6
    assert {i.split(" ", 1)[0] for i in ids} == {"[nats-py]", "[nats.js]"}
    from nats_fault_harness.report._json import read_report

    assert read_report(out / "matrix-report.json").matrix is not None  # it reads back


def test_a_real_browser_shows_the_matrix_section(matrix_run: tuple[Path, str]) -> None:
    out, _ = matrix_run
    _need(str(CHROMIUM), CHROMIUM.exists())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright (Python)", False)
        raise
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((out / "matrix-report.html").as_uri())
            section = page.locator("#matrix")
            assert section.is_visible()
            assert page.locator("#matrix th.client").all_inner_texts() == ["nats-py", "nats.js"]
            rows = page.locator("#matrix tr[data-scenario]")
            assert rows.count() == 3
            row = page.locator('#matrix tr[data-scenario="request-no-responder"]')
            badges = row.locator(".badge").all_inner_texts()
            assert [b.upper() for b in badges] == ["INVALID", "INVALID"]
            assert row.locator(".why").first.is_visible()
            box = section.bounding_box()
            assert box is not None
            assert box["width"] > 600
            assert page.locator("details.test").count() == 6
        finally:
            browser.close()
    assert errors == []


@pytest.fixture(scope="module")
def library_matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The whole scenario library against nats-py and nats.js, as CI runs it."""
    _need("the nats.js adapter's packages (make clients)", NODE_PACKAGES.is_dir())
    out = tmp_path_factory.mktemp("library-matrix")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nats_fault_harness.cli",
            "matrix",
            str(ROOT / "scenarios"),
            "--client",
            "nats-py",
            "--client",
            "nats.js",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        cwd=out,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data: dict[str, object] = json.loads((out / "matrix.json").read_text())
    return data


def test_both_clients_run_every_applicable_scenario_of_the_library(
    library_matrix: dict[str, object],
) -> None:
    """Every scenario has a verdict for each client; a scenario is skipped only for a
    capability the client's adapter lacks, and the consumer-shaped controls hold."""
    files = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml") if p.name != "claims.yaml")
    rows = library_matrix["rows"]
    assert isinstance(rows, list)
    assert sorted(r["scenario"] for r in rows) == files
    lacking = {"batch", "messages", "consume", "stats"}  # what the plain adapters do not do
    for row in rows:
        for client in ("nats-py", "nats.js"):
            cell = row["cells"][client]
            assert cell["verdict"] in ("valid", "INVALID", "UNKNOWN", "ERROR", "skipped"), cell
            if cell["verdict"] == "skipped":
                needs = cell["reason"].split(" lacks ", 1)[1].split(" (", 1)[0]
                assert set(needs.split(", ")) <= lacking, (row["scenario"], cell)
    ran = {
        client: [r["scenario"] for r in rows if r["cells"][client]["verdict"] != "skipped"]
        for client in ("nats-py", "nats.js")
    }
    assert all(len(names) >= 30 for names in ran.values()), ran
    cells = {r["scenario"]: r["cells"] for r in rows}
    for control in ("respond-control", "republish-control", "health-control"):
        for client in ("nats-py", "nats.js"):
            assert cells[control][client]["verdict"] == "valid", (control, client)
