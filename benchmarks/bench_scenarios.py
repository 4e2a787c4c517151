"""Scenario library wall time and the harness's own overhead per scenario, in one run.

Measures:
  library     ``nats-harness run scenarios`` as a subprocess (the JSON summary written to
              a temporary file): total wall time, the number of scenarios, the slowest 5
              and the time spent outside the scenarios' calls (session start, collection,
              fixture setup and teardown)
  overhead    the harness's own cost of one scenario: its time minus its workload's, for a
              minimal scenario (``server`` topology, no faults, one confirmed publish, the
              accounting checker), two ways side by side:
                in-process  ``run_scenario`` with the shared server and proxy reused, and
                            the per-test fixtures (proxy reset, fault log, link factory,
                            server and cluster factories) built and torn down each round
                            as the plugin does: median and p90
                per item    ``pytest <tmp>/scenarios`` with N copies of the minimal file
                            against 1 copy: (T_N - T_1) / (N - 1), pairs interleaved
Each figure is printed against the issue's target (< 1 s overhead per scenario) as a
ratio. Only prints: no assertion; the exit code is 0 unless something crashed.

Usage: .venv/bin/python benchmarks/bench_scenarios.py [--quick] [--rounds N] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats_fault_harness.faults import FaultLog, FaultyCluster, LinkFactory
from nats_fault_harness.history import History
from nats_fault_harness.proxy import SyncToxiproxyClient
from nats_fault_harness.proxy._fixtures_support import (
    ToxiproxyEndpoint,
    open_toxiproxy,
    reset_toxiproxy,
)
from nats_fault_harness.scenario import ScenarioEnv, load_sut, parse_scenario, run_scenario
from nats_fault_harness.scenario._collect import DEFAULT_SUT
from nats_fault_harness.servers import NatsServer, ServerConfig, find_binary

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0
MINIMAL = """\
name: bench-minimal
description: No faults and one confirmed publish; the harness's own overhead.
claims: [bench.overhead]
topology: {kind: server}
workload:
  publishes: {count: 1, subjects: [bench.minimal]}
checkers:
  - name: accounting
