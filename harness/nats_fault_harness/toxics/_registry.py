"""The explicit registry of toxic types, keyed by their wire name.

Built by listing the classes, not by import side effects: adding a toxic means adding a
module and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from nats_fault_harness.toxics._bandwidth import Bandwidth
from nats_fault_harness.toxics._base import Toxic
from nats_fault_harness.toxics._blackhole import Blackhole
from nats_fault_harness.toxics._latency import Latency
from nats_fault_harness.toxics._limit_data import LimitData
from nats_fault_harness.toxics._nats import Nats
from nats_fault_harness.toxics._noop import Noop
from nats_fault_harness.toxics._reset_after import ResetAfter
from nats_fault_harness.toxics._reset_peer import ResetPeer
from nats_fault_harness.toxics._slicer import Slicer
from nats_fault_harness.toxics._slow_close import SlowClose
from nats_fault_harness.toxics._timeout import Timeout

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
    Blackhole,
)

TOXICS: Mapping[str, type[Toxic]] = MappingProxyType({cls.type_name: cls for cls in _CLASSES})
"""Toxic classes by wire ``type`` (``"latency"`` -> :class:`Latency`); read-only."""
