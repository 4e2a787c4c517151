"""The body of a property test: run one drawn scenario, and on failure write its replay.

Hypothesis runs the body for every example, shrinks a failing one, then runs the smallest
once more ("final"). Only that final run writes a replay file, so a search leaves one
file per distinct falsifying example, not one per shrink step.

Only an ``invalid`` verdict (or a run that raised) is a failure of the service. Checkers
the service cannot feed are left out before the run
(:func:`~nats_fault_harness.replay._fit.fit_checkers`),
and an ``unknown`` verdict is rejected, not reported (:mod:`nats_fault_harness.replay._search`).
Inside a hypothesis test every run that completed reports how hard it pressed the service
to ``hypothesis.target()`` (:mod:`nats_fault_harness.replay._stress`), so the search
steers toward longer outages, more retries and slower calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nats_fault_harness.replay._env import ReusableEnv
from nats_fault_harness.replay._files import DEFAULT_REPLAY_DIR, replay_commands, write_replay
from nats_fault_harness.replay._fit import fit_checkers
from nats_fault_harness.replay._search import tally_for
from nats_fault_harness.replay._stress import stress
from nats_fault_harness.scenario import (
    Scenario,
    ScenarioResult,
    ServiceUnderTest,
    SutFactory,
    load_sut,
)
from nats_fault_harness.scenario._collect import DEFAULT_SUT

__all__ = ["PropertyFailure", "check_scenario"]


class PropertyFailure(AssertionError):
    """A scenario's verdict was invalid (or its run raised).

    Attributes:
        scenario: the scenario that failed (without the checkers the service cannot feed).
        result: its result (``None`` if the run raised).
        path: the replay file written (``None`` outside hypothesis's final run).
    """

    def __init__(
        self,
        message: str,
        *,
        scenario: Scenario,
        result: ScenarioResult | None,
        path: Path | None,
    ) -> None:
        super().__init__(message)
        self.scenario = scenario
        self.result = result
        self.path = path


def _build_context() -> Any:
    """Hypothesis's context of the example being run, or ``None`` outside a ``@given`` test."""
    try:
        from hypothesis.control import current_build_context

        return current_build_context()
    except Exception:  # no build context: not inside a @given test
        return None


def _describe(exc: BaseException) -> str:
    """``Type: message``; for an exception group, each leaf exception instead."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def _unknown_reasons(result: ScenarioResult) -> list[tuple[str, str]]:
    """(checker, first line of its message) of each unknown result."""
    return [
        (r.name, (r.message.splitlines() or [""])[0][:160])
        for r in result.results
        if r.valid not in (True, False)
    ]


def check_scenario(
    env: ReusableEnv,
    scenario: Scenario,
    *,
    test: str,
    sut: str = DEFAULT_SUT,
    directory: Path | str = DEFAULT_REPLAY_DIR,
) -> ScenarioResult | None:
    """Run ``scenario`` against ``sut`` in ``env``; raise :class:`PropertyFailure` if invalid.

    Checkers that read a view ``sut`` lacks (``metrics`` without ``stats()``) are left out
    first. Inside a hypothesis test each completed run calls ``hypothesis.target()`` once
    per label of :data:`~nats_fault_harness.replay.TARGET_LABELS` (outage, retries,
    unsuccessful operations, slowest call, queued messages, event-loop lag; see
    :func:`~nats_fault_harness.replay.stress`), and an ``unknown`` verdict is not a
    failure: the example is
    rejected (``hypothesis.reject``) with a note and an event naming the reason, up to
    :func:`~nats_fault_harness.replay._search.unknown_limit` times; once that many were unknown and
    none decided, later examples are not run, and the plugin fails the test at its end
    saying the search could not decide.

    Args:
        env: the reused server and proxy.
        scenario: the drawn scenario.
        test: the test's name (pytest node id), for the replay file.
        sut: the service under test, ``module:factory``.
        directory: where replay files go.

    Returns:
        The result, when the verdict was valid, or unknown past the limit or outside
        hypothesis; ``None`` for an example not run because the search could not decide.

    Raises:
        PropertyFailure: a verdict was invalid, or the run raised. In the final run its
            message ends with the commands that replay the written file.
    """
    from hypothesis import event, note, reject, target

    context = _build_context()
    tally = tally_for(env, test) if context is not None else None
    if tally is not None and tally.hopeless:
        tally.not_run += 1
        event("not run: every earlier example was unknown")
        return None
    result: ScenarioResult | None = None
    try:
        service = load_sut(sut)()
        scenario, left_out = fit_checkers(scenario, service)
        for checker, view in left_out.items():
            if context is not None:
                event(f"checker {checker} left out: the service has no {view}")
                note(f"checker {checker} left out: {service.name} has no {view}")
        result = env.run(scenario, _once(service))
    except Exception as exc:
        why = f"the run raised {_describe(exc)}"
    else:
        if context is not None:
            for label, value in stress(result.history).items():
                target(value, label=label)
        if result.valid is True:
            if tally is not None:
                tally.decided += 1
            return result
        why = f"verdict {result.valid}: {result.verdict.message}"
        if result.valid is not False:
            if tally is None:
                return result
            tally.unknown += 1
            for checker, message in _unknown_reasons(result):
                tally.reasons[f"{checker}: {message}"] += 1
                event(f"verdict unknown: {checker}")
            note(f"verdict unknown (not a failure of the service): {result.verdict.message}")
            if tally.replace_unknown:
                reject()
            return result
    if tally is not None:
        tally.decided += 1
    if context is not None and not context.is_final:
        raise PropertyFailure(why, scenario=scenario, result=result, path=None)
    path = write_replay(scenario, test=test, sut=sut, verdict=why, directory=directory)
    lines = [why, "", f"falsifying schedule written to {path}; replay it with:"]
    lines += [f"    {cmd}" for cmd in replay_commands(path, sut)]
    raise PropertyFailure("\n".join(lines), scenario=scenario, result=result, path=path)


def _once(service: ServiceUnderTest) -> SutFactory:
    """A factory that returns ``service`` (made before the run to see its optional views)."""
    return lambda: service
