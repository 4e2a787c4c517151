"""The HTML page, parsed (not string-matched): lanes, windows, order, no network access."""

from __future__ import annotations

import re
from functools import partial

from rpt_support import Node, parse_html, sample_history

from nats_fault_harness.checkers import check_accounting, run_checkers
from nats_fault_harness.report import Environment, Report, build_entry, render_html
from nats_fault_harness.report._pytest import anchor

ENV = Environment("0.1.0", "2.16.0", "2.15.1", "3.11.7", "Linux", (7,), "pytest -x", "now", 1.0)


def _report() -> Report:
    history = sample_history()
    results = run_checkers(history, [partial(check_accounting, allow_duplicates=True)])
    return Report(
        ENV,
        (
            build_entry("t.py::test_first_passes", outcome="passed", duration_s=0.1),
            build_entry(
                "t.py::test_faulty<script>alert(1)</script>",
                outcome="failed",
                duration_s=1.5,
                history=history,
                results=results,
                replay=["pytest 't.py::test_faulty'"],
                failure="AssertionError: boom",
            ),
            build_entry("t.py::test_skipped", outcome="skipped", duration_s=0.0),
        ),
    )


def _tests(root: Node) -> list[Node]:
    return [n for n in root.find_all("details") if "test" in n.classes()]


def test_page_parses_and_lists_failing_tests_first() -> None:
    root = parse_html(render_html(_report()))
    tests = _tests(root)
    assert [t.attrs["data-outcome"] for t in tests] == ["failed", "passed", "skipped"]
    assert ["failing" in t.classes() for t in tests] == [True, False, False]
    assert "open" in tests[0].attrs
    assert "open" not in tests[1].attrs
    assert tests[0].attrs["id"] == anchor("t.py::test_faulty<script>alert(1)</script>")
    # The node id is text, not markup.
    assert not [s for s in root.find_all("script") if "alert" in s.all_text()]
    assert "test_faulty<script>" in tests[0].find_all("span", class_="nodeid")[0].all_text()


def test_timeline_has_a_lane_per_link_server_and_client_and_a_window_per_fault() -> None:
    report = _report()
    root = parse_html(render_html(report))
    [svg] = _tests(root)[0].find_all("svg")
    lanes = {g.attrs["data-lane"]: g for g in svg.find_all("g") if "data-lane" in g.attrs}
    assert {"link:orders", "server:n1", "svc", "messages", "retries"} <= set(lanes)
    assert "link" in lanes["link:orders"].classes()
    assert "server" in lanes["server:n1"].classes()
    assert "client" in lanes["svc"].classes()
    windows = [r for r in svg.find_all("rect") if "win" in r.classes()]
    faulty = next(e for e in report.tests if e.lanes)
    assert len(windows) == sum(faulty.faults.values()) == 3
    assert len([r for r in svg.find_all("rect") if "band" in r.classes()]) == 3
    assert [w for w in windows if "open" in w.classes()]  # the blackhole never healed
    svc = lanes["svc"]
    assert svc.find_all("circle"), "client events are marked"
    assert [p for p in svc.find_all("path") if "x" in p.classes()], "the exception is marked"
    fates = {c for p in lanes["messages"].find_all("path") for c in p.classes()}
    assert {"f-delivered", "f-lost", "f-recovered"} <= fates
    # The passing test without a history draws no timeline at all.
    assert not _tests(root)[1].find_all("svg")


def test_verdicts_summary_and_environment() -> None:
    root = parse_html(render_html(_report()))
    rows = [r for r in _tests(root)[0].find_all("tr") if "data-verdict" in r.attrs]
    assert [r.attrs["data-verdict"] for r in rows] == ["invalid"]
    assert "lost" in rows[0].all_text()
    messages = {
        tr.attrs["data-key"]: tr.find_all("td")[1].all_text()
        for tr in root.find_all("tr")
        if "data-key" in tr.attrs
    }
    # the accounting allowed duplicates (at-least-once): the count says so
    assert (messages["published"], messages["lost"], messages["allowed_duplicates"]) == (
        "6",
        "1",
        "1",
    )
    assert messages["duplicated"] == "0"  # none that were not allowed
    env = root.find_all("div", id="summary-environment")[0].all_text()
    assert "2.15.1" in env
    assert "2.16.0" in env
    assert "7" in env
    faults = root.find_all("div", id="summary-faults")[0].all_text()
    assert "latency" in faults
    assert "kill" in faults
    assert "blackhole" in faults
    replay = _tests(root)[0].find_all("div", class_="replay")[0].all_text()
    assert replay == "pytest 't.py::test_faulty'"


def test_self_contained_no_network_references() -> None:
    text = render_html(_report())
    root = parse_html(text)
    for node in root.iter():
        for key, value in node.attrs.items():
            if key in ("src", "href", "action", "xlink:href", "data", "poster"):
                raise AssertionError(f"<{node.tag} {key}={value!r}> would load something")
    assert not root.find_all("link")
    assert not root.find_all("img")
    assert not root.find_all("iframe")
    assert all("src" not in s.attrs for s in root.find_all("script"))
    assert not re.search(r"(?i)https?:|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text)
    assert root.find_all("style")
    assert root.find_all("input", id="only-failures")


def test_fault_bars_show_their_parameters_and_tooltips_read_as_text() -> None:
    history = sample_history()
    fid = history.fault_started(
        "pool_break", "pool:p", {"members": [1, 2], "how": "down"}, step=0, links=("p.1",)
    )
    history.fault_status(fid, "heal_failed", error="ProxyNotFound: gone")
    history.client_event("svc", "error", {"error": {"type": "TimeoutError", "message": "slow"}})
    entry = build_entry("t.py::test_x", outcome="failed", duration_s=1.0, history=history)
    root = parse_html(render_html(Report(ENV, (entry,))))
    [svg] = _tests(root)[0].find_all("svg")
    labels = [t.all_text() for t in svg.find_all("text") if "wl" in t.classes()]
    assert "latency 300 ms" in labels
    assert "pool_break members 1, 2 how down HEAL FAILED" in labels
    tips = [t.all_text() for t in svg.find_all("title")]
    assert any(t.startswith("pool_break members 1, 2; how down; status heal_failed") for t in tips)
    assert any("error TimeoutError: slow" in t for t in tips), tips
    assert not [t for t in tips if re.search(r"[\[\]{}]|'\w+':", t)], "a Python repr leaked"


def test_an_unknown_verdict_is_as_visible_as_a_failure() -> None:
    from nats_fault_harness.checkers import CheckResult

    reason = "fault 0 (down on link, at 20 s) was never applied"
    results = [CheckResult("evidence", "unknown", {"steps": []}, reason)]
    entries = (
        build_entry("s.yaml::fine", outcome="passed", duration_s=0.1),
        build_entry(
            "s.yaml::vacuous", outcome="failed", duration_s=0.2, kind="scenario", results=results
        ),
    )
    root = parse_html(render_html(Report(ENV, entries)))
    first = _tests(root)[0]
    assert first.attrs["data-verdict"] == "unknown"
    assert "failing" in first.classes()
    assert "open" in first.attrs
    assert reason in first.all_text()
    verdicts = root.find_all("div", id="summary-verdicts")[0].all_text()
    assert "unknown" in verdicts
    failing = root.find_all("div", id="summary-failing")[0]
    assert [d.all_text() for d in failing.find_all("div") if "num" in d.classes()] == ["1"]
