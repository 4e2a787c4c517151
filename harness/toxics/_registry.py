"""The explicit registry of toxic types, keyed by their wire name.

Built by listing the classes, not by import side effects: adding a toxic means adding a
module and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from harness.toxics._bandwidth import Bandwidth
from harness.toxics._base import Toxic
from harness.toxics._latency import Latency
from harness.toxics._limit_data import LimitData
from harness.toxics._nats import Nats
from harness.toxics._noop import Noop
from harness.toxics._reset_after import ResetAfter
from harness.toxics._reset_peer import ResetPeer
from harness.toxics._slicer import Slicer
from harness.toxics._slow_close import SlowClose
from harness.toxics._timeout import Timeout

__all__ = ["TOXICS"]

_CLASSES: tuple[type[Toxic], ...] = (
    Noop,
    Latency,
    Bandwidth,
    SlowClose,
    Timeout,
    ResetPeer,
    Slicer,
    LimitData,
    Nats,
    ResetAfter,
)

TOXICS: Mapping[str, type[Toxic]] = MappingProxyType({cls.type_name: cls for cls in _CLASSES})
"""Toxic classes by wire ``type`` (``"latency"`` -> :class:`Latency`); read-only."""
