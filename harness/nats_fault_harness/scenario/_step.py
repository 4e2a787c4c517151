"""When a fault starts and stops (triggers), and what every fault step shares."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from nats_fault_harness.scenario._base import NonNegSeconds, PosCount, Seconds, StrictModel

__all__ = ["EventTrigger", "Step", "TimedTrigger", "Trigger"]


class TimedTrigger(StrictModel):
    """Start ``at_s`` seconds into the workload; heal after ``for_s`` (``None``: at the end)."""

    at_s: NonNegSeconds = 0.0
    for_s: Seconds | None = None


class EventTrigger(StrictModel):
    """Start when the ``nth`` event of kind ``after`` happens; heal after ``for_s``."""

    after: Literal["publish", "batch_flush", "reconnect", "request", "input"]
    nth: PosCount = 1
    for_s: Seconds | None = None


def _trigger_kind(data: Any) -> str:
    if isinstance(data, dict):
        return "event" if "after" in data else "timed"
    return "event" if isinstance(data, EventTrigger) else "timed"


Trigger = Annotated[
    Annotated[TimedTrigger, Tag("timed")] | Annotated[EventTrigger, Tag("event")],
    Discriminator(_trigger_kind),
]


class Step(StrictModel):
    """What every fault step has: a trigger, and whether it is instant."""

    instant: ClassVar[bool] = False
    trigger: Trigger = Field(default_factory=TimedTrigger)

    @field_validator("trigger", mode="before")
    @classmethod
    def _one_kind(cls, value: Any) -> Any:
        if isinstance(value, dict) and "at_s" in value and "after" in value:
            raise PydanticCustomError(
                "trigger_kind",
                "either at_s (timed) or after (event), not both",
            )
        return value

    def is_instant(self) -> bool:
        """Whether the fault acts once and has nothing to heal."""
        return self.instant

    @model_validator(mode="after")
    def _instant_has_no_duration(self) -> Step:
        if self.is_instant() and self.trigger.for_s is not None:
            raise PydanticCustomError(
                "instant_fault",
                "an instant fault takes no for_s, got {for_s}",
                {"for_s": self.trigger.for_s, "loc": ("trigger", "for_s")},
            )
        return self
