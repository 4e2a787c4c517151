"""What an R3 JetStream stream keeps under leader kills and partitions, measured N times.

Runs, ``--runs`` times each (default 10), on a 3-node cluster whose routes and client
links pass the harness's proxies, with the reference service publishing 80 (120 for the
partition) JetStream messages at 10/s, up to 8 awaiting their PubAck at once:

  leader-kill       SIGKILL of the stream's leader (resolved when the fault fires) at 2 s
                    for 4 s, then restarted on the same store
  leader-isolated   the leader cut from both other nodes at 1 s for 10 s
  follower-kill     SIGKILL of a replica that does not lead at 2 s for 4 s

each with ``Nats-Msg-Id`` (the server deduplicates within its 2-minute window) and without
(``msg_id_header: false``). Each run is a :class:`~nats_fault_harness.scenario.Scenario`
built from a dict and run by :func:`~nats_fault_harness.scenario.run_scenario` with the
fixtures the pytest plugin gives a scenario item (``bench_scenarios.plugin_fixtures``).

Reported per case: runs, PubAcks received, acked but absent from the stream (read back
after the heal), extra stored copies (duplicates), publishes that did not end with a
PubAck (``fail`` or ``info``) and how many of those the stream holds anyway, the node
the fault hit (resolved when it fired), and the composed verdicts (the ``stream`` checker with
``exactly_once: true``, ``exceptions``, and the evidence rule). Only prints (and
``--json``); the exit code is 0 unless something crashed.

Usage: .venv/bin/python benchmarks/probe_jetstream_faults.py [--runs N] [--cases a,b]
       [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench_scenarios import plugin_fixtures

from nats_fault_harness.checkers import operations
from nats_fault_harness.proxy._fixtures_support import open_toxiproxy
from nats_fault_harness.scenario import Scenario, load_sut, run_scenario
from nats_fault_harness.scenario._collect import DEFAULT_SUT
from nats_fault_harness.servers import NatsServer, binary_version, find_binary

KILL = {"fault": "kill", "trigger": {"at_s": 2.0, "for_s": 4.0}}
ISOLATE = {"fault": "isolate", "trigger": {"at_s": 1.0, "for_s": 10.0}}
FAULTS: dict[str, tuple[dict[str, Any], str, int]] = {
    # case -> (fault step without target, target, publishes)
    "leader-kill": (KILL, "leader:ORDERS", 80),
    "leader-isolated": (ISOLATE, "leader:ORDERS", 120),
    "follower-kill": (KILL, "follower:ORDERS", 80),
}


def scenario(case: str, dedupe: bool) -> Scenario:
    """The scenario of one case, as a scenario file would hold it."""
    step, target, count = FAULTS[case]
    return Scenario.model_validate(
        {
            "name": f"probe-{case}-{'dedupe' if dedupe else 'no-msg-id'}",
            "claims": ["jetstream.acked-stored", "jetstream.exactly-once"],
            "topology": {
                "kind": "cluster",
                "size": 3,
                "jetstream": True,
                "streams": [{"name": "ORDERS", "subjects": ["js.orders.>"], "replicas": 3}],
            },
            "service": {
                "jetstream_publish_timeout": 1.0,
                "connection": {"max_reconnect_attempts": -1},
            },
            "workload": {
                "publishes": {
                    "count": count,
                    "rate_per_s": 10,
                    "subjects": ["js.orders.a", "js.orders.b"],
                    "jetstream": True,
                    "msg_id_header": dedupe,
                    "in_flight": 8,
                }
            },
            "faults": [{**step, "target": target}],
            "checkers": [
                {"name": "stream"},
                {
                    "name": "exceptions",
                    "params": {
                        "f": "publish",
                        "expected_types": ["NATSPublishError"],
                        "required_fields": ["subject"],
                        "require_cause": True,
                    },
                },
            ],
            "timeout_s": 150,
        }
    )


@dataclass
class Tally:
    """One case's runs, summed."""

    runs: int = 0
    acked: int = 0
    lost: int = 0
    duplicates: int = 0
    failed: int = 0
    failed_stored: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    nodes: Counter[int] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def tally_run(result: Any, tally: Tally) -> None:
    """Add one run's figures (from its history and its stream checker) to ``tally``."""
    pubs = [
        op
        for op in operations(result.history, "publish")
        if isinstance(op.invoke.value, dict) and op.invoke.value.get("jetstream")
    ]
    stream = next((r for r in result.results if r.name == "stream"), None)
    details = stream.details if stream is not None else {}
    flagged = details.get("flagged") or {}
    tally.runs += 1
    tally.acked += sum(1 for op in pubs if op.outcome == "ok")
    tally.failed += sum(1 for op in pubs if op.outcome != "ok")
    tally.lost += sum(1 for rule in flagged.values() if str(rule).startswith("acked but lost"))
    tally.duplicates += sum(int(n) - 1 for n in (details.get("duplicated") or {}).values())
    tally.failed_stored += len(details.get("unacked_stored") or ())
    valid = result.valid
    verdict = "valid" if valid is True else "invalid" if valid is False else "unknown"
    tally.verdicts[verdict] += 1
    for fault in result.history.faults():
        if "node" in fault.params:
            tally.nodes[int(fault.params["node"])] += 1
    if verdict != "valid":
        tally.notes.append(result.verdict.message[:300])


