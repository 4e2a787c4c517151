"""The report's data model: built from a handmade history, JSON round trip, bad JSON."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from rpt_support import sample_history

from nats_fault_harness.checkers import CheckResult, check_accounting, check_backoff, run_checkers
from nats_fault_harness.report import (
    SCHEMA_VERSION,
    Environment,
    Report,
    ReportFormatError,
    TestEntry,
    build_entry,
    read_report,
)


def _entry(**kw: object) -> TestEntry:
    history = sample_history()
    results = run_checkers(
        history,
        {
            "accounting": partial(check_accounting, allow_duplicates=True),
            "backoff": partial(check_backoff, base=0.1, max_retries=3),
        },
    )
    args: dict[str, object] = {
        "outcome": "failed",
        "duration_s": 1.5,
        "history": history,
        "results": results,
        "replay": ["pytest t.py::test_x"],
    }
    args.update(kw)
    return build_entry("t.py::test_x", **args)  # type: ignore[arg-type]


ENV = Environment("0.1.0", "2.16.0", "2.15.1", "3.11.7", "Linux", (7,), "pytest", "now", 2.0)


def test_lanes_per_target_proxy_and_client() -> None:
    entry = _entry()
    kinds = {lane.name: lane.kind for lane in entry.lanes}
    assert kinds == {
        "link:orders": "link",
        "server:n1": "server",
        "proxy orders-1": "proxy",
        "svc": "client",
    }
    link = next(lane for lane in entry.lanes if lane.name == "link:orders")
    assert [(w.kind, w.start, w.end) for w in link.windows] == [
        ("latency", 0.5, 1.0),
        ("blackhole", 1.4, None),  # never healed: drawn to the end
    ]
    assert entry.faults == {"latency": 1, "blackhole": 1, "kill": 1}
    svc = next(lane for lane in entry.lanes if lane.name == "svc")
    kinds_seen = [m.kind for m in svc.marks]
    assert "disconnected" in kinds_seen
    assert "reconnected" in kinds_seen
    exc = [m for m in svc.marks if m.kind == "exception"]
    assert len(exc) == 1
    assert exc[0].severity == "error"
    assert "TimeoutError" in exc[0].label
    assert entry.exceptions == {"TimeoutError": 1}
    assert entry.span == pytest.approx(1.5)


def test_message_outcomes_follow_the_accounting_checker() -> None:
    messages = _entry().messages
    assert messages is not None
    c = messages.counts
    # q-1 arrived twice, but its publish was cut (failed, queued, recovered): the
    # scenario's accounting allowed that duplicate, so it is labelled allowed, not duplicated
    assert (c["published"], c["confirmed"], c["lost"], c["recovered"]) == (6, 5, 1, 1)
    assert (c["duplicated"], c["allowed_duplicates"]) == (0, 1)
    assert messages.lost == ("lost-1",)
    assert sum(messages.bins["delivered"]) == 4
    assert sum(messages.bins["lost"]) == 1


def test_a_duplicate_the_rules_forbid_is_counted_as_duplicated() -> None:
    history = sample_history()
    history.invoke("observer", "receive", {}).ok({"id": "m0"})  # m0: confirmed, never cut
    results = run_checkers(
        history, {"accounting": partial(check_accounting, allow_duplicates=True)}
    )
    messages = _entry(history=history, results=results).messages
    assert messages is not None
    assert (messages.counts["duplicated"], messages.counts["allowed_duplicates"]) == (1, 1)


def test_attempts_against_the_schedule() -> None:
    entry = _entry()
    assert entry.schedule["source"] == "backoff checker"
    assert entry.schedule["base"] == 0.1
    [a] = entry.attempts
    assert (a.group, a.attempt, a.expected, a.ok) == ("g1", 1, 0.1, True)
    assert a.actual == pytest.approx(0.1)
    off = _entry(
        results=run_checkers(sample_history(), [partial(check_backoff, base=0.05)])
    ).attempts[0]
    assert off.expected == 0.05
    assert off.ok is False
    # Without a backoff verdict: the service's own report of each retry.
    plain = _entry(results=[]).attempts[0]
    assert (plain.expected, plain.ok) == (0.1, None)


def test_verdicts_and_failing() -> None:
    entry = _entry()
    assert entry.verdict == "invalid"  # one message lost
    assert [(c.name, c.verdict) for c in entry.checks] == [
        ("accounting", "invalid"),
        ("backoff", "valid"),
    ]
    assert entry.failing
    ok = build_entry("t::ok", outcome="passed", duration_s=0.1)
    assert not ok.failing
    assert ok.verdict is None
    assert ok.lanes == ()
    unknown = build_entry(
        "t::u", outcome="passed", duration_s=0.1, results=[CheckResult("x", "unknown")]
    )
    assert unknown.verdict == "unknown"
    assert unknown.failing


def test_long_details_are_trimmed() -> None:
    big = CheckResult("accounting", True, {"delivered": [str(i) for i in range(500)]}, "ok")
    entry = build_entry("t::x", outcome="passed", duration_s=0.0, results=[big])
    listed = entry.checks[0].details["delivered"]
    assert len(listed) == 13
    assert listed[-1] == "… and 488 more"


def test_json_round_trip(tmp_path: Path) -> None:
    report = Report(ENV, (_entry(), build_entry("t::ok", outcome="passed", duration_s=0.2)))
    data = report.to_dict()
    assert data["schema"] == "nats-fault-harness/report"
    assert data["version"] == SCHEMA_VERSION
    text = json.dumps(data)
    again = Report.from_dict(json.loads(text))
    assert again == report
    assert again.summary == report.summary
    path = tmp_path / "r.json"
    path.write_text(text)
    assert read_report(path) == report


def test_summary_and_order() -> None:
    passed = build_entry("a::ok", outcome="passed", duration_s=0.1)
    scenario = _entry(kind="scenario")
    report = Report(ENV, (passed, scenario))
    s = report.summary
    assert (s.tests, s.scenarios, s.failing) == (1, 1, 1)
    assert s.faults == {"blackhole": 1, "kill": 1, "latency": 1}
    assert s.messages["published"] == 6
    assert s.messages["lost"] == 1
    assert s.verdicts == {"invalid": 1}
    assert [e.nodeid for e in report.ordered()] == ["t.py::test_x", "a::ok"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(version=99), "version"),
        (lambda d: d.update(schema="other"), "schema"),
        (lambda d: d["environment"].pop("nats_py"), "environment.nats_py"),
        (lambda d: d["tests"][0].update(duration_s="slow"), "tests[0].duration_s"),
        (lambda d: d["tests"][0]["lanes"][0]["windows"][0].update(start=None), "start"),
        (lambda d: d["tests"][0].update(outcome="great"), "tests[0].outcome"),
    ],
)
def test_bad_json_names_the_field(mutate: object, field: str) -> None:
    data = Report(ENV, (_entry(),)).to_dict()
    assert callable(mutate)
    mutate(data)
    with pytest.raises(ReportFormatError) as info:
        Report.from_dict(json.loads(json.dumps(data)))
    assert field in info.value.field


def test_read_report_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(ReportFormatError, match=r"missing\.json: cannot read"):
        read_report(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": ')
    with pytest.raises(ReportFormatError, match=r"broken.json:1:\d+: not valid JSON"):
        read_report(broken)
