"""The reference service without its optional statistics view (no ``stats()``).

A service that does not report statistics is a complete service under test: the runner
records no ``stats`` snapshots for it, and the ``metrics`` checker has nothing to read.
``--sut tests.property.nostats_sut:make_nostats_sut``.
"""

from __future__ import annotations

from typing import Any

from nats_fault_harness.scenario import ServiceUnderTest
from nats_fault_harness.scenario.reference_sut import ReferenceSut

SPEC = "tests.property.nostats_sut:make_nostats_sut"


class WithoutStats:
    """Forwards everything to a :class:`ReferenceSut` except ``stats``."""

    def __init__(self) -> None:
        self._inner = ReferenceSut()

    def __getattr__(self, name: str) -> Any:
        if name == "stats":
            raise AttributeError(f"{type(self).__name__} has no statistics view")
        return getattr(self._inner, name)


def make_nostats_sut() -> ServiceUnderTest:
    """The factory ``--sut tests.property.nostats_sut:make_nostats_sut`` names."""
    return WithoutStats()  # type: ignore[return-value]
