"""NATS publish throughput through a NATS-aware toxic, side by side in one run.

nats-py publishes 128-byte messages (then flushes, so every byte crossed the proxy and was
read by the server) over three paths:

  direct      straight to nats-server
  proxy       through our proxy (``python -m nats_fault_harness.proxy``, its own process), no toxic:
              the fast path, no parsing
  nats toxic  through the same proxy process, a second proxy carrying a ``nats`` toxic that
              matches nothing (upstream, ``verb: PUB``, ``subject: nomatch.>``): every frame
              is parsed and forwarded

Rounds are interleaved so machine noise hits every contender alike; the medians are printed
with ratios. Only prints; the exit code is 0 unless something crashed.

Usage: .venv/bin/python benchmarks/bench_nats_toxics.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nats

from nats_fault_harness.proxy import ProxyProcess, SyncToxiproxyClient
from nats_fault_harness.servers import NatsServer

PAYLOAD = b"p" * 128


async def publish_rate(url: str, count: int) -> float:
    """Messages per second for ``count`` publishes plus the final flush."""
    nc = await nats.connect(url, allow_reconnect=False)
    try:
        for _ in range(1000):  # warm up the connection and the proxy's path
            await nc.publish("bench.pub", PAYLOAD)
        await nc.flush(timeout=30)
        started = time.perf_counter()
        for _ in range(count):
            await nc.publish("bench.pub", PAYLOAD)
        await nc.flush(timeout=120)
        return count / (time.perf_counter() - started)
    finally:
        await nc.close()


async def measure(urls: dict[str, str], rounds: int, count: int) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            rates[name].append(await publish_rate(url, count))
    return rates


def run(rounds: int, count: int, json_path: str | None) -> int:
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as base,
        NatsServer(base_dir=Path(base)) as server,
        ProxyProcess(seed=1) as proxy,
        SyncToxiproxyClient(proxy.url) as api,
    ):
        upstream = f"127.0.0.1:{server.port}"
        plain = api.create_proxy("plain", upstream)
        parsed = api.create_proxy("parsed", upstream)
        api.add_toxic(
            "parsed",
            "nats",
            stream="upstream",
            name="nomatch",
            attributes={"verb": "PUB", "subject": "nomatch.>", "action": "drop"},
        )
        urls = {
            "direct": server.url,
            "proxy": f"nats://{plain.listen}",
            "nats toxic": f"nats://{parsed.listen}",
        }
        rates = asyncio.run(measure(urls, rounds, count))
        fired = [e for e in api.events(0).events if e["type"] == "toxic_fired"]
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"NATS publish, 128 B payloads, {count:,} messages x {rounds} rounds (medians)")
    print(f"{'path':<12} {'msg/s':>12} {'vs direct':>10} {'vs proxy':>10}")
    for name, rate in medians.items():
        print(
            f"{name:<12} {rate:>12,.0f} {rate / medians['direct']:>9.2f}x "
            f"{rate / medians['proxy']:>9.2f}x"
        )
    print(
        f"frames acted on by the nats toxic: {len(fired)} (expected 0); "
        f"elapsed {time.perf_counter() - started:.1f} s"
    )
    if json_path:
        Path(json_path).write_text(json.dumps({"rates": rates, "medians": medians}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages and rounds")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    rounds, count = (3, 50_000) if args.quick else (5, 200_000)
    return run(rounds, count, args.json)


if __name__ == "__main__":
    sys.exit(main())
