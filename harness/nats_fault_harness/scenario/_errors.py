"""The one exception a bad scenario or claims file raises: :class:`ScenarioError`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nats_fault_harness.errors import ConfigError

__all__ = ["MAX_SHOWN", "Issue", "ScenarioError"]


@dataclass(frozen=True)
class Issue:
    """One problem in a file, located by line and field path.

    Attributes:
        path: the file, as given to the loader.
        line: 1-based line of the offending key or value (0 if unknown).
        field: dotted field path such as ``faults[1].ms`` (empty for the whole file).
        problem: what was expected, and what was found.
    """

    path: str
    line: int
    field: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: {self.field}: {self.problem}" if self.field else f"{where}: {self.problem}"
        )


MAX_SHOWN = 50
"""Most problems the message lists; ``issues`` holds them all."""


class ScenarioError(ConfigError):
    """A scenario or claims file is invalid; nothing may run from it.

    The message holds one line per problem, ordered by line, each
    ``path:line: field: expected ..., got ...``; past :data:`MAX_SHOWN` problems, a last
    line counts the others.

    Attributes:
        path: the file.
        issues: every problem found (at least one).
        line: the line of the first problem.
        field: the field path of the first problem.
    """

    def __init__(self, issues: Sequence[Issue], *, value: object = None) -> None:
        if not issues:
            raise ValueError("ScenarioError needs at least one issue")
        self.issues = tuple(sorted(issues, key=lambda i: i.line))
        first = self.issues[0]
        self.path = first.path
        self.line = first.line
        self.field = first.field
        lines = [str(i) for i in self.issues[:MAX_SHOWN]]
        if len(self.issues) > MAX_SHOWN:
            lines.append(f"{first.path}: ... and {len(self.issues) - MAX_SHOWN} more problems")
        super().__init__(
            "\n".join(lines),
            where=f"{first.path}:{first.line}" + (f": {first.field}" if first.field else ""),
            value=value,
        )
