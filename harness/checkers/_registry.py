"""Checkers by name, for scenarios that name them with JSON parameters."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any

from harness.checkers._accounting import check_accounting
from harness.checkers._backoff import check_backoff
from harness.checkers._exceptions import check_exceptions
from harness.checkers._loop_lag import check_loop_lag
from harness.checkers._metrics import check_metrics
from harness.checkers._pool import check_pool
from harness.checkers._result import Checker, CheckResult
from harness.checkers._validation import check_validation

__all__ = ["CHECKERS", "make_checker"]

CHECKERS: Mapping[str, Callable[..., CheckResult]] = MappingProxyType(
    {
        "accounting": check_accounting,
        "exceptions": check_exceptions,
        "backoff": check_backoff,
        "pool": check_pool,
        "validation": check_validation,
        "loop_lag": check_loop_lag,
        "metrics": check_metrics,
    }
)


def make_checker(name: str, params: Mapping[str, Any] | None = None) -> Checker:
    """Bind ``params`` to the checker called ``name``, rejecting unknown names and params now.

    Raises:
        KeyError: no checker has that name.
        TypeError: a parameter is unknown or a required one is missing.
    """
    if name not in CHECKERS:
        raise KeyError(f"no checker {name!r}; known: {sorted(CHECKERS)}")
    func = CHECKERS[name]
    kwargs = dict(params or {})
    sig = inspect.signature(func)
    try:
        sig.bind(None, **kwargs)
    except TypeError as exc:
        accepted = [p for p in sig.parameters if p != "history"]
        raise TypeError(f"checker {name!r}: {exc}; accepted parameters: {accepted}") from exc
    return partial(func, **kwargs)
