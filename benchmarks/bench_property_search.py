"""How fast the default property search finds planted single-fault bugs, and what it shrinks to.

For each planted bug (a small subclass of the reference adapter, each provoked by one
kind of fault) and each seed, runs the DEFAULT strategy, ``scenarios()``, as a user
would, with ``@seed(seed)``, up to ``--max-examples`` examples, on real servers in one
:class:`~nats_fault_harness.replay.ReusableEnv`, and prints per bug: the median number of
examples run until the first falsifying one (every run counts, unknown ones included; a
seed that found nothing counts as ``max_examples + 1``), how many seeds found it, and the
shrunk schedule of each (its size and fault kinds).

``--strategies PATH`` draws from another copy of the strategies, to print the figure before
a change beside the one after: a single-file ``strategies.py`` as it was before it became a
package (e.g. the one before the workload-relative triggers: ``git show
BASE:harness/nats_fault_harness/strategies.py > old.py``), or a copy of the package's
directory (``mkdir old && git archive BASE harness/nats_fault_harness/strategies | tar -x
-C old --strip-components=2``, then ``--strategies old/strategies``). ``--no-target``
drops hypothesis's target phase (the ``target()`` calls of ``check_scenario`` are then
ignored). ``--shrink-cap N`` stops shrinking after N runs past the first failure and
reports the smallest failing schedule seen (``0``: no shrinking).

``--effective N`` instead draws N default scenarios per seed (no servers) and prints the
share whose faults surely act on the workload (``strategies.sure_to_act``).

Only prints. Usage::

    .venv/bin/python benchmarks/bench_property_search.py [--seeds 10] [--max-examples 60]
        [--bugs reset,kill,down] [--strategies PATH] [--no-target] [--shrink-cap 40]
        [--effective 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import Phase, given, seed, settings

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))  # the planted services live in tests/property

from nats_fault_harness._hypothesis import property_phases  # noqa: E402
from nats_fault_harness.replay import PropertyFailure, ReusableEnv, check_scenario  # noqa: E402
from nats_fault_harness.scenario import Scenario  # noqa: E402
from nats_fault_harness.strategies import sure_to_act  # noqa: E402

BUGS = {
    "reset": ("tests.property.planted_sut:make_planted_sut", "a disconnect during a flush"),
    "kill": (
        "tests.property.planted_reconnect_suts:make_failover_sut",
        "a reconnect to a new server (kill)",
    ),
    "down": (
        "tests.property.planted_reconnect_suts:make_refused_sut",
        "refused reconnects (down)",
    ),
}
GOAL_MEDIAN = 20


class _Stop(BaseException):
    """Shrinking ran ``--shrink-cap`` runs: stop (hypothesis lets a BaseException through)."""


_PACKAGE = "nats_fault_harness.strategies"
_COPIES = itertools.count()


def _strategies(path: Path | None) -> ModuleType:
    """The strategies to draw from: the installed ones, or the copy at ``path``.

    ``path`` is a single-file ``strategies.py``, loaded under a name of its own, or a
    ``strategies/`` package directory (see :func:`_strategies_package`).
    """
    if path is None:
        import nats_fault_harness.strategies as current

        return current
    if path.is_dir():
        return _strategies_package(path)
    name = f"bench_strategies_{next(_COPIES)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # @dataclass looks the module up while the file runs
    spec.loader.exec_module(module)
    return module


def _strategies_package(directory: Path) -> ModuleType:
    """A copy of the strategies package from ``directory`` (``DIR/__init__.py`` and its modules).

    Its modules import each other as ``nats_fault_harness.strategies._x``, so the copy is
    loaded under that very name: the installed package's entries are set aside in
    ``sys.modules`` while it loads and put back after. The copy keeps the names it bound
    (its functions draw from its own modules); everything imported afterwards, the rest of
    the harness included, gets the installed package.
    """
    init = directory / "__init__.py"
    if not init.is_file():
        raise SystemExit(f"--strategies {directory}: not a package (no __init__.py)")

    def ours(name: str) -> bool:
        return name == _PACKAGE or name.startswith(_PACKAGE + ".")

    installed = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in installed:
        del sys.modules[name]
    try:
        spec = importlib.util.spec_from_file_location(
            _PACKAGE, init, submodule_search_locations=[str(directory)]
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_PACKAGE] = module
        spec.loader.exec_module(module)
    finally:
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(installed)
    return module


def _phases(target: bool, shrink: bool) -> tuple[Phase, ...]:
    return tuple(
        p
        for p in property_phases()
        if (target or p is not Phase.target) and (shrink or p is not Phase.shrink)
    )


def search(
    env: ReusableEnv, module: ModuleType, sut: str, s: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One seed of one bug: runs to the first failure, and the shrunk (or smallest) schedule."""
    runs = 0
    first: int | None = None
    smallest: Scenario | None = None
    replays = Path(tempfile.mkdtemp(prefix="bench-search-"))

    @seed(s)
    @given(scenario=module.scenarios())
    @settings(
        max_examples=args.max_examples,
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        phases=_phases(not args.no_target, args.shrink_cap > 0),
    )
    def prop(scenario: Scenario) -> None:
        nonlocal runs, first, smallest
        if first is not None and runs - first >= args.shrink_cap:
            raise _Stop
        runs += 1
        try:
            check_scenario(env, scenario, test=f"bench-{s}", sut=sut, directory=replays)
        except PropertyFailure as exc:
            if first is None:
                first = runs
            if smallest is None or len(exc.scenario.faults) < len(smallest.faults):
                smallest = exc.scenario
            raise

    final: Scenario | None = None
    capped = False
    t0 = time.monotonic()
    try:
        prop()
    except PropertyFailure as exc:
        final = exc.scenario
    except _Stop:
        capped, final = True, smallest
    faults = [] if final is None else [step.fault for step in final.faults]
    return {
        "seed": s,
        "first": first,
        "runs": runs,
        "elapsed_s": round(time.monotonic() - t0, 1),
        "shrunk_faults": faults,
        "shrink_capped": capped,
    }


