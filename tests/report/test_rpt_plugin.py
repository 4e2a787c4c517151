"""The report's pytest plugin through pytester: one file per run, xdist, junitxml, the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rpt_support import parse_html

from nats_fault_harness.cli import main as cli_main

TESTS = """
import pytest
from nats_fault_harness.checkers import check_accounting, run_checkers
from nats_fault_harness.report import record_checks


@pytest.mark.parametrize("n", range(3))
def test_with_faults(nats_history, request, n):
    h = nats_history
    fid = h.fault_started("latency", "link:orders", {"latency": 200})
    h.client_event("svc", "disconnected", {"member": "svc-0"})
    h.invoke("svc", "publish", {"id": f"m{n}"}).ok({"id": f"m{n}"})
    h.invoke("observer", "receive", {}).ok({"id": f"m{n}"})
    h.fault_ended(fid)
    h.client_event("svc", "reconnected", {"member": "svc-0"})
    record_checks(request.node, run_checkers(h, [check_accounting]))


def test_fails(fault_log):
    fault_log.history.fault_started("pause", "server:n1", {})
    assert False, "the service broke a promise"


def test_plain():
    pass
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    pytester.makepyfile(test_report_me=TESTS)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def _load(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_report_and_junitxml(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--fault-report=out/report.html", "--junitxml=out/junit.xml")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*fault report: *out/report.html (5 entries*"])
    data = _load(pytester.path / "out" / "report.json")
    tests = {t["nodeid"]: t for t in data["tests"]}  # type: ignore[attr-defined]
    assert len(tests) == 5
    failing = tests["test_report_me.py::test_fails"]
    assert failing["outcome"] == "failed"
    assert "broke a promise" in failing["failure"]
    assert failing["lanes"][0]["windows"][0]["end"] is None  # a pause never healed
    assert failing["replay"] == ["pytest test_report_me.py::test_fails"]
    one = tests["test_report_me.py::test_with_faults[0]"]
    assert one["verdict"] == "valid"
    assert one["messages"]["counts"]["confirmed"] == 1
    root = parse_html((pytester.path / "out" / "report.html").read_text())
    first = next(d for d in root.find_all("details") if "test" in d.classes())
    assert first.attrs["data-outcome"] == "failed"
    # junitxml: each checker's verdict is a property of its test case.
    xml = ET.parse(pytester.path / "out" / "junit.xml")
    props = {
        (case.get("name"), p.get("name"), p.get("value"))
        for case in xml.iter("testcase")
        for p in case.iter("property")
    }
    assert ("test_with_faults[1]", "verdict:accounting", "valid") in props


def test_xdist_workers_send_their_entries_and_the_controller_writes_one_file(
    pytester: pytest.Pytester,
) -> None:
    result = _run(pytester, "-n", "2", "--fault-report=out/report.html")
    result.assert_outcomes(passed=4, failed=1)
    files = sorted(p.name for p in (pytester.path / "out").iterdir())
    assert files == ["report.html", "report.json"]
    data = _load(pytester.path / "out" / "report.json")
    tests = data["tests"]
    assert isinstance(tests, list)
    assert len(tests) == 5
    assert sum(1 for t in tests if t["lanes"]) == 4  # three parametrized + the failing one
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert summary["faults"] == {"latency": 3, "pause": 1}


def test_ini_key_writes_the_report(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\nfault_report = reports/ini.html\n")
    pytester.makepyfile(test_plain="def test_ok():\n    pass\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert (pytester.path / "reports" / "ini.json").is_file()


def test_no_option_no_report_and_no_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="def test_ok(pytestconfig):\n"
        "    assert not pytestconfig.pluginmanager.has_plugin('nats-fault-report')\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_cli_renders_again_from_json(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(pytester, "--fault-report=out/report.html").assert_outcomes(passed=4, failed=1)
    source = pytester.path / "out" / "report.json"
    target = pytester.path / "again" / "x.html"
    assert cli_main(["report", str(source), "-o", str(target)]) == 0
    assert "5 entries, 1 failing" in capsys.readouterr().out
    again = parse_html(target.read_text())
    original = parse_html((pytester.path / "out" / "report.html").read_text())
    assert len(again.find_all("svg")) == len(original.find_all("svg")) == 4


def test_cli_bad_input_exits_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert cli_main(["report", str(missing)]) == 2
    assert f"{missing}: cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli_main(["report", str(bad)]) == 2
    assert f"{bad}:1:2: not valid JSON" in capsys.readouterr().err
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema": "nats-fault-harness/report", "version": 0}))
    assert cli_main(["report", str(old), "-o", str(tmp_path / "o.html")]) == 2
    err = capsys.readouterr().err
    assert f"{old}: version: this harness reads version 1" in err
    assert not (tmp_path / "o.html").exists()
