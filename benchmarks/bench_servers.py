"""Server start-up, side by side in one run: bare floor, our fixture, pytest-nats.

Measures the time from "start a server" to "ready" for:
  floor       spawn the bare binary with -p -1, read the port from its log, read INFO
  harness     nats_fault_harness.servers.NatsServer.start() (INFO read and /healthz OK)
  pytest-nats the pytest-nats fixture body (ports file, INFO, /healthz), if installed
and the time for a 3-node cluster to reach a full route mesh (and a JetStream cluster to
be healthy). Rounds are interleaved so machine noise hits every contender alike.

Usage: python benchmarks/bench_servers.py [--rounds N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nats_fault_harness.servers import NatsCluster, NatsServer, ServerConfig, find_binary

_PORT_RE = re.compile(rb"Listening for client connections on [\d.]+:(\d+)")


def floor(binary: Path) -> float:
    """Spawn the bare binary and wait for INFO: the least any fixture can do."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(binary), "-a", "127.0.0.1", "-p", "-1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    port = 0
    for line in proc.stderr:
        match = _PORT_RE.search(line)
        if match:
            port = int(match.group(1))
            break
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert sock.recv(4096).startswith(b"INFO")
    elapsed = time.perf_counter() - started
    proc.terminate()
    proc.wait()
    proc.stderr.close()
    return elapsed


def ours(binary: Path, base: Path) -> float:
    started = time.perf_counter()
    server = NatsServer(binary=binary, base_dir=base)
    server.start()
    elapsed = time.perf_counter() - started
    server.close()
    return elapsed


def pytest_nats_start(binary: Path) -> Callable[[], float] | None:
    try:
        from pytest_nats import Local
        from pytest_nats._runtime import _ServerProcess
    except ImportError:
        return None

    root = Path(tempfile.mkdtemp(prefix="bench-ptn-"))

    def run() -> float:
        started = time.perf_counter()
        proc = _ServerProcess(
            Local(str(binary)),
            root,
            jetstream=False,
            max_memory_store=64 << 20,
            max_file_store=64 << 20,
            startup_timeout=10.0,
        )
        proc.__enter__()
        elapsed = time.perf_counter() - started
        proc.__exit__(None, None, None)
        return elapsed

    return run


def cluster(binary: Path, base: Path, jetstream: bool) -> float:
    started = time.perf_counter()
    c = NatsCluster(3, ServerConfig(jetstream=jetstream), binary=binary, base_dir=base)
    c.start()
    elapsed = time.perf_counter() - started
    c.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--cluster-rounds", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    binary = find_binary()
    base = Path(tempfile.mkdtemp(prefix="bench-servers-"))
    ptn = pytest_nats_start(binary)
    runs: dict[str, list[float]] = {"floor": [], "harness": [], "pytest-nats": []}
    for _ in range(3):  # warm caches (binary pages, Python imports)
        floor(binary)
        ours(binary, base)
    for _ in range(args.rounds):
        runs["floor"].append(floor(binary))
        runs["harness"].append(ours(binary, base))
        if ptn is not None:
            runs["pytest-nats"].append(ptn())
    mesh = [cluster(binary, base, False) for _ in range(args.cluster_rounds)]
    js = [cluster(binary, base, True) for _ in range(max(3, args.cluster_rounds // 2))]

    def med(values: list[float]) -> float:
        return statistics.median(values) * 1000

    f, h = med(runs["floor"]), med(runs["harness"])
    rows = [("bare binary -> INFO (floor)", f, "1.00x", "")]
    rows.append(
        (
            "harness NatsServer ready",
            h,
            f"{h / f:.2f}x",
            "PASS" if h <= 1.5 * f else "MISS (target <= 1.5x floor)",
        )
    )
    result: dict[str, object] = {"floor_ms": f, "harness_ms": h, "ratio_vs_floor": h / f}
    if runs["pytest-nats"]:
        p = med(runs["pytest-nats"])
        rows.append(
            (
                "pytest-nats fixture ready",
                p,
                f"{p / f:.2f}x",
                "PASS (harness not slower)" if h <= p else "MISS (harness slower)",
            )
        )
        result["pytest_nats_ms"] = p
    else:
        rows.append(("pytest-nats fixture ready", float("nan"), "-", "not installed"))
    m, j = med(mesh), med(js)
    rows.append(("3-node cluster, full mesh", m, "", "PASS" if m < 300 else "MISS (< 300 ms)"))
    rows.append(("3-node JetStream cluster healthy", j, "", "(no target)"))
    result.update(mesh_ms=m, jetstream_cluster_ms=j, rounds=args.rounds)
    print(
        f"nats-server start-up, medians of {args.rounds} interleaved rounds "
        f"({args.cluster_rounds} for clusters)"
    )
    print(f"{'what':<36}{'median ms':>10}{'vs floor':>10}  verdict")
    for name, value, ratio, verdict in rows:
        print(f"{name:<36}{value:>10.1f}{ratio:>10}  {verdict}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
