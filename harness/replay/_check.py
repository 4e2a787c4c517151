"""The body of a property test: run one drawn scenario, and on failure write its replay.

Hypothesis runs the body for every example, shrinks a failing one, then runs the smallest
once more ("final"). Only that final run writes a replay file, so a search leaves one
file per distinct falsifying example, not one per shrink step.
"""

from __future__ import annotations

from pathlib import Path

from harness.replay._env import ReusableEnv
from harness.replay._files import DEFAULT_REPLAY_DIR, replay_commands, write_replay
from harness.scenario import Scenario, ScenarioResult, load_sut
from harness.scenario._collect import DEFAULT_SUT

__all__ = ["PropertyFailure", "check_scenario"]


class PropertyFailure(AssertionError):
    """A scenario's verdict was not valid (or its run raised).

    Attributes:
        scenario: the scenario that failed.
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


def _is_final() -> bool:
    """True in hypothesis's final run of the shrunk example, or outside hypothesis."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # no build context: not inside a @given test
        return True


def _describe(exc: BaseException) -> str:
    """``Type: message``; for an exception group, each leaf exception instead."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def check_scenario(
    env: ReusableEnv,
    scenario: Scenario,
    *,
    test: str,
    sut: str = DEFAULT_SUT,
    directory: Path | str = DEFAULT_REPLAY_DIR,
) -> ScenarioResult:
    """Run ``scenario`` against ``sut`` in ``env``; raise :class:`PropertyFailure` unless valid.

    Args:
        env: the reused server and proxy.
        scenario: the drawn scenario.
        test: the test's name (pytest node id), for the replay file.
        sut: the service under test, ``module:factory``.
        directory: where replay files go.

    Returns:
        The result, when every checker said valid.

    Raises:
        PropertyFailure: a verdict was invalid or unknown, or the run raised. In the final
            run its message ends with the commands that replay the written file.
    """
    result: ScenarioResult | None = None
    try:
        result = env.run(scenario, load_sut(sut))
    except Exception as exc:
        why = f"the run raised {_describe(exc)}"
    else:
        if result.valid is True:
            return result
        why = f"verdict {result.valid}: {result.verdict.message}"
    if not _is_final():
        raise PropertyFailure(why, scenario=scenario, result=result, path=None)
    path = write_replay(scenario, test=test, sut=sut, verdict=why, directory=directory)
    lines = [why, "", f"falsifying schedule written to {path}; replay it with:"]
    lines += [f"    {cmd}" for cmd in replay_commands(path, sut)]
    raise PropertyFailure("\n".join(lines), scenario=scenario, result=result, path=path)
