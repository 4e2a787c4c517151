"""Hypothesis settings profiles for property tests over real servers: ``dev``, ``ci``, ``thorough``.

An example here runs a real service against a real server and proxy (about a second), so
hypothesis's defaults (100 examples, a 200 ms deadline) do not fit. Profiles:

======== ============ ============================================================
profile  examples     notes
======== ============ ============================================================
dev      10           quick local feedback; failures saved in ``.hypothesis/``
ci       25           derandomized (same examples every run), no database
thorough 200          a long hunt; failures saved in ``.hypothesis/``
======== ============ ============================================================

All have no deadline, accept slow data generation and skip the ``explain`` phase (it
reruns the shrunk example with each part varied, dozens of real runs). Selection, first match wins:
hypothesis's own ``--hypothesis-profile NAME``; env ``NATS_HARNESS_HYPOTHESIS_PROFILE``;
``ci`` when env ``CI`` is true (``true``/``1``/``yes``); otherwise the current profile is
left alone and :func:`property_settings` uses ``dev`` in place of hypothesis's ``default``.
A profile of the same name registered by the project itself is never replaced.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest
    from hypothesis import settings as Settings

__all__ = [
    "CI_ENV",
    "PROFILES",
    "PROFILE_ENV",
    "configure",
    "property_settings",
    "register_profiles",
]

PROFILE_ENV = "NATS_HARNESS_HYPOTHESIS_PROFILE"
CI_ENV = "CI"
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"max_examples": 10},
    "ci": {"max_examples": 25, "derandomize": True, "database": None, "print_blob": True},
    "thorough": {"max_examples": 200, "print_blob": True},
}
"""Each profile's settings beyond the shared ``deadline=None`` and health checks."""


def _common() -> dict[str, Any]:
    from hypothesis import HealthCheck

    return {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
        "phases": property_phases(),
    }


def property_phases() -> tuple[Any, ...]:
    """Every phase but ``explain``: it reruns the shrunk example dozens of times."""
    from hypothesis import Phase

    return tuple(p for p in Phase if p is not Phase.explain)


def register_profiles() -> None:
    """Register ``dev``, ``ci`` and ``thorough`` (each unless already registered)."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    for name, values in PROFILES.items():
        try:
            settings.get_profile(name)
        except InvalidArgument:
            settings.register_profile(name, **_common(), **values)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def selected_profile(option: str | None = None) -> str | None:
    """The profile to load: ``option``, else the env variable, else ``ci`` under CI."""
    if option:
        return option
    if os.environ.get(PROFILE_ENV):
        return os.environ[PROFILE_ENV].strip()
    return "ci" if _truthy(os.environ.get(CI_ENV)) else None


def configure(config: pytest.Config | None = None) -> str | None:
    """Register the profiles and load the one named by ``NATS_HARNESS_HYPOTHESIS_PROFILE``.

    The plugin calls it from a ``pytest_configure`` that runs before hypothesis's own
    (``tryfirst``), so ``--hypothesis-profile ci`` finds the profile registered. It loads a
    profile globally only when that variable names one: a project's own hypothesis tests
    keep their settings under ``CI=true`` (the ``CI`` default applies to
    :func:`property_settings` only). With a ``config`` and neither the option nor the
    variable set, it does nothing and hypothesis is not imported. Returns the profile
    loaded or selected by option.

    Raises:
        hypothesis.errors.InvalidArgument: the env variable names no registered profile.
    """
    option = config.getoption("hypothesis_profile", None) if config is not None else None
    name = os.environ.get(PROFILE_ENV, "").strip() or None
    if config is not None and not option and not name:
        # like hypothesis's own plugin: no import (about 0.2 s) when nothing asks for it;
        # property_settings() registers the profiles when a property test runs
        return None
    from hypothesis import settings

    register_profiles()
    if option:  # hypothesis's plugin loads it
        return str(option)
    if name:
        settings.load_profile(name)
    return name


def property_settings(**overrides: Any) -> Settings:
    """Settings for a property test: the current profile, no deadline.

    In place of hypothesis's ``default`` profile: the env variable's profile, ``ci`` under
    ``CI=true``, else ``dev``.

    Use as a decorator under ``@given``; ``overrides`` win over the profile.
    """
    from hypothesis import settings

    register_profiles()
    current = settings.get_current_profile_name()
    if current == "default":
        current = selected_profile() or "dev"
    return settings(settings.get_profile(current), **{**_common(), **overrides})
