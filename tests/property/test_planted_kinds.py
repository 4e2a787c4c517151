"""Each planted bug of ``planted_reconnect_suts`` is provoked by its one kind of fault only.

Real servers: a batched workload with the same fault at its first batch flush, each
kind in turn. The failover bug fails under ``kill`` alone, the refused-reconnect bug
under ``down`` alone; under the other kinds both are valid, as the reference is. This is
what makes them fair targets for the search benchmark
(``benchmarks/bench_property_search.py``): the shrunk schedule must be that one fault.
"""

from __future__ import annotations

import pytest

from nats_fault_harness.replay import ReusableEnv
from nats_fault_harness.scenario import load_sut, parse_scenario
from tests.property.planted_reconnect_suts import FAILOVER_SPEC, REFUSED_SPEC

BASE = """
name: planted-kinds
claims: [fix.partial-flush]
workload:
  publishes: {count: 10, rate_per_s: 50, subjects: [prop.a, prop.b], batched: true}
checkers: [{name: accounting, params: {allow_duplicates: true}}]
timeout_s: 30
seed: 1
faults:
  - {fault: %s, trigger: {after: batch_flush, nth: 1%s}}
"""
KINDS = ("kill", "down", "reset", "pause", "drop")


@pytest.mark.parametrize(("spec", "culprit"), [(FAILOVER_SPEC, "kill"), (REFUSED_SPEC, "down")])
def test_only_its_kind_of_fault_provokes_the_planted_bug(
    reusable_env: ReusableEnv, spec: str, culprit: str
) -> None:
    verdicts = {}
    for kind in KINDS:
        scenario = parse_scenario(BASE % (kind, "" if kind == "reset" else ", for_s: 0.3"))
        result = reusable_env.run(scenario, load_sut(spec))
        verdicts[kind] = result.valid
        if kind == culprit:
            assert "lost" in result.verdict.message, result.verdict.message
    assert verdicts == {kind: kind != culprit for kind in KINDS}
