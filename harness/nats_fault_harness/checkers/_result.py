"""Verdicts: :class:`CheckResult`, merging by priority, and running checkers safely.

Like Jepsen's ``merge-valid``: ``False`` beats ``"unknown"``, which beats ``True``. A
checker that raises is not a failure of the system under test, so it yields ``"unknown"``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from nats_fault_harness.history import ErrorInfo, History

__all__ = [
    "UNKNOWN",
    "CheckResult",
    "Checker",
    "Validity",
    "check_safe",
    "compose",
    "merge_valid",
    "run_checkers",
]

UNKNOWN: Literal["unknown"] = "unknown"
Validity = bool | Literal["unknown"]

_PRIORITY: dict[Validity, int] = {True: 0, UNKNOWN: 1, False: 2}


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one checker.

    Attributes:
        name: the checker's name (``"accounting"``, ``"backoff"``...).
        valid: ``True``, ``False`` or ``"unknown"`` (could not decide, or the checker raised).
        details: JSON-able data behind the verdict (ids, counts, timings).
        message: one readable paragraph; for an invalid result it lists exactly what was
            wrong, so a test failure can be read without opening the details.
    """

    name: str
    valid: Validity
    details: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_dict`."""
        valid = data["valid"]
        if valid not in (True, False, UNKNOWN):
            raise ValueError(f"invalid verdict {valid!r}")
        return cls(str(data["name"]), valid, dict(data.get("details") or {}), data["message"])


Checker = Callable[[History], CheckResult]


def merge_valid(verdicts: Iterable[Validity]) -> Validity:
    """The worst verdict: ``False`` > ``"unknown"`` > ``True``; no verdicts is ``True``."""
    worst: Validity = True
    for v in verdicts:
        if v not in _PRIORITY:
            raise ValueError(f"invalid verdict {v!r}")
        if _PRIORITY[v] > _PRIORITY[worst]:
            worst = v
    return worst


def compose(results: Iterable[CheckResult], *, name: str = "composed") -> CheckResult:
    """Merge several results into one; its message names every result that is not valid."""
    items = list(results)
    valid = merge_valid(r.valid for r in items)
    bad = [r for r in items if r.valid is not True]
    if bad:
        message = "\n".join(f"{r.name}: {_word(r.valid)}: {r.message}" for r in bad)
    else:
        message = f"all {len(items)} checks valid"
    details = {"results": [r.to_dict() for r in items]}
    return CheckResult(name, valid, details, message)


def _word(valid: Validity) -> str:
    return "unknown" if valid == UNKNOWN else ("valid" if valid else "INVALID")


def _name_of(checker: Callable[..., Any]) -> str:
    inner = getattr(checker, "func", checker)  # functools.partial
    raw = str(getattr(inner, "__name__", type(checker).__name__))
    return raw.removeprefix("check_")


def check_safe(checker: Checker, history: History, *, name: str | None = None) -> CheckResult:
    """Run ``checker``; an exception (or a non-result) becomes an ``"unknown"`` verdict.

    Args:
        checker: a function of the history (use :func:`functools.partial` for parameters).
        history: the recorded run.
        name: the result's name; defaults to the checker's own name.
    """
    label = name or _name_of(checker)
    try:
        result: object = checker(history)
    except Exception as exc:
        details = {
            "error": asdict(ErrorInfo.of(exc)),
            "traceback": traceback.format_exception(exc),
        }
        message = f"checker raised {type(exc).__qualname__}: {exc}"
        return CheckResult(label, UNKNOWN, details, message)
    if not isinstance(result, CheckResult):
        message = f"checker returned {type(result).__qualname__}, not a CheckResult"
        return CheckResult(label, UNKNOWN, {"returned": repr(result)}, message)
    return replace(result, name=label) if name else result


def run_checkers(
    history: History, checkers: Mapping[str, Checker] | Iterable[Checker]
) -> list[CheckResult]:
    """Run every checker with :func:`check_safe`; pass the list to :func:`compose`.

    Args:
        history: the recorded run.
        checkers: a mapping of result name to checker, or checkers named after themselves.
    """
    if isinstance(checkers, Mapping):
        return [check_safe(c, history, name=n) for n, c in checkers.items()]
    return [check_safe(c, history) for c in checkers]
