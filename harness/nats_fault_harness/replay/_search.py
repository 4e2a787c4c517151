"""A property search's tally of verdicts: unknown examples are not failures of the service.

A checker answers ``unknown`` when it had no evidence (a fault that reached no connection,
no relevant records, a checker that raised). That says nothing about the service, so
:func:`~nats_fault_harness.replay.check_scenario` never reports it as a falsifying example: the
example is rejected (hypothesis draws another in its place) with a ``note`` and an
``event`` naming the reason. Each unknown example still cost a real run, so the
replacements are bounded (:func:`unknown_limit`): when that many examples were unknown
and none decided, the search cannot decide, and the remaining examples are not run. At
the end of the test the plugin asks :func:`undecided`: if every example that ran was
unknown, the test fails with a message saying the search could not decide (and why), not
with a falsifying example. Once some example decided, unknown examples past the limit
are counted as run (neither a failure nor a replacement).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nats_fault_harness.replay._env import ReusableEnv

__all__ = ["UNKNOWN_LIMIT", "SearchTally", "begin", "tally_for", "undecided", "unknown_limit"]

UNKNOWN_LIMIT = 10
"""At most this many unknown examples are replaced (fewer when ``max_examples`` is smaller)."""


def unknown_limit() -> int:
    """How many unknown examples the current hypothesis test replaces: ``min(max_examples, 10)``."""
    from hypothesis import settings

    return max(1, min(settings().max_examples, UNKNOWN_LIMIT))  # settings(): the test's


@dataclass
class SearchTally:
    """What the examples of one property test decided so far.

    Attributes:
        limit: unknown examples replaced before the search gives up (when none decided).
        decided: examples whose verdict was valid or invalid.
        unknown: examples whose verdict was unknown.
        not_run: examples not run because the search could not decide.
        reasons: ``checker: message`` of each unknown result, counted.
    """

    limit: int
    decided: int = 0
    unknown: int = 0
    not_run: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def hopeless(self) -> bool:
        """``limit`` examples were unknown and none decided: stop running examples."""
        return self.decided == 0 and self.unknown >= self.limit

    @property
    def replace_unknown(self) -> bool:
        """Whether the latest unknown example is to be replaced by another."""
        return self.unknown <= self.limit

    def message(self, test: str) -> str:
        """Why ``test``'s search could not decide (for a test whose every example was unknown)."""
        reasons = "; ".join(f"{n}x {why}" for why, n in self.reasons.most_common(3))
        more = len(self.reasons) - 3
        skipped = f", {self.not_run} more not run" if self.not_run else ""
        return (
            f"property search {test} could not decide: the verdict of every example was "
            f"unknown ({self.unknown} run{skipped}). This is not a falsifying example: the "
            "checkers had no evidence to judge the service either way. Reasons: "
            f"{reasons}{f' (and {more} more)' if more > 0 else ''}."
        )


def tally_for(env: ReusableEnv, test: str) -> SearchTally:
    """The tally of ``test``'s search on ``env`` (a new one, sized by the current settings)."""
    tally = env.searches.get(test)
    if tally is None:
        tally = env.searches[test] = SearchTally(unknown_limit())
    return tally


def _envs(values: Iterable[object]) -> list[ReusableEnv]:
    from nats_fault_harness.replay._env import ReusableEnv

    return [v for v in values if isinstance(v, ReusableEnv)]


def begin(values: Iterable[object]) -> None:
    """A test starts: forget earlier tests' tallies on every env among ``values``."""
    for env in _envs(values):
        env.searches.clear()


def undecided(values: Iterable[object]) -> str | None:
    """The message for each search on an env among ``values`` where every example was unknown."""
    found = [
        tally.message(test)
        for env in _envs(values)
        for test, tally in env.searches.items()
        if tally.decided == 0 and tally.unknown > 0
    ]
    return "\n".join(found) or None
