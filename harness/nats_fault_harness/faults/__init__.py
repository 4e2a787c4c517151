"""The fault API tests use: every fault is a context manager that heals and journals itself.

- :class:`Link`: a server behind one proxy: ``latency``, ``bandwidth``, ``blackhole``,
  ``drop``, ``reset``, ``reset_peer``, ``down``, ``slow_close``, ``slice``, ``limit_data``,
  and NATS-frame faults (``frames``).
- :class:`Pool`: one server behind N addressable members: ``break_members``,
  ``break_by_name``.
- :class:`ServerFaults`: ``kill``, ``stop``, ``pause``, ``lame_duck``, ``restart``.
- :class:`FaultyCluster`: a cluster whose every route passes a proxy: ``partition``,
  ``isolate``, ``heal``, ``restart_node``.
- :class:`Fault`: what every method returns; ``with``, ``async with``, or call it and
  ``heal()`` later. :class:`FaultLog` journals to a :class:`~nats_fault_harness.history.History` and
  heals whatever a test left behind.
"""

from nats_fault_harness.faults._base import Fault, FaultLog
from nats_fault_harness.faults._cluster import FaultyCluster
from nats_fault_harness.faults._factory import LinkFactory
from nats_fault_harness.faults._link import BLACKHOLE_MS, Link
from nats_fault_harness.faults._pool import Pool
from nats_fault_harness.faults._server import ServerFaults

__all__ = [
    "BLACKHOLE_MS",
    "Fault",
    "FaultLog",
    "FaultyCluster",
    "Link",
    "LinkFactory",
    "Pool",
    "ServerFaults",
]
