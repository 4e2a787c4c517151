"""nats-fault-harness: test NATS clients against real servers under real faults."""

from nats_fault_harness._version import __version__
from nats_fault_harness._wait import wait_until, wait_until_async

__all__ = ["__version__", "wait_until", "wait_until_async"]
