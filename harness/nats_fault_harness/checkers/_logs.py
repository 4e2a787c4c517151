"""Logs: every failure the remediation promises to log produced a record naming it.

The remediation summary promises that each pool connection that fails at initialization
is logged with its specific error ("Logs specific errors for each failed connection";
a partial pool "initialized with warning") and that batch failures are logged. The rule
reads the ``log`` records the runner captured from the loggers the service declares
(``log_capture``) and the failures the history shows:

- a pool member the ``pool_initialized`` event lists as ``failed`` with reason ``r``:
  a record whose message contains ``r`` (whitespace and case aside), between the
  service's ``start`` and ``within_s`` after the event;
- a group the service moved to its failed batch queue (a ``batch_queued_failed`` event,
  at its ``at`` time): a record whose message names the group (its ``group`` or
  ``subject`` as a whole subject, not a prefix of a longer one) within ``within_s``
  before or after.

Each failure needs its own record (two groups queued for the same subject need two), at
``level`` or above; the bound is ``within_s`` plus the largest loop lag of the run.
Limitation: records are matched by what they name, not by what they say happened, so
a service that logs every failed attempt at ``level`` satisfies the queue rule through
the last attempt's record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from nats_fault_harness.checkers._evidence import run_plan
from nats_fault_harness.checkers._ops import listing, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import ClientEvent, History

__all__ = ["check_logs"]

Level = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
"""The :mod:`logging` levels by name."""


@dataclass(frozen=True)
class _Failure:
    what: str
    earliest: float
    latest: float
    needle: re.Pattern[str]


def _text(s: str) -> str:
    return " ".join(s.split()).casefold()


def _reason(reason: str) -> re.Pattern[str]:
    return re.compile(re.escape(_text(reason)))


def _subject(subject: str) -> re.Pattern[str]:
    # a whole subject: not part of a longer token, and not a prefix of a longer subject
    return re.compile(r"(?<![\w.*>-])" + re.escape(subject.casefold()) + r"(?![\w*>-]|\.[\w*>])")


def check_logs(
    history: History,
    *,
    client: str | None = None,
    level: Level = "WARNING",
    within_s: float = 1.0,
) -> CheckResult:
    """Match each failure to a log record that names it (module docstring).

    Args:
        history: the recorded run.
        client: the service's client name; defaults to the run plan's service.
        level: the lowest level that counts (``"WARNING"``, ``"ERROR"``...).
        within_s: how long before or after the failure its record may come (seconds).

    Returns:
        ``"unknown"`` when the service declares no loggers (no ``log_capture`` event),
        or when nothing failed that the rules cover; ``False`` naming each failure without
        a record; else ``True``.
    """
    floor = _LEVELS.get(str(level).upper())
    if floor is None:
        raise ValueError(f"unknown log level {level!r}; known: {list(_LEVELS)}")
    plan = run_plan(history) or {}
    name = client or str(plan.get("service", "")) or None
    events = history.client_events(name)
    capture = next((e for e in events if e.kind == "log_capture"), None)
    details: dict[str, Any] = {"client": name, "level": level.upper(), "within_s": within_s}
    if capture is None:
        return CheckResult(
            "logs", UNKNOWN, details, "the service declares no loggers (no loggers() view)"
        )
    records = [e for e in events if e.kind == "log" and int(e.detail.get("levelno", 0)) >= floor]
    lag = max(
        (float(e.detail.get("max_ms", 0.0)) for e in events if e.kind == "loop_lag"), default=0
    )
    slack = within_s + lag / 1000.0
    undecided: list[str] = []
    failures = _pool_failures(history, events, name, slack, undecided)
    failures += _queued_groups(events, slack)
    details.update(
        loggers=capture.detail.get("loggers"),
        records=sum(1 for e in events if e.kind == "log"),
        records_at_level=len(records),
        failures=[f.what for f in failures],
        slack_s=round(slack, 4),
    )
    missing = _unmatched(failures, records)
    details["unlogged"] = missing
    details["undecided"] = undecided
    if missing:
        return CheckResult(
            "logs",
            False,
            details,
            f"{len(missing)} of {len(failures)} failures have no {level.upper()}+ record "
            f"naming them within {slack:.3f}s: {listing(missing, 10)}",
        )
    if undecided:
        return CheckResult("logs", UNKNOWN, details, f"undecided: {listing(undecided, 10)}")
    if not failures:
        return CheckResult(
            "logs",
            UNKNOWN,
            details,
            "nothing failed that must be logged (no failed pool member, no queued group)",
        )
    return CheckResult(
        "logs",
        True,
        details,
        f"each of {len(failures)} failures has its own {level.upper()}+ record naming it",
    )


def _pool_failures(
    history: History,
    events: list[ClientEvent],
    name: str | None,
    slack: float,
    undecided: list[str],
) -> list[_Failure]:
    init = next((e for e in events if e.kind == "pool_initialized"), None)
    if init is None:
        return []
    starts = [
        op.invoke.t
        for op in operations(history, "start")
        if name is None or op.invoke.process == name
    ]
    earliest = min(starts, default=init.t) - slack
    out: list[_Failure] = []
    for member, reason in sorted((init.detail.get("failed") or {}).items()):
        if not isinstance(reason, str) or not reason.strip():
            undecided.append(f"pool member {member} failed without a reason to look for")
            continue
        what = f"pool member {member} ({reason[:80]})"
        out.append(_Failure(what, earliest, init.t + slack, _reason(reason)))
    return out


def _queued_groups(events: list[ClientEvent], slack: float) -> list[_Failure]:
    out: list[_Failure] = []
    for e in events:
        if e.kind != "batch_queued_failed":
            continue
        group = e.detail.get("group") or e.detail.get("subject")
        if not isinstance(group, str) or not group:
            continue
        at = float(e.detail.get("at", e.t))
        count = e.detail.get("count") or len(e.detail.get("message_ids") or ())
        what = f"group {group} queued at t={at:.3f}s ({count} messages)"
        out.append(_Failure(what, at - slack, at + slack, _subject(group)))
    return out


def _unmatched(failures: list[_Failure], records: list[ClientEvent]) -> list[str]:
    """Give each failure its own record (earliest deadline first); the ones left without."""
    used: set[int] = set()
    missing: list[str] = []
    texts = [_text(str(r.detail.get("message", ""))) for r in records]
    for failure in sorted(failures, key=lambda f: (f.latest, f.earliest)):
        match = next(
            (
                i
                for i, r in enumerate(records)
                if i not in used
                and failure.earliest <= r.t <= failure.latest
                and failure.needle.search(texts[i])
            ),
            None,
        )
        if match is None:
            missing.append(failure.what)
        else:
            used.add(match)
    return missing
