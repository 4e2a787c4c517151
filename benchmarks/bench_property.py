"""Property-test throughput: examples per minute against the reference service.

Runs the property of ``tests/property/test_properties.py`` (any drawn scenario: a short
workload, service overrides, up to three faults, a proxy seed; no silent loss, typed
errors, statistics consistent with the history) for ``--examples N`` examples in one
:class:`~nats_fault_harness.replay.ReusableEnv` (one nats-server and one proxy for all of them), and
prints examples per minute against the issue's target of 30, with the start-up cost of
the env and the per-example time (median, p90, max) by workload kind.

Only prints: no assertion; exit code 0 unless something crashed (a falsifying example is
reported, with its replay file, and counted).

Usage: .venv/bin/python benchmarks/bench_property.py [--examples 60] [--seed 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import given, seed, settings

from nats_fault_harness._hypothesis import property_phases
from nats_fault_harness.replay import PropertyFailure, ReusableEnv, check_scenario
from nats_fault_harness.scenario import Scenario
from nats_fault_harness.scenario._collect import DEFAULT_SUT
from nats_fault_harness.strategies import scenarios, service_configs, workload_kind

TARGET_PER_MIN = 30.0


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    started = time.monotonic()
    env = ReusableEnv().start()
    startup = time.monotonic() - started
    times: dict[str, list[float]] = {}
    failures: list[str] = []
    replays = Path(tempfile.mkdtemp(prefix="bench-property-"))

    @seed(args.seed)
    @given(scenario=scenarios(service=service_configs()))
    @settings(
        max_examples=args.examples,
        database=None,
        deadline=None,
        phases=property_phases(),
        report_multiple_bugs=False,
    )
    def prop(scenario: Scenario) -> None:
        t0 = time.monotonic()
        try:
            check_scenario(env, scenario, test="bench_property", sut=DEFAULT_SUT, directory=replays)
        finally:
            times.setdefault(workload_kind(scenario.workload), []).append(time.monotonic() - t0)

    t0 = time.monotonic()
    try:
        prop()
    except PropertyFailure as exc:
        failures.append(str(exc).splitlines()[0])
    finally:
        elapsed = time.monotonic() - t0
        env.close()
    runs = sum(len(v) for v in times.values())
    per_min = runs / elapsed * 60 if elapsed else 0.0
    print(f"bench_property: {runs} examples in {elapsed:.1f}s (env start-up {startup:.2f}s)")
    print(
        f"  throughput  {per_min:6.1f} examples/min   target >= {TARGET_PER_MIN:.0f}/min   "
        f"ratio {per_min / TARGET_PER_MIN:.2f}x"
    )
    for kind, values in sorted(times.items()):
        print(
            f"  {kind:<10}  n={len(values):3d}  median {statistics.median(values):5.2f}s  "
            f"p90 {_p(values, 0.9):5.2f}s  max {max(values):5.2f}s"
        )
    for failure in failures:
        print(f"  FALSIFIED: {failure} (replay files in {replays})")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "examples": runs,
                    "elapsed_s": elapsed,
                    "startup_s": startup,
                    "per_min": per_min,
                    "target_per_min": TARGET_PER_MIN,
                    "by_kind": times,
                    "failures": failures,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
