"""The HTML fault report at scale: a synthetic 1,000-test report, render time and file size.

Each synthetic test has a history like a batch scenario's: a pool connecting, 200 batched
publishes and their observer receipts, three faults (a latency window, an instant reset, a
blackhole), the client callbacks around them, batch flushes, failed groups and retries with
``failed_at``/``started_at``, and the proxy's connection events. One test in ten loses
messages and retries off schedule, so its checkers say invalid. The accounting and backoff
checkers run on every history, as in a scenario run.

Measured: building the entries (history -> model, checkers included), rendering the HTML
(the number the target is about), writing HTML + JSON, and the HTML file's size. Targets:
render under 2 s, file under 5 MB. Only prints; the exit code is 0 unless something crashed.

Usage: .venv/bin/python benchmarks/bench_report.py [--tests N] [--out reports/bench-report.html]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from functools import partial
from pathlib import Path

from nats_fault_harness.checkers import check_accounting, check_backoff, run_checkers
from nats_fault_harness.history import History
from nats_fault_harness.report import (
    Report,
    TestEntry,
    build_entry,
    environment,
    render_html,
    write_report,
)

RENDER_TARGET_S = 2.0
SIZE_TARGET_B = 5_000_000


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def synthetic_history(rng: random.Random, failing: bool) -> History:
    """A history shaped like a batch scenario's under three faults (about 900 records)."""
    clock = _Clock()
    h = History(clock=clock)

    def at(t: float) -> None:
        clock.now = 1000.0 + t

    for i in range(3):
        at(0.01 + i * 0.002)
        h.client_event("sut", "connected", {"member": f"sut-pool-{i}"})
        h.proxy_event("connection_opened", {"proxy": f"pool-{i}", "connection": 1})
    h.client_event("sut", "pool_initialized", {"size": 3, "connected": ["0", "1", "2"]})
    faults = [(0.4, 1.2, "latency", {"latency": 300}), (1.5, 1.5, "reset", {}),
              (2.0, 3.1, "blackhole", {"latency": 3600000})]  # fmt: skip
    events = []
    for start, end, kind, params in faults:
        events.append((start, "fault", (kind, params, end)))
    lost = set(rng.sample(range(200), 6)) if failing else set()
    for n in range(200):
        t = 0.02 + n * 0.018
        events.append((t, "publish", n))
        events.append((t + 0.004 + rng.random() * 0.01, "confirm", n))
        if n not in lost:
            events.append((t + 0.002 + rng.random() * 0.01, "receive", n))
    for b in range(8):
        events.append((0.1 + b * 0.45, "flush", b))
    for g, t in enumerate((1.52, 2.05, 2.4)):
        events.append((t, "retry", g))
    handles = {}
    for t, what, arg in sorted(events, key=lambda e: e[0]):
        at(t)
        if what == "fault":
            kind, params, end = arg  # type: ignore[misc]
            fid = h.fault_started(kind, "link:shared", params)
            h.proxy_event("toxic_added", {"proxy": "shared-1", "toxic": {"name": kind}})
            if end == t:
                h.proxy_event("connections_reset", {"proxy": "shared-1", "connections": [1, 2]})
                h.client_event("sut", "disconnected", {"member": "sut-pool-1"})
                h.client_event("sut", "error", {"member": "sut-pool-1", "error": "reset"})
                h.fault_ended(fid)
                h.client_event("sut", "reconnected", {"member": "sut-pool-1"})
            else:
                handles[("fault", kind)] = (fid, end)
        elif what == "publish":
            handles[arg] = h.invoke("sut", "publish", {"id": f"m-{arg}", "subject": "b.a"})
        elif what == "confirm":
            handles.pop(arg).ok({"id": f"m-{arg}"})
        elif what == "receive":
            h.invoke("observer", "receive", {"subject": "b.a"}).ok({"id": f"m-{arg}"})
        elif what == "flush":
            h.client_event("sut", "batch_flush_started", {"count": 25, "groups": 3})
            for s in ("b.a", "b.b", "b.c"):
                h.client_event("sut", "group_published", {"group": s, "attempt": 0})
        elif what == "retry":
            group = f"b.{'abc'[arg]}"  # type: ignore[index]
            h.client_event("sut", "group_failed", {"group": group, "attempt": 0})
            wait = 0.1 + (0.09 if failing else rng.random() * 0.01)
            detail = {"group": group, "attempt": 1, "delay": 0.1, "failed_at": t,
                      "started_at": t + wait}  # fmt: skip
            h.client_event("sut", "retry_scheduled", detail)
            h.client_event("sut", "group_published", {"group": group, "attempt": 1})
        for key, (fid, end) in list((k, v) for k, v in handles.items() if isinstance(k, tuple)):
            if end <= t:
                h.fault_ended(fid, t=end)
                h.proxy_event("toxic_removed", {"proxy": "shared-1", "toxic": {"name": key[1]}})
                del handles[key]
    at(3.9)
    for i in range(3):
        h.client_event("sut", "closed", {"member": f"sut-pool-{i}"})
        h.proxy_event(
            "connection_closed", {"proxy": f"pool-{i}", "connection": 1, "reason": "closed"}
        )
    return h


