"""The catalog entry of one mutant (kept apart so mutant modules can carry their own)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Mutant"]


@dataclass(frozen=True)
class Mutant:
    """One defect behind the ``ServiceUnderTest`` adapter.

    Attributes:
        name: the factory's name in its module.
        module: the module under ``tests.mutants``.
        claims: the claim ids it breaks.
        defect: what is wrong, in one line.
        first: scenario names to try first, most likely killer first.
        survives: why no scenario can catch it yet (the harness change it needs), for a
            known survivor; its test is then a strict xfail, so the fix is noticed.
    """

    name: str
    module: str
    claims: tuple[str, ...]
    defect: str
    first: tuple[str, ...] = ()
    survives: str = ""

    @property
    def spec(self) -> str:
        """The ``--sut`` value."""
        return f"tests.mutants.{self.module}:{self.name}"