timeout_s: 30
"""
# Run like ``nats-harness run`` runs pytest, without its progress plugin.
PYTEST_ARGS = [
    "-q",
    "-p",
    "no:cacheprovider",
    "-o",
    "addopts=",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
]


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def vs_target(seconds: float) -> str:
    verdict = "PASS" if seconds < TARGET_S else "MISS"
    return f"(target < {TARGET_S:g} s: {seconds / TARGET_S:.2f}x) {verdict}"


# --------------------------------------------------------------------- whole library
def library(report: Path) -> dict[str, Any]:
    exe = Path(sys.executable).with_name("nats-harness")
    cmd = [str(exe), "run", "scenarios", "--report", str(report)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if not report.is_file():
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"nats-harness run wrote no summary (exit {proc.returncode})")
    summary = json.loads(report.read_text())
    rows = summary["scenarios"]
    verdicts: dict[str, int] = {}
    for row in rows:
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    calls = sum(row["duration_s"] for row in rows)
    return {
        "wall_s": wall,
        "elapsed_s": summary["elapsed_s"],
        "exit_code": proc.returncode,
        "count": len(rows),
        "verdicts": verdicts,
        "calls_s": calls,
        "slowest": sorted(rows, key=lambda r: -r["duration_s"])[:5],
    }


# --------------------------------------------------------------------- in-process
@dataclass
class Round:
    """One in-process run of the minimal scenario, its phases in seconds."""

    total: float
    fixtures_up: float  # proxy reset, fault log, link factory, server and cluster factories
    to_ready: float  # run_scenario start -> service started (topology, observer, connect)
    workload: float  # the publish's invocation -> its completion
    after: float  # workload end -> run_scenario returned (heal, drain, stop, checkers)
    fixtures_down: float  # heal_all, pull_events, proxies deleted, factories closed

    @property
    def overhead(self) -> float:
        return self.total - self.workload


@contextlib.contextmanager
def plugin_fixtures(
    endpoint: ToxiproxyEndpoint, shared: NatsServer, binary: Path, base: Path
) -> Iterator[ScenarioEnv]:
    """What one scenario item gets from the plugin: the same calls, in the same order."""
    if shared.is_paused:  # nats_server
        shared.resume()
    if not shared.is_running:
        shared.start()
    started: list[NatsServer] = []

    def make_server(config: ServerConfig | None = None, **fields: Any) -> NatsServer:
        cfg = (config or ServerConfig()).with_(**fields) if fields else config or ServerConfig()
        server = NatsServer(cfg, binary=binary, base_dir=Path(tempfile.mkdtemp(dir=base)))
        started.append(server)
        return server.start()

    reset_toxiproxy(endpoint.url)  # toxiproxy
    log = FaultLog(History())  # nats_history, fault_log
    extensions = frozenset((endpoint.extensions or {}).get("extensions", ()))
    clusters: list[FaultyCluster] = []
    with SyncToxiproxyClient(endpoint.url) as api, SyncToxiproxyClient(endpoint.url) as capi:
        links = LinkFactory(api, log, extensions)  # nats_link_factory

        def make_cluster(size: int = 3, **fields: Any) -> FaultyCluster:
            cluster = FaultyCluster(
                capi,
                log,
                size,
                ServerConfig().with_(**fields),
                binary=binary,
                base_dir=base,
                extensions=extensions,
            )
            clusters.append(cluster)
            return cluster.start()

        try:
            yield ScenarioEnv(
                links, server=shared, make_server=make_server, make_cluster=make_cluster
            )
        finally:
            for cluster in clusters:  # nats_faulty_cluster
                cluster.close()
            log.heal_all()  # nats_link_factory
            links.pull_events()
            links.close()
            log.heal_all()  # fault_log
            for server in started:  # nats_server_factory
                server.close()


def in_process_round(
    endpoint: ToxiproxyEndpoint, shared: NatsServer, binary: Path, base: Path
) -> Round:
    scenario = parse_scenario(MINIMAL, "<bench>")
    factory = load_sut(DEFAULT_SUT)
    t0 = time.monotonic()
    with plugin_fixtures(endpoint, shared, binary, base) as env:
        t1 = time.monotonic()
        result = asyncio.run(run_scenario(scenario, sut_factory=factory, env=env))
        t2 = time.monotonic()
    t3 = time.monotonic()
    if result.valid is not True:
        raise SystemExit(f"the minimal scenario was not valid: {result.verdict.message}")
    history = result.history
    ready = next(e.t for e in history.client_events() if e.kind == "pool_initialized")
    publish = [op for op in history.ops() if op.f == "publish" and op.process != "observer"]
    begin, end = publish[0].t, publish[-1].t
    at1, at2 = history.at(t1), history.at(t2)
    return Round(
        total=t3 - t0,
        fixtures_up=t1 - t0,
        to_ready=ready - at1,
        workload=end - begin,
        after=at2 - end,
        fixtures_down=t3 - t2,
    )


# --------------------------------------------------------------------- per pytest item
def pytest_run(folder: Path) -> float:
    cmd = [sys.executable, "-m", "pytest", str(folder), *PYTEST_ARGS]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=folder.parent, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"pytest {folder} failed (exit {proc.returncode})")
    return elapsed


def scenario_folder(root: Path, copies: int) -> Path:
    folder = root / f"x{copies}" / "scenarios"
    folder.mkdir(parents=True)
    for i in range(copies):
        (folder / f"minimal-{i:02d}.yaml").write_text(MINIMAL)
    return folder


# --------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no library run")
    parser.add_argument("--rounds", type=int, default=None, help="in-process rounds (40)")
    parser.add_argument("--copies", type=int, default=20, help="scenario files per pytest run")
    parser.add_argument("--pairs", type=int, default=None, help="pytest 1-vs-N pairs (5)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rounds = args.rounds or (10 if args.quick else 40)
    pairs = args.pairs or (1 if args.quick else 5)
    copies = max(2, args.copies)
    binary = find_binary()
    tmp = Path(tempfile.mkdtemp(prefix="bench-scenarios-"))
    result: dict[str, Any] = {"target_s": TARGET_S, "rounds": rounds, "pairs": pairs}
    try:
        lib = None if args.quick else library(tmp / "run.json")

        runs: list[Round] = []
        with open_toxiproxy() as endpoint:
            shared = NatsServer(binary=binary, base_dir=tmp / "shared", name="shared")
            shared.start()
            try:
                for _ in range(2):  # warm up: imports, the first connections
                    in_process_round(endpoint, shared, binary, tmp)
                for _ in range(rounds):
                    runs.append(in_process_round(endpoint, shared, binary, tmp))
            finally:
                shared.close()

        one, many = scenario_folder(tmp, 1), scenario_folder(tmp, copies)
        t_one: list[float] = []
        t_many: list[float] = []
        for _ in range(pairs):  # interleaved so machine noise hits both alike
            t_one.append(pytest_run(one))
            t_many.append(pytest_run(many))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if lib is not None:
        n = lib["count"]
        outside = lib["wall_s"] - lib["calls_s"]
        verdicts = ", ".join(f"{v} {k}" for k, v in sorted(lib["verdicts"].items()))
        print(f"scenario library: nats-harness run scenarios (exit {lib['exit_code']})")
        print(f"  {n} scenarios ({verdicts}) in {lib['wall_s']:.1f} s wall")
        print(f"  sum of scenario calls {lib['calls_s']:.1f} s; outside the calls {outside:.1f} s")
        print(f"  = {outside / n:.2f} s per scenario {vs_target(outside / n)}")
        print("  slowest:")
        for row in lib["slowest"]:
            print(f"    {row['duration_s']:6.2f} s  {row['id']}")
        result["library"] = lib
        print()

    def med(values: list[float]) -> float:
        return statistics.median(values)

    over = [r.overhead for r in runs]
    o_med, o_p90 = med(over), pct(over, 0.9)
    print(
        "harness overhead, minimal scenario (no faults, 1 confirmed publish), "
        f"{os.cpu_count()} cores"
    )
    print(f"in-process run_scenario, shared server + proxy reused, {rounds} rounds:")
    print(f"  {'phase':<52}{'median ms':>10}{'p90 ms':>10}")
    phases: list[tuple[str, Callable[[Round], float]]] = [
        ("fixtures up (proxy reset, log, link factory)", lambda r: r.fixtures_up),
        ("topology + observer + service connected", lambda r: r.to_ready),
        ("workload: the publish (not overhead)", lambda r: r.workload),
        ("heal, drain (incl. 0.1 s late-dup wait), stop, check", lambda r: r.after),
        ("fixtures down (heal, events, proxies deleted)", lambda r: r.fixtures_down),
        ("total", lambda r: r.total),
    ]
    for name, get in phases:
        values = [get(r) for r in runs]
        print(f"  {name:<52}{med(values) * 1000:>10.1f}{pct(values, 0.9) * 1000:>10.1f}")
    print(f"  overhead per scenario: {o_med:.2f} s median {vs_target(o_med)}")
    print(f"  overhead per scenario: {o_p90:.2f} s p90    {vs_target(o_p90)}")

    tm1, tmn = med(t_one), med(t_many)
    per_item = (tmn - tm1) / (copies - 1)
    pub = med([r.workload for r in runs])
    print(f"per pytest item, `pytest <tmp>/scenarios` with 1 vs {copies} files, {pairs} pair(s):")
    print(f"  T1  = {tm1:.2f} s (interpreter, plugin, shared server + proxy, 1 item)")
    print(f"  T{copies} = {tmn:.2f} s")
    print(
        f"  overhead per scenario: {per_item:.2f} s = (T{copies} - T1)/{copies - 1} "
        f"{vs_target(per_item)}"
    )
    print(
        f"  (includes the ~{pub * 1000:.1f} ms publish; in-process median for comparison: "
        f"{o_med:.2f} s, per item / in-process = {per_item / o_med:.2f}x)"
    )
    result["in_process"] = {
        "overhead_median_s": o_med,
        "overhead_p90_s": o_p90,
        "workload_median_s": pub,
        "phases_median_s": {name: med([get(r) for r in runs]) for name, get in phases},
    }
    result["per_item"] = {
        "copies": copies,
        "t1_s": t_one,
        "tn_s": t_many,
        "overhead_s": per_item,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
