"""The scenario runner end to end: real servers, the harness's proxy, the reference service."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nats_fault_harness.checkers import operations
from nats_fault_harness.faults import FaultyCluster, LinkFactory
from nats_fault_harness.scenario import load_claims, load_scenario
from nats_fault_harness.scenario._reference_sut import make_reference_sut
from nats_fault_harness.scenario._runner import ScenarioResult, run_scenario
from nats_fault_harness.scenario._topology import ScenarioEnv
from nats_fault_harness.servers import NatsServer

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture
def env(
    nats_server: NatsServer,
    nats_server_factory: Callable[..., NatsServer],
    nats_link_factory: LinkFactory,
    nats_faulty_cluster: Callable[..., FaultyCluster],
) -> ScenarioEnv:
    return ScenarioEnv(
        nats_link_factory,
        server=nats_server,
        make_server=nats_server_factory,
        make_cluster=nats_faulty_cluster,
    )


async def _run(name: str, env: ScenarioEnv) -> ScenarioResult:
    claims = load_claims(SCENARIOS / "claims.yaml")
    scenario = load_scenario(SCENARIOS / f"{name}.yaml", claims)
    return await run_scenario(scenario, sut_factory=make_reference_sut, env=env)


def _details(result: ScenarioResult, name: str) -> dict[str, Any]:
    return next(r.details for r in result.results if r.name == name)


@pytest.mark.asyncio
async def test_request_during_blackhole_raises_typed_errors(env: ScenarioEnv) -> None:
    result = await _run("request-during-blackhole", env)
    assert result.valid is True, result.verdict.message
    requests = operations(result.history, "request")
    outcomes = [op.outcome for op in requests]
    assert len(requests) == 12
    assert outcomes.count("ok") >= 3, outcomes  # before and after the blackhole
    errors = [op.error for op in requests if op.error is not None]
    assert len(errors) >= 2, outcomes  # inside it
    assert {e.type for e in errors} == {"NATSRequestError"}
    assert [f.kind for f in result.history.faults()] == ["blackhole"]
    assert result.history.faults()[0].end is not None  # healed


@pytest.mark.asyncio
async def test_reset_mid_batch_retries_with_backoff_and_loses_nothing(env: ScenarioEnv) -> None:
    result = await _run("batch-reset-mid-batch", env)
    assert result.valid is True, result.verdict.message
    counts = _details(result, "accounting")["counts"]
    assert counts["attempted"] == 160
    assert counts["lost"] == counts["silently_gone"] == counts["pending"] == 0
    backoff = _details(result, "backoff")
    assert backoff["runs"] >= 1
    assert all(a["actual"] is not None for a in backoff["attempts"])
    kinds = {e.kind for e in result.history.client_events("sut")}
    assert {"pool_initialized", "batch_flush_started", "retry_scheduled"} <= kinds


@pytest.mark.asyncio
async def test_pool_member_down_reports_partial_init(env: ScenarioEnv) -> None:
    result = await _run("pool-member-1-down", env)
    assert result.valid is True, result.verdict.message
    pool = _details(result, "pool")
    assert pool["outcome"] == "partial"
    assert pool["connected"] == ["0", "2"]
    assert list(pool["failed"]) == ["1"]
