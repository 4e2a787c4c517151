"""Odd text in a run (lone surrogates, NUL, control and format characters) never stops the
fault report from being written, nor hides pytest's own summary.

Generated strings go everywhere text enters a report: test ids (parametrize ids, escaped by
pytest and, with its opt-out ini key, raw), assertion messages, history labels and fault
targets, and a scenario file's description. Each example is one real pytest run (pytester,
in a subprocess) with ``--fault-report``, in a folder of its own. With raw ids, pytest
itself errors the setup of a test whose id holds a surrogate that ``surrogateescape``
cannot encode (``\ud800``: it puts the id in ``PYTEST_CURRENT_TEST``); the report still
lists the test.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rpt_support import parse_html

from nats_fault_harness.report._text import clean_data, clean_text

ODD_CHARS = st.characters(categories=["Cs", "Cc", "Cf", "Co", "Cn", "Zl", "Zp", "Mn"])
SPECIALS = st.sampled_from(["\udcff", "\x00", "\x1b[31m", "\u202e", "</pre>", "&", "\ufffe"])
ODD_TEXT = st.lists(ODD_CHARS | SPECIALS, min_size=1, max_size=8).map("".join)
_RUNS = itertools.count()

TESTS = """
import pytest

ODD = {odd!r}


@pytest.mark.parametrize("i", range(len(ODD)), ids=ODD)
def test_odd(i, nats_history):
    text = ODD[i]
    fid = nats_history.fault_started("latency", "link:" + text, {{"note": text}})
    nats_history.client_event("svc " + text, "disconnected", {{"reason": text}})
    nats_history.fault_ended(fid)
    raise AssertionError(f"MARK{{i}}:" + text)


def test_plain():
    pass
"""

SCENARIO = """\
name: odd-description
description: {description}
claims: [x.y]
checkers: [{{name: accounting}}]
"""

BROKEN = """\
name: broken-odd
description: {description}
claims: [x.y]
checkers: []
"""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("raw_ids", [False, True], ids=["escaped-ids", "raw-ids"])
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(odd=st.lists(ODD_TEXT, min_size=1, max_size=4), description=ODD_TEXT)
def test_odd_text_everywhere_still_writes_the_report_and_pytests_summary(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    raw_ids: bool,
    odd: list[str],
    description: str,
) -> None:
    # pytester reads the run's output as strict UTF-8; pytest writes a lone surrogate raw
    # under a C locale (surrogateescape), so ask for escapes instead
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8:backslashreplace")
    root = pytester.mkdir(f"run{next(_RUNS)}")  # hypothesis examples share the fixture
    ini = "[pytest]\nasyncio_mode = strict\n"
    if raw_ids:
        ini += "disable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n"
    (root / "pytest.ini").write_text(ini)
    (root / "test_odd.py").write_text(TESTS.format(odd=odd), encoding="utf-8")
    scenarios = root / "scenarios"
    scenarios.mkdir()
    quoted = json.dumps(description)  # JSON escapes are YAML double-quoted escapes
    (scenarios / "odd.yaml").write_text(SCENARIO.format(description=quoted))
    (scenarios / "broken.yaml").write_text(BROKEN.format(description=quoted))
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--continue-on-collection-errors",
        f"--rootdir={root}",
        f"--config-file={root / 'pytest.ini'}",
        f"--fault-report={root / 'out' / 'r.html'}",
        "--sut",
        "no_such_module:make",
        str(root / "test_odd.py"),
        str(scenarios),
    )
    out = result.stdout.str()
    assert result.ret == 1, out[-3000:]
    assert "INTERNALERROR" not in out, out[-3000:]
    # pytest's own summary, then ours
    counts = rf"{len(odd) + 1} failed, 1 passed, 1 error" if not raw_ids else r"\d+ failed"
    assert re.search(rf"^=+ .*{counts}.* in [\d.]+s", out, re.MULTILINE), out[-3000:]
    assert "fault report: " in out, out[-3000:]
    assert "NOT written" not in out
    html = (root / "out" / "r.html").read_bytes().decode("utf-8")  # strict: valid UTF-8
    parse_html(html)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html)
    data = json.loads((root / "out" / "r.json").read_text(encoding="utf-8"))
    assert clean_data(data) == data  # nothing odd left in the JSON either
    for text in _strings(data):
        text.encode("utf-8")
    entries = {e["nodeid"]: e for e in data["tests"]}
    assert len(entries) == len(odd) + 3  # odd tests, plain, the scenario, the broken file
    failures = [e["failure"] for e in entries.values() if e["nodeid"].startswith("test_odd.py")]
    for i, text in enumerate(odd):
        found = [f for f in failures if f"MARK{i}:" in f]
        assert len(found) == 1 or raw_ids
        if found and not any(c.isspace() for c in text):  # pytest strips and splits those
            assert clean_text(f"MARK{i}:" + text) in found[0]
    broken = next(e for e in entries.values() if "broken.yaml" in e["nodeid"])
    assert broken["kind"] == "collect"
    assert "checkers: expected at least 1 item(s)" in broken["failure"]


def test_clean_text_replaces_surrogates_and_shows_control_characters() -> None:
    assert clean_text("a\udcffb\ud800") == "a\ufffdb\ufffd"
    assert clean_text("\x00\x1b[31m\x7f") == "\u2400\u241b[31m\u2421"
    assert clean_text("tab\tnew\nline\r") == "tab\tnew\nline\r"
    assert clean_text("\x85\x9f") == "\ufffd\ufffd"
    assert clean_text("ok é 😀 \u202e") == "ok é 😀 \u202e"


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec=None)))
def test_clean_text_is_always_encodable_and_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    assert clean_text(cleaned) == cleaned
    assert len(cleaned) == len(text)


def test_report_path_with_a_surrogate_anchor_still_hashes() -> None:
    from nats_fault_harness.report._pytest import anchor

    assert anchor("t.py::test[\udcff]") != anchor("t.py::test[\udcfe]")


def test_nats_harness_run_prints_an_undecodable_file_name_as_an_escape(
    pytester: pytest.Pytester,
) -> None:
    scenarios = pytester.mkdir("scenarios")
    name = os.fsdecode(b"odd\xff.yaml")  # a non-UTF-8 byte: "\udcff" in the str
    (scenarios / name).write_text(SCENARIO.format(description='"\\udcff"'))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}  # a UTF-8 locale's stdout
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nats_fault_harness.cli",
            "run",
            "scenarios",
            "--sut",
            "no_such:make",
        ],
        cwd=pytester.path,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 1, out + proc.stderr.decode()
    assert "INTERNALERROR" not in out
    assert "[1/1] scenarios/odd\\udcff.yaml::odd-description" in out
    (page,) = (pytester.path / "reports").glob("run-*-report.html")
    assert "odd\ufffd.yaml::odd-description" in page.read_text(encoding="utf-8")
