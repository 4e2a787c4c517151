"""Shared pieces of the scenario models: the strict base class and constrained types.

Every number a scenario holds has an upper bound, so that a value that passes the loader
cannot fail only when the scenario runs (a ``payload_bytes: 100000000000`` buffer, a sleep of
``1e300`` seconds, a billion publishes). The bounds are generous for a test and are listed
in ``docs/scenario-reference.md`` ("Limits"); the types below carry them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_BYTES",
    "MAX_COUNT",
    "MAX_ITEMS",
    "MAX_KB_PER_S",
    "MAX_MS",
    "MAX_PAYLOAD",
    "MAX_RATE",
    "MAX_SECONDS",
    "MAX_SEED",
    "MAX_SIZE",
    "MIN_RATE",
    "ByteCount",
    "Count",
    "Index",
    "KbPerS",
    "Millis",
    "NonNegFloat",
    "NonNegInt",
    "NonNegSeconds",
    "PayloadBytes",
    "PosCount",
    "PosFloat",
    "PosInt",
    "Rate",
    "Seconds",
    "Seed",
    "Size",
    "StrictModel",
    "Subject",
    "SubjectFilter",
]

MAX_SECONDS = 3600.0
"""Any time in seconds (``at_s``, ``for_s``, ``timeout_s``, server options): one hour."""
MAX_MS = 3_600_000
"""Any time in milliseconds (``ms``, ``jitter``, ``delay_ms``): one hour."""
MAX_COUNT = 1_000_000
"""Any count (publishes, requests, messages, ``nth``, frame counters, ``ping_max``)."""
MIN_RATE = 0.01
"""Slowest ``rate_per_s``: one every 100 s (a slower rate cannot finish within an hour's run)."""
MAX_RATE = 1_000_000.0
"""Fastest ``rate_per_s`` (``null`` is as fast as the service goes)."""
MAX_PAYLOAD = 64 * 1024 * 1024
"""Largest ``payload_bytes`` and ``max_payload``: nats-server's own hard limit, 64 MiB."""
MAX_BYTES = 1024 * 1024 * 1024
"""Any other amount of bytes (``limit_data.bytes``, ``max_pending``): 1 GiB."""
MAX_KB_PER_S = 10_000_000
"""Largest ``kb_per_s``: 10 GB/s, far above what a loopback link carries."""
MAX_SIZE = 16
"""Largest pool or cluster; member and node indices are below it."""
MAX_SEED = 2**63 - 1
"""Largest seed: the proxy draws its own seeds as 63-bit integers."""
MAX_ITEMS = 100
"""Most items in a list of a scenario (faults, subjects, subscriptions, claims...)."""

NonNegInt = Annotated[int, Strict(), Field(ge=0)]
PosInt = Annotated[int, Strict(), Field(ge=1)]
NonNegFloat = Annotated[float, Strict(), Field(ge=0.0, allow_inf_nan=False)]
PosFloat = Annotated[float, Strict(), Field(gt=0.0, allow_inf_nan=False)]

Seconds = Annotated[float, Strict(), Field(gt=0.0, le=MAX_SECONDS, allow_inf_nan=False)]
"""A duration in seconds, ``0 < s <= MAX_SECONDS``."""
NonNegSeconds = Annotated[float, Strict(), Field(ge=0.0, le=MAX_SECONDS, allow_inf_nan=False)]
"""A moment in seconds, ``0 <= s <= MAX_SECONDS``."""
Millis = Annotated[int, Strict(), Field(ge=0, le=MAX_MS)]
"""A duration in milliseconds, ``0..MAX_MS``."""
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_COUNT)]
"""A count, ``0..MAX_COUNT``."""
PosCount = Annotated[int, Strict(), Field(ge=1, le=MAX_COUNT)]
"""A count, ``1..MAX_COUNT``."""
Rate = Annotated[float, Strict(), Field(ge=MIN_RATE, le=MAX_RATE, allow_inf_nan=False)]
"""Operations per second, ``MIN_RATE..MAX_RATE``."""
PayloadBytes = Annotated[int, Strict(), Field(ge=0, le=MAX_PAYLOAD)]
"""A payload size in bytes, ``0..MAX_PAYLOAD``."""
ByteCount = Annotated[int, Strict(), Field(ge=0, le=MAX_BYTES)]
"""An amount of bytes, ``0..MAX_BYTES``."""
KbPerS = Annotated[int, Strict(), Field(ge=1, le=MAX_KB_PER_S)]
"""A bandwidth in KB (1000 bytes) per second, ``1..MAX_KB_PER_S``."""
Size = Annotated[int, Strict(), Field(ge=1, le=MAX_SIZE)]
"""A pool or cluster size, ``1..MAX_SIZE``."""
Index = Annotated[int, Strict(), Field(ge=0, le=MAX_SIZE - 1)]
"""A member or node index, ``0..MAX_SIZE - 1``."""
Seed = Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)]
"""A seed, ``0..MAX_SEED``."""

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
