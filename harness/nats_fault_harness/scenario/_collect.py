"""Scenario files as pytest items: one item per ``scenarios/**/*.yaml`` file.

The item is a :class:`pytest.Function` whose test function asks for the plugin's
fixtures, so servers, proxies and the fault log come (and go) exactly as for a hand-written
test. Its id is ``path::scenario-name``; the scenario's ``markers`` become pytest markers
(so ``-m`` and ``-k`` select scenarios). An invalid file fails collection with the
:class:`~nats_fault_harness.scenario.ScenarioError` message (``path:line: field: problem``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nats_fault_harness.scenario._errors import ScenarioError
from nats_fault_harness.scenario._load import load_claims, load_scenario
from nats_fault_harness.scenario._loop import run_bounded
from nats_fault_harness.scenario._model import Claims, Scenario

if TYPE_CHECKING:
    from nats_fault_harness.scenario._runner import ScenarioResult

__all__ = [
    "DEFAULT_SUT",
    "RESULT_KEY",
    "ScenarioFile",
    "claims_of",
    "describe_sut",
    "is_scenario_file",
    "select_by_claims",
    "service_line",
]

#: where a scenario item keeps its :class:`ScenarioResult` (read by the fault report)
RESULT_KEY: pytest.StashKey[ScenarioResult] = pytest.StashKey()

DEFAULT_SUT = "nats_fault_harness.scenario.reference_sut:make_reference_sut"
CLAIMS_FILE = "claims.yaml"


def is_scenario_file(path: Path) -> bool:
    """A ``*.yaml`` file below a ``scenarios`` or ``replays`` directory, not ``claims.yaml``.

    ``replays`` holds the falsifying examples property tests write (``reports/replays/``).
    """
    parts = path.parent.parts
    return (
        path.suffix in (".yaml", ".yml")
        and path.name != CLAIMS_FILE
        and ("scenarios" in parts or "replays" in parts)
    )


def claims_of(item: pytest.Item) -> list[str]:
    """The claims a collected scenario verifies (none for any other test)."""
    claims = dict(item.user_properties).get("claims")
    return str(claims).split(",") if claims else []


def select_by_claims(
    items: list[pytest.Item], wanted: list[str]
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(kept, dropped): a scenario is kept if it verifies a wanted claim ``ID`` or one below
    it (``ID.*``); every test that is not a scenario is dropped."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        claims = claims_of(item)
        hit = any(c == w or c.startswith(w + ".") for c in claims for w in wanted)
        (keep if hit else drop).append(item)
    return keep, drop


def _claims_for(path: Path) -> Claims | None:
    for folder in path.parents:
        candidate = folder / CLAIMS_FILE
        if candidate.is_file():
            return load_claims(candidate)
        if folder.name == "scenarios":
            return None
    return None


class ScenarioFile(pytest.File):
    """One scenario file; collects one item, or fails with the file's problems."""

    def collect(self) -> Iterable[pytest.Item]:
        scenario = load_scenario(self.path, _claims_for(self.path))
        item = pytest.Function.from_parent(self, name=scenario.name, callobj=_test_for(scenario))
        item.add_marker("scenario")
        known = {line.split(":", 1)[0].strip() for line in self.config.getini("markers")}
        for marker in scenario.markers:
            if marker not in known:  # a scenario's markers are declared by its file
                self.config.addinivalue_line("markers", f"{marker}: named by scenario files")
            item.add_marker(marker)
        item.user_properties.append(("claims", ",".join(scenario.claims)))
        yield item

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, ScenarioError):
            return f"invalid scenario file:\n{excinfo.value}"
        return super().repr_failure(excinfo)


def _sut_spec(config: pytest.Config) -> str:
    value = config.getoption("nats_sut", None) or config.getini("nats_sut")
    return str(value) if value else DEFAULT_SUT


def describe_sut(spec: str) -> str:
    """``the reference service (spec)`` or ``spec``: what a scenario run tests."""
    if spec == DEFAULT_SUT:
        return (
            f"the reference service ({spec}); pass --sut MODULE:FACTORY or set nats_sut "
            "to test your own"
        )
    return spec


def service_line(config: pytest.Config) -> str:
    """The line that names the service under test for a run's header."""
    return f"service under test: {describe_sut(_sut_spec(config))}"


def _test_for(scenario: Scenario) -> Callable[..., None]:
    def test_scenario(
        request: pytest.FixtureRequest,
        nats_server: Any,
        nats_server_factory: Any,
        nats_link_factory: Any,
        nats_faulty_cluster: Any,
    ) -> None:
        from nats_fault_harness.scenario._runner import run_scenario
        from nats_fault_harness.scenario._topology import ScenarioEnv
        from nats_fault_harness.services._protocol import load_sut

        factory = load_sut(_sut_spec(request.config))
        env = ScenarioEnv(
            nats_link_factory,
            server=nats_server,
            make_server=nats_server_factory,
            make_cluster=nats_faulty_cluster,
        )
        from nats_fault_harness.scenario._progress import phase_writer
        from nats_fault_harness.services import CapabilityMissing

        try:
            progress = phase_writer(request.node.nodeid)
            result = run_bounded(
                run_scenario(scenario, sut_factory=factory, env=env, progress=progress)
            )
        except CapabilityMissing as exc:  # never valid, never failed: not run at all
            request.node.user_properties.append(("verdict", "skipped"))
            pytest.skip(f"scenario {scenario.name!r} not run: {exc}")
        request.node.stash[RESULT_KEY] = result
        request.node.user_properties.append(("verdict", str(result.valid)))
        request.node.user_properties.append(("claims", ",".join(scenario.claims)))
        request.node.user_properties.append(("message", result.verdict.message))
        request.node.user_properties.append(("service", _sut_spec(request.config)))
        request.node.user_properties.append(("evidence", _evidence_line(result)))
        if result.valid is not True:
            pytest.fail(
                f"scenario {scenario.name!r} ({', '.join(scenario.claims)}): "
                f"{result.verdict.message}",
                pytrace=False,
            )

    test_scenario.__doc__ = scenario.description or scenario.name
    return test_scenario


def _evidence_line(result: ScenarioResult) -> str:
    from nats_fault_harness.checkers import evidence_summary

    evidence = next((r for r in result.results if r.name == "evidence"), None)
    return evidence_summary(evidence) if evidence is not None else ""
