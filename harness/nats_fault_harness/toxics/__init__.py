"""Toxics: one module per toxic type, one shared :class:`Toxic` protocol, an explicit registry.

Every Toxiproxy 2.12 toxic with its exact attribute names and units:

========== ============================================ ===========================
type       attributes                                   units
========== ============================================ ===========================
noop       (none)
latency    ``latency``, ``jitter``                      ms
bandwidth  ``rate``                                     KB/s, KB = 1000 bytes
slow_close ``delay``                                    ms
timeout    ``timeout``                                  ms (0 = never close)
reset_peer ``timeout``                                  ms
slicer     ``average_size``, ``size_variation``,        bytes, bytes, **microseconds**
           ``delay``
limit_data ``bytes``                                    bytes
nats       ``verb``, ``subject``, ``action``, ``delay``,    extension: whole NATS
           ``nth``/``every``/``first``/``after``,         frames, see
           ``probability``                              :mod:`~nats_fault_harness.toxics._nats`
blackhole  ``buffer_bytes``                             bytes (0 = stop reading at
                                                        once), extension: hold all
========== ============================================ ===========================

Every toxic also accepts ``connect_name`` in its attributes (extension): a glob matched
against the NATS ``CONNECT`` name of each connection; the toxic then acts only on the
connections whose name matches (the proxy handles it; the toxic classes never see it).

The contract a toxic keeps is in :mod:`nats_fault_harness.toxics._base`. Attribute values are
checked
(extension): negative numbers, ``bandwidth.rate < 1``, ``slicer.average_size < 1`` and
``slicer.size_variation > average_size`` raise :class:`InvalidAttribute`.
"""

from nats_fault_harness.toxics._attrs import AttributeToxic, InvalidAttribute, attr
from nats_fault_harness.toxics._bandwidth import Bandwidth
from nats_fault_harness.toxics._base import Chunk, Toxic, ToxicIO
from nats_fault_harness.toxics._latency import Latency
from nats_fault_harness.toxics._limit_data import LimitData
from nats_fault_harness.toxics._nats import Nats
from nats_fault_harness.toxics._noop import Noop
from nats_fault_harness.toxics._registry import TOXICS
from nats_fault_harness.toxics._reset_peer import ResetPeer
from nats_fault_harness.toxics._slicer import Slicer
from nats_fault_harness.toxics._slow_close import SlowClose
from nats_fault_harness.toxics._timeout import Timeout

__all__ = [
    "TOXICS",
    "AttributeToxic",
    "Bandwidth",
    "Chunk",
    "InvalidAttribute",
    "Latency",
    "LimitData",
    "Nats",
    "Noop",
    "ResetPeer",
    "Slicer",
    "SlowClose",
    "Timeout",
    "Toxic",
    "ToxicIO",
    "attr",
]
