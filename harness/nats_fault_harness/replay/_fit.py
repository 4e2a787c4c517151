"""Checkers a service can feed: a checker that reads an optional view is left out without it.

The ``metrics`` checker compares the service's ``stats()`` snapshots with the history; a
service without that optional view (:class:`~nats_fault_harness.services.StatsSut`) records no
snapshot, and the checker can only answer ``unknown``. Likewise ``health`` reads the
readings of ``health()`` (:class:`~nats_fault_harness.services.HealthSut`) and ``logs`` the
records of the loggers ``loggers()`` names (:class:`~nats_fault_harness.services.LoggingSut`).
A property search over a service without the view would then report every example, so
:func:`fit_checkers` leaves the checker out before the run. Optional views are detected
as the runner detects them: :func:`~nats_fault_harness.services.capabilities_of` on the
service instance that runs.
"""

from __future__ import annotations

from nats_fault_harness.scenario import Scenario
from nats_fault_harness.services import capabilities_of

__all__ = ["CHECKER_VIEWS", "fit_checkers", "unfed_checkers"]

CHECKER_VIEWS: dict[str, tuple[str, str]] = {
    "metrics": ("stats", "stats()"),
    "health": ("health", "health()"),
    "logs": ("logs", "loggers()"),
}
"""Checker name -> (the capability it reads, how the view is named in messages)."""


def unfed_checkers(scenario: Scenario, service: object) -> dict[str, str]:
    """The scenario's checkers ``service`` cannot feed: name -> the view it lacks."""
    missing: dict[str, str] = {}
    caps = capabilities_of(service)
    for spec in scenario.checkers:
        view = CHECKER_VIEWS.get(spec.name)
        if view is not None and view[0] not in caps:
            missing[spec.name] = view[1]
    return missing


def fit_checkers(scenario: Scenario, service: object) -> tuple[Scenario, dict[str, str]]:
    """``scenario`` without the checkers ``service`` cannot feed, and those left out.

    A scenario is returned unchanged when nothing is missing, or when every checker would
    go (a scenario needs one; its verdict will then be ``unknown``, not a false ``valid``).
    """
    missing = unfed_checkers(scenario, service)
    kept = tuple(spec for spec in scenario.checkers if spec.name not in missing)
    if not missing or not kept:
        return scenario, {}
    return scenario.model_copy(update={"checkers": kept}), missing
