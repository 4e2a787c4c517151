"""Checking a strategy's keyword bounds when it is built: a bad one raises ConfigError."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.scenario import Topology, Workload
from nats_fault_harness.scenario._base import MAX_COUNT, MAX_SECONDS
from nats_fault_harness.strategies._kinds import STEP_S

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"


def _bad(where: str, value: object, expected: str) -> ConfigError:
    return ConfigError(f"{where} must be {expected}, got {value!r}", where=where, value=value)


def _int_bound(where: str, value: object, *, minimum: int = 0, maximum: int = MAX_COUNT) -> int:
    """An int in ``minimum..maximum`` (the scenario models' own limit by default)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(where, value, f"an int >= {minimum}")
    if value > maximum:
        raise _bad(where, value, f"an int <= {maximum} (the scenario limit)")
    return value


def _seconds(where: str, value: object, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) < 0:  # type: ignore[arg-type]
        raise _bad(where, value, "a finite number of seconds >= 0")
    if float(value) > MAX_SECONDS:  # type: ignore[arg-type]
        raise _bad(where, value, f"<= {MAX_SECONDS:g} s (the scenario limit)")
    seconds = float(value)  # type: ignore[arg-type]
    if seconds < STEP_S and not (allow_zero and seconds == 0):
        raise _bad(where, value, f">= {STEP_S} s (one step)")
    return seconds


def _choices(
    where: str, value: object, known: Sequence[str], *, empty_ok: bool = False
) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _bad(where, value, f"a collection of names from {list(known)}")
    items = list(value)
    unknown = [v for v in items if v not in known]
    if unknown:
        raise ConfigError(
            f"{where}: unknown {unknown}; known: {list(known)}", where=where, value=value
        )
    if not items and not empty_ok:
        raise _bad(where, value, "non-empty")
    return [k for k in known if k in items]  # canonical (shrinking) order, no duplicates


def _topology(value: object) -> Topology:
    if not isinstance(value, Topology):
        raise _bad("topology", value, "a nats_fault_harness.scenario.Topology")
    if value.kind == "cluster":
        raise ConfigError(
            "topology: cluster topologies are not drawn yet (server and pool are)",
            where="topology",
            value=value,
        )
    return value


def _workload_arg(value: object) -> Workload | None:
    if value is not None and not isinstance(value, Workload):
        raise _bad("workload", value, "a nats_fault_harness.scenario.Workload or None")
    return value