def build_entries(count: int, seed: int = 7) -> list[TestEntry]:
    """``count`` entries from synthetic histories, the checkers run on each."""
    rng = random.Random(seed)
    checkers = {
        "accounting": partial(check_accounting, allow_duplicates=True),
        "backoff": partial(check_backoff, base=0.1, max_retries=3),
    }
    entries = []
    for i in range(count):
        failing = i % 10 == 3
        history = synthetic_history(rng, failing)
        results = run_checkers(history, checkers)
        name = f"scenarios/synthetic-{i:04d}.yaml::synthetic-{i:04d}"
        entries.append(
            build_entry(
                name,
                outcome="failed" if failing else "passed",
                duration_s=4.0 + rng.random(),
                kind="scenario",
                history=history,
                results=results,
                claims=("fix.partial-flush", "fix.retry-backoff"),
                replay=(f"nats-harness run {name.split('::')[0]}", f"pytest {name}"),
                failure="backoff: INVALID: 3 problems" if failing else "",
                seed=1234,
            )
        )
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None, help="keep the report here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    entries = build_entries(args.tests)
    built = time.perf_counter() - t0
    records = sum(len(synthetic_history(random.Random(1), False)) for _ in range(1))
    report = Report(environment(seeds=[1234], command="bench_report.py"), tuple(entries))

    render_html(report)  # warm: template compiled once per process
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        html = render_html(report)
        timings.append(time.perf_counter() - t0)
    render = min(timings)
    size = len(html.encode())
    with tempfile.TemporaryDirectory() as tmp:
        target = args.out or Path(tmp) / "bench-report.html"
        t0 = time.perf_counter()
        html_path, json_path = write_report(report, target)
        written = time.perf_counter() - t0
        json_size = json_path.stat().st_size
    failing = report.summary.failing
    print(f"bench_report: {args.tests} tests ({failing} failing), ~{records} records each")
    print(f"  build entries (history -> model, 2 checkers each) {built:8.2f} s")
    print(
        f"  render HTML (best of 3)                           {render:8.3f} s   "
        f"target {RENDER_TARGET_S:.0f} s: {render / RENDER_TARGET_S:.2f}x of the budget"
    )
    print(f"  write HTML + JSON                                  {written:8.3f} s")
    print(
        f"  HTML size                                          {size / 1e6:8.2f} MB  "
        f"target 5 MB: {size / SIZE_TARGET_B:.2f}x of the budget"
    )
    print(f"  JSON size                                          {json_size / 1e6:8.2f} MB")
    if args.out:
        print(f"  kept {html_path} and {json_path}")


if __name__ == "__main__":
    main()