def _draw(module: ModuleType, n: int, s: int) -> list[Scenario]:
    """``n`` default scenarios of ``module``, drawn as a property test with ``@seed(s)`` would."""
    drawn: list[Scenario] = []

    @seed(s)
    @given(scenario=module.scenarios())
    @settings(max_examples=n, database=None, deadline=None, phases=(Phase.generate,))
    def collect(scenario: Scenario) -> None:
        drawn.append(scenario)

    collect()
    return drawn


def _effective(module: ModuleType, n: int, seeds: int) -> list[dict[str, float]]:
    out = []
    for s in range(seeds):
        drawn = _draw(module, n, s)
        acting = [any(sure_to_act(f, sc.workload) for f in sc.faults) for sc in drawn]
        dead = [any(not sure_to_act(f, sc.workload) for f in sc.faults) for sc in drawn]
        out.append(
            {
                "seed": s,
                "examples": len(drawn),
                "effective": sum(acting) / len(drawn),
                "effective_first_50": sum(acting[:50]) / min(50, len(drawn)),
                "with_a_fault_that_cannot_act": sum(dead) / len(drawn),
                "no_fault": sum(not sc.faults for sc in drawn) / len(drawn),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-examples", type=int, default=60)
    parser.add_argument("--bugs", default=",".join(BUGS))
    parser.add_argument("--strategies", type=Path, default=None)
    parser.add_argument("--no-target", action="store_true")
    parser.add_argument("--shrink-cap", type=int, default=40)
    parser.add_argument("--effective", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    module = _strategies(args.strategies)
    label = f"strategies {args.strategies or 'current'}" + (", no target" if args.no_target else "")

    if args.effective:
        rows = _effective(module, args.effective, args.seeds)
        print(f"bench_property_search --effective {args.effective} ({label})")
        for row in rows:
            print(
                f"  seed {row['seed']}: effective {row['effective']:.0%} (first 50: "
                f"{row['effective_first_50']:.0%}), with a fault that cannot act "
                f"{row['with_a_fault_that_cannot_act']:.0%}, no fault {row['no_fault']:.0%}"
            )
        mean = statistics.mean(r["effective"] for r in rows)
        print(f"  mean effective share {mean:.1%}")
        if args.json is not None:
            args.json.write_text(json.dumps(rows, indent=2))
        return 0

    results: dict[str, list[dict[str, Any]]] = {}
    with ReusableEnv() as env:
        for bug in args.bugs.split(","):
            sut = BUGS[bug][0]
            rows = results[bug] = []
            for s in range(args.seeds):
                row = search(env, module, sut, s, args)
                rows.append(row)
                print(f"  {bug} seed {s}: {row}", flush=True)
    print(f"bench_property_search ({label}, max {args.max_examples} examples per seed)")
    for bug, rows in results.items():
        firsts = [r["first"] or args.max_examples + 1 for r in rows]
        found = sum(r["first"] is not None for r in rows)
        sizes = [len(r["shrunk_faults"]) for r in rows if r["first"] is not None]
        alone = sum(size == 1 for size in sizes)
        kinds = sorted({k for r in rows for k in r["shrunk_faults"]})
        print(
            f"  {bug:<6} {BUGS[bug][1]:<36} found {found}/{len(rows)}  median examples to "
            f"first failure {statistics.median(firsts):5.1f} (goal <= {GOAL_MEDIAN})  shrunk "
            f"sizes {sizes} ({alone}/{len(sizes)} the culprit alone; kinds {kinds})"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
