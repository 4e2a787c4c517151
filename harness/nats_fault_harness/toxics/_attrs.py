"""Decoding and validating toxic ``attributes`` the way Toxiproxy's JSON decoder does, plus ranges.

Type errors use Go's ``encoding/json`` wording (``json: cannot unmarshal string into Go
struct field LatencyToxic.attributes.latency of type int64``) so clients that match on it
keep working. Range checks are an extension: Toxiproxy accepts negative values and some
that hang or crash it (``bandwidth.rate`` 0 or below, ``slicer.average_size`` 0); here they
are refused with a message naming the field and the value.

Keys match case-insensitively and unknown keys are ignored, as in Go; ``null`` leaves a
value unchanged. Toxiproxy's toxics have integer attributes only (:func:`attr`); the
harness's extension toxics also use strings (:func:`text_attr`) and probabilities
(:func:`ratio_attr`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from nats_fault_harness.errors import ConfigError

__all__ = [
    "AttributeToxic",
    "InvalidAttribute",
    "attr",
    "brief",
    "describe_json_value",
    "ratio_attr",
    "text_attr",
]

_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)


class InvalidAttribute(ConfigError):
    """A toxic attribute has the wrong JSON type or is out of range.

    Attributes:
        where: ``attributes.<name>`` (or ``attributes``).
        value: the offending value.
    """


def attr(
    *, minimum: int = 0, maximum: int | None = None, unit: str = "", go_type: str = "int64"
) -> Any:
    """A dataclass field for an integer attribute (default 0, like Go's zero value).

    Args:
        minimum: the smallest accepted value (the range check is a harness extension).
        maximum: the largest accepted value, if any (extension toxics only).
        unit: the unit, for error messages and docs ("ms", "us", "bytes", "KB/s").
        go_type: the Go field type, for Go-worded type errors.
    """
    return dataclasses.field(
        default=0,
        metadata={"minimum": minimum, "maximum": maximum, "unit": unit, "go_type": go_type},
    )


def text_attr(default: str = "") -> Any:
    """A dataclass field for a string attribute (checked by the toxic's ``check``)."""
    return dataclasses.field(default=default, metadata={"go_type": "string"})


def ratio_attr(default: float = 1.0) -> Any:
    """A dataclass field for a number in ``[0, 1]`` (a probability)."""
    return dataclasses.field(default=default, metadata={"go_type": "float64"})


def _type_ok(go_type: str, value: object) -> bool:
    if go_type == "string":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if go_type == "float64":  # Go refuses a number beyond float64's range
        try:
            return math.isfinite(float(value))
        except OverflowError:
            return False
    return isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX


_BRIEF = 64


def brief(value: object, limit: int = _BRIEF) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for error messages.

    A client can send megabytes in one value; an error message echoes at most a prefix and
    says how long the whole was.
    """
    return _cut(repr(value), limit)


def _cut(shown: str, limit: int) -> str:
    if len(shown) <= limit:
        return shown
    return f"{shown[:limit]}... ({len(shown)} characters)"


def describe_json_value(value: object) -> str:
    """How Go's decoder names a JSON value in a type error ("string", "number 1.5"...).

    A number keeps its source text (Go echoes it), cut to 64 characters.
    """
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return f"number {_cut(str(getattr(value, 'text', value)), _BRIEF)}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class AttributeToxic:
    """Shared implementation of ``from_attributes``/``attributes``/``new_state``.

    A toxic is a frozen dataclass deriving from this class, whose fields are made with
    :func:`attr`. Cross-field rules go in :meth:`check`.
    """

    type_name: ClassVar[str] = ""
    go_struct: ClassVar[str] = ""
    passthrough: ClassVar[bool] = False
    closes_on_remove: ClassVar[bool] = False

    @classmethod
    def from_attributes(cls, raw: object, base: Self | None = None) -> Self:
        """Build from a JSON ``attributes`` value merged over ``base`` (defaults: zeros).

        Raises:
            InvalidAttribute: wrong JSON type (Go wording) or out of range.
        """
        values: dict[str, Any] = dict(base.attributes()) if base is not None else {}
        if raw is not None and not isinstance(raw, Mapping):
            raise InvalidAttribute(
                f"json: cannot unmarshal {describe_json_value(raw).split(' ')[0]} into Go "
                f"struct field .attributes of type toxics.{cls.go_struct}",
                where="attributes",
                value=raw,
            )
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for key, value in (raw or {}).items():
            field = fields.get(str(key).lower())
            if field is None or value is None:
                continue
            go_type = field.metadata["go_type"]
            if not _type_ok(go_type, value):
                raise InvalidAttribute(
                    f"json: cannot unmarshal {describe_json_value(value)} into Go struct "
                    f"field {cls.go_struct}.attributes.{field.name} of type {go_type}",
                    where=f"attributes.{field.name}",
                    value=value,
                )
            if go_type == "float64":
                value = float(value)
            elif go_type != "string":
                value = int(value)
            values[field.name] = value
        for name, field in fields.items():
            value = values.get(name, field.default)
            if field.metadata["go_type"] == "float64":
                if not 0.0 <= value <= 1.0:
                    raise InvalidAttribute(
                        f"invalid {cls.type_name} toxic: attribute {name} must be between 0 "
                        f"and 1, got {value}",
                        where=f"attributes.{name}",
                        value=value,
                    )
                continue
            if "minimum" not in field.metadata:
                continue
            minimum = field.metadata["minimum"]
            maximum = field.metadata.get("maximum")
            if value < minimum or (maximum is not None and value > maximum):
                unit = field.metadata["unit"]
                bound = f">= {minimum}" if value < minimum else f"<= {maximum}"
                raise InvalidAttribute(
                    f"invalid {cls.type_name} toxic: attribute {name}"
                    f"{f' ({unit})' if unit else ''} must be {bound}, got {value}",
                    where=f"attributes.{name}",
                    value=value,
                )
        toxic = cls(**values)
        toxic.check()
        return toxic

    def check(self) -> None:
        """Cross-field validation; raise :class:`InvalidAttribute` (default: nothing)."""

    def attributes(self) -> dict[str, Any]:
        """The JSON ``attributes`` object in field order (Toxiproxy's order)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def new_state(self) -> object | None:
        """No per-link state by default."""
        return None

    def new_shared_state(self) -> object | None:
        """No state shared by the links of a proxy by default."""
        return None

    def buffer_limit(self) -> int | None:
        """No limit of its own on what the proxy reads ahead (``None``), by default."""
        return None
