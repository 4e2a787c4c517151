"""The runner records a service's health readings and log records (real server, real faults)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from nats_fault_harness.faults import LinkFactory
from nats_fault_harness.scenario import load_claims, load_scenario
from nats_fault_harness.scenario._reference_sut import ReferenceSut, make_reference_sut
from nats_fault_harness.scenario._runner import ScenarioResult, run_scenario
from nats_fault_harness.scenario._topology import ScenarioEnv
from nats_fault_harness.servers import NatsServer
from nats_fault_harness.services._protocol import ServiceUnderTest, SutFactory

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture
def env(
    nats_server: NatsServer,
    nats_server_factory: Callable[..., NatsServer],
    nats_link_factory: LinkFactory,
) -> ScenarioEnv:
    return ScenarioEnv(nats_link_factory, server=nats_server, make_server=nats_server_factory)


async def _run(name: str, env: ScenarioEnv, sut: SutFactory = make_reference_sut) -> ScenarioResult:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml", load_claims(SCENARIOS / "claims.yaml"))
    return await run_scenario(scenario, sut_factory=sut, env=env)


@pytest.mark.asyncio
async def test_health_is_polled_from_start_to_stop(env: ScenarioEnv) -> None:
    result = await _run("health-control", env)
    assert result.valid is True, result.verdict.message
    events = result.history.client_events("sut")
    config = [e.detail for e in events if e.kind == "health_config"]
    assert config == [
        {
            "poll_s": 0.05,
            "check_interval_s": 0.5,
            "check_timeout_s": 0.25,
            "ping_interval_s": 1.0,
            "max_outstanding_pings": 2.0,
        }
    ]
    readings = [e for e in events if e.kind == "health"]
    assert readings[0].detail == {"healthy": True, "connected": True, "polled": True}
    assert readings[-1].detail.get("end") is True
    start = next(e for e in events if e.kind == "pool_initialized")
    assert readings[0].t >= start.t
    assert readings[-1].t - readings[0].t > 3.5  # 40 publishes at 10/s, then the stop


@pytest.mark.asyncio
async def test_log_records_of_the_declared_loggers_are_recorded(env: ScenarioEnv) -> None:
    unrelated = logging.getLogger("somebody.else")
    result = await _run("log-batch-queued", env)
    unrelated.warning("not the service's")
    assert result.valid is True, result.verdict.message
    events = result.history.client_events("sut")
    assert [e.detail for e in events if e.kind == "log_capture"] == [{"loggers": ["nats_service"]}]
    logs = [e.detail for e in events if e.kind == "log"]
    assert logs, "nothing captured"
    assert {d["logger"] for d in logs} <= {
        "nats_service.batch",
        "nats_service.connection",
        "nats_service.pool",
        "nats_service.health",
    }
    queued = [d for d in logs if "failed batch queue" in d["message"]]
    assert queued
    assert all(d["level"] == "WARNING" and d["levelno"] == 30 for d in queued)
    assert not any(d["message"] == "not the service's" for d in logs)
    handlers = logging.getLogger("nats_service").handlers
    assert not [h for h in handlers if type(h).__name__ == "_HistoryHandler"], "left installed"


class _NoViews:
    """The reference adapter without its optional views (a minimal user adapter)."""

    def __init__(self) -> None:
        self._inner = ReferenceSut()
        self.name = "sut"
        for method in (
            "start",
            "publish",
            "publish_batched",
            "flush",
            "recover",
            "request",
            "subscribe",
            "unsubscribe",
            "stop",
        ):
            setattr(self, method, getattr(self._inner, method))


def _no_views() -> ServiceUnderTest:
    return _NoViews()  # type: ignore[return-value]


@pytest.mark.asyncio
async def test_a_service_without_the_views_has_those_checkers_left_out(
    env: ScenarioEnv,
) -> None:
    result = await _run("log-batch-queued", env, _no_views)
    kinds = {e.kind for e in result.history.client_events()}
    assert not kinds & {"health", "health_config", "log", "log_capture"}
    assert "logs" not in {r.name for r in result.results}  # never a vacuous verdict
    assert "logs not checked: the service has no loggers()" in result.verdict.message
    assert result.valid is True  # accounting still decides the batch scenario


# ---------------------------------------------------------------------- the parts, alone
class _Flaky:
    name = "svc"

    def __init__(self, values: list[object]) -> None:
        self.values = values

    def health(self) -> object:
        value = self.values.pop(0) if len(self.values) > 1 else self.values[0]
        if isinstance(value, Exception):
            raise value
        return value


def test_the_poller_records_changes_and_one_error() -> None:
    from nats_fault_harness.history import History
    from nats_fault_harness.scenario._observer import HealthPoller

    history = History()
    sut = _Flaky([True, True, {"healthy": False, "why": ("a", 1)}, RuntimeError("boom"), "?"])
    poller = HealthPoller(history, "svc", sut)
    poller.announce()
    for _ in range(5):
        poller.sample()
    poller.sample(end=True)
    events = [(e.kind, e.detail) for e in history.client_events("svc")]
    assert events[0] == ("health_config", {"poll_s": 0.05})  # no health_timing(): no settings
    assert events[1] == ("health", {"healthy": True, "polled": True})
    assert events[2] == ("health", {"healthy": False, "why": ["a", 1], "polled": True})
    assert [k for k, _ in events].count("health_error") == 1  # the raise, then "?" only counted
    assert events[-1][0] == "health_error"  # the end reading is "?" too: nothing to record


def test_the_capture_records_children_and_leaves_nothing_installed() -> None:
    from nats_fault_harness.history import History
    from nats_fault_harness.scenario._observer import LogCapture

    history = History()
    parent = logging.getLogger("capture_test")
    with LogCapture(history, lambda: "svc", ["capture_test", ""]):
        logging.getLogger("capture_test.child").warning("member %s failed", "m-1")
    logging.getLogger("capture_test.child").warning("after the run")
    events = [(e.kind, e.detail) for e in history.client_events("svc")]
    assert events == [
        ("log_capture", {"loggers": ["capture_test"]}),
        (
            "log",
            {
                "logger": "capture_test.child",
                "level": "WARNING",
                "levelno": 30,
                "message": "member m-1 failed",
            },
        ),
    ]
    assert parent.handlers == []
