"""Heal to ready: how long after a partition heals is a JetStream cluster usable again?

A 3-node JetStream cluster whose routes all pass the harness's proxy (``FaultyCluster``,
through :class:`nats_fault_harness.Harness`) holds an R3 stream. Each round isolates the
stream's leader for ``--cut-s`` seconds (long enough for the majority to elect a new one),
then heals, and reads the heal's ``cluster_ready`` event: seconds from the start of the
heal until the route mesh was back (``routes_s``, what ``heal()`` used to wait for) and
until the cluster was ready (``ready_s``: every node's ``/healthz`` OK and an agreed leader
for the stream, what ``heal()`` waits for now). Right after ``heal()`` returns, one
JetStream publish per node, each with a 2 s timeout, checks that ready means usable.

Only prints: no assertion; the exit code is 0 unless something crashed.

Usage: .venv/bin/python benchmarks/bench_heal_ready.py [--rounds 10] [--cut-s 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import nats

from nats_fault_harness import Harness


async def _publish_everywhere(nodes: list[str]) -> tuple[int, list[str]]:
    ok, errors = 0, []
    for url in nodes:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            await nc.jetstream(timeout=2).publish("bench.ready", b"x")
            ok += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            await nc.close()
    return ok, errors


async def _stream(url: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().add_stream(name="READY", subjects=["bench.>"], num_replicas=3)
    await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cut-s", type=float, default=8.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    rows = []
    with Harness() as h:
        cluster = h.faulty_cluster(3, jetstream=True)
        urls = [n.url for n in cluster.nodes]
        asyncio.run(_stream(urls[0]))
        for r in range(args.rounds):
            leader = cluster.stream_leader("READY")
            fault = cluster.isolate(leader)()
            time.sleep(args.cut_s)
            fault.heal()
            event = [e for e in h.history.client_events() if e.kind == "cluster_ready"][-1]
            ok, errors = asyncio.run(_publish_everywhere(urls))
            row = {
                "round": r + 1,
                "isolated": leader,
                "routes_s": event.detail["routes_s"],
                "ready_s": event.detail["ready_s"],
                "publishes_ok": ok,
                "errors": errors,
            }
            rows.append(row)
            print(
                f"round {r + 1:2d}: isolated node {leader}; routes back {row['routes_s']:6.2f} s, "
                f"ready {row['ready_s']:6.2f} s; publishes right after: {ok}/3"
                + (f" ({'; '.join(errors)})" if errors else ""),
                flush=True,
            )
    routes = [float(r["routes_s"]) for r in rows]
    ready = [float(r["ready_s"]) for r in rows]
    print()
    print(f"command: {' '.join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])])}")
    print(
        f"routes back: median {statistics.median(routes):.2f} s (min {min(routes):.2f}, "
        f"max {max(routes):.2f}); ready: median {statistics.median(ready):.2f} s "
        f"(min {min(ready):.2f}, max {max(ready):.2f}); ready / routes (medians): "
        f"{statistics.median(ready) / max(statistics.median(routes), 1e-9):.1f}x"
    )
    usable = sum(1 for r in rows if r["publishes_ok"] == 3)
    print(f"every node took a publish right after heal() returned: {usable} of {len(rows)}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
