"""``nats-harness replay FILE... [--sut MODULE:FACTORY] [--repeat N]``.

Runs scenario files (typically replay files under ``reports/replays/``) the way the property
tests ran them: in a :class:`~nats_fault_harness.replay.ReusableEnv` (proxy seed
:data:`~nats_fault_harness.replay.PROXY_SEED`, proxy and toxic names from the scenario seed), so the
proxy's draws are the same as when the example was found. The service is ``--sut``, else
the file's ``# sut:`` header line, else the reference service. The current directory is put
on ``sys.path`` first (as ``python -m`` does), so a factory in the project's own tests
(``tests.property.planted_sut:make_planted_sut``) can be named.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from nats_fault_harness._runcmd import EXIT_INTERRUPTED
from nats_fault_harness.errors import ConfigError
from nats_fault_harness.replay._env import ReusableEnv
from nats_fault_harness.replay._files import read_sut
from nats_fault_harness.scenario import Scenario, ScenarioError, SutFactory, load_scenario, load_sut
from nats_fault_harness.scenario._collect import DEFAULT_SUT

__all__ = ["replay_main"]


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines())


def replay_main(files: Sequence[str], *, sut: str | None = None, repeat: int = 1) -> int:
    """Replay ``files``; return the exit code (0 all valid, 1 a verdict not valid, 2 a load
    error or ``repeat < 1``, 130 interrupted).

    Args:
        files: scenario files.
        sut: ``module:factory`` overriding every file's ``# sut:`` header.
        repeat: run each file this many times (to see that a failure reproduces).
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    loaded: list[tuple[str, Scenario, str, SutFactory]] = []
    for file in files:
        try:
            scenario = load_scenario(file)
            spec = sut or read_sut(file) or DEFAULT_SUT
            loaded.append((file, scenario, spec, load_sut(spec)))
        except (ScenarioError, ConfigError, OSError) as exc:
            print(f"nats-harness replay: cannot load {file}:\n{_indent(str(exc))}", flush=True)
            return 2
    if repeat < 1:
        print(f"nats-harness replay: --repeat must be >= 1, got {repeat}", flush=True)
        return 2
    total = len(loaded) * repeat
    print(f"nats-harness replay: {total} run(s)", flush=True)
    tally = {"bad": 0, "done": 0}
    try:
        _replay(loaded, repeat, tally)
    except KeyboardInterrupt:
        done = tally["done"]
        print(f"nats-harness replay: interrupted in run {done} of {total}", flush=True)
        return EXIT_INTERRUPTED
    bad = tally["bad"]
    print(f"{total - bad} valid, {bad} not valid", flush=True)
    return 1 if bad else 0


def _replay(
    loaded: list[tuple[str, Scenario, str, SutFactory]], repeat: int, tally: dict[str, int]
) -> None:
    """Run each loaded file ``repeat`` times, counting into ``tally`` (``bad``, ``done``)."""
    total = len(loaded) * repeat
    with ReusableEnv() as env:
        for file, scenario, spec, factory in loaded:
            for _ in range(repeat):
                tally["done"] += 1
                done = tally["done"]
                started = time.monotonic()
                try:
                    result = env.run(scenario, factory)
                except Exception as exc:
                    verdict, message = "ERROR", f"{type(exc).__name__}: {exc}"
                else:
                    valid = result.valid
                    verdict = (
                        "valid" if valid is True else "INVALID" if valid is False else "UNKNOWN"
                    )
                    message = result.verdict.message
                elapsed = time.monotonic() - started
                label = f"{file}::{scenario.name}"
                print(f"[{done}/{total}] {label:<60} {verdict:<8} {elapsed:6.1f}s", flush=True)
                if verdict != "valid":
                    tally["bad"] += 1
                    print(_indent(f"sut: {spec}\n{message}"), flush=True)
