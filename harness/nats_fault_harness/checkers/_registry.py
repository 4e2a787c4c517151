"""Checkers by name, for scenarios that name them with JSON parameters."""

from __future__ import annotations

import collections.abc
import inspect
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from pydantic import Field, TypeAdapter, ValidationError

from nats_fault_harness.checkers._accounting import check_accounting
from nats_fault_harness.checkers._backoff import check_backoff
from nats_fault_harness.checkers._consumer import check_consumer
from nats_fault_harness.checkers._exceptions import check_exceptions
from nats_fault_harness.checkers._health import check_health
from nats_fault_harness.checkers._logs import check_logs
from nats_fault_harness.checkers._loop_lag import check_loop_lag
from nats_fault_harness.checkers._metrics import check_metrics
from nats_fault_harness.checkers._outputs import check_outputs
from nats_fault_harness.checkers._pool import check_pool
from nats_fault_harness.checkers._result import Checker, CheckResult
from nats_fault_harness.checkers._stream import check_stream
from nats_fault_harness.checkers._validation import check_validation

__all__ = ["CHECKERS", "CheckerParamError", "make_checker"]

CHECKERS: Mapping[str, Callable[..., CheckResult]] = MappingProxyType(
    {
        "accounting": check_accounting,
        "outputs": check_outputs,
        "exceptions": check_exceptions,
        "backoff": check_backoff,
        "pool": check_pool,
        "validation": check_validation,
        "loop_lag": check_loop_lag,
        "metrics": check_metrics,
        "health": check_health,
        "logs": check_logs,
        "stream": check_stream,
        "consumer": check_consumer,
    }
)


class CheckerParamError(TypeError):
    """A checker parameter is unknown, missing or of the wrong type.

    Attributes:
        param: the parameter's name (``None`` when the problem is not one parameter's).
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def make_checker(name: str, params: Mapping[str, Any] | None = None) -> Checker:
    """Bind ``params`` to the checker called ``name``, rejecting unknown names and params now.

    Each value is checked against the checker's annotation, strictly (JSON types: ``"abc"``
    is not a number, ``1`` is not a boolean, a list stands for any iterable), so a bad
    value fails when the scenario loads, not when the checker runs.

    Raises:
        KeyError: no checker has that name.
        CheckerParamError: a parameter is unknown, a required one is missing, or a value
            has the wrong type.
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
        unknown = next((k for k in kwargs if k not in sig.parameters), None)
        if "unexpected keyword" not in str(exc):
            unknown = None  # a missing parameter is the mapping's problem, not one key's
        raise CheckerParamError(
            f"checker {name!r}: {exc}; accepted parameters: {accepted}", unknown
        ) from exc
    hints = _hints(func)
    for key, value in kwargs.items():
        try:
            hints[key].validate_python(value, strict=True)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"].removeprefix("Input should be ")
            raise CheckerParamError(
                f"checker {name!r}: parameter {key!r} must be {problem}, got {value!r}", key
            ) from None
    return partial(func, **kwargs)


def _hints(func: Callable[..., CheckResult]) -> dict[str, TypeAdapter[Any]]:
    """A validator per keyword parameter; ``Iterable[X]`` is validated as a list of X."""
    out: dict[str, TypeAdapter[Any]] = {}
    for key, hint in get_type_hints(func).items():
        if key in ("history", "return"):
            continue
        if get_origin(hint) is collections.abc.Iterable:
            hint = list[get_args(hint)]  # type: ignore[misc]
        elif hint is float:
            hint = Annotated[float, Field(allow_inf_nan=False)]
        out[key] = TypeAdapter(hint)
    return out