def run_case(
    case: str, dedupe: bool, runs: int, endpoint: Any, shared: NatsServer, binary: Path, base: Path
) -> Tally:
    tally = Tally()
    factory = load_sut(DEFAULT_SUT)
    for i in range(runs):
        started = time.monotonic()
        with plugin_fixtures(endpoint, shared, binary, base) as env:
            try:
                result = asyncio.run(
                    run_scenario(scenario(case, dedupe), sut_factory=factory, env=env)
                )
            except Exception as exc:  # a run that could not finish is a row, not a crash
                tally.runs += 1
                tally.verdicts["error"] += 1
                tally.notes.append(f"{type(exc).__name__}: {exc}"[:300])
                result = None
        if result is not None:
            tally_run(result, tally)
        verdicts = ", ".join(f"{v} {k}" for k, v in sorted(tally.verdicts.items()))
        print(
            f"  {case} {'dedupe' if dedupe else 'no-msg-id'} run {i + 1}/{runs}: "
            f"{time.monotonic() - started:.1f} s ({verdicts})",
            file=sys.stderr,
            flush=True,
        )
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per case (10)")
    parser.add_argument(
        "--cases", default=",".join(FAULTS), help=f"comma-separated subset of {', '.join(FAULTS)}"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(FAULTS))
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {', '.join(FAULTS)}")
    binary = find_binary()
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    header = {
        "command": command,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nats_server": binary_version(binary),
        "nats_py": version("nats-py"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "runs": args.runs,
    }
    tmp = Path(tempfile.mkdtemp(prefix="probe-js-faults-"))
    rows: list[tuple[str, bool, Tally]] = []
    try:
        with open_toxiproxy() as endpoint:
            shared = NatsServer(binary=binary, base_dir=tmp / "shared", name="shared")
            shared.start()
            try:
                for case in cases:
                    for dedupe in (True, False):
                        tally = run_case(case, dedupe, args.runs, endpoint, shared, binary, tmp)
                        rows.append((case, dedupe, tally))
            finally:
                shared.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"command:    {header['command']}")
    print(f"date:       {header['date']}")
    print(f"nats-server {header['nats_server']}; nats-py {header['nats_py']}")
    print(f"machine:    {header['machine']}")
    print()
    print(
        "| case | Nats-Msg-Id | runs | acked | acked but lost | duplicates stored "
        "| publishes failed (of which stored) | verdicts | faulted node (runs) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case, dedupe, t in rows:
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(t.verdicts.items()))
        nodes = ", ".join(f"n{k}: {n}" for k, n in sorted(t.nodes.items()))
        print(
            f"| {case} | {'yes' if dedupe else 'no'} | {t.runs} | {t.acked} | {t.lost} "
            f"| {t.duplicates} | {t.failed} ({t.failed_stored}) | {verdicts} | {nodes} |"
        )
    notes = [(case, dedupe, n) for case, dedupe, t in rows for n in t.notes]
    if notes:
        print()
        print("verdicts other than valid:")
        for case, dedupe, note in notes:
            print(f"  {case} {'dedupe' if dedupe else 'no-msg-id'}: {note}")
    if args.json:
        out = {
            **header,
            "rows": [
                {
                    "case": case,
                    "msg_id_header": dedupe,
                    "runs": t.runs,
                    "acked": t.acked,
                    "acked_but_lost": t.lost,
                    "duplicates_stored": t.duplicates,
                    "publishes_failed": t.failed,
                    "failed_but_stored": t.failed_stored,
                    "verdicts": dict(t.verdicts),
                    "faulted_nodes": dict(t.nodes),
                    "notes": t.notes,
                }
                for case, dedupe, t in rows
            ],
        }
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
