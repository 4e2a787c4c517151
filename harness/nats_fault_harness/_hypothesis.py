"""Hypothesis profiles for property tests on real servers: nats-dev, nats-ci, nats-thorough.

An example here runs a real service against a real server and proxy (about a second), so
hypothesis's defaults (100 examples, a 200 ms deadline) do not fit. Profiles:

============= ========= ============================================================
profile       examples  notes
============= ========= ============================================================
nats-dev      10        quick local feedback; failures saved in ``.hypothesis/``
nats-ci       25        derandomized (same examples every run), no database
nats-thorough 200       a long hunt; failures saved in ``.hypothesis/``
============= ========= ============================================================

The names are the harness's own: hypothesis registers a ``ci`` profile of its own when it
is imported (100 examples) and loads it wherever it detects CI, so a harness profile named
``ci`` would never be the one in use. All have no deadline, accept slow data generation and
skip the ``explain`` phase (it reruns the shrunk example with each part varied, dozens of
real runs).

Selection for a property test (:func:`property_settings`), first match wins:
hypothesis's ``--hypothesis-profile NAME``; env ``NATS_HARNESS_HYPOTHESIS_PROFILE``; under
CI ``nats-ci``; else ``nats-dev``. Hypothesis's own ``default`` and ``ci`` profiles are
never used for a property test: they are what hypothesis loads when nobody chose (``ci``
whenever it sees a CI variable), and are sized for microsecond examples. Any other current
profile (the project's own, chosen by option or variable) is used as it is. A profile of
the same name registered by the project itself is never replaced.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest
    from hypothesis import settings as Settings

__all__ = [
    "CI_ENV",
    "CI_PROFILE",
    "DEV_PROFILE",
    "PROFILES",
    "PROFILE_ENV",
    "THOROUGH_PROFILE",
    "configure",
    "property_profile",
    "property_settings",
    "register_profiles",
]

PROFILE_ENV = "NATS_HARNESS_HYPOTHESIS_PROFILE"
CI_ENV = "CI"
DEV_PROFILE = "nats-dev"
CI_PROFILE = "nats-ci"
THOROUGH_PROFILE = "nats-thorough"
PROFILES: dict[str, dict[str, Any]] = {
    DEV_PROFILE: {"max_examples": 10},
    CI_PROFILE: {"max_examples": 25, "derandomize": True, "database": None, "print_blob": True},
    THOROUGH_PROFILE: {"max_examples": 200, "print_blob": True},
}
"""Each profile's settings beyond the shared ``deadline=None`` and health checks."""

_HYPOTHESIS_OWN = ("default", "ci")
"""Hypothesis's built-in profiles: what is current when nobody chose one."""
_DERIVED = re.compile(r"-with-(?:\w+-verbosity|explain-phase)$")
"""Hypothesis's plugin derives ``<profile>-with-verbose-verbosity`` (``--hypothesis-verbosity``)
and ``<profile>-with-explain-phase`` (``--hypothesis-explain``) from the current profile."""


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
    """Register ``nats-dev``, ``nats-ci`` and ``nats-thorough`` (each unless already registered)."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    for name, values in PROFILES.items():
        try:
            settings.get_profile(name)
        except InvalidArgument:
            settings.register_profile(name, **_common(), **values)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _for_property_tests(name: str) -> str:
    """``name``, with hypothesis's own ``default``/``ci`` replaced by ``nats-dev``/``nats-ci``."""
    if name == "ci":
        return CI_PROFILE
    if name == "default":
        return CI_PROFILE if _truthy(os.environ.get(CI_ENV)) else DEV_PROFILE
    return name


def property_profile() -> str:
    """The profile a property test uses now (see the module docstring for the order)."""
    from hypothesis import settings

    current = settings.get_current_profile_name()
    if _DERIVED.sub("", current) not in _HYPOTHESIS_OWN:
        return current  # chosen: by --hypothesis-profile, the env variable, or the project
    return _for_property_tests(os.environ.get(PROFILE_ENV, "").strip() or _DERIVED.sub("", current))


def configure(config: pytest.Config | None = None) -> str | None:
    """Register the profiles and load the one named by ``NATS_HARNESS_HYPOTHESIS_PROFILE``.

    The plugin calls it from a ``pytest_configure`` that runs before hypothesis's own
    (``tryfirst``), so ``--hypothesis-profile nats-ci`` finds the profile registered. It loads
    a profile globally only when that variable names one: a project's own hypothesis tests
    keep their settings under ``CI=true`` (``nats-ci`` under CI applies to
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
    from hypothesis.errors import InvalidArgument

    register_profiles()
    if option:  # hypothesis's plugin loads it
        return str(option)
    if name:
        try:
            settings.load_profile(name)
        except InvalidArgument as exc:
            raise InvalidArgument(
                f"{PROFILE_ENV}={name!r} names no registered hypothesis profile; the "
                f"harness registers {', '.join(PROFILES)}"
            ) from exc
    return name


def property_settings(**overrides: Any) -> Settings:
    """Settings for a property test: :func:`property_profile`, no deadline, no ``explain``.

    Use as a decorator under ``@given``; ``overrides`` win over the profile. The profile is
    read when the decorator is applied (at import of the test module, after pytest loaded
    the profile of ``--hypothesis-profile`` or the env variable). When hypothesis's own
    profile was current, its verbosity (``--hypothesis-verbosity``) is kept.
    """
    from hypothesis import settings

    register_profiles()
    name = property_profile()
    base = settings.get_profile(name)
    if name != settings.get_current_profile_name():
        base = settings(base, verbosity=settings().verbosity)  # settings(): the current ones
    return settings(base, **{**_common(), **overrides})
