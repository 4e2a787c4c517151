"""Shared pieces of the scenario models: the strict base class and constrained types."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "NonNegFloat",
    "NonNegInt",
    "PosFloat",
    "PosInt",
    "StrictModel",
    "Subject",
    "SubjectFilter",
]

NonNegInt = Annotated[int, Strict(), Field(ge=0)]
PosInt = Annotated[int, Strict(), Field(ge=1)]
NonNegFloat = Annotated[float, Strict(), Field(ge=0.0, allow_inf_nan=False)]
PosFloat = Annotated[float, Strict(), Field(gt=0.0, allow_inf_nan=False)]
Subject = Annotated[str, Strict(), Field(pattern=r"^[^\s.*>]+(\.[^\s.*>]+)*$")]
"""A NATS subject to publish on: dot-separated tokens, no wildcards."""
SubjectFilter = Annotated[
    str, Strict(), Field(pattern=r"^([^\s.*>]+|\*)(\.([^\s.*>]+|\*))*(\.>)?$|^>$")
]
"""A NATS subject to subscribe to: ``*`` matches one token, a final ``>`` the rest."""


class StrictModel(BaseModel):
    """Frozen, and an unknown key is an error that names the key and the allowed ones.

    ``extra="forbid"`` alone would say "extra inputs are not permitted" without the
    alternatives; the check below runs first and lists them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            for key in data:
                if key not in allowed:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {shown}; allowed: {allowed}",
                        {"key": key, "shown": repr(key), "allowed": ", ".join(allowed)},
                    )
        return data
